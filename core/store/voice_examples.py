"""voice_examples: the creator's own past replies with the fan message they answered, embedded on the fan side
(migration 0045). Written from `messages` (and `drafts` for where a sent reply came from); searched by the
similarity of a new fan message. Every statement is scoped to one creator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.store import Conn, Id, fetch_all

# A fan's turn is the messages they sent since the creator's previous reply; the example keeps the last few.
FAN_TURN_MESSAGES = 3


@dataclass(frozen=True, slots=True)
class Exchange:
    """An outbound message not indexed yet, with the fan messages it answered and where it came from."""

    message_id: int
    fan_id: str
    fan_text: str
    reply_text: str
    draft_text: str | None  # the agent's draft, when the sent text is a member's edit of it
    source: str  # creator (imported or written on the platform), member, approved, edited
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Similar:
    message_id: int
    fan_text: str
    reply_text: str
    source: str
    similarity: float


async def unindexed(
    conn: Conn, creator_id: Id, *, fan_id: Id | None = None, limit: int = 256
) -> list[Exchange]:
    """The creator's (or one fan's) replies that answer a fan message and are not indexed yet, oldest first.

    A reply answers the fan messages since the creator's previous outbound message (the last FAN_TURN_MESSAGES
    of them, joined by " / "); a reply with no fan message before it (an opener, a second message in a row) is
    no exchange. Campaign and follow-up drafts are the creator's openers, not answers: left out. The source: no
    draft is the creator's own message (imported history, a creator_message event); a draft a member wrote is
    `member`; an approved draft whose final text differs from the agent's is `edited` (with the agent's text);
    else `approved`."""
    return await fetch_all(
        conn,
        Exchange,
        "WITH m AS ("
        "  SELECT id, fan_id, direction, text, draft_id, sent_at,"
        "   count(*) FILTER (WHERE direction = 'out') OVER ("
        "     PARTITION BY fan_id ORDER BY sent_at, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS turn"
        "  FROM messages WHERE creator_id = %(c)s AND (%(f)s::uuid IS NULL OR fan_id = %(f)s::uuid)"
        "), asked AS ("
        "  SELECT fan_id, turn, string_agg(text, ' / ' ORDER BY sent_at, id) AS fan_text FROM ("
        "    SELECT fan_id, turn, text, sent_at, id,"
        "     row_number() OVER (PARTITION BY fan_id, turn ORDER BY sent_at DESC, id DESC) AS back"
        "    FROM m WHERE direction = 'in' AND btrim(text) <> '') last"
        "  WHERE back <= %(n)s GROUP BY fan_id, turn"
        ")"
        " SELECT o.id AS message_id, o.fan_id::text AS fan_id, a.fan_text, o.text AS reply_text,"
        "  CASE WHEN d.id IS NOT NULL AND d.written_by IS NULL AND d.final_text IS DISTINCT FROM d.text"
        "   THEN d.text END AS draft_text,"
        "  CASE WHEN d.id IS NULL THEN 'creator' WHEN d.written_by IS NOT NULL THEN 'member'"
        "   WHEN d.final_text IS DISTINCT FROM d.text THEN 'edited' ELSE 'approved' END AS source,"
        "  o.sent_at"
        " FROM m o JOIN asked a ON a.fan_id = o.fan_id AND a.turn = o.turn"
        " LEFT JOIN drafts d ON d.creator_id = %(c)s AND d.id = o.draft_id"
        " WHERE o.direction = 'out' AND btrim(o.text) <> ''"
        "  AND (d.id IS NULL OR (d.campaign_id IS NULL AND d.followup_id IS NULL))"
        "  AND NOT EXISTS (SELECT 1 FROM voice_examples v WHERE v.creator_id = %(c)s AND v.message_id = o.id)"
        " ORDER BY o.id LIMIT %(limit)s",
        {"c": creator_id, "f": fan_id, "n": FAN_TURN_MESSAGES, "limit": limit},
    )


async def insert(
    conn: Conn, creator_id: Id, exchanges: list[Exchange], vectors: list[Any], model: str
) -> int:
    """Store exchanges with their fan side's vectors; one already stored (a concurrent indexer) is kept as it
    is. Returns how many were inserted."""
    if not exchanges:
        return 0
    cur = await conn.execute(
        "INSERT INTO voice_examples (creator_id, message_id, fan_id, source, fan_text, reply_text, draft_text,"
        " embedding, embedding_model, sent_at)"
        " SELECT %s, u.message_id, u.fan_id, u.source, u.fan_text, u.reply_text, u.draft_text, u.v::vector, %s,"
        " u.sent_at FROM unnest(%s::bigint[], %s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::text[], %s::timestamptz[]) AS u(message_id, fan_id, source, fan_text, reply_text, draft_text, v,"
        " sent_at) ON CONFLICT (creator_id, message_id) DO NOTHING",
        [
            creator_id,
            model,
            [e.message_id for e in exchanges],
            [e.fan_id for e in exchanges],
            [e.source for e in exchanges],
            [e.fan_text for e in exchanges],
            [e.reply_text for e in exchanges],
            [e.draft_text for e in exchanges],
            [str([float(x) for x in v]) for v in vectors],
            [e.sent_at for e in exchanges],
        ],
    )
    return cur.rowcount


async def nearest(conn: Conn, creator_id: Id, query_vec: Any, model: str, k: int) -> list[Similar]:
    """The creator's k exchanges whose fan side is nearest to `query_vec` (vectors of `model` only), nearest
    first. Exact: the creator's rows through the primary key's creator prefix, every distance computed (a
    creator's replies number thousands, not millions; see docs/memory.md)."""
    return await fetch_all(
        conn,
        Similar,
        "SELECT message_id, fan_text, reply_text, source, 1 - (embedding <=> %(v)s::vector) AS similarity"
        " FROM voice_examples WHERE creator_id = %(c)s AND embedding_model = %(m)s"
        " ORDER BY embedding <=> %(v)s::vector, message_id LIMIT %(k)s",
        {"v": query_vec, "c": creator_id, "m": model, "k": k},
    )


async def creators_with_unindexed(conn: Conn) -> list[str]:
    """Every creator with an outbound message not indexed yet (for a backfill over all creators)."""
    cur = await conn.execute(
        "SELECT DISTINCT m.creator_id::text AS id FROM messages m WHERE m.direction = 'out'"
        " AND NOT EXISTS (SELECT 1 FROM voice_examples v WHERE v.creator_id = m.creator_id"
        " AND v.message_id = m.id) ORDER BY 1"
    )
    return [r["id"] for r in await cur.fetchall()]


@dataclass(frozen=True, slots=True)
class Stale:
    message_id: int
    fan_text: str


async def stale(conn: Conn, creator_id: Id, model: str, limit: int) -> list[Stale]:
    """The creator's examples embedded by another model than `model` (after a change of embedder), locked."""
    return await fetch_all(
        conn,
        Stale,
        "SELECT message_id, fan_text FROM voice_examples WHERE creator_id = %s AND embedding_model <> %s"
        " ORDER BY message_id LIMIT %s FOR UPDATE SKIP LOCKED",
        [creator_id, model, limit],
    )


async def reembed(conn: Conn, creator_id: Id, message_ids: list[int], vectors: list[Any], model: str) -> None:
    await conn.execute(
        "UPDATE voice_examples v SET embedding = u.v::vector, embedding_model = %s"
        " FROM unnest(%s::bigint[], %s::text[]) AS u(message_id, v)"
        " WHERE v.creator_id = %s AND v.message_id = u.message_id",
        [model, message_ids, [str([float(x) for x in v]) for v in vectors], creator_id],
    )
