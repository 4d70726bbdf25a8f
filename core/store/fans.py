"""fans: one platform subscriber of one creator, with their subscription state and the freezes (an opt-out, a
hand-off to a human) that stop automated drafting until a human lifts them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.store import Conn, Id, fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    platform: str
    platform_fan_id: str
    display_name: str
    timezone: str
    subscription_status: str
    subscribed_at: datetime | None
    expires_at: datetime | None
    opted_out: bool
    handoff_at: datetime | None
    handoff_reason: str | None
    age_signal_at: datetime | None
    age_signal_text: str | None


@dataclass(frozen=True, slots=True)
class State:
    id: str
    platform_fan_id: str
    display_name: str
    opted_out: bool
    handoff_reason: str | None


@dataclass(frozen=True, slots=True)
class Freeze:
    opted_out_at: datetime | None
    handoff_at: datetime | None
    handoff_reason: str | None
    age_signal_at: datetime | None

    @property
    def frozen(self) -> bool:
        return self.opted_out_at is not None or self.handoff_at is not None


@dataclass(frozen=True, slots=True)
class BestTimes:
    id: str
    timezone: str
    best_hours: list[int] | None  # null before the fan's first segmentation


@dataclass(frozen=True, slots=True)
class RoutingFacts:
    """What the supervisor routes a batch on: the fan's freezes, spend and the creator's hand-off threshold,
    with the batch's events not processed yet (id, kind, payload), oldest first."""

    opted_out_at: datetime | None
    handoff_at: datetime | None
    handoff_reason: str | None
    age_signal_at: datetime | None
    handoff_spend_cents: int | None
    spent_cents: int
    events: list[dict[str, Any]]
    active_followups: list[str]  # the kinds of the fan's follow-up sequences still running


async def get(conn: Conn, creator_id: Id, fan_id: Id) -> Profile | None:
    return await fetch_one(
        conn,
        Profile,
        "SELECT id::text AS id, platform, platform_fan_id, display_name, timezone, subscription_status, subscribed_at,"
        " expires_at, opted_out_at IS NOT NULL AS opted_out, handoff_at, handoff_reason, age_signal_at,"
        " age_signal_text FROM fans WHERE creator_id = %s AND id = %s",
        [creator_id, fan_id],
    )


async def exists(conn: Conn, creator_id: Id, fan_id: Id) -> bool:
    cur = await conn.execute("SELECT 1 FROM fans WHERE creator_id = %s AND id = %s", [creator_id, fan_id])
    return await cur.fetchone() is not None


async def export_row(conn: Conn, creator_id: Id, fan_id: Id) -> dict[str, Any] | None:
    """Every stored column of the fan (an export names them all, whatever the schema holds)."""
    cur = await conn.execute("SELECT * FROM fans WHERE creator_id = %s AND id = %s", [creator_id, fan_id])
    return await cur.fetchone()


async def upsert(
    conn: Conn,
    creator_id: Id,
    platform_fan_id: str,
    *,
    display_name: str | None,
    timezone: str | None,
    platform: str = "onlyfans",
) -> str:
    """The fan's id (one fan per creator, platform and platform id), the fan created on first sight. A name or
    timezone given replaces the stored one; None (or an empty name) keeps it."""
    cur = await conn.execute(
        "INSERT INTO fans (creator_id, platform, platform_fan_id, display_name, timezone) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (creator_id, platform, platform_fan_id) DO UPDATE SET"
        " display_name = CASE WHEN EXCLUDED.display_name <> '' THEN EXCLUDED.display_name ELSE fans.display_name END,"
        " timezone = CASE WHEN %s THEN EXCLUDED.timezone ELSE fans.timezone END"
        " RETURNING id::text AS id",
        [creator_id, platform, platform_fan_id, display_name or "", timezone or "UTC", timezone is not None],
    )
    row = await cur.fetchone()
    assert row is not None  # an upsert always returns its row
    return str(row["id"])


async def mark_subscribed(conn: Conn, creator_id: Id, fan_id: Id, at: datetime) -> None:
    """A subscription started or renewed at `at` (the first one's time is kept)."""
    await conn.execute(
        "UPDATE fans SET subscription_status = 'active', subscribed_at = coalesce(subscribed_at, %s)"
        " WHERE creator_id = %s AND id = %s",
        [at, creator_id, fan_id],
    )


async def mark_expired(conn: Conn, creator_id: Id, fan_id: Id, at: datetime) -> None:
    await conn.execute(
        "UPDATE fans SET subscription_status = 'expired', expires_at = %s WHERE creator_id = %s AND id = %s",
        [at, creator_id, fan_id],
    )


async def freeze_for_update(conn: Conn, creator_id: Id, fan_id: Id) -> Freeze | None:
    """The fan's freezes, the fan row locked until the transaction ends."""
    return await fetch_one(
        conn,
        Freeze,
        "SELECT opted_out_at, handoff_at, handoff_reason, age_signal_at FROM fans"
        " WHERE creator_id = %s AND id = %s FOR UPDATE",
        [creator_id, fan_id],
    )


async def unfreeze(conn: Conn, creator_id: Id, fan_id: Id, *, clear_age_signal: bool = False) -> State | None:
    """Lift an opt-out and a hand-off (a human's call only); the age signal only when they say it is cleared."""
    return await fetch_one(
        conn,
        State,
        "UPDATE fans SET opted_out_at = NULL, handoff_at = NULL, handoff_reason = NULL,"
        " age_signal_at = CASE WHEN %s THEN NULL ELSE age_signal_at END,"
        " age_signal_text = CASE WHEN %s THEN NULL ELSE age_signal_text END"
        " WHERE creator_id = %s AND id = %s"
        " RETURNING id::text AS id, platform_fan_id, display_name, false AS opted_out, handoff_reason",
        [clear_age_signal, clear_age_signal, creator_id, fan_id],
    )


async def record_age_signal(conn: Conn, creator_id: Id, fan_id: Id, text: str) -> None:
    """A message read as a possible minor: kept with the fan (the first one's time and words) until cleared."""
    await conn.execute(
        "UPDATE fans SET age_signal_at = coalesce(age_signal_at, now()),"
        " age_signal_text = coalesce(age_signal_text, %s) WHERE creator_id = %s AND id = %s",
        [text[:500], creator_id, fan_id],
    )


async def opt_out(conn: Conn, creator_id: Id, fan_id: Id) -> None:
    """The fan asked to stop: freeze automated drafting (the first opt-out's time is kept)."""
    await conn.execute(
        "UPDATE fans SET opted_out_at = coalesce(opted_out_at, now()) WHERE creator_id = %s AND id = %s",
        [creator_id, fan_id],
    )


async def hand_off(conn: Conn, creator_id: Id, fan_id: Id, reason: str | None) -> None:
    """A human is needed: freeze automated drafting (the first hand-off's time is kept)."""
    await conn.execute(
        "UPDATE fans SET handoff_at = coalesce(handoff_at, now()), handoff_reason = %s"
        " WHERE creator_id = %s AND id = %s",
        [reason, creator_id, fan_id],
    )


async def best_times(conn: Conn, creator_id: Id, fan_ids: Sequence[Id]) -> dict[str, BestTimes]:
    """Each fan's timezone and best hours to read a message, by fan id."""
    rows = await fetch_all(
        conn,
        BestTimes,
        "SELECT f.id::text AS id, f.timezone, s.best_hours FROM fans f LEFT JOIN fan_scores s"
        " ON s.creator_id = f.creator_id AND s.fan_id = f.id WHERE f.creator_id = %s AND f.id = ANY(%s::uuid[])",
        [creator_id, list(fan_ids)],
    )
    return {r.id: r for r in rows}


async def routing_facts(
    conn: Conn, creator_id: Id, fan_id: Id, event_ids: Sequence[int]
) -> RoutingFacts | None:
    """The fan's routing facts and the batch's events not yet processed, in one statement."""
    return await fetch_one(
        conn,
        RoutingFacts,
        "SELECT f.opted_out_at, f.handoff_at, f.handoff_reason, f.age_signal_at,"
        " (c.policy_config ->> 'handoff_spend_cents')::bigint AS handoff_spend_cents,"
        # what the fan spent: paid, less what went back (refunds and chargebacks)
        " (SELECT coalesce(sum(amount_cents), 0) FROM transactions t"
        "   WHERE t.creator_id = f.creator_id AND t.fan_id = f.id)"
        " - (SELECT coalesce(sum(amount_cents), 0) FROM refunds r"
        "   WHERE r.creator_id = f.creator_id AND r.fan_id = f.id) AS spent_cents,"
        # Already-processed events (a re-dispatch after an API retry) are not handled twice.
        " (SELECT coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'kind', e.kind, 'payload', e.payload)"
        "   ORDER BY e.id), '[]') FROM events e WHERE e.creator_id = f.creator_id AND e.fan_id = f.id"
        "   AND e.id = ANY(%s) AND e.processed_at IS NULL) AS events,"
        " array(SELECT DISTINCT fu.kind FROM followups fu WHERE fu.creator_id = f.creator_id AND fu.fan_id = f.id"
        "   AND fu.status = 'active' ORDER BY fu.kind) AS active_followups"
        " FROM fans f JOIN creators c ON c.id = f.creator_id WHERE f.creator_id = %s AND f.id = %s",
        [list(event_ids), creator_id, fan_id],
    )


async def set_tags(conn: Conn, creator_id: Id, fan_id: Id, tags: Sequence[str]) -> list[str] | None:
    """Replace the fan's tags; the tags before (None: no such fan). Locks the fan row."""
    cur = await conn.execute(
        "SELECT tags FROM fans WHERE creator_id = %s AND id = %s FOR UPDATE", [creator_id, fan_id]
    )
    row = await cur.fetchone()
    if row is None:
        return None
    await conn.execute(
        "UPDATE fans SET tags = %s WHERE creator_id = %s AND id = %s", [list(tags), creator_id, fan_id]
    )
    return list(row["tags"])


async def tags(conn: Conn, creator_id: Id, fan_id: Id) -> list[str]:
    cur = await conn.execute("SELECT tags FROM fans WHERE creator_id = %s AND id = %s", [creator_id, fan_id])
    row = await cur.fetchone()
    return [] if row is None else list(row["tags"])


@dataclass(frozen=True, slots=True)
class Found:
    id: str
    display_name: str | None
    platform: str
    subscription_status: str


async def find_by_name(conn: Conn, creator_id: Id, name: str, limit: int = 10) -> list[Found]:
    """Fans whose display name or platform id contains `name` (case-insensitive), exact matches first."""
    pattern = "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return await fetch_all(
        conn,
        Found,
        "SELECT id::text AS id, display_name, platform, subscription_status FROM fans"
        " WHERE creator_id = %s AND (display_name ILIKE %s OR platform_fan_id ILIKE %s)"
        " ORDER BY lower(display_name) = lower(%s) DESC, display_name, id LIMIT %s",
        [creator_id, pattern, pattern, name, limit],
    )
