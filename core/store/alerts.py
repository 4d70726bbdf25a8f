"""alert_configs and alerts: a creator's alert channels, and one row per alert (written before it is sent, under a
key unique per creator, so an event told twice (a retried activity) is one alert, and a sent alert is never sent
again)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from core.store import Conn, Id, fetch_all, fetch_one

# The events a creator can subscribe to, as sent in each alert's `event` field.
HANDOFF = "handoff"
DELIVERY_FAILED = "delivery_failed"
DAILY_PLAN_READY = "daily_plan_ready"
REVENUE_ANOMALY = "revenue_anomaly"
DRAFTS_EXPIRING = "drafts_expiring"
TOKEN_EXPIRING = "token_expiring"
EVENTS = (HANDOFF, DELIVERY_FAILED, DAILY_PLAN_READY, REVENUE_ANOMALY, DRAFTS_EXPIRING, TOKEN_EXPIRING)


@dataclass(frozen=True, slots=True)
class Config:
    webhook_url: str | None
    email_to: str | None
    key_id: str | None
    secret_nonce: bytes | None
    secret_sealed: bytes | None
    events: list[str]
    updated_at: datetime | None
    updated_by: str | None


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    channel: str
    event: str
    idempotency_key: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


_CONFIG = (
    "SELECT webhook_url, email_to, key_id, secret_nonce, secret_sealed, events, updated_at, updated_by::text AS updated_by"
    " FROM alert_configs WHERE creator_id = %s"
)


async def get_config(conn: Conn, creator_id: Id) -> Config | None:
    return await fetch_one(conn, Config, _CONFIG, [creator_id])


async def put_config(
    conn: Conn,
    creator_id: Id,
    *,
    webhook_url: str | None,
    email_to: str | None,
    sealed: tuple[str, bytes, bytes] | None,
    events: list[str],
    member_id: Id | None,
) -> Config:
    """Replace the creator's channels and events (the whole set). `sealed` is (key_id, nonce, ciphertext)."""
    key_id, nonce, ciphertext = sealed if sealed else (None, None, None)
    await conn.execute(
        "INSERT INTO alert_configs"
        " (creator_id, webhook_url, email_to, key_id, secret_nonce, secret_sealed, events, updated_by)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (creator_id) DO UPDATE SET"
        " webhook_url = EXCLUDED.webhook_url, email_to = EXCLUDED.email_to, key_id = EXCLUDED.key_id, secret_nonce = EXCLUDED.secret_nonce,"
        " secret_sealed = EXCLUDED.secret_sealed, events = EXCLUDED.events, updated_by = EXCLUDED.updated_by,"
        " updated_at = now()",
        [creator_id, webhook_url, email_to, key_id, nonce, ciphertext, events, member_id],
    )
    row = await get_config(conn, creator_id)
    assert row is not None
    return row


async def enqueue(
    conn: Conn, creator_id: Id, event: str, idempotency_key: str, payload: dict[str, Any]
) -> None:
    """An alert of `event` per configured channel (webhook, e-mail), if the creator subscribes to it; nothing when the key exists already
    (the same event told again). Runs in the transaction that records the event itself."""
    await conn.execute(
        "INSERT INTO alerts (creator_id, channel, event, idempotency_key, payload)"
        " SELECT a.creator_id, ch.channel, %s, %s, %s FROM alert_configs a"
        " CROSS JOIN LATERAL (VALUES ('webhook', a.webhook_url IS NOT NULL), ('email', a.email_to IS NOT NULL))"
        " AS ch(channel, configured)"
        " WHERE a.creator_id = %s AND %s = ANY(a.events) AND ch.configured"
        " ON CONFLICT (creator_id, channel, idempotency_key) DO NOTHING",
        [event, idempotency_key, Jsonb(payload), creator_id, event],
    )


async def lock_pending(conn: Conn, creator_id: Id, limit: int = 50) -> list[Alert]:
    """The creator's unsent alerts, oldest first, locked (another sender skips them) in the caller's transaction."""
    return await fetch_all(
        conn,
        Alert,
        "SELECT id, channel, event, idempotency_key, payload, created_at, attempts FROM alerts"
        " WHERE creator_id = %s AND status = 'pending' ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
        [creator_id, limit],
    )


async def sent_within_hour(conn: Conn, creator_id: Id) -> int:
    cur = await conn.execute(
        "SELECT count(*) AS n FROM alerts WHERE creator_id = %s AND status = 'sent'"
        " AND sent_at > now() - interval '1 hour'",
        [creator_id],
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


# The longest wait before a failed alert is tried again.
RETRY_MAX_S = 3600


async def mark(
    conn: Conn, creator_id: Id, alert_id: int, status: str, error: str | None = None, retry_s: int = 60
) -> None:
    """After a try: `sent`, `rate_limited`, or `pending` again with the error of a failed try, due again after
    retry_s seconds, doubled for each earlier try (at most RETRY_MAX_S)."""
    await conn.execute(
        "UPDATE alerts SET status = %s, attempts = attempts + 1, last_error = %s,"
        " sent_at = CASE WHEN %s::text = 'sent' THEN now() END,"
        " next_attempt_at = now() + make_interval(secs => least(%s * power(2, attempts), %s))"
        " WHERE creator_id = %s AND id = %s",
        [status, error, status, retry_s, RETRY_MAX_S, creator_id, alert_id],
    )


async def due_creators(conn: Conn, limit: int = 500) -> list[str]:
    """The creators (of every tenant: this is the retry schedule's sweep) with a pending alert that is due."""
    cur = await conn.execute(
        "SELECT DISTINCT creator_id::text AS creator_id FROM alerts"
        " WHERE status = 'pending' AND next_attempt_at <= now() LIMIT %s",
        [limit],
    )
    return [r["creator_id"] for r in await cur.fetchall()]
