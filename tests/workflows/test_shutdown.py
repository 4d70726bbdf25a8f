"""A worker stopped while a draft's LLM call is in flight stops within seconds, quietly, without recording the
draft as failed; the next worker writes the draft. On the dev server: the time-skipping test server does not hand
the abandoned workflow task on."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings, configure
from tests.factories import add_message_event, make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch, start_conversation, wait_pending
from workflows.worker import build_worker


async def test_a_worker_stopped_mid_draft_stops_at_once_and_the_next_worker_writes_the_draft(
    temporal_dev_env: WorkflowEnvironment,
    settings: Settings,
    fake_llm: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    # the next worker runs the stopped step after a short durable timer, not the default (HUNTAZE_WORKER_STOP_RETRY_S)
    configure(settings.model_copy(update={"worker_stop_retry_s": 3.0}))
    fake_llm.delay_s = 120.0  # the model is busy: the draft's call is still in flight when the worker stops
    t = await make_tenant()
    eid = await add_message_event(t, t.fans[0], "hey, how was your day?", "e1")
    worker = build_worker(temporal_dev_env.client, settings.task_queue)
    running = asyncio.create_task(worker.run())
    h = await start_conversation(temporal_dev_env.client, settings, t.creator_id, t.fans[0], [eid])
    for _ in range(600):
        if fake_llm.draft_requests():
            break
        await asyncio.sleep(0.05)
    assert fake_llm.draft_requests(), "the draft's LLM call never started"

    start = time.monotonic()
    await asyncio.wait_for(worker.shutdown(), 30)
    await running
    took = time.monotonic() - start
    assert took < 5, f"the worker took {took:.1f} s to stop"
    assert await fetch("SELECT kind FROM agent_actions WHERE kind = 'draft_failed'", []) == []
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert loud == [], [f"{r.levelname} {r.name}: {r.getMessage()}" for r in loud]

    fake_llm.delay_s = 0.0
    async with build_worker(temporal_dev_env.client, settings.task_queue):
        # at once, or after the step's retry timer (workflows/shutdown.py), depending on when it stopped
        assert (await wait_pending(h, timeout_s=150)).status == "pending_review"
