"""messages: the conversation with a fan. `in` rows come from the fan's platform events; an `out` row is an
approved draft, written once when it is sent (unique per draft)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.store import Conn, Id, fetch_all


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    direction: str
    text: str
    draft_id: str | None
    sent_at: datetime
    sent_by: str | None


@dataclass(frozen=True, slots=True)
class Recent:
    direction: str
    text: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Inbound:
    id: int
    text: str


async def page(conn: Conn, creator_id: Id, fan_id: Id, *, before: int | None, limit: int) -> list[Message]:
    """Up to `limit` of the fan's messages, newest recorded first, older than message `before` if given."""
    return await fetch_all(
        conn,
        Message,
        "SELECT id, direction, text, draft_id::text AS draft_id, sent_at, sent_by::text AS sent_by FROM messages"
        " WHERE creator_id = %s AND fan_id = %s AND (%s::bigint IS NULL OR id < %s)"
        " ORDER BY id DESC LIMIT %s",
        [creator_id, fan_id, before, before, limit],
    )


async def recent(conn: Conn, creator_id: Id, fan_id: Id, limit: int = 12) -> list[Recent]:
    """The fan's last `limit` messages, newest first."""
    return await fetch_all(
        conn,
        Recent,
        "SELECT direction, text, sent_at FROM messages WHERE creator_id = %s AND fan_id = %s"
        " ORDER BY sent_at DESC, id DESC LIMIT %s",
        [creator_id, fan_id, limit],
    )


async def inbound_of_events(
    conn: Conn, creator_id: Id, fan_id: Id, event_ids: Sequence[int]
) -> list[Inbound]:
    """The fan's messages that arrived as these events, in arrival order."""
    return await fetch_all(
        conn,
        Inbound,
        "SELECT id, text FROM messages WHERE creator_id = %s AND fan_id = %s AND event_id = ANY(%s)"
        " AND direction = 'in' ORDER BY id",
        [creator_id, fan_id, list(event_ids)],
    )


async def insert_inbound(
    conn: Conn,
    creator_id: Id,
    fan_id: Id,
    *,
    text: str,
    platform_message_id: str,
    event_id: int,
    sent_at: datetime,
) -> None:
    """A message from the fan, once per platform message id. Reads no result, so it costs no round trip in
    pipeline mode."""
    await conn.execute(
        "INSERT INTO messages (creator_id, fan_id, direction, text, platform_message_id, event_id, sent_at)"
        " VALUES (%s, %s, 'in', %s, %s, %s, %s) ON CONFLICT (creator_id, platform_message_id) DO NOTHING",
        [creator_id, fan_id, text, platform_message_id, event_id, sent_at],
    )


async def insert_creator_message(
    conn: Conn,
    creator_id: Id,
    fan_id: Id,
    *,
    text: str,
    platform_message_id: str,
    event_id: int,
    sent_at: datetime,
) -> None:
    """A message the creator or a chatter sent on the platform directly (no draft): outbound like a sent draft,
    so it counts in the send caps and in the conversation's history. Once per platform message id."""
    await conn.execute(
        "INSERT INTO messages (creator_id, fan_id, direction, text, platform_message_id, event_id, sent_at)"
        " VALUES (%s, %s, 'out', %s, %s, %s, %s) ON CONFLICT (creator_id, platform_message_id) DO NOTHING",
        [creator_id, fan_id, text, platform_message_id, event_id, sent_at],
    )


async def insert_outbound(
    conn: Conn,
    creator_id: Id,
    fan_id: Id,
    *,
    text: str,
    draft_id: Id,
    sent_at: datetime,
    sent_by: Id | None = None,
) -> None:
    """The sent message of an approved draft, once per draft, with the member who sent it (who approved the
    draft, or wrote it). No result read: pipeline-friendly."""
    await conn.execute(
        "INSERT INTO messages (creator_id, fan_id, direction, text, draft_id, sent_at, sent_by)"
        " VALUES (%s, %s, 'out', %s, %s, %s, %s) ON CONFLICT (draft_id) DO NOTHING",
        [creator_id, fan_id, text, draft_id, sent_at, sent_by],
    )
