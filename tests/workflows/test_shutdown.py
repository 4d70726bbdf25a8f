"""A worker stopped while a draft's LLM call is in flight stops within seconds, quietly, without recording the
draft as failed; the next worker writes the draft. On the dev server: the time-skipping test server does not hand
the abandoned workflow task on. A local step's retries are durable timers, and a worker that ran them stops
without the SDK core's panic."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.settings import Settings, configure
from tests.factories import add_message_event, make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch, start_conversation, wait_pending
from workflows.shutdown import StopCleanly
from workflows.worker import build_worker

STEP_TIMEOUT = timedelta(seconds=1)
_tries: dict[str, int] = {}


@activity.defn(name="flaky_step")
async def flaky_step(key: str) -> int:
    _tries[key] = _tries.get(key, 0) + 1
    if _tries[key] < 3:
        raise RuntimeError("not yet")
    return _tries[key]


@workflow.defn(sandboxed=False)
class FlakyStep:
    @workflow.run
    async def run(self, key: str) -> int:
        return await workflow.execute_local_activity(
            flaky_step,
            key,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), backoff_coefficient=1.0),
        )


async def test_a_local_step_is_retried_by_timers_and_its_worker_stops_without_a_panic(
    temporal_env: WorkflowEnvironment, capfd: pytest.CaptureFixture[str]
) -> None:
    """Retried inside the worker, the SDK core (temporalio 1.35) would leave each failed attempt's start-to-close timer
    running; firing after the worker stopped, each panics on stderr ("receive half not dropped")."""
    queue = f"flaky-{uuid.uuid4().hex[:8]}"
    async with Worker(
        temporal_env.client,
        task_queue=queue,
        workflows=[FlakyStep],
        activities=[flaky_step],
        interceptors=[StopCleanly()],
    ):
        h = await temporal_env.client.start_workflow(FlakyStep.run, queue, id=queue, task_queue=queue)
        assert await h.result() == 3
    timers = [e async for e in h.fetch_history_events() if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
    assert len(timers) == 2  # one durable timer before each retry
    await asyncio.sleep(STEP_TIMEOUT.total_seconds() + 0.5)  # when a timer left running would fire
    assert "receive half" not in capfd.readouterr().err


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
