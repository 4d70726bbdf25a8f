"""Fans: list and look up fans with their scores; a human lifts an opt-out or a hand-off freeze (nothing
automated ever does)."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from agents.segmentation.explain import explain
from agents.segmentation.refresh import SEGMENTS
from api.auth import CurrentPrincipal, Principal
from api.errors import BIGINT_MAX, ApiError, malformed_cursor
from api.routers.notes import TAG_PATTERN, NoteOut
from core import db
from core.db import Conn
from core.journal import append_audit, record_action
from core.store import fans, handoffs, messages, notes
from core.store import scores as scores_store
from core.types import Role

router = APIRouter(prefix="/v1", tags=["fans"])


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="why automated drafting may resume")
    age_signal_cleared: bool = Field(
        False,
        description="a human checked the fan's age: clears the remembered age signal (required when the fan has"
        " one; otherwise the fan stays handed off)",
    )


class FanState(BaseModel):
    id: str
    platform_fan_id: str
    display_name: str
    opted_out: bool
    handoff_reason: str | None


@router.post("/fans/{fan_id}/resume", response_model=FanState, responses={404: {}, 409: {}})
async def resume(fan_id: UUID, body: ResumeIn, who: CurrentPrincipal) -> Any:
    """Re-enable automated drafting for a fan frozen by an opt-out or a hand-off (its open hand-off, if any, is
    resolved with it)."""
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn, conn.transaction():
        row = await unfreeze_fan(conn, who, fan_id, body.reason, age_signal_cleared=body.age_signal_cleared)
    return row


async def unfreeze_fan(
    conn: Conn, who: Principal, fan_id: UUID | str, reason: str, *, age_signal_cleared: bool
) -> FanState:
    """Lift a fan's opt-out and hand-off freeze, inside the caller's transaction: 404 for no such fan, 409 when
    nothing is frozen or an age signal is not cleared. Recorded as an action and audited (`fan.resumed`); an open
    hand-off of the fan is resolved with it. The one path of `POST /v1/fans/{id}/resume` and of a hand-off
    resolved with `unfreeze`."""
    freeze = await fans.freeze_for_update(conn, who.creator_id, fan_id)
    if freeze is None:
        raise ApiError(404, "not_found", "no such fan")
    if not freeze.frozen and freeze.age_signal_at is None:
        raise ApiError(409, "not_frozen", "automated drafting is not frozen for this fan")
    if freeze.age_signal_at is not None and not age_signal_cleared:
        raise ApiError(
            409,
            "age_signal_not_cleared",
            "this fan may be a minor (an earlier message said so): set age_signal_cleared once a human has"
            " checked their age",
        )
    row = await fans.unfreeze(conn, who.creator_id, fan_id, clear_age_signal=age_signal_cleared)
    resolved = await handoffs.resolve_open_of_fan(
        conn, who.creator_id, fan_id, by=who.member_id, resolution=reason
    )
    details = {
        "reason": reason,
        "was_opted_out": freeze.opted_out_at is not None,
        "was_handoff": freeze.handoff_reason,
        "age_signal_cleared": freeze.age_signal_at is not None and age_signal_cleared,
        "handoff_resolved": resolved,
    }
    await record_action(
        conn,
        creator_id=who.creator_id,
        fan_id=str(fan_id),
        kind="resumed",
        summary=f"a human re-enabled automated drafting: {reason}",
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
    return FanState(**asdict(row))


Segment = Literal[
    "whale", "big_spender", "loyal", "new", "at_risk", "dormant", "expired", "never_spent", "regular"
]
assert set(Segment.__args__) == set(SEGMENTS)  # type: ignore[attr-defined]


class FanSort(StrEnum):
    LTV = "ltv"  # highest expected value first
    SPEND = "spend"  # highest all-time spend first
    P_ALIVE = "p_alive"  # most likely lost first
    RECENT = "recent"  # most recently active first
    NAME = "name"


# sort -> (SQL key, descending, cursor cast). Keys are never NULL, so keyset pagination is exact.
_SORTS: dict[FanSort, tuple[str, bool, str]] = {
    FanSort.LTV: ("coalesce(s.ltv_cents, -1)::float8", True, "float8"),
    FanSort.SPEND: ("coalesce(s.spend_cents, 0)::float8", True, "float8"),
    FanSort.P_ALIVE: ("coalesce(s.p_alive, 2)::float8", False, "float8"),
    FanSort.RECENT: ("coalesce(s.days_since_active, 1000000)::float8", False, "float8"),
    FanSort.NAME: ("f.display_name", False, "text"),
}


class FanListItem(BaseModel):
    id: str
    platform: str = Field(description="onlyfans, fansly, fanvue, instagram, reddit, tiktok or x")
    platform_fan_id: str
    display_name: str
    subscription_status: str
    segment: str | None
    value_tier: str | None
    spend_cents: int | None
    ltv_cents: int | None
    p_alive: float | None
    days_since_active: int | None
    tags: list[str]


class FanPage(BaseModel):
    items: list[FanListItem]
    next_cursor: str | None


def _decode_cursor(cursor: str, sort: FanSort) -> tuple[Any, str]:
    try:
        key, fan_id, tag = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if tag != sort.value:
            raise ValueError("cursor from another sort order")
        if _SORTS[sort][2] == "float8":
            key = float(key)
        elif not isinstance(key, str):
            raise ValueError("cursor key")
        return key, str(UUID(fan_id))
    except (ValueError, TypeError) as exc:
        raise malformed_cursor() from exc


@router.get("/fans", response_model=FanPage)
async def list_fans(
    who: CurrentPrincipal,
    segment: Segment | None = None,
    tag: Annotated[
        str | None,
        Query(max_length=40, pattern=TAG_PATTERN, description="only fans with this tag (any case)"),
    ] = None,
    sort: FanSort = FanSort.LTV,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page (same sort)")] = None,
) -> Any:
    """Fans with their segment, scores (null before the first segmentation) and tags, filtered by segment and
    tag."""
    key, desc, cast = _SORTS[sort]
    after = _decode_cursor(cursor, sort) if cursor else None
    op, direction = ("<", "DESC") if desc else (">", "ASC")
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT f.id::text AS id, f.platform, f.platform_fan_id, f.display_name, f.subscription_status, s.segment,"
            " s.value_tier, s.spend_cents, s.ltv_cents, s.p_alive, s.days_since_active, f.tags, "
            f"{key} AS sort_key FROM fans f"
            " LEFT JOIN fan_scores s ON s.creator_id = f.creator_id AND s.fan_id = f.id"
            " WHERE f.creator_id = %(creator)s AND (%(segment)s::text IS NULL OR s.segment = %(segment)s)"
            " AND (%(tag)s::text IS NULL OR f.tags @> ARRAY[%(tag)s::text])"
            f" AND (%(after_id)s::uuid IS NULL OR ({key}, f.id) {op} (%(after_key)s::{cast}, %(after_id)s::uuid))"
            f" ORDER BY {key} {direction}, f.id {direction} LIMIT %(limit)s",
            {
                "creator": who.creator_id,
                "segment": segment,
                "tag": tag.lower() if tag else None,
                "after_key": after[0] if after else None,
                "after_id": after[1] if after else None,
                "limit": limit + 1,
            },
        )
        rows = await cur.fetchall()
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = base64.urlsafe_b64encode(
            json.dumps([last["sort_key"], last["id"], sort.value]).encode()
        ).decode()
    return FanPage(items=[FanListItem(**r) for r in rows[:limit]], next_cursor=nxt)


class Scores(BaseModel):
    segment: str
    value_tier: str
    r_score: int | None
    f_score: int | None
    m_score: int | None
    days_since_purchase: int | None
    days_since_active: int | None
    purchase_days: int
    spend_cents: int
    discretionary_cents: int
    p_alive: float | None
    expected_purchases: float | None
    expected_value_cents: float | None
    ltv_cents: int | None
    horizon_days: int
    best_hours: list[int]
    computed_at: datetime
    explanation: dict[str, str]


class MemoryOut(BaseModel):
    id: str
    kind: str
    text: str
    importance: float
    created_at: datetime


class PurchaseOut(BaseModel):
    kind: str
    amount_cents: int
    catalog_id: str | None
    title: str | None = Field(
        description="the catalog item's title (null without an item, or once it is gone)"
    )
    occurred_at: datetime


class FanDetail(BaseModel):
    id: str
    platform: str = Field(description="onlyfans, fansly, fanvue, instagram, reddit, tiktok or x")
    platform_fan_id: str
    display_name: str
    timezone: str
    subscription_status: str
    subscribed_at: datetime | None
    expires_at: datetime | None
    opted_out: bool
    handoff_at: datetime | None = Field(
        description="when the fan was handed to a human (null: not handed off)"
    )
    handoff_reason: str | None
    # When a message first read as a possible minor: the fan stays handed off until a human clears it.
    age_signal_at: datetime | None
    age_signal_text: str | None = Field(description="the message that read as a possible minor")
    scores: Scores | None  # null until the first segmentation refresh
    memories: list[MemoryOut]  # boundaries first, then by importance
    recent_purchases: list[PurchaseOut]
    tags: list[str]
    notes: list[NoteOut] = Field(description="the team's newest 20 notes (all: GET /v1/fans/{id}/notes)")


@router.get("/fans/{fan_id}", response_model=FanDetail, responses={404: {}})
async def get_fan(fan_id: UUID, who: CurrentPrincipal) -> Any:
    """One fan: profile, scores with the reasons behind them, memories, recent purchases, tags and the team's
    notes."""
    async with db.pool().connection() as conn:
        fan = await fans.get(conn, who.creator_id, fan_id)
        if fan is None:
            raise ApiError(404, "not_found", "no such fan")
        score = await scores_store.fan_score(conn, who.creator_id, fan_id)
        cur = await conn.execute(
            "SELECT id::text AS id, kind, text, importance, created_at FROM fan_memories"
            " WHERE creator_id = %s AND fan_id = %s"
            " ORDER BY kind = 'boundary' DESC, importance DESC, created_at DESC LIMIT 20",
            [who.creator_id, fan_id],
        )
        memories = await cur.fetchall()
        cur = await conn.execute(
            "SELECT t.kind, t.amount_cents, t.catalog_id::text AS catalog_id, c.title, t.occurred_at"
            " FROM transactions t LEFT JOIN catalog c ON c.creator_id = t.creator_id AND c.id = t.catalog_id"
            " WHERE t.creator_id = %s AND t.fan_id = %s ORDER BY t.occurred_at DESC LIMIT 10",
            [who.creator_id, fan_id],
        )
        purchases = await cur.fetchall()
        fan_tags = await fans.tags(conn, who.creator_id, fan_id)
        fan_notes = await notes.page(conn, who.creator_id, fan_id, before=None, limit=20)
    scores = None
    if score is not None:
        model = score.pop("model")
        scores = Scores(
            **{k: v for k, v in score.items() if k in Scores.model_fields},
            horizon_days=model.get("horizon_days", 0),
            explanation=explain(score, model, fan.timezone),
        )
    return FanDetail(
        **asdict(fan),
        scores=scores,
        memories=[MemoryOut(**m) for m in memories],
        recent_purchases=[PurchaseOut(**p) for p in purchases],
        tags=fan_tags,
        notes=[NoteOut(**asdict(n)) for n in fan_notes],
    )


class MessageOut(BaseModel):
    id: int
    direction: str = Field(
        description="in: from the fan; out: sent to the fan, an approved draft (draft_id) or the creator's own"
        " message on the platform (a creator_message event, draft_id null)"
    )
    text: str
    draft_id: str | None
    sent_at: datetime
    sent_by: str | None = Field(
        None,
        description="out: the member who sent it (who wrote it, or approved the agent's draft); null for the"
        " creator's own messages on the platform and imported history",
    )


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: int | None = Field(None, description="pass as `before` for older messages")


@router.get("/fans/{fan_id}/messages", response_model=MessagePage, responses={404: {}})
async def fan_messages(
    fan_id: UUID,
    who: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=BIGINT_MAX, description="only messages older than this id")
    ] = None,
) -> Any:
    """The conversation with one fan, newest recorded first (keyset pages by message id)."""
    async with db.pool().connection() as conn:
        if not await fans.exists(conn, who.creator_id, fan_id):
            raise ApiError(404, "not_found", "no such fan")
        rows = await messages.page(conn, who.creator_id, fan_id, before=before, limit=limit + 1)
    items = [MessageOut(**asdict(r)) for r in rows[:limit]]
    return MessagePage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


# A fan's export, section by section: every stored row about the fan, in the order it happened. Left out: the
# creator id (the caller's own) and memory embeddings (derived from the memory's text, 384 numbers each).
_EXPORT_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("events", "events", "occurred_at, id"),
    ("messages", "messages", "sent_at, id"),
    ("transactions", "transactions", "occurred_at, id"),
    ("refunds", "refunds", "occurred_at, id"),
    ("drafts", "drafts", "created_at, id"),
    ("deliveries", "outbox", "created_at, id"),
    ("memories", "fan_memories", "created_at, id"),
    ("scores", "fan_scores", "fan_id"),
    ("followups", "followups", "started_at, id"),
    ("campaigns", "campaign_recipients", "campaign_id"),
    ("actions", "agent_actions", "created_at, id"),
    ("handoffs", "handoffs", "opened_at, id"),
    ("notes", "fan_notes", "created_at, id"),
)
_NOT_EXPORTED = {"creator_id", "embedding"}


class FanExport(BaseModel):
    format: Literal["huntaze.fan-export/1"] = "huntaze.fan-export/1"
    exported_at: datetime
    fan: dict[str, Any]
    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    transactions: list[dict[str, Any]]
    refunds: list[dict[str, Any]] = Field(description="refunds and chargebacks of the fan's payments")
    drafts: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    memories: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    followups: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    handoffs: list[dict[str, Any]] = Field(
        description="each time the fan was handed to a human, and how it ended"
    )
    notes: list[dict[str, Any]] = Field(description="the team's notes on the fan")


@router.get("/fans/{fan_id}/export", response_model=FanExport, responses={404: {}})
async def export_fan(fan_id: UUID, who: CurrentPrincipal) -> Any:
    """Everything stored about one fan, as one JSON document (e.g. to answer the fan's request for their data).
    Owners only, after a step-up (it is all of a fan's data at once); read in one snapshot; each export is
    audited."""
    who.require(Role.OWNER)
    who.require_step_up()
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        fan = await fans.export_row(conn, who.creator_id, fan_id)
        if fan is None:
            raise ApiError(404, "not_found", "no such fan")
        sections: dict[str, list[dict[str, Any]]] = {}
        for name, table, order in _EXPORT_SECTIONS:
            cur = await conn.execute(
                f"SELECT * FROM {table} WHERE creator_id = %s AND fan_id = %s ORDER BY {order}",
                [who.creator_id, fan_id],
            )
            sections[name] = [
                {k: v for k, v in row.items() if k not in _NOT_EXPORTED} for row in await cur.fetchall()
            ]
        cur = await conn.execute("SELECT now() AS at")
        at = await cur.fetchone()
    async with db.pool().connection() as conn, conn.transaction():
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="fan.exported",
            subject=f"fan:{fan_id}",
            details={name: len(rows) for name, rows in sections.items()},
        )
    assert at is not None
    return FanExport(
        exported_at=at["at"], fan={k: v for k, v in fan.items() if k not in _NOT_EXPORTED}, **sections
    )
