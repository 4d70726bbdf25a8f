"""assistant_turns: the answered requests of the creator's assistant, one row per turn of a thread. Written once
per turn (a retried activity finds its turn already stored); a thread's new workflow run starts from its last
turns here. A request sent with an Idempotency-Key stores the key with its turn (one turn per key in a thread), so
its retry finds the turn (`keyed`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from psycopg.types.json import Jsonb

from core.store import Conn, Id, fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class Turn:
    thread_id: str
    turn: int
    member_id: str
    text: str
    answer: str
    agents: list[str]
    steps: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Thread:
    thread_id: str
    turns: int
    first_text: str  # the thread's first request
    started_at: datetime
    last_at: datetime  # its newest turn


# what a tool returned may hold dates: stored as their text, as the API shows them
_jsonb = partial(Jsonb, dumps=partial(json.dumps, default=str))

_TURN = "thread_id, turn, member_id, text, answer, agents, steps, proposals, created_at FROM assistant_turns"


async def add(
    conn: Conn,
    creator_id: Id,
    thread_id: str,
    turn: int,
    *,
    member_id: str,
    text: str,
    answer: str,
    agents: list[str],
    steps: list[dict[str, Any]],
    proposals: list[dict[str, Any]],
    request_key: str | None = None,
) -> bool:
    """Store a turn; False when the thread already has that turn (it is kept as it was). `request_key`: the
    request's scoped Idempotency-Key (`<member id>:<key>`), at most one turn of the thread has it."""
    cur = await conn.execute(
        "INSERT INTO assistant_turns (creator_id, thread_id, turn, member_id, text, answer, agents, steps, proposals,"
        " request_key) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (creator_id, thread_id, turn) DO NOTHING",
        [
            creator_id,
            thread_id,
            turn,
            member_id,
            text,
            answer,
            _jsonb(agents),
            _jsonb(steps),
            _jsonb(proposals),
            request_key,
        ],
    )
    return cur.rowcount == 1


async def get(conn: Conn, creator_id: Id, thread_id: str, turn: int) -> Turn | None:
    return await fetch_one(
        conn,
        Turn,
        f"SELECT {_TURN} WHERE creator_id = %s AND thread_id = %s AND turn = %s",
        [creator_id, thread_id, turn],
    )


async def keyed(conn: Conn, creator_id: Id, thread_id: str, request_key: str) -> Turn | None:
    """The thread's turn stored with this request key, if any."""
    return await fetch_one(
        conn,
        Turn,
        f"SELECT {_TURN} WHERE creator_id = %s AND thread_id = %s AND request_key = %s",
        [creator_id, thread_id, request_key],
    )


async def last(conn: Conn, creator_id: Id, thread_id: str, limit: int) -> list[Turn]:
    """The thread's newest `limit` turns, oldest first."""
    rows = await fetch_all(
        conn,
        Turn,
        f"SELECT {_TURN} WHERE creator_id = %s AND thread_id = %s ORDER BY turn DESC LIMIT %s",
        [creator_id, thread_id, limit],
    )
    return rows[::-1]


async def next_turn(conn: Conn, creator_id: Id, thread_id: str) -> int:
    """The number the thread's next turn takes (0 for a thread with none stored)."""
    cur = await conn.execute(
        "SELECT coalesce(max(turn) + 1, 0) AS n FROM assistant_turns WHERE creator_id = %s AND thread_id = %s",
        [creator_id, thread_id],
    )
    row = await cur.fetchone()
    assert row is not None  # an aggregate returns one row
    return int(row["n"])


async def turns(conn: Conn, creator_id: Id, thread_id: str, *, after: int | None, limit: int) -> list[Turn]:
    """The thread's turns, oldest first (keyset on the turn number)."""
    return await fetch_all(
        conn,
        Turn,
        f"SELECT {_TURN} WHERE creator_id = %s AND thread_id = %s AND (%s::integer IS NULL OR turn > %s)"
        " ORDER BY turn LIMIT %s",
        [creator_id, thread_id, after, after, limit],
    )


async def threads(
    conn: Conn, creator_id: Id, *, before: tuple[datetime, str] | None, limit: int
) -> list[Thread]:
    """The creator's threads, the one with the newest turn first (keyset on the newest turn's time, then id)."""
    at, tid = before if before is not None else (None, None)
    return await fetch_all(
        conn,
        Thread,
        "SELECT thread_id, count(*)::integer AS turns, (array_agg(text ORDER BY turn))[1] AS first_text,"
        " min(created_at) AS started_at, max(created_at) AS last_at FROM assistant_turns WHERE creator_id = %s"
        " GROUP BY thread_id"
        " HAVING %s::timestamptz IS NULL OR (max(created_at), thread_id) < (%s::timestamptz, %s::text)"
        " ORDER BY last_at DESC, thread_id DESC LIMIT %s",
        [creator_id, at, at, tid, limit],
    )
