"""The SQL of a history import (api/routers/history.py): a batch of past events written set-based, the same rows
the live path writes (events, fans, messages, transactions, refunds), each statement scoped to one creator.

Each function runs in the caller's transaction (one per batch). Arrays go as binary parameters, the input sent
once per statement."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from core.store import Conn, Id


class FanState(NamedTuple):
    """What a batch's events leave on a fan's row: a name or timezone given (None: keep the stored one), the
    subscription state (None: keep it), the first subscription's time and the last expiry (None: none seen)."""

    platform: str
    platform_fan_id: str
    display_name: str | None
    timezone: str | None
    status: str | None
    subscribed_at: datetime | None
    expires_at: datetime | None


class EventRow(NamedTuple):
    """An event of the batch with the message (`direction` and `text`) and the payment (`txn_kind`,
    `amount_cents`, `catalog_id`) it implies; `unlock`: attribute the payment to the latest sent draft that
    offered its item to the fan."""

    fan_id: uuid.UUID
    event_id: str
    kind: str
    payload: str
    occurred_at: datetime
    direction: str | None
    text: str | None
    txn_kind: str | None
    amount_cents: int | None
    catalog_id: uuid.UUID | None
    unlock: bool


class MoneyBackRow(NamedTuple):
    """A refund or chargeback that passed its checks: the money back on `transaction_id`."""

    fan_id: uuid.UUID
    event_id: str
    kind: str
    payload: str
    occurred_at: datetime
    transaction_id: int
    amount_cents: int


async def stored_kinds(conn: Conn, creator_id: Id, event_ids: list[str]) -> dict[str, str]:
    """The kind of each of these platform event ids the creator already has."""
    cur = await conn.execute(
        "SELECT platform_event_id, kind FROM events WHERE creator_id = %s AND platform_event_id = ANY(%s)",
        [creator_id, event_ids],
    )
    return {r["platform_event_id"]: r["kind"] for r in await cur.fetchall()}


async def upsert_fans(
    conn: Conn, creator_id: Id, fans: list[FanState]
) -> tuple[dict[tuple[str, str], uuid.UUID], int]:
    """Each fan's id by (platform, platform_fan_id), and how many fans are new: a new fan inserted with its
    state, a stored one updated only when its values change (every extra row version slows the key checks of the
    next batch's rows). The fans go in one order (platform, platform_fan_id) so concurrent writers lock them
    alike."""
    fans = sorted(fans, key=lambda f: (f.platform, f.platform_fan_id))
    arrays = [
        [f.platform for f in fans],
        [f.platform_fan_id for f in fans],
        [f.display_name for f in fans],
        [f.timezone for f in fans],
        [f.status for f in fans],
        [f.subscribed_at for f in fans],
        [f.expires_at for f in fans],
    ]
    values = (
        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[],"
        " %s::timestamptz[]) AS u(platform, key, name, tz, status, since, expired)"
    )
    cur = await conn.execute(
        "INSERT INTO fans (creator_id, platform, platform_fan_id, display_name, timezone, subscription_status,"
        " subscribed_at, expires_at)"
        " SELECT %s, u.platform, u.key, coalesce(u.name, ''), coalesce(u.tz, 'UTC'), coalesce(u.status, 'none'),"
        " u.since, u.expired" + values + " ON CONFLICT (creator_id, platform, platform_fan_id) DO NOTHING",
        [creator_id, *arrays],
    )
    created = cur.rowcount
    await conn.execute(
        "UPDATE fans f SET display_name = coalesce(u.name, f.display_name), timezone = coalesce(u.tz, f.timezone),"
        " subscription_status = coalesce(u.status, f.subscription_status),"
        " subscribed_at = coalesce(f.subscribed_at, u.since), expires_at = coalesce(u.expired, f.expires_at)"
        + values
        + " WHERE f.creator_id = %s AND f.platform = u.platform AND f.platform_fan_id = u.key"
        " AND (coalesce(u.name, f.display_name), coalesce(u.tz, f.timezone), coalesce(u.status, f.subscription_status),"
        "   coalesce(f.subscribed_at, u.since), coalesce(u.expired, f.expires_at))"
        "   IS DISTINCT FROM (f.display_name, f.timezone, f.subscription_status, f.subscribed_at, f.expires_at)",
        [*arrays, creator_id],
    )
    cur = await conn.execute(
        "SELECT platform, platform_fan_id, id FROM fans WHERE creator_id = %s"
        " AND (platform, platform_fan_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
        [creator_id, *arrays[:2]],
    )
    return {(r["platform"], r["platform_fan_id"]): r["id"] for r in await cur.fetchall()}, created


async def plan_in_memory(conn: Conn) -> None:
    """Plan the rest of the transaction as if every page were in memory (random_page_cost 1.1, PostgreSQL's
    advice for data in RAM or on SSD): the foreign-key checks of each inserted row then look the fan up by its
    key instead of scanning the table while it has a few pages, the size of a new creator's fans."""
    await conn.execute("SET LOCAL random_page_cost = 1.1")


async def analyze_fans_if_grown(conn: Conn, created: int) -> None:
    """Refresh the fans table's statistics when `created` new fans are many next to those the statistics know
    (never analyzed, or more than a tenth more, autovacuum's own rule, which it applies up to a minute later):
    without them the key check of every following row scans all of a creator's fans instead of finding one.
    Other backends replan at commit, this one at once. A role that does not own the table is told so in a
    warning and goes on unchanged."""
    cur = await conn.execute("SELECT reltuples FROM pg_class WHERE oid = 'fans'::regclass")
    row = await cur.fetchone()
    known = row["reltuples"] if row else -1
    if known < 0 or created > 50 + 0.1 * known:
        await conn.execute("ANALYZE fans")


# One statement per batch for the event rows and what they imply: the events (handled at once: dispatched and
# processed), then, from the rows actually inserted, the messages (the fan's in, the creator's own out) and the
# payments, an unlock attributed to the latest sent draft that offered its item to the fan, as the events
# endpoint does (a concurrent writer that stored an event first keeps its own rows). Rows go in by fan, so each
# fan's row is locked once for the key checks.
_INSERT_EVENTS = """
WITH u AS (
  SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::text[], %b::text[],
    %b::text[], %b::int[], %b::uuid[], %b::bool[]) WITH ORDINALITY
    AS u(fan_id, event_id, kind, payload, occurred_at, direction, text, txn_kind, amount, catalog_id, unlock, n)
), e AS (
  INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at, dispatched_at, processed_at)
  SELECT %b::uuid, fan_id, event_id, kind, payload::jsonb, occurred_at, now(), now() FROM u ORDER BY fan_id, n
  ON CONFLICT (creator_id, platform_event_id) DO NOTHING RETURNING id, platform_event_id
), m AS (
  INSERT INTO messages (creator_id, fan_id, direction, text, platform_message_id, event_id, sent_at)
  SELECT %b::uuid, u.fan_id, u.direction, u.text, u.event_id, e.id, u.occurred_at
  FROM e JOIN u ON u.event_id = e.platform_event_id WHERE u.direction IS NOT NULL ORDER BY u.fan_id, u.n
  ON CONFLICT (creator_id, platform_message_id) DO NOTHING
), t AS (
  INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, catalog_id, offer_draft_id, event_id,
    platform_txn_id, occurred_at)
  SELECT %b::uuid, u.fan_id, u.txn_kind, u.amount, u.catalog_id,
    CASE WHEN u.unlock THEN (SELECT d.id FROM drafts d WHERE d.creator_id = %b::uuid AND d.fan_id = u.fan_id
      AND d.status = 'sent' AND d.offer ->> 'catalog_id' = u.catalog_id::text ORDER BY d.updated_at DESC LIMIT 1)
    END,
    e.id, u.event_id, u.occurred_at
  FROM e JOIN u ON u.event_id = e.platform_event_id WHERE u.txn_kind IS NOT NULL ORDER BY u.fan_id, u.n
  ON CONFLICT (creator_id, platform_txn_id) DO NOTHING
)
SELECT platform_event_id FROM e
"""


async def insert_events(conn: Conn, creator_id: Id, rows: list[EventRow]) -> set[str]:
    """Store the events with their messages and payments; returns the event ids stored (one a concurrent writer
    stored first is not: a duplicate)."""
    cid = uuid.UUID(str(creator_id))
    cur = await conn.execute(
        _INSERT_EVENTS,
        [
            [r.fan_id for r in rows],
            [r.event_id for r in rows],
            [r.kind for r in rows],
            [r.payload for r in rows],
            [r.occurred_at for r in rows],
            [r.direction for r in rows],
            [r.text for r in rows],
            [r.txn_kind for r in rows],
            [r.amount_cents for r in rows],
            [r.catalog_id for r in rows],
            [r.unlock for r in rows],
            cid,
            cid,
            cid,
            cid,
        ],
    )
    return {r["platform_event_id"] for r in await cur.fetchall()}


# Refunds and chargebacks that passed their checks: the events (handled at once) and the money back.
_INSERT_MONEY_BACK = """
WITH u AS (
  SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::bigint[], %b::int[])
    AS u(fan_id, event_id, kind, payload, occurred_at, transaction_id, amount)
), e AS (
  INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at, dispatched_at, processed_at)
  SELECT %b::uuid, fan_id, event_id, kind, payload::jsonb, occurred_at, now(), now() FROM u
  ON CONFLICT (creator_id, platform_event_id) DO NOTHING RETURNING id, platform_event_id
), r AS (
  INSERT INTO refunds (creator_id, fan_id, kind, transaction_id, amount_cents, event_id, occurred_at)
  SELECT %b::uuid, u.fan_id, u.kind, u.transaction_id, u.amount, e.id, u.occurred_at
  FROM e JOIN u ON u.event_id = e.platform_event_id
)
SELECT platform_event_id FROM e
"""


async def insert_money_back(conn: Conn, creator_id: Id, rows: list[MoneyBackRow]) -> int:
    """Store the refunds and chargebacks with their events; returns how many were stored."""
    cid = uuid.UUID(str(creator_id))
    cur = await conn.execute(
        _INSERT_MONEY_BACK,
        [
            [r.fan_id for r in rows],
            [r.event_id for r in rows],
            [r.kind for r in rows],
            [r.payload for r in rows],
            [r.occurred_at for r in rows],
            [r.transaction_id for r in rows],
            [r.amount_cents for r in rows],
            cid,
            cid,
        ],
    )
    return len(await cur.fetchall())


async def mark_handled(conn: Conn, creator_id: Id, event_id: int) -> None:
    """An event stored by the live path's code, marked dispatched and processed: nothing answers it."""
    await conn.execute(
        "UPDATE events SET dispatched_at = now(), processed_at = now() WHERE creator_id = %s AND id = %s",
        [creator_id, event_id],
    )
