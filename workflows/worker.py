"""The worker: every workflow (conversation, segmentation, follow-up, campaign, daily plan, delivery retry), their
activities and the supervisor graph on one task queue; beside it, the batch-drafts worker (the drafts of follow-up
steps and campaign messages) on its own queue, with its own slots and rate limit, so batch drafts never take the
slots and the engine time that live replies need."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import TracebackType
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from core.settings import get_settings
from workflows.alert_retry import AlertRetryWorkflow
from workflows.alerts import send_due_alerts
from workflows.assistant import AssistantWorkflow
from workflows.assistant_activities import ASSISTANT_ACTIVITIES
from workflows.campaign import CampaignWorkflow
from workflows.campaign_activities import CAMPAIGN_ACTIVITIES
from workflows.conversation import ConversationWorkflow
from workflows.conversation_activities import CONVERSATION_ACTIVITIES
from workflows.daily_plan import DailyPlanWorkflow
from workflows.daily_plan_activities import DAILY_PLAN_ACTIVITIES
from workflows.delivery_activities import DELIVERY_ACTIVITIES
from workflows.delivery_retry import DeliveryRetryWorkflow
from workflows.followup import FollowupWorkflow
from workflows.followup_activities import FOLLOWUP_ACTIVITIES
from workflows.memory_activities import MEMORY_ACTIVITIES
from workflows.segmentation import SegmentationWorkflow
from workflows.segmentation_activities import SEGMENTATION_ACTIVITIES
from workflows.shutdown import StopCleanly, quiet_expected_failures
from workflows.supervisor_graph import STEP_ACTIVITIES, graph_plugin, run_batch_graph
from workflows.types import batch_drafts_queue

WORKFLOWS = [
    ConversationWorkflow,
    SegmentationWorkflow,
    FollowupWorkflow,
    CampaignWorkflow,
    DailyPlanWorkflow,
    DeliveryRetryWorkflow,
    AlertRetryWorkflow,
    AssistantWorkflow,
]
ACTIVITIES: list[Callable[..., Any]] = [
    *STEP_ACTIVITIES,
    *ASSISTANT_ACTIVITIES,
    *CONVERSATION_ACTIVITIES,
    *DELIVERY_ACTIVITIES,
    *MEMORY_ACTIVITIES,
    *SEGMENTATION_ACTIVITIES,
    *FOLLOWUP_ACTIVITIES,
    *CAMPAIGN_ACTIVITIES,
    *DAILY_PLAN_ACTIVITIES,
    send_due_alerts,
]


class Workers:
    """The live worker and the batch-drafts worker, run, entered and shut down together (as one Worker is)."""

    def __init__(self, live: Worker, batch: Worker) -> None:
        self.live = live
        self.batch = batch

    async def run(self) -> None:
        await asyncio.gather(self.live.run(), self.batch.run())

    async def shutdown(self) -> None:
        await asyncio.gather(self.live.shutdown(), self.batch.shutdown())

    async def __aenter__(self) -> Workers:
        await self.live.__aenter__()
        try:
            await self.batch.__aenter__()
        except BaseException as exc:
            await self.live.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.batch.__aexit__(exc_type, exc, tb)
        finally:
            await self.live.__aexit__(exc_type, exc, tb)


def build_batch_worker(client: Client, task_queue: str) -> Worker:
    """Batch-lane drafts (the supervisor graph of a batch of follow-up or campaign events): `HUNTAZE_BATCH_DRAFT_SLOTS`
    at once in this worker and at most `HUNTAZE_BATCH_DRAFTS_PER_MINUTE` started across every worker of the queue (a
    rate Temporal's server keeps)."""
    s = get_settings()
    rate = s.batch_drafts_per_minute / 60 if s.batch_drafts_per_minute > 0 else None
    return Worker(
        client,
        task_queue=batch_drafts_queue(task_queue),
        activities=[run_batch_graph],
        max_concurrent_activities=s.batch_draft_slots,
        max_task_queue_activities_per_second=rate,
        interceptors=[_stop_cleanly()],  # a draft in flight at shutdown goes to the next worker, quietly
    )


def build_worker(
    client: Client, task_queue: str, *, max_cached_workflows: int = 1000, workflow_task_slots: int = 100
) -> Workers:
    return Workers(
        build_live_worker(client, task_queue, max_cached_workflows, workflow_task_slots),
        build_batch_worker(client, task_queue),
    )


def build_live_worker(
    client: Client, task_queue: str, max_cached_workflows: int, workflow_task_slots: int
) -> Worker:
    quiet_expected_failures()
    with _no_garbage_collection():  # the sandbox imports every workflow's modules here, to validate them
        return Worker(
            client,
            task_queue=task_queue,
            workflows=WORKFLOWS,
            activities=ACTIVITIES,
            max_cached_workflows=max_cached_workflows,
            max_concurrent_workflow_tasks=workflow_task_slots,
            # A draft being written holds its fan's workflow task and the DM agent's local activity together: as many
            # local-activity slots as task slots, so raising one setting raises how many drafts one worker writes at
            # once.
            max_concurrent_local_activities=workflow_task_slots,
            plugins=[graph_plugin()],
            interceptors=[_stop_cleanly()],  # stops promptly, leaving in-flight steps to the next worker
        )


@contextmanager
def _no_garbage_collection() -> Iterator[None]:
    """No collection while Temporal's sandbox imports modules under its own `sys.modules`: a finalizer that a
    collection runs in the middle, and that imports, takes the module lock again on the same thread, and Python 3.11
    then fails the outer import with a KeyError from `_ModuleLock.acquire` (python/cpython#91351, fixed in 3.12)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stop_cleanly() -> StopCleanly:
    return StopCleanly(timedelta(seconds=get_settings().worker_stop_retry_s))
