"""Segmentation activities: a creator's whole refresh, announced in the actions feed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from core import db
from core.journal import record_action
from workflows.heartbeat import heartbeating
from workflows.types import REFRESH_SEGMENTS, SegmentationInput, SegmentationResult


@activity.defn(name=REFRESH_SEGMENTS)
async def refresh_segments_activity(inp: SegmentationInput) -> SegmentationResult:
    """Recompute every fan score of one creator in one transaction, and say so in the actions feed."""
    from agents.segmentation.refresh import refresh_segments

    async with heartbeating(), db.pool().connection() as conn, conn.transaction():
        res = await refresh_segments(conn, inp.creator_id)
        counts = ", ".join(f"{n} {seg}" for seg, n in sorted(res.segments.items(), key=lambda kv: -kv[1]))
        await record_action(
            conn,
            creator_id=inp.creator_id,
            kind="segments_refreshed",
            summary=f"segmented {res.fans} fans: {counts}" if res.fans else "no fans to segment yet",
            details={"run_id": res.run_id, "segments": res.segments, "duration_ms": res.duration_ms},
            dedupe_key=f"segments_refreshed:{res.run_id}",
        )
    return SegmentationResult(res.run_id, res.fans, res.segments, res.duration_ms)


SEGMENTATION_ACTIVITIES: list[Callable[..., Any]] = [refresh_segments_activity]
