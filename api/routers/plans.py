"""The Daily Action List: GET the plan the DailyPlanWorkflow wrote; POST to run the plan now."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from agents.followup.config import FollowupConfig
from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError
from core import db
from core.types import Role
from workflows.daily_plan import daily_plan_schedule_id, daily_plan_workflow_id
from workflows.types import DailyPlanInput

router = APIRouter(prefix="/v1/agents/unified", tags=["daily plan"])


class PlannedAction(BaseModel):
    rank: int
    kind: str = Field(
        description="review_drafts, win_back, re_engage, ppv_reminders, at_risk_campaign or anomaly"
    )
    title: str
    detail: str
    expected_value_cents: int
    basis: str = Field(description="how the expected value was estimated (measured rate or stated prior)")
    count: int
    fan_ids: list[str]
    draft_ids: list[str]
    link: str
    data: dict[str, Any]


class ScheduleInfo(BaseModel):
    id: str
    hour: int
    timezone: str


class DailyPlanOut(BaseModel):
    plan_date: date
    created_at: datetime
    summary: dict[str, Any]
    actions: list[PlannedAction]
    schedule: ScheduleInfo


class RunPlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_segments: bool = Field(True, description="refresh the segments first (a full refit)")


class RunPlanOut(BaseModel):
    workflow_id: str
    run_id: str | None


@router.get("/actions", response_model=DailyPlanOut, responses={404: {}})
async def daily_actions(who: CurrentPrincipal, plan_date: date | None = None) -> Any:
    """The Daily Action List of `plan_date` (creator-local; default: the newest), ranked by expected value."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT p.plan_date, p.created_at, p.summary, p.actions, c.timezone, c.followup_config"
            " FROM daily_plans p JOIN creators c ON c.id = p.creator_id WHERE p.creator_id = %s"
            " AND (%s::date IS NULL OR p.plan_date = %s::date) ORDER BY p.plan_date DESC LIMIT 1",
            [who.creator_id, plan_date, plan_date],
        )
        row = await cur.fetchone()
    if row is None:
        raise ApiError(
            404,
            "no_plan",
            "no daily plan for that day" if plan_date else "no daily plan yet",
            {"hint": "POST /v1/agents/unified/actions/run makes one now"},
        )
    schedule = ScheduleInfo(
        id=daily_plan_schedule_id(who.creator_id),
        hour=FollowupConfig.from_stored(row["followup_config"]).daily_plan_hour,
        timezone=row["timezone"],
    )
    return DailyPlanOut(
        plan_date=row["plan_date"],
        created_at=row["created_at"],
        summary=row["summary"],
        actions=[PlannedAction(**a) for a in row["actions"]],
        schedule=schedule,
    )


@router.post("/actions/run", status_code=202, response_model=RunPlanOut, responses={503: {}})
async def run_plan(
    who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)], body: RunPlanIn | None = None
) -> Any:
    """Run the daily plan now (as the schedule would); a plan already running is returned, not doubled."""
    who.require(Role.MANAGER)
    wf_id = daily_plan_workflow_id(who.creator_id)
    try:
        handle = await rt.temporal.start_workflow(
            "DailyPlanWorkflow",
            DailyPlanInput(who.creator_id, refresh_segments=(body or RunPlanIn()).refresh_segments),
            id=wf_id,
            task_queue=rt.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except RPCError as exc:  # nothing was started: the same request again is safe
        raise ApiError(503, "workflow_unavailable", "the workflow service is unreachable; retry") from exc
    return RunPlanOut(workflow_id=wf_id, run_id=handle.result_run_id)
