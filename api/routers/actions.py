"""GET /v1/actions: what the agents did, newest first, with cursor pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import CurrentPrincipal
from api.errors import BIGINT_MAX
from core import db
from core.types import ActionKind

router = APIRouter(prefix="/v1", tags=["actions"])


class ActionOut(BaseModel):
    id: int
    kind: str
    summary: str
    fan_id: str | None
    fan_name: str | None = Field(description="the fan's display name (null without a fan)")
    draft_id: str | None
    details: dict[str, Any]
    created_at: datetime


class ActionPage(BaseModel):
    items: list[ActionOut]
    next_cursor: int | None


@router.get("/actions", response_model=ActionPage)
async def actions(
    who: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        int | None, Query(ge=1, le=BIGINT_MAX, description="next_cursor of the previous page")
    ] = None,
    fan_id: UUID | None = None,
    kind: Annotated[ActionKind | None, Query(description="only actions of this kind")] = None,
) -> Any:
    kind_name = kind.value if kind else None
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT a.id, a.kind, a.summary, a.fan_id::text AS fan_id, f.display_name AS fan_name,"
            " a.draft_id::text AS draft_id, a.details, a.created_at FROM agent_actions a"
            " LEFT JOIN fans f ON f.creator_id = a.creator_id AND f.id = a.fan_id"
            " WHERE a.creator_id = %s AND (%s::bigint IS NULL OR a.id < %s)"
            " AND (%s::uuid IS NULL OR a.fan_id = %s) AND (%s::text IS NULL OR a.kind = %s)"
            " ORDER BY a.id DESC LIMIT %s",
            [who.creator_id, cursor, cursor, fan_id, fan_id, kind_name, kind_name, limit + 1],
        )
        rows = await cur.fetchall()
    items = [ActionOut(**r) for r in rows[:limit]]
    return ActionPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)
