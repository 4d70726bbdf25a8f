"""handoffs: each time a fan is handed to a human, one row: opened by the conversation workflow, assigned to a
member, resolved by a human with a reason (unfreezing the fan or keeping it frozen). At most one is open per fan.

`queue` is the one query of the hand-off queue: `GET /v1/handoffs` pages it, `GET /v1/inbox/handoffs` shows its
open first page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.store import Conn, Id, fetch_all, fetch_one


class Status(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Handoff:
    id: str
    fan_id: str
    platform_fan_id: str
    display_name: str
    reason: str | None
    opened_at: datetime
    age_signal_at: datetime | None
    age_signal_text: str | None
    assignee: str | None
    assignee_email: str | None
    assigned_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    unfroze: bool | None
    fan_frozen: bool


@dataclass(frozen=True, slots=True)
class Lock:
    id: str
    fan_id: str
    assignee: str | None
    resolved_at: datetime | None


_COLUMNS = (
    "h.id::text AS id, h.fan_id::text AS fan_id, f.platform_fan_id, f.display_name, h.reason, h.opened_at,"
    " f.age_signal_at, f.age_signal_text, h.assignee::text AS assignee, m.email AS assignee_email, h.assigned_at,"
    " h.resolved_at, h.resolved_by::text AS resolved_by, h.resolution, h.unfroze,"
    " (f.handoff_at IS NOT NULL OR f.opted_out_at IS NOT NULL) AS fan_frozen"
    " FROM handoffs h JOIN fans f ON f.creator_id = h.creator_id AND f.id = h.fan_id"
    " LEFT JOIN members m ON m.creator_id = h.creator_id AND m.id = h.assignee"
)


async def open_for(conn: Conn, creator_id: Id, fan_id: Id, reason: str | None) -> None:
    """The fan was handed to a human: a new open hand-off, unless one is open already (its reason is kept)."""
    await conn.execute(
        "INSERT INTO handoffs (creator_id, fan_id, reason) VALUES (%s, %s, %s)"
        " ON CONFLICT (creator_id, fan_id) WHERE resolved_at IS NULL DO NOTHING",
        [creator_id, fan_id, reason],
    )


async def queue(
    conn: Conn,
    creator_id: Id,
    *,
    status: Status,
    assignee: Id | None,
    unassigned: bool,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Handoff]:
    """Hand-offs newest first (keyset on opened_at, id): open, resolved or all; of one assignee, or unassigned."""
    return await fetch_all(
        conn,
        Handoff,
        f"SELECT {_COLUMNS} WHERE h.creator_id = %(c)s"
        " AND (%(status)s = 'all' OR (h.resolved_at IS NULL) = (%(status)s = 'open'))"
        " AND (%(assignee)s::uuid IS NULL OR h.assignee = %(assignee)s::uuid)"
        " AND (NOT %(unassigned)s OR h.assignee IS NULL)"
        " AND (%(after_at)s::timestamptz IS NULL OR (h.opened_at, h.id) < (%(after_at)s, %(after_id)s::uuid))"
        " ORDER BY h.opened_at DESC, h.id DESC LIMIT %(limit)s",
        {
            "c": creator_id,
            "status": status.value,
            "assignee": assignee,
            "unassigned": unassigned,
            "after_at": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": limit,
        },
    )


async def get(conn: Conn, creator_id: Id, handoff_id: Id) -> Handoff | None:
    return await fetch_one(
        conn, Handoff, f"SELECT {_COLUMNS} WHERE h.creator_id = %s AND h.id = %s", [creator_id, handoff_id]
    )


async def lock(conn: Conn, creator_id: Id, handoff_id: Id) -> Lock | None:
    """The hand-off, locked until the transaction ends."""
    return await fetch_one(
        conn,
        Lock,
        "SELECT id::text AS id, fan_id::text AS fan_id, assignee::text AS assignee, resolved_at FROM handoffs"
        " WHERE creator_id = %s AND id = %s FOR UPDATE",
        [creator_id, handoff_id],
    )


async def assign(conn: Conn, creator_id: Id, handoff_id: Id, member_id: Id | None) -> None:
    await conn.execute(
        "UPDATE handoffs SET assignee = %s, assigned_at = CASE WHEN %s::uuid IS NULL THEN NULL ELSE now() END"
        " WHERE creator_id = %s AND id = %s",
        [member_id, member_id, creator_id, handoff_id],
    )


async def resolve(
    conn: Conn, creator_id: Id, handoff_id: Id, *, by: Id, resolution: str, unfroze: bool
) -> None:
    await conn.execute(
        "UPDATE handoffs SET resolved_at = now(), resolved_by = %s, resolution = %s, unfroze = %s"
        " WHERE creator_id = %s AND id = %s AND resolved_at IS NULL",
        [by, resolution, unfroze, creator_id, handoff_id],
    )


async def resolve_open_of_fan(
    conn: Conn, creator_id: Id, fan_id: Id, *, by: Id, resolution: str
) -> str | None:
    """The fan was resumed (unfrozen) outside a hand-off's resolution: its open hand-off, if any, is resolved
    with it. The id of the hand-off resolved."""
    cur = await conn.execute(
        "UPDATE handoffs SET resolved_at = now(), resolved_by = %s, resolution = %s, unfroze = true"
        " WHERE creator_id = %s AND fan_id = %s AND resolved_at IS NULL RETURNING id::text AS id",
        [by, resolution, creator_id, fan_id],
    )
    row = await cur.fetchone()
    return None if row is None else str(row["id"])


async def member_can_act(conn: Conn, creator_id: Id, member_id: Id) -> bool:
    """Whether the member is one of the creator's, with a role that acts on conversations (chatter or higher)."""
    cur = await conn.execute(
        "SELECT 1 FROM members WHERE creator_id = %s AND id = %s AND role <> 'viewer'",
        [creator_id, member_id],
    )
    return await cur.fetchone() is not None


async def count_open(conn: Conn, creator_ids: list[str]) -> dict[str, int]:
    """Open hand-offs per creator, for these creators only."""
    cur = await conn.execute(
        "SELECT creator_id::text AS creator_id, count(*) AS n FROM handoffs"
        " WHERE creator_id = ANY(%s::uuid[]) AND resolved_at IS NULL GROUP BY creator_id",
        [creator_ids],
    )
    return {r["creator_id"]: int(r["n"]) for r in await cur.fetchall()}
