"""`huntaze assistant ask` as a real process against the Temporal dev server, with a worker in this process on
the loopback LLM fake: the answer's JSON is the last line, the same shape as the API's; with `--progress` (or a
terminal on stderr) each progress event is a line on stderr as it comes, the stdout unchanged; without a worker it
says so after the decision wait; bad input names the flag; with `--idempotency-key` it is asked once."""

from __future__ import annotations

import json
import os

from temporalio.testing import WorkflowEnvironment

from core import db
from core.settings import Settings
from core.store import assistant_turns
from tests.cli.test_creator import _huntaze
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls
from workflows.worker import build_worker


async def test_ask_prints_the_answer_as_json(
    temporal_dev_env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant("cli")
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "TEMPORAL_ADDRESS": temporal_dev_env.client.service_client.config.target_host,
        "HUNTAZE_TASK_QUEUE": settings.task_queue,
    }
    fake_llm.script({"agents": ["dm"]}, tool_calls(("search_catalog", {"query": "gym"})), "One gym video.")
    async with build_worker(temporal_dev_env.client, settings.task_queue):
        rc, out, err = await _huntaze(env, "assistant", "ask", "--creator", t.creator_id, "what gym content?")
        assert rc == 0, err
        got = json.loads(out.strip().splitlines()[-1])
        assert set(got) == {"thread_id", "answer", "agents", "steps", "proposals"}
        assert got["agents"] == ["dm"] and got["steps"][0]["tool"] == "search_catalog"
        assert t.catalog[1] in got["steps"][0]["summary"] and got["answer"].startswith("One gym video.")
        assert "search_catalog" not in err  # stderr is no terminal here: no progress without --progress

        fake_llm.script(
            {"agents": ["segmentation", "analytics"]},
            tool_calls(("segment_sizes", {})),
            "Not computed yet.",
            tool_calls(("anomalies", {"days": 7})),
            "Nothing unusual.",
        )
        thread = got["thread_id"]
        rc, out, err = await _huntaze(
            env,
            "assistant",
            "ask",
            "--creator",
            t.creator_id,
            "--thread",
            thread,
            "--progress",
            "and my fans?",
        )
    assert rc == 0, err
    lines = err.strip().splitlines()
    assert lines[:2] == [f"thread {thread}", "agents: segmentation → analytics"], err
    assert lines[2].startswith("segmentation: segment_sizes() → ") and lines[3].startswith(
        'analytics: anomalies(days=7) → {"'
    ), err
    again = json.loads(out.strip().splitlines()[-1])  # the same final JSON, the stream's answer
    assert set(again) == {"thread_id", "answer", "agents", "steps", "proposals"}
    assert again["thread_id"] == thread and [s["tool"] for s in again["steps"]] == [
        "segment_sizes",
        "anomalies",
    ]

    # no worker on the task queue: the CLI says so after the decision wait instead of waiting for ever
    rc, _, err = await _huntaze(
        {**env, "HUNTAZE_DECISION_WAIT_S": "1"}, "assistant", "ask", "--creator", t.creator_id, "hi"
    )
    assert rc == 1 and "no worker took the request within 1 s" in err and settings.task_queue in err, err
    rc, _, err = await _huntaze(env, "assistant", "ask", "--creator", "nope", "hi")
    assert rc == 2 and "--creator" in err
    rc, _, err = await _huntaze(env, "assistant", "ask", "--creator", t.creator_id, "--thread", "../x", "hi")
    assert rc == 2 and "--thread" in err
    rc, _, err = await _huntaze(env, "assistant", "ask", "--creator", t.creator_id, "   ")
    assert rc == 2 and "TEXT" in err
    other = "00000000-0000-0000-0000-000000000001"
    rc, _, err = await _huntaze(env, "assistant", "ask", "--creator", other, "hi")
    assert rc == 2 and f"no creator {other}" in err


async def test_ask_with_an_idempotency_key_is_asked_once(
    temporal_dev_env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI
) -> None:
    """The same command run again (a lost connection, a timeout) answers the first answer without a second turn or
    a second model run; the same key with another text is refused, naming the flag."""
    t = await make_tenant("cli-key")
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "TEMPORAL_ADDRESS": temporal_dev_env.client.service_client.config.target_host,
        "HUNTAZE_TASK_QUEUE": settings.task_queue,
    }
    ask = ("assistant", "ask", "--creator", t.creator_id, "--idempotency-key", "k-1")
    fake_llm.script({"agents": ["dm"]}, tool_calls(("search_catalog", {"query": "gym"})), "One gym video.")
    async with build_worker(temporal_dev_env.client, settings.task_queue):
        rc, out, err = await _huntaze(env, *ask, "what gym content?")
        assert rc == 0, err
        first = json.loads(out.strip().splitlines()[-1])
        asked = len(fake_llm.requests)
        rc, out, err = await _huntaze(env, *ask, "what gym content?")
        assert rc == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == first
        assert len(fake_llm.requests) == asked  # no second model run

        rc, out, err = await _huntaze(env, *ask, "and my best fans?")
        assert rc == 2 and "--idempotency-key" in err and first["thread_id"] in err, err
    async with db.pool().connection() as conn:
        turns = await assistant_turns.last(conn, t.creator_id, first["thread_id"], 10)
    assert [turn.text for turn in turns] == ["what gym content?"]

    rc, _, err = await _huntaze(
        env, "assistant", "ask", "--creator", t.creator_id, "--idempotency-key", "a b", "hi"
    )
    assert rc == 2 and "--idempotency-key" in err
