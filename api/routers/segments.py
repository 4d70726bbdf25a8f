"""Segments: the latest segmentation of the creator's fans, and starting a refresh."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError
from core import db
from core.store import scores
from core.types import Role
from workflows.segmentation import segmentation_workflow_id
from workflows.types import SegmentationInput

router = APIRouter(prefix="/v1", tags=["segments"])

# Most valuable first, then the ones to win back, then the rest.
SEGMENT_ORDER = [
    "whale",
    "big_spender",
    "loyal",
    "at_risk",
    "new",
    "regular",
    "expired",
    "dormant",
    "never_spent",
]


class TopFan(BaseModel):
    fan_id: str
    display_name: str
    spend_cents: int
    ltv_cents: int | None
    p_alive: float | None


class SegmentSummary(BaseModel):
    segment: str
    fans: int
    spend_cents: int
    revenue_share: float  # of all-time spend by this creator's fans
    ltv_cents: int | None  # summed expected value over the horizon
    top_fans: list[TopFan]


class RunInfo(BaseModel):
    run_id: int
    as_of: datetime
    computed_at: datetime
    fans: int
    duration_ms: int
    model: dict[str, Any]


class SegmentsOut(BaseModel):
    run: RunInfo | None
    segments: list[SegmentSummary]


class RefreshOut(BaseModel):
    workflow_id: str
    run_id: str | None


@router.get("/segments/top", response_model=SegmentsOut)
async def segments_top(
    who: CurrentPrincipal,
    top: Annotated[int, Query(ge=0, le=50, description="top fans listed per segment (by LTV)")] = 5,
) -> Any:
    """Each segment's size, spend and share of revenue, with its most valuable fans. `run` is null until the
    first refresh (`POST /v1/segments/refresh`)."""
    async with db.pool().connection() as conn:
        run = await scores.latest_run(conn, who.creator_id)
        if run is None:
            return SegmentsOut(run=None, segments=[])
        groups = {g.segment: g for g in await scores.segment_sizes(conn, who.creator_id)}
        tops: dict[str, list[TopFan]] = {}
        for t in await scores.top_fans(conn, who.creator_id, top):
            tops.setdefault(t.segment, []).append(
                TopFan(
                    fan_id=t.fan_id,
                    display_name=t.display_name,
                    spend_cents=t.spend_cents,
                    ltv_cents=t.ltv_cents,
                    p_alive=t.p_alive,
                )
            )
    total = sum(g.spend_cents for g in groups.values()) or 1
    segments = [
        SegmentSummary(
            segment=seg,
            fans=g.fans,
            spend_cents=g.spend_cents,
            revenue_share=round(g.spend_cents / total, 4),
            ltv_cents=g.ltv_cents,
            top_fans=tops.get(seg, []),
        )
        for seg in SEGMENT_ORDER
        if (g := groups.get(seg)) is not None
    ]
    return SegmentsOut(run=RunInfo(**asdict(run)), segments=segments)


@router.post("/segments/refresh", response_model=RefreshOut, status_code=202, responses={503: {}})
async def refresh(who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    """Start the segmentation workflow for this creator; if one is running already, that one is returned."""
    who.require(Role.MANAGER)
    try:
        return await start_refresh(rt, who.creator_id)
    except RPCError as exc:  # nothing was started: the same request again is safe
        raise ApiError(503, "workflow_unavailable", "the workflow service is unreachable; retry") from exc


async def start_refresh(rt: Runtime, creator_id: str) -> RefreshOut:
    """Start the creator's segmentation workflow (or find the one running)."""
    wf_id = segmentation_workflow_id(creator_id)
    handle = await rt.temporal.start_workflow(
        "SegmentationWorkflow",
        SegmentationInput(creator_id),
        id=wf_id,
        task_queue=rt.settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return RefreshOut(workflow_id=wf_id, run_id=handle.result_run_id)
