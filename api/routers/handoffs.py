"""The hand-off queue: fans handed to a human, one row per hand-off (`{id}` is the hand-off's id, not the fan's: a
fan kept frozen can be handed off again). A manager assigns a hand-off to a member; the manager, or the chatter
it is assigned to, resolves it with a reason, unfreezing the fan (the fan resume's path and rules) or keeping it
frozen. Every assignment and resolution is audited."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.auth import ROLE_RANK, CurrentPrincipal, Principal
from api.errors import ApiError, malformed_cursor
from api.routers.fans import FanState, unfreeze_fan
from core import db
from core.journal import append_audit
from core.store import fans, handoffs
from core.types import Role

router = APIRouter(prefix="/v1", tags=["handoffs"])


class HandoffOut(BaseModel):
    id: str = Field(description="the hand-off's id (POST /v1/handoffs/{id}/assign and /resolve)")
    fan_id: str
    platform_fan_id: str
    display_name: str
    reason: str | None = Field(
        description="why a human is needed (possible_minor, self_harm, chargeback, ...)"
    )
    opened_at: datetime
    age_signal_at: datetime | None = Field(description="when a message first read as a possible minor")
    age_signal_text: str | None = Field(description="the message that did")
    assignee: str | None = Field(description="the member it is assigned to (null: nobody)")
    assignee_email: str | None
    assigned_at: datetime | None
    resolved_at: datetime | None = Field(description="null while open")
    resolved_by: str | None
    resolution: str | None = Field(description="the reason given when it was resolved")
    unfroze: bool | None = Field(description="whether the resolution unfroze the fan (null while open)")
    fan_frozen: bool = Field(description="whether automated drafting is frozen for the fan now")


class HandoffPage(BaseModel):
    items: list[HandoffOut]
    next_cursor: str | None


def assignee_filter(value: str | None, who: Principal) -> tuple[str | None, bool]:
    """`assignee=`: `me`, `none` (unassigned) or a member id -> (member id, unassigned only). Anything else is a
    422 naming the parameter."""
    if value is None:
        return None, False
    if value == "me":
        return who.member_id, False
    if value == "none":
        return None, True
    try:
        return str(UUID(value)), False
    except ValueError:
        raise ApiError(
            422,
            "validation_error",
            "the request is invalid",
            {
                "fields": [
                    {
                        "field": "query.assignee",
                        "message": "`me`, `none` or a member id",
                        "type": "value_error",
                        "allowed": ["me", "none", "<member id>"],
                    }
                ]
            },
        ) from None


def _encode_cursor(at: datetime, handoff_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), handoff_id]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, hid = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("cursor time without a zone")
        return parsed, str(UUID(hid))
    except (ValueError, TypeError) as exc:
        raise malformed_cursor() from exc


@router.get("/handoffs", response_model=HandoffPage)
async def list_handoffs(
    who: CurrentPrincipal,
    status: handoffs.Status = handoffs.Status.OPEN,
    assignee: Annotated[
        str | None, Query(max_length=64, description="`me`, `none` (unassigned) or a member id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=400, description="next_cursor of the previous page")
    ] = None,
) -> Any:
    """Hand-offs newest first (keyset pages): open by default, `resolved` or `all`; of one assignee or none."""
    member, unassigned = assignee_filter(assignee, who)
    after = _decode_cursor(cursor) if cursor else None
    async with db.pool().connection() as conn:
        rows = await handoffs.queue(
            conn,
            who.creator_id,
            status=status,
            assignee=member,
            unassigned=unassigned,
            after=after,
            limit=limit + 1,
        )
    nxt = _encode_cursor(rows[limit - 1].opened_at, rows[limit - 1].id) if len(rows) > limit else None
    return HandoffPage(items=[HandoffOut(**asdict(r)) for r in rows[:limit]], next_cursor=nxt)


@router.get("/handoffs/{handoff_id}", response_model=HandoffOut, responses={404: {}})
async def get_handoff(handoff_id: UUID, who: CurrentPrincipal) -> Any:
    async with db.pool().connection() as conn:
        row = await handoffs.get(conn, who.creator_id, handoff_id)
    if row is None:
        raise ApiError(404, "not_found", "no such hand-off")
    return HandoffOut(**asdict(row))


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: UUID | None = Field(
        description="the member who takes it (a chatter, manager or owner of this creator); null unassigns"
    )


@router.post("/handoffs/{handoff_id}/assign", response_model=HandoffOut, responses={404: {}, 409: {}})
async def assign(handoff_id: UUID, body: AssignIn, who: CurrentPrincipal) -> Any:
    """Assign an open hand-off to a member (manager). Audited (`handoff.assigned`)."""
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn, conn.transaction():
        row = await handoffs.lock(conn, who.creator_id, handoff_id)
        if row is None:
            raise ApiError(404, "not_found", "no such hand-off")
        if row.resolved_at is not None:
            raise ApiError(409, "handoff_resolved", "this hand-off is resolved already")
        member = str(body.member_id) if body.member_id else None
        if member is not None and not await handoffs.member_can_act(conn, who.creator_id, member):
            raise ApiError(
                422,
                "validation_error",
                "the request is invalid",
                {
                    "fields": [
                        {
                            "field": "member_id",
                            "message": "no member of this creator with a role that answers fans"
                            " (chatter, manager or owner)",
                            "type": "value_error",
                        }
                    ]
                },
            )
        await handoffs.assign(conn, who.creator_id, handoff_id, member)
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="handoff.assigned",
            subject=f"handoff:{handoff_id}",
            details={"fan_id": row.fan_id, "from": row.assignee, "to": member},
        )
        out = await handoffs.get(conn, who.creator_id, handoff_id)
    assert out is not None  # locked above
    return HandoffOut(**asdict(out))


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="what was done and why")
    unfreeze: bool = Field(
        description="true: automated drafting resumes for the fan (as POST /v1/fans/{id}/resume); false: the fan"
        " stays frozen"
    )
    age_signal_cleared: bool = Field(
        False,
        description="with unfreeze, for a fan with an age signal: a manager checked the fan's age (required for"
        " such a fan, 409 age_signal_not_cleared otherwise)",
    )


class ResolveOut(BaseModel):
    handoff: HandoffOut
    fan: FanState


@router.post("/handoffs/{handoff_id}/resolve", response_model=ResolveOut, responses={404: {}, 409: {}})
async def resolve(handoff_id: UUID, body: ResolveIn, who: CurrentPrincipal) -> Any:
    """Resolve an open hand-off with a reason (a manager, or the chatter it is assigned to). Audited
    (`handoff.resolved`; an unfreeze also as `fan.resumed`)."""
    who.require(Role.CHATTER)
    async with db.pool().connection() as conn, conn.transaction():
        row = await handoffs.lock(conn, who.creator_id, handoff_id)
        if row is None:
            raise ApiError(404, "not_found", "no such hand-off")
        if ROLE_RANK[who.role] < ROLE_RANK[Role.MANAGER] and row.assignee != who.member_id:
            raise ApiError(403, "forbidden", "a chatter resolves only the hand-offs assigned to them")
        if body.age_signal_cleared:
            # clearing an age signal is a manager's call, as on POST /v1/fans/{id}/resume
            who.require(Role.MANAGER)
        if row.resolved_at is not None:
            raise ApiError(409, "handoff_resolved", "this hand-off is resolved already")
        await handoffs.resolve(
            conn, who.creator_id, handoff_id, by=who.member_id, resolution=body.reason, unfroze=body.unfreeze
        )
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="handoff.resolved",
            subject=f"handoff:{handoff_id}",
            details={"fan_id": row.fan_id, "reason": body.reason, "unfreeze": body.unfreeze},
        )
        if body.unfreeze:
            fan = await unfreeze_fan(
                conn, who, row.fan_id, body.reason, age_signal_cleared=body.age_signal_cleared
            )
        else:
            fan = await _fan_state(conn, who, row.fan_id)
        out = await handoffs.get(conn, who.creator_id, handoff_id)
    assert out is not None  # locked above
    return ResolveOut(handoff=HandoffOut(**asdict(out)), fan=fan)


async def _fan_state(conn: db.Conn, who: Principal, fan_id: str) -> FanState:
    profile = await fans.get(conn, who.creator_id, fan_id)
    assert profile is not None  # a hand-off's fan (deleting the fan deletes its hand-offs)
    return FanState(
        id=profile.id,
        platform_fan_id=profile.platform_fan_id,
        display_name=profile.display_name,
        opted_out=profile.opted_out,
        handoff_reason=profile.handoff_reason,
    )
