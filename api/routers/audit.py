"""GET /v1/audit: the creator's append-only, hash-chained audit log (owners only), and a chain check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import CurrentPrincipal
from api.errors import BIGINT_MAX, ApiError
from core import db
from core.journal import verify_audit
from core.types import AuditAction, Role

router = APIRouter(prefix="/v1", tags=["audit"])


class AuditEntry(BaseModel):
    id: int
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str | None
    hash: str
    created_at: datetime


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: int | None


class ChainHead(BaseModel):
    id: int
    hash: str = Field(description="hex")


class AuditVerification(BaseModel):
    ok: bool
    rows_checked: int
    first_broken: dict[str, Any] | None
    head: ChainHead | None = Field(
        description="the newest row checked: keep it outside this service and pass it back as the anchor of a later"
        " check, which then also catches the removal of the newest rows"
    )


@router.get("/audit", response_model=AuditPage)
async def audit(
    who: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        int | None, Query(ge=1, le=BIGINT_MAX, description="next_cursor of the previous page")
    ] = None,
    action: Annotated[AuditAction | None, Query(description="only entries of this action")] = None,
) -> Any:
    who.require(Role.OWNER)
    action_name = action.value if action else None
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT id, actor, action, subject, details, encode(prev_hash, 'hex') AS prev_hash,"
            " encode(hash, 'hex') AS hash, created_at FROM audit_log WHERE creator_id = %s"
            " AND (%s::bigint IS NULL OR id < %s) AND (%s::text IS NULL OR action = %s)"
            " ORDER BY id DESC LIMIT %s",
            [who.creator_id, cursor, cursor, action_name, action_name, limit + 1],
        )
        rows = await cur.fetchall()
    items = [AuditEntry(**r) for r in rows[:limit]]
    return AuditPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


@router.get("/audit/verify", response_model=AuditVerification)
async def audit_verify(
    who: CurrentPrincipal,
    anchor_id: Annotated[
        int | None, Query(ge=1, le=BIGINT_MAX, description="`head.id` of an earlier check (with anchor_hash)")
    ] = None,
    anchor_hash: Annotated[
        str | None, Query(pattern="^[0-9a-f]{64}$", description="`head.hash` of that check (with anchor_id)")
    ] = None,
) -> Any:
    who.require(Role.OWNER)
    if (anchor_id is None) != (anchor_hash is None):
        missing = "query.anchor_hash" if anchor_hash is None else "query.anchor_id"
        raise ApiError(
            422,
            "validation_error",
            "the request is invalid",
            {
                "fields": [
                    {"field": missing, "message": "anchor_id and anchor_hash go together", "type": "missing"}
                ]
            },
        )
    anchor = (anchor_id, bytes.fromhex(anchor_hash)) if anchor_id is not None and anchor_hash else None
    async with db.pool().connection() as conn:
        report = await verify_audit(conn, who.creator_id, anchor)
    return AuditVerification(
        ok=report.ok,
        rows_checked=report.rows_checked,
        first_broken=report.first_broken,
        head=ChainHead(**report.head) if report.head else None,
    )
