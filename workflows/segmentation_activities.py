"""Segmentation activities: a creator's whole refresh, announced in the actions feed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from core import db
from workflows.heartbeat import heartbeating
from workflows.types import REFRESH_SEGMENTS, SegmentationInput, SegmentationResult


@activity.defn(name=REFRESH_SEGMENTS)
async def refresh_segments_activity(inp: SegmentationInput) -> SegmentationResult:
    """Recompute every fan score of one creator in one transaction, and say so in the actions feed."""
    from agents.segmentation.refresh import refresh_and_announce

    async with heartbeating(), db.pool().connection() as conn, conn.transaction():
        res = await refresh_and_announce(conn, inp.creator_id)
    return SegmentationResult(res.run_id, res.fans, res.segments, res.duration_ms)


SEGMENTATION_ACTIVITIES: list[Callable[..., Any]] = [refresh_segments_activity]
