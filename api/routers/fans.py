"""Fans: a human lifts an opt-out or a hand-off freeze; nothing automated ever does."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.auth import CurrentPrincipal
from api.errors import ApiError
from core import db
from core.journal import append_audit, record_action
from core.types import Role

router = APIRouter(prefix="/v1", tags=["fans"])


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="why automated drafting may resume")


class FanState(BaseModel):
    id: str
    platform_fan_id: str
    display_name: str
    opted_out: bool
    handoff_reason: str | None


@router.post("/fans/{fan_id}/resume", response_model=FanState, responses={404: {}, 409: {}})
async def resume(fan_id: UUID, body: ResumeIn, who: CurrentPrincipal) -> Any:
    """Re-enable automated drafting for a fan frozen by an opt-out or a hand-off."""
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT opted_out_at, handoff_at, handoff_reason FROM fans WHERE creator_id = %s AND id = %s FOR UPDATE",
            [who.creator_id, fan_id],
        )
        fan = await cur.fetchone()
        if fan is None:
            raise ApiError(404, "not_found", "no such fan")
        if fan["opted_out_at"] is None and fan["handoff_at"] is None:
            raise ApiError(409, "not_frozen", "automated drafting is not frozen for this fan")
        cur = await conn.execute(
            "UPDATE fans SET opted_out_at = NULL, handoff_at = NULL, handoff_reason = NULL"
            " WHERE creator_id = %s AND id = %s"
            " RETURNING id::text AS id, platform_fan_id, display_name, false AS opted_out, handoff_reason",
            [who.creator_id, fan_id],
        )
        row = await cur.fetchone()
        details = {
            "reason": body.reason,
            "was_opted_out": fan["opted_out_at"] is not None,
            "was_handoff": fan["handoff_reason"],
        }
        await record_action(
            conn,
            creator_id=who.creator_id,
            fan_id=str(fan_id),
            kind="resumed",
            summary=f"a human re-enabled automated drafting: {body.reason}",
            details=details,
        )
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="fan.resumed",
            subject=str(fan_id),
            details=details,
        )
    assert row is not None  # locked above, so still there
    return FanState(**row)
