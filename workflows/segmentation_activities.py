"""Segmentation activities: a creator's whole refresh, announced in the actions feed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from core import db
from core.settings import get_settings
from workflows.heartbeat import heartbeating
from workflows.segmentation import segmentation_workflow_id
from workflows.types import REFRESH_SEGMENTS, SegmentationInput, SegmentationResult

log = logging.getLogger(__name__)


@activity.defn(name=REFRESH_SEGMENTS)
async def refresh_segments_activity(inp: SegmentationInput) -> SegmentationResult:
    """Recompute every fan score of one creator in one transaction, and say so in the actions feed."""
    from agents.segmentation.refresh import refresh_and_announce

    async with heartbeating(), db.pool().connection() as conn, conn.transaction():
        res = await refresh_and_announce(conn, inp.creator_id)
    return SegmentationResult(res.run_id, res.fans, res.segments, res.duration_ms)


# How long the segmentation agent's step waits for a creator's first refresh before it lets the refresh finish alone
# (below the step's 30 s timeout): a creator without a run has few fans, scored in well under a second.
FIRST_REFRESH_WAIT_S = 20.0


async def start_first_refresh(client: Client, creator_id: str) -> str | None:
    """Start a creator's first whole refresh (a purchase or subscription came in before any segmentation run) and
    wait for it a while. The refresh's fixed workflow id makes it once per creator: a refresh running already (from
    another fan's event or `POST /v1/segments/refresh`) is joined; a finished one is not started again (only a
    failed one is), and gives None."""
    wf_id = segmentation_workflow_id(creator_id)
    try:
        handle = await client.start_workflow(
            "SegmentationWorkflow",
            SegmentationInput(creator_id),
            id=wf_id,
            task_queue=get_settings().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        return None
    # Polled, not awaited through result(): on the time-skipping test server that would skip the fan's timers.
    deadline = time.monotonic() + FIRST_REFRESH_WAIT_S
    while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        if time.monotonic() > deadline:
            log.info(
                "the first segmentation refresh of creator %s is still running; it scores the fan", creator_id
            )
            break
        await asyncio.sleep(0.05)
    return wf_id


SEGMENTATION_ACTIVITIES: list[Callable[..., Any]] = [refresh_segments_activity]
