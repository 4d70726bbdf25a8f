"""outbox: one delivery per sent draft (unique per draft), handed to the platform's webhook or adapter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from core.store import Conn, Id, fetch_one


@dataclass(frozen=True, slots=True)
class Delivery:
    status: str  # pending | delivered
    payload: dict[str, Any]


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
        "SELECT status, payload FROM outbox WHERE creator_id = %s AND draft_id = %s",
        [creator_id, draft_id],
    )


async def record_failure(conn: Conn, creator_id: Id, draft_id: Id, error: str) -> None:
    """A failed delivery attempt (the error kept to 500 characters)."""
    await conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE creator_id = %s AND draft_id = %s",
        [error[:500], creator_id, draft_id],
    )


async def mark_delivered(conn: Conn, creator_id: Id, draft_id: Id, at: datetime) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = %s, last_error = NULL"
        " WHERE creator_id = %s AND draft_id = %s",
        [at, creator_id, draft_id],
    )
