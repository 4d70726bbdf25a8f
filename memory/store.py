"""Write and recall fan memories in Postgres + pgvector. Every query is filtered to one creator (and, for a
fan's recall, one fan).

Recall for one fan is an exact search: the (creator_id, fan_id) b-tree narrows to that fan's memories (tens,
not millions) and the distance is computed for each. Creator-wide search (`search_creator`) either scans the
creator's rows exactly or walks an HNSW graph over half-precision vectors with pgvector's iterative scan (so a
creator filter cannot starve the result); bench/memory.py measures one against the other.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection

from memory.embed import Embedder

Kind = Literal["fact", "preference", "boundary", "life_event", "summary"]
KINDS: tuple[Kind, ...] = ("fact", "preference", "boundary", "life_event", "summary")

# Cosine similarity from which two memories of one fan are the same memory. Measured with MiniLM: rewordings
# of one fact score 0.95-0.98 ("named"/"called"); different facts in one frame score up to 0.82 ("dog named
# Max"/"cat named Max"), so 0.9 merges only restatements.
MERGE_SIMILARITY = 0.9
# Recall ranks by similarity to the fan's message, then importance, then how recent (half-life in days).
W_SIMILARITY, W_IMPORTANCE, W_RECENCY = 0.6, 0.25, 0.15
RECENCY_HALF_LIFE_DAYS = 60.0


@dataclass(frozen=True)
class MemoryIn:
    kind: Kind
    text: str
    importance: float
    source_message_id: int | None = None


@dataclass(frozen=True)
class Remembered:
    id: str
    outcome: Literal["inserted", "merged"]
    kind: str
    text: str


@dataclass(frozen=True)
class Recalled:
    id: str
    kind: str
    text: str
    importance: float
    similarity: float | None
    score: float
    created_at: datetime


async def _vectors(conn: AsyncConnection[Any]) -> None:
    """pgvector's adapters, once per connection (pooled connections keep them): registering fetches four type
    records, four round trips that every recall used to pay."""
    if conn.adapters.types.get("vector") is None:
        await register_vector_async(conn)


async def remember(
    conn: AsyncConnection[Any], creator_id: str, fan_id: str, items: list[MemoryIn], embedder: Embedder
) -> list[Remembered]:
    """Store memories, merging each into a near-identical one of the same fan. A boundary is never dropped:
    a boundary merged with anything stays a boundary, and a non-boundary never rewrites a boundary's text."""
    if not items:
        return []
    await _vectors(conn)
    # the embedder is CPU-bound: off the event loop, so the worker keeps serving other activities
    vectors = await asyncio.to_thread(embedder.embed, [m.text for m in items])
    out: list[Remembered] = []
    for item, vec in zip(items, vectors, strict=True):
        importance = min(max(float(item.importance), 0.0), 1.0)
        cur = await conn.execute(
            "SELECT id::text AS id, kind, 1 - (embedding <=> %s) AS sim FROM fan_memories"
            " WHERE creator_id = %s AND fan_id = %s AND embedding_model = %s"
            " ORDER BY embedding <=> %s LIMIT 1 FOR UPDATE",
            [vec, creator_id, fan_id, embedder.name, vec],
        )
        near = await cur.fetchone()
        if near is not None and float(near["sim"]) >= MERGE_SIMILARITY:
            keep_boundary = near["kind"] == "boundary" and item.kind != "boundary"
            cur = await conn.execute(
                "UPDATE fan_memories SET"
                " kind = CASE WHEN %(keep)s THEN kind ELSE %(kind)s END,"
                " text = CASE WHEN %(keep)s THEN text ELSE %(text)s END,"
                " embedding = CASE WHEN %(keep)s THEN embedding ELSE %(vec)s END,"
                " importance = greatest(importance, %(imp)s),"
                " source_message_id = coalesce(%(src)s, source_message_id), updated_at = now()"
                " WHERE creator_id = %(creator)s AND id = %(id)s RETURNING id::text AS id, kind, text",
                {
                    "keep": keep_boundary,
                    "kind": item.kind,
                    "text": item.text,
                    "vec": vec,
                    "imp": importance,
                    "src": item.source_message_id,
                    "creator": creator_id,
                    "id": near["id"],
                },
            )
            row = await cur.fetchone()
            assert row is not None  # locked above
            out.append(Remembered(row["id"], "merged", row["kind"], row["text"]))
            continue
        cur = await conn.execute(
            "INSERT INTO fan_memories (creator_id, fan_id, kind, text, importance, embedding, embedding_model,"
            " source_message_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id::text AS id",
            [
                creator_id,
                fan_id,
                item.kind,
                item.text,
                importance,
                vec,
                embedder.name,
                item.source_message_id,
            ],
        )
        row = await cur.fetchone()
        assert row is not None
        out.append(Remembered(row["id"], "inserted", item.kind, item.text))
    return out


async def recall(
    conn: AsyncConnection[Any],
    creator_id: str,
    fan_id: str,
    query: str | None,
    embedder: Embedder,
    *,
    k: int = 5,
    now: datetime | None = None,
    query_vec: np.ndarray[Any, Any] | None = None,
) -> list[Recalled]:
    """Every boundary of the fan (they are rules, not context), then the k memories that best blend
    similarity to `query`, importance and recency. Without a query, importance and recency alone. `query_vec`:
    the query already embedded by `embedder` (a caller that uses the vector for more than this recall)."""
    await _vectors(conn)
    now = now or datetime.now(UTC)
    vec = query_vec
    if vec is None and query and query.strip():
        vec = (await asyncio.to_thread(embedder.embed, [query]))[0]
    cur = await conn.execute(
        "SELECT id::text AS id, kind, text, importance, created_at, updated_at,"
        " CASE WHEN %(vec)s::vector IS NULL OR embedding_model IS DISTINCT FROM %(model)s THEN NULL"
        "      ELSE 1 - (embedding <=> %(vec)s::vector) END AS sim"
        " FROM fan_memories WHERE creator_id = %(creator)s AND fan_id = %(fan)s",
        {"vec": vec, "model": embedder.name, "creator": creator_id, "fan": fan_id},
    )
    rows = await cur.fetchall()
    boundaries: list[Recalled] = []
    others: list[Recalled] = []
    for r in rows:
        age_days = max((now - r["updated_at"]).total_seconds() / 86400.0, 0.0)
        recency = math.pow(0.5, age_days / RECENCY_HALF_LIFE_DAYS)
        sim = None if r["sim"] is None else float(r["sim"])
        score = W_IMPORTANCE * float(r["importance"]) + W_RECENCY * recency + W_SIMILARITY * (sim or 0.0)
        rec = Recalled(
            r["id"], r["kind"], r["text"], float(r["importance"]), sim, round(score, 4), r["created_at"]
        )
        (boundaries if r["kind"] == "boundary" else others).append(rec)
    others.sort(key=lambda m: (-m.score, m.id))
    boundaries.sort(key=lambda m: (-m.importance, m.id))
    return boundaries + others[:k]


async def search_creator(
    conn: AsyncConnection[Any],
    creator_id: str,
    query_vec: np.ndarray[Any, Any],
    *,
    k: int = 10,
    exact: bool = True,
    ef_search: int = 40,
) -> list[dict[str, Any]]:
    """The k memories of any of the creator's fans nearest to `query_vec`, nearest first, with their exact
    cosine distance. Exact by default (the creator's rows through the b-tree, every distance computed);
    `exact=False` walks the creator's partition's HNSW graph (half-precision vectors) through the SQL function
    `search_creator_memories`: one statement, with the graph's settings scoped to it (migration 0014)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    await _vectors(conn)
    if exact:
        cur = await conn.execute(
            "SELECT id::text AS id, fan_id::text AS fan_id, kind, text, embedding <=> %(v)s AS distance"
            " FROM fan_memories WHERE creator_id = %(c)s ORDER BY embedding <=> %(v)s LIMIT %(k)s",
            {"v": query_vec, "c": creator_id, "k": k},
        )
    else:
        if not 1 <= ef_search <= 1000:
            raise ValueError(f"ef_search must be in 1..1000, got {ef_search}")
        cur = await conn.execute(
            "SELECT id::text AS id, fan_id::text AS fan_id, kind, text, distance"
            " FROM search_creator_memories(%s, %s, %s, %s)",
            [creator_id, query_vec, k, ef_search],
        )
    rows = await cur.fetchall()
    # the graph ranks by half-precision distance in relaxed order: rank what it found by the exact distance
    rows.sort(key=lambda r: (r["distance"], r["id"]))
    return list(rows)


async def reembed(conn: AsyncConnection[Any], embedder: Embedder, *, batch: int = 256) -> int:
    """Recompute every vector not made by `embedder` (a model change), a batch per transaction, so a long run
    can stop and resume. Returns how many rows were re-embedded."""
    await _vectors(conn)
    done = 0
    while True:
        async with conn.transaction():
            cur = await conn.execute(
                "SELECT creator_id, id, text FROM fan_memories"
                " WHERE embedding_model IS DISTINCT FROM %s OR embedding IS NULL"
                " ORDER BY creator_id, id LIMIT %s FOR UPDATE SKIP LOCKED",
                [embedder.name, batch],
            )
            rows = await cur.fetchall()
            if not rows:
                return done
            vectors = await asyncio.to_thread(embedder.embed, [r["text"] for r in rows])
            await conn.execute(
                "UPDATE fan_memories m SET embedding = u.v::vector, embedding_model = %s, updated_at = now()"
                " FROM unnest(%s::uuid[], %s::uuid[], %s::text[]) AS u(creator_id, id, v)"
                " WHERE m.creator_id = u.creator_id AND m.id = u.id",
                [
                    embedder.name,
                    [r["creator_id"] for r in rows],
                    [r["id"] for r in rows],
                    [str(v.tolist()) for v in vectors],
                ],
            )
            done += len(rows)
