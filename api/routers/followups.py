"""Follow-up sequences: list them, and read or replace the creator's sequence settings."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from psycopg.types.json import Jsonb
from pydantic import BaseModel
from temporalio.service import RPCError

from agents.followup.config import FollowupConfig
from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError, malformed_cursor
from core import db
from core.journal import append_audit
from core.store import followups
from core.types import Role
from workflows.schedules import ensure_daily_plan_schedule

router = APIRouter(prefix="/v1/followups", tags=["follow-ups"])


class FollowupOut(BaseModel):
    id: str
    fan_id: str
    kind: str
    status: str
    segment: str | None
    catalog_id: str | None
    steps: list[dict[str, Any]]
    steps_done: int
    next_step_at: datetime | None
    stop_reason: str | None
    started_at: datetime
    ended_at: datetime | None
    workflow_id: str


class FollowupPage(BaseModel):
    items: list[FollowupOut]
    next_cursor: str | None


@router.get("", response_model=FollowupPage)
async def list_followups(
    who: CurrentPrincipal,
    status: Literal["active", "completed", "cancelled"] | None = None,
    kind: Literal["welcome", "win_back", "ppv_reminder", "inactive"] | None = None,
    fan_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Any:
    """Sequences, newest first."""
    after: tuple[datetime, str] | None = None
    if cursor:
        try:
            ts, fid = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            after = (datetime.fromisoformat(ts), str(UUID(fid)))
        except (ValueError, TypeError) as exc:
            raise malformed_cursor() from exc
    async with db.pool().connection() as conn:
        rows = await followups.page(
            conn, who.creator_id, status=status, kind=kind, fan_id=fan_id, after=after, limit=limit + 1
        )
    items = [FollowupOut(**asdict(r)) for r in rows[:limit]]
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = base64.urlsafe_b64encode(json.dumps([last.started_at.isoformat(), last.id]).encode()).decode()
    return FollowupPage(items=items, next_cursor=nxt)


@router.get("/config", response_model=FollowupConfig)
async def get_config(who: CurrentPrincipal) -> Any:
    async with db.pool().connection() as conn:
        cur = await conn.execute("SELECT followup_config FROM creators WHERE id = %s", [who.creator_id])
        row = await cur.fetchone()
    if row is None:
        raise ApiError(404, "not_found", "no such creator")
    return FollowupConfig.from_stored(row["followup_config"])


@router.put("/config", response_model=FollowupConfig, responses={422: {}})
async def put_config(
    body: FollowupConfig, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]
) -> Any:
    """Replace the settings (omitted fields take their defaults). New sequences use them; running ones keep the
    steps they were planned with. A new `daily_plan_hour` moves the creator's schedule at once."""
    who.require(Role.MANAGER)
    stored = body.model_dump(mode="json")
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE creators SET followup_config = %s WHERE id = %s RETURNING timezone",
            [Jsonb(stored), who.creator_id],
        )
        row = await cur.fetchone()
        if row is None:
            raise ApiError(404, "not_found", "no such creator")
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="followup_config_changed",
            subject=who.creator_id,
            details={"config": stored},
        )
    try:
        await ensure_daily_plan_schedule(
            rt.temporal, who.creator_id, row["timezone"], body.daily_plan_hour, rt.settings.task_queue
        )
    except RPCError as exc:
        raise ApiError(
            503,
            "schedule_pending",
            "the settings are saved; the daily plan's schedule moves when the worker next starts (or PUT again)",
        ) from exc
    return body
