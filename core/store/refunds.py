"""refunds: money back on one earlier transaction, a refund or a chargeback. Transactions keep what was paid
(gross); these rows are what went back, so net = gross - refunds - chargebacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.store import Conn, Id, fetch_one


@dataclass(frozen=True, slots=True)
class Original:
    """The transaction money goes back on, with what already went back on it."""

    id: int
    fan_id: str
    kind: str
    amount_cents: int
    returned_cents: int

    @property
    def refundable_cents(self) -> int:
        return self.amount_cents - self.returned_cents


async def original_for_update(
    conn: Conn, creator_id: Id, *, event_id: int | None = None, platform_event_id: str | None = None
) -> Original | None:
    """The creator's transaction written by an event (our event id, or the platform's event id it was posted
    with), locked until the transaction ends so two refunds of it cannot both take the last cents."""
    return await fetch_one(
        conn,
        Original,
        "SELECT t.id, t.fan_id::text AS fan_id, t.kind, t.amount_cents,"
        " (SELECT coalesce(sum(r.amount_cents), 0) FROM refunds r WHERE r.transaction_id = t.id)::int"
        " AS returned_cents FROM transactions t"
        " WHERE t.creator_id = %s AND (t.event_id = %s OR t.platform_txn_id = %s) LIMIT 1 FOR UPDATE OF t",
        [creator_id, event_id, platform_event_id],
    )


async def insert(
    conn: Conn,
    creator_id: Id,
    fan_id: Id,
    *,
    kind: str,
    transaction_id: int,
    amount_cents: int,
    event_id: int,
    occurred_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO refunds (creator_id, fan_id, kind, transaction_id, amount_cents, event_id, occurred_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [creator_id, fan_id, kind, transaction_id, amount_cents, event_id, occurred_at],
    )


async def originals_for_update(
    conn: Conn, creator_id: Id, *, event_ids: list[int], platform_event_ids: list[str]
) -> tuple[dict[int, Original], dict[str, Original]]:
    """`original_for_update` for many at once: the creator's transactions written by these events (by our event
    id, and by the platform's event id), locked until the transaction ends."""
    cur = await conn.execute(
        "SELECT t.id, t.fan_id::text AS fan_id, t.kind, t.amount_cents, t.event_id, t.platform_txn_id,"
        " (SELECT coalesce(sum(r.amount_cents), 0) FROM refunds r WHERE r.transaction_id = t.id)::int"
        " AS returned_cents FROM transactions t"
        " WHERE t.creator_id = %s AND (t.event_id = ANY(%s) OR t.platform_txn_id = ANY(%s))"
        " ORDER BY t.id FOR UPDATE OF t",
        [creator_id, event_ids, platform_event_ids],
    )
    by_event: dict[int, Original] = {}
    by_platform: dict[str, Original] = {}
    for r in await cur.fetchall():
        orig = Original(r["id"], r["fan_id"], r["kind"], r["amount_cents"], r["returned_cents"])
        if r["event_id"] is not None:
            by_event[r["event_id"]] = orig
        if r["platform_txn_id"] is not None:
            by_platform[r["platform_txn_id"]] = orig
    return by_event, by_platform
