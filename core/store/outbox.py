"""outbox: one delivery per sent draft (unique per draft), handed to the platform's webhook or adapter, with the
adapter's receipt (delivered or failed, the platform's message id) and what a human did about a failure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from core.store import Conn, Id, fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class Delivery:
    status: str  # pending | delivered | failed | discarded
    payload: dict[str, Any]
    retries: int = 0


@dataclass(frozen=True, slots=True)
class Receipted:
    """A delivery as the API shows it."""

    id: int
    draft_id: str
    fan_id: str
    fan_name: str
    platform: str
    status: str
    receipt: str | None
    platform_message_id: str | None
    error: str | None
    attempts: int
    retries: int
    created_at: datetime
    delivered_at: datetime | None
    receipt_at: datetime | None
    discarded_at: datetime | None


_RECEIPTED = (
    "SELECT id, draft_id::text AS draft_id, fan_id::text AS fan_id,"
    " (SELECT f.display_name FROM fans f WHERE f.creator_id = outbox.creator_id AND f.id = outbox.fan_id) AS fan_name,"
    " platform, status, receipt, platform_message_id,"
    " receipt_error AS error, attempts, retries, created_at, delivered_at, receipt_at, discarded_at FROM outbox"
)


async def insert(
    conn: Conn, creator_id: Id, *, draft_id: Id, fan_id: Id, platform: str, payload: dict[str, Any]
) -> None:
    """The draft's delivery, once per draft (no result read: pipeline-friendly)."""
    await conn.execute(
        "INSERT INTO outbox (creator_id, draft_id, fan_id, platform, payload) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (draft_id) DO NOTHING",
        [creator_id, draft_id, fan_id, platform, Jsonb(payload)],
    )


async def get(conn: Conn, creator_id: Id, draft_id: Id) -> Delivery | None:
    return await fetch_one(
        conn,
        Delivery,
        "SELECT status, payload, retries FROM outbox WHERE creator_id = %s AND draft_id = %s",
        [creator_id, draft_id],
    )


async def record_failure(conn: Conn, creator_id: Id, draft_id: Id, error: str) -> None:
    """A failed delivery attempt (the error kept to 500 characters)."""
    await conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE creator_id = %s AND draft_id = %s",
        [error[:500], creator_id, draft_id],
    )


async def mark_delivered(conn: Conn, creator_id: Id, draft_id: Id, at: datetime) -> None:
    """Handed over (the webhook answered 2xx). Only a pending row: a receipt that came first is not undone."""
    await conn.execute(
        "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = %s, last_error = NULL"
        " WHERE creator_id = %s AND draft_id = %s AND status = 'pending'",
        [at, creator_id, draft_id],
    )


async def receipted(conn: Conn, creator_id: Id, draft_id: Id, *, lock: bool = False) -> Receipted | None:
    """The draft's delivery with its receipt; with `lock`, the row locked until the transaction ends."""
    sql = _RECEIPTED + " WHERE creator_id = %s AND draft_id = %s"
    return await fetch_one(conn, Receipted, sql + " FOR UPDATE" if lock else sql, [creator_id, draft_id])


async def page(
    conn: Conn, creator_id: Id, *, status: str | None, cursor: int | None, limit: int
) -> list[Receipted]:
    """The creator's deliveries newest first (by outbox id, below `cursor`), of one status if given."""
    return await fetch_all(
        conn,
        Receipted,
        _RECEIPTED + " WHERE creator_id = %s AND (%s::text IS NULL OR status = %s)"
        " AND (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
        [creator_id, status, status, cursor, cursor, limit],
    )


async def record_receipt(
    conn: Conn,
    creator_id: Id,
    draft_id: Id,
    *,
    receipt: str,
    platform_message_id: str | None,
    error: str | None,
    at: datetime,
) -> None:
    """The adapter's report on the current attempt: delivered (with the platform's message id) or failed."""
    await conn.execute(
        "UPDATE outbox SET receipt = %s, receipt_at = %s, status = %s, platform_message_id = %s, receipt_error = %s,"
        " delivered_at = CASE WHEN %s = 'delivered' THEN coalesce(delivered_at, %s) ELSE delivered_at END"
        " WHERE creator_id = %s AND draft_id = %s",
        [receipt, at, receipt, platform_message_id, error, receipt, at, creator_id, draft_id],
    )


async def mark_failed(conn: Conn, creator_id: Id, draft_id: Id, error: str, at: datetime) -> bool:
    """A pending delivery that can never be handed over as it is (the connection's address is refused): failed,
    waiting for a human. False when it was not pending."""
    cur = await conn.execute(
        "UPDATE outbox SET status = 'failed', receipt_error = %s, receipt_at = %s"
        " WHERE creator_id = %s AND draft_id = %s AND status = 'pending'",
        [error[:500], at, creator_id, draft_id],
    )
    return cur.rowcount > 0


async def reopen_for_retry(conn: Conn, creator_id: Id, draft_id: Id) -> None:
    """A human retries a failed delivery: a new attempt, pending again, without a receipt."""
    await conn.execute(
        "UPDATE outbox SET status = 'pending', receipt = NULL, receipt_at = NULL, receipt_error = NULL,"
        " platform_message_id = NULL, delivered_at = NULL, send_started_at = NULL, retries = retries + 1"
        " WHERE creator_id = %s AND draft_id = %s AND status = 'failed'",
        [creator_id, draft_id],
    )


async def discard(conn: Conn, creator_id: Id, draft_id: Id, member_id: Id, at: datetime) -> None:
    """A human gives up on a failed delivery: it is never tried again."""
    await conn.execute(
        "UPDATE outbox SET status = 'discarded', discarded_at = %s, discarded_by = %s"
        " WHERE creator_id = %s AND draft_id = %s AND status = 'failed'",
        [at, member_id, creator_id, draft_id],
    )


async def mark_send_started(conn: Conn, creator_id: Id, draft_id: Id) -> bool:
    """Mark the current attempt's platform call as started (once): False when it already was, or when the
    delivery is no longer pending."""
    cur = await conn.execute(
        "UPDATE outbox SET send_started_at = now() WHERE creator_id = %s AND draft_id = %s AND status = 'pending'"
        " AND send_started_at IS NULL",
        [creator_id, draft_id],
    )
    return cur.rowcount > 0


async def clear_send_mark(conn: Conn, creator_id: Id, draft_id: Id) -> None:
    """The platform answered that it did not take the message: the next try may call again."""
    await conn.execute(
        "UPDATE outbox SET send_started_at = NULL WHERE creator_id = %s AND draft_id = %s",
        [creator_id, draft_id],
    )
