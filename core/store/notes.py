"""fan_notes: what a member of the creator's team wrote down about a fan. Kept as written (never edited by the
system); the newest few are part of the DM agent's context, quoted as data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.store import Conn, Id, fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    text: str
    author: str | None
    author_email: str | None
    created_at: datetime


_COLUMNS = (
    "n.id, n.text, n.author::text AS author, m.email AS author_email, n.created_at FROM fan_notes n"
    " LEFT JOIN members m ON m.creator_id = n.creator_id AND m.id = n.author"
)


async def add(conn: Conn, creator_id: Id, fan_id: Id, author: Id, text: str) -> Note:
    cur = await conn.execute(
        "INSERT INTO fan_notes (creator_id, fan_id, author, text) VALUES (%s, %s, %s, %s) RETURNING id",
        [creator_id, fan_id, author, text],
    )
    row = await cur.fetchone()
    assert row is not None  # an insert returns its row
    note = await fetch_one(
        conn, Note, f"SELECT {_COLUMNS} WHERE n.creator_id = %s AND n.id = %s", [creator_id, row["id"]]
    )
    assert note is not None
    return note


async def page(conn: Conn, creator_id: Id, fan_id: Id, *, before: int | None, limit: int) -> list[Note]:
    """The fan's notes newest first (keyset on id)."""
    return await fetch_all(
        conn,
        Note,
        f"SELECT {_COLUMNS} WHERE n.creator_id = %s AND n.fan_id = %s AND (%s::bigint IS NULL OR n.id < %s)"
        " ORDER BY n.id DESC LIMIT %s",
        [creator_id, fan_id, before, before, limit],
    )
