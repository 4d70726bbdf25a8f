"""The assistant's progress as server-sent events (`Accept: text/event-stream` on POST /v1/assistant/messages), on
the time-skipping Temporal server and the loopback LLM fake: the thread, the supervisor's choice, each tool call
in order, then the same answer as the JSON endpoint (its bad input: tests/api/test_bad_input.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls
from tests.workflows.helpers import fetch

SSE = {"Accept": "text/event-stream"}


def events(body: str) -> list[tuple[str, Any]]:
    """(event, data) of each server-sent event; comment lines skipped."""
    out = []
    for block in body.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        out.append((fields["event"], json.loads(fields["data"])))
    return out


async def test_a_viewer_sees_each_step_then_the_answer(api: httpx.AsyncClient, fake_llm: FakeOpenAI) -> None:
    t = await make_tenant("stream")
    fake_llm.script(
        {"agents": ["segmentation", "followup"]},
        tool_calls(("segment_sizes", {})),
        "Segments are not computed yet.",
        tool_calls(("propose_start_sequence", {"kind": "win_back", "segment": "all"})),
        "I propose a win-back campaign.",
    )
    r = await api.post(
        "/v1/assistant/messages",
        json={"text": "win back my lapsed fans"},
        headers={**t.auth("viewer"), **SSE},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    got = events(r.text)
    assert [e for e, _ in got] == ["thread", "agents", "step", "step", "answer"]
    thread = got[0][1]["thread_id"]
    assert got[1][1] == {"agents": ["segmentation", "followup"]}
    assert [(d["agent"], d["tool"], d["mode"]) for _, d in got[2:4]] == [
        ("segmentation", "segment_sizes", "native"),
        ("followup", "propose_start_sequence", "native"),
    ]
    assert got[3][1]["summary"].startswith("proposal: ")
    answer = got[4][1]
    assert answer["thread_id"] == thread and answer["agents"] == ["segmentation", "followup"]
    # the streamed steps are the answer's steps
    assert [d for _, d in got[2:4]] == answer["steps"]
    [proposal] = answer["proposals"]
    assert proposal["allowed"] is False  # a viewer may ask, not send
    for table in ("campaigns", "drafts", "outbox"):
        assert await fetch(f"SELECT 1 FROM {table} WHERE creator_id = %s", [t.creator_id]) == [], table

    # the same thread again, as JSON: the thread goes on (the stream's request is its history)
    fake_llm.script({"agents": ["analytics"]}, tool_calls(("campaign_results", {})), "No campaigns yet.")
    r = await api.post(
        "/v1/assistant/messages",
        json={"text": "and my campaigns?", "thread_id": thread},
        headers=t.auth("viewer"),
    )
    assert r.status_code == 200 and r.json()["thread_id"] == thread
    assert any("win back my lapsed fans" in json.dumps(b) for b in list(fake_llm.requests)[-3:]), (
        "the thread's history reaches the model"
    )
