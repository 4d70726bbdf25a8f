"""Conversations: the fans with recent activity, each with where the conversation stands (the state a human acts
on), its last message, the fan's value and who it is assigned to. Read-only: a human answers through the inbox,
the hand-off queue and the fan's own endpoints."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import CurrentPrincipal
from api.errors import malformed_cursor
from api.routers.handoffs import assignee_filter
from core import db

router = APIRouter(prefix="/v1", tags=["conversations"])


class ConversationState(StrEnum):
    """Where a conversation stands, first match wins."""

    HANDED_OFF = "handed_off"  # frozen for a human (an open hand-off, or a hand-off freeze)
    OPTED_OUT = "opted_out"  # the fan asked to stop
    DRAFT_PENDING = "draft_pending"  # a draft awaits a human's decision
    NEEDS_REPLY = "needs_reply"  # the fan wrote last and no draft waits (e.g. it failed or was rejected)
    WAITING_ON_FAN = "waiting_on_fan"  # the creator's side wrote last


class ConversationSort(StrEnum):
    WAITING = "waiting"  # the fan waiting longest first, then those not waiting
    VALUE = "value"  # highest value first: LTV, or the spend so far before the first segmentation
    RECENT = "recent"  # most recent activity first


# sort -> (SQL key over the `conv` rows, descending). Keys are never NULL, so keyset pages are exact.
_SORTS: dict[ConversationSort, tuple[str, bool]] = {
    ConversationSort.WAITING: ("coalesce(extract(epoch FROM waiting_since)::float8, 1e15)", False),
    ConversationSort.VALUE: ("coalesce(ltv_cents, spent_cents)::float8", True),
    ConversationSort.RECENT: ("coalesce(extract(epoch FROM last_activity_at)::float8, 0)", True),
}

_CONVERSATIONS = """
WITH conv AS (
  SELECT f.id::text AS fan_id, f.platform, f.platform_fan_id, f.display_name,
    lm.direction AS last_direction, lm.text AS last_text, lm.sent_at AS last_sent_at,
    CASE WHEN lm.direction = 'in' THEN (
      SELECT min(m.sent_at) FROM messages m WHERE m.creator_id = f.creator_id AND m.fan_id = f.id
      AND m.direction = 'in' AND m.sent_at > coalesce(lo.sent_at, '-infinity')) END AS waiting_since,
    greatest(lm.sent_at, pd.created_at, h.opened_at) AS last_activity_at,
    pd.id::text AS draft_id, h.id::text AS handoff_id, h.assignee::text AS assignee,
    s.segment, s.ltv_cents, coalesce(spent.cents, 0)::bigint AS spent_cents,
    CASE WHEN h.id IS NOT NULL OR f.handoff_at IS NOT NULL THEN 'handed_off'
         WHEN f.opted_out_at IS NOT NULL THEN 'opted_out'
         WHEN pd.id IS NOT NULL THEN 'draft_pending'
         WHEN lm.direction = 'in' THEN 'needs_reply'
         ELSE 'waiting_on_fan' END AS state
  FROM fans f
  LEFT JOIN LATERAL (SELECT direction, text, sent_at FROM messages
    WHERE creator_id = f.creator_id AND fan_id = f.id ORDER BY sent_at DESC, id DESC LIMIT 1) lm ON true
  LEFT JOIN LATERAL (SELECT sent_at FROM messages WHERE creator_id = f.creator_id AND fan_id = f.id
    AND direction = 'out' ORDER BY sent_at DESC, id DESC LIMIT 1) lo ON true
  LEFT JOIN LATERAL (SELECT id, created_at FROM drafts WHERE creator_id = f.creator_id AND fan_id = f.id
    AND status IN ('pending_review', 'blocked') ORDER BY created_at DESC, id DESC LIMIT 1) pd ON true
  LEFT JOIN handoffs h ON h.creator_id = f.creator_id AND h.fan_id = f.id AND h.resolved_at IS NULL
  LEFT JOIN fan_scores s ON s.creator_id = f.creator_id AND s.fan_id = f.id
  LEFT JOIN LATERAL (SELECT sum(t.amount_cents) AS cents FROM transactions t
    WHERE t.creator_id = f.creator_id AND t.fan_id = f.id) spent ON true
  WHERE f.creator_id = %(creator)s
    AND (lm.sent_at > now() - make_interval(days => %(days)s) OR pd.id IS NOT NULL OR h.id IS NOT NULL)
)
SELECT *, {key} AS sort_key FROM conv
WHERE (%(state)s::text IS NULL OR state = %(state)s)
  AND (%(assignee)s::text IS NULL OR assignee = %(assignee)s)
  AND (NOT %(unassigned)s OR assignee IS NULL)
  AND (%(after_id)s::text IS NULL OR ({key}, fan_id) {op} (%(after_key)s::float8, %(after_id)s::text))
ORDER BY {key} {direction}, fan_id {direction} LIMIT %(limit)s
"""


class LastMessage(BaseModel):
    direction: Literal["in", "out"] = Field(description="in: from the fan; out: sent to the fan")
    text: str
    sent_at: datetime


class Value(BaseModel):
    spend_cents: int = Field(description="the fan's payments so far")
    ltv_cents: int | None = Field(description="expected lifetime value (null before the first segmentation)")
    segment: str | None = Field(description="the fan's segment at the latest refresh (null before it)")


class Conversation(BaseModel):
    fan_id: str
    platform: str
    platform_fan_id: str
    display_name: str
    state: ConversationState
    last_message: LastMessage | None = Field(description="null when nothing was said yet (a follow-up draft)")
    last_activity_at: datetime | None = Field(description="the last message, pending draft or hand-off")
    waiting_since: datetime | None = Field(
        description="the fan's oldest message since the creator's side last wrote (null: the fan is not waiting)"
    )
    draft_id: str | None = Field(description="the newest draft awaiting a decision")
    handoff_id: str | None = Field(description="the open hand-off")
    assignee: str | None = Field(description="the member the open hand-off is assigned to")
    value: Value


class ConversationPage(BaseModel):
    items: list[Conversation]
    next_cursor: str | None


def _decode_cursor(cursor: str, sort: ConversationSort) -> tuple[float, str]:
    try:
        key, fan_id, tag = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if tag != sort.value:
            raise ValueError("cursor from another sort order")
        return float(key), str(UUID(fan_id))
    except (ValueError, TypeError) as exc:
        raise malformed_cursor() from exc


@router.get("/conversations", response_model=ConversationPage)
async def list_conversations(
    who: CurrentPrincipal,
    state: ConversationState | None = None,
    assignee: Annotated[
        str | None, Query(max_length=64, description="`me`, `none` (unassigned) or a member id")
    ] = None,
    sort: ConversationSort = ConversationSort.WAITING,
    within_days: Annotated[
        int, Query(ge=1, le=365, description="a message in these last days (or a pending draft or hand-off)")
    ] = 30,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=400, description="next_cursor of the previous page (same sort)")
    ] = None,
) -> Any:
    """Fans with recent activity: state, last message, value and assignee; keyset pages."""
    member, unassigned = assignee_filter(assignee, who)
    after = _decode_cursor(cursor, sort) if cursor else None
    key, desc = _SORTS[sort]
    op, direction = ("<", "DESC") if desc else (">", "ASC")
    sql = _CONVERSATIONS.format(key=key, op=op, direction=direction)
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            sql.encode(),
            {
                "creator": who.creator_id,
                "days": within_days,
                "state": state.value if state else None,
                "assignee": member,
                "unassigned": unassigned,
                "after_key": after[0] if after else None,
                "after_id": after[1] if after else None,
                "limit": limit + 1,
            },
        )
        rows = await cur.fetchall()
    items = [
        Conversation(
            fan_id=r["fan_id"],
            platform=r["platform"],
            platform_fan_id=r["platform_fan_id"],
            display_name=r["display_name"],
            state=ConversationState(r["state"]),
            last_message=None
            if r["last_direction"] is None
            else LastMessage(direction=r["last_direction"], text=r["last_text"], sent_at=r["last_sent_at"]),
            last_activity_at=r["last_activity_at"],
            waiting_since=r["waiting_since"],
            draft_id=r["draft_id"],
            handoff_id=r["handoff_id"],
            assignee=r["assignee"],
            value=Value(spend_cents=r["spent_cents"], ltv_cents=r["ltv_cents"], segment=r["segment"]),
        )
        for r in rows[:limit]
    ]
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = base64.urlsafe_b64encode(
            json.dumps([last["sort_key"], last["fan_id"], sort.value]).encode()
        ).decode()
    return ConversationPage(items=items, next_cursor=nxt)
