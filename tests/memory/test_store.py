"""Fan memory on the real Postgres + pgvector with the offline embedder: merge rules, boundaries kept,
recall scoped to one fan, extraction rules and grounding."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from pgvector.psycopg import register_vector_async

from core import db
from core.settings import Settings
from memory.embed import MiniLMEmbedder, ensure_minilm
from memory.extract import MemoryExtraction, boundaries_in, extract
from memory.store import MemoryIn, recall, reembed, remember, search_creator
from tests.factories import make_tenant
from tests.fakes.chat_model import ScriptedChatModel


@pytest.fixture(scope="module")
def emb() -> MiniLMEmbedder:
    return MiniLMEmbedder(ensure_minilm(Settings()))


async def _all(creator_id: str, fan_id: str) -> list[tuple[str, str]]:
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT kind, text FROM fan_memories WHERE creator_id = %s AND fan_id = %s ORDER BY created_at, text",
            [creator_id, fan_id],
        )
        return [(r["kind"], r["text"]) for r in await cur.fetchall()]


async def test_restatements_merge_and_different_facts_do_not(database_url: str, emb: MiniLMEmbedder) -> None:
    t = await make_tenant()
    c, f = t.creator_id, t.fans[0]
    async with db.pool().connection() as conn, conn.transaction():
        first = await remember(conn, c, f, [MemoryIn("fact", "Has a golden retriever named Max", 0.5)], emb)
        again = await remember(conn, c, f, [MemoryIn("fact", "Has a golden retriever called Max", 0.9)], emb)
        other = await remember(conn, c, f, [MemoryIn("fact", "Has a cat named Max", 0.5)], emb)
    assert first[0].outcome == "inserted" and again[0].outcome == "merged" and other[0].outcome == "inserted"
    assert again[0].id == first[0].id
    assert await _all(c, f) == [
        ("fact", "Has a cat named Max"),
        ("fact", "Has a golden retriever called Max"),
    ]
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT importance, embedding_model FROM fan_memories WHERE id = %s", [first[0].id]
        )
        row = await cur.fetchone()
    assert row is not None and row["importance"] == pytest.approx(0.9) and row["embedding_model"] == emb.name


async def test_a_boundary_is_never_dropped(database_url: str, emb: MiniLMEmbedder) -> None:
    t = await make_tenant()
    c, f = t.creator_id, t.fans[0]
    async with db.pool().connection() as conn, conn.transaction():
        await remember(conn, c, f, [MemoryIn("boundary", "Does not want any feet content", 1.0)], emb)
        # a restatement as a mere preference leaves the boundary as it was
        res = await remember(
            conn, c, f, [MemoryIn("preference", "Does not want any feet content!", 0.3)], emb
        )
        # a fact restated as a boundary becomes a boundary
        await remember(conn, c, f, [MemoryIn("fact", "Never message him on Sundays", 0.5)], emb)
        await remember(conn, c, f, [MemoryIn("boundary", "Never message him on Sundays!", 1.0)], emb)
    assert res[0].outcome == "merged" and res[0].kind == "boundary"
    assert await _all(c, f) == [
        ("boundary", "Does not want any feet content"),
        ("boundary", "Never message him on Sundays!"),
    ]


async def test_recall_is_per_fan_boundaries_first_then_relevance(
    database_url: str, emb: MiniLMEmbedder
) -> None:
    t = await make_tenant(fans=2)
    other = await make_tenant("other", fans=1)
    c, f = t.creator_id, t.fans[0]
    facts = [
        "Works night shifts as a nurse",
        "Has a golden retriever named Max",
        "Loves beach photo sets",
        "Birthday is on March 14",
        "Lives in Denver",
        "Plays guitar in a band",
        "Favourite food is spicy ramen",
    ]
    async with db.pool().connection() as conn, conn.transaction():
        await remember(conn, c, f, [MemoryIn("fact", x, 0.5) for x in facts], emb)
        await remember(conn, c, f, [MemoryIn("boundary", "No feet content", 1.0)], emb)
        # the same words for another fan and another creator must never come back
        await remember(conn, c, t.fans[1], [MemoryIn("fact", "Has a golden retriever named Max", 1.0)], emb)
        await remember(
            conn, other.creator_id, other.fans[0], [MemoryIn("fact", "Has a dog named Max", 1.0)], emb
        )
    async with db.pool().connection() as conn:
        got = await recall(conn, c, f, "the pup knocked my coffee over lol", emb, k=3)
    assert got[0].kind == "boundary" and got[0].text == "No feet content"
    assert got[1].text == "Has a golden retriever named Max"
    assert len(got) == 4 and len({m.id for m in got}) == 4
    async with db.pool().connection() as conn:
        cur = await conn.execute("SELECT id::text AS id FROM fan_memories WHERE fan_id <> %s", [f])
        foreign = {r["id"] for r in await cur.fetchall()}
    assert not foreign & {m.id for m in got}
    # no query: importance and recency decide
    async with db.pool().connection() as conn:
        await conn.execute("UPDATE fan_memories SET importance = 0.95 WHERE text = 'Lives in Denver'")
        await conn.commit()
        plain = await recall(conn, c, f, None, emb, k=1, now=datetime.now(UTC) + timedelta(days=1))
    assert [m.text for m in plain] == ["No feet content", "Lives in Denver"]


def test_boundary_rules() -> None:
    assert boundaries_in("no feet pics please!") == ["no feet pics"]
    assert boundaries_in("Please don't send me voice notes") == ["please don't send me voice notes"]
    assert boundaries_in("I'm not into feet.") == ["i'm not into feet"]
    for harmless in ("no worries babe", "no way that's amazing", "don't worry about it", "hey how are you"):
        assert boundaries_in(harmless) == [], harmless


async def test_extraction_keeps_grounded_proposals_only() -> None:
    model = ScriptedChatModel(
        replies=[
            MemoryExtraction.model_validate(
                {
                    "memories": [
                        {"kind": "fact", "text": "Has a dog named Max", "importance": 0.6},
                        {"kind": "fact", "text": "Owns a yacht in Monaco", "importance": 0.9},
                        {"kind": "fact", "text": "I'm sorry your dog missed you", "importance": 0.5},
                    ]
                }
            ).model_dump()
        ]
    )
    got = await extract(
        "my dog Max ate my homework lol. no feet pics please", source_message_id=7, model=model
    )
    assert [(m.kind, m.text, m.source_message_id) for m in got] == [
        ("boundary", "Said: no feet pics", 7),
        ("fact", "Has a dog named Max", 7),
    ]
    # a broken model: rule-found boundaries still count
    broken = ScriptedChatModel(replies=["not json at all"])
    got = await extract("no feet pics please, how was your day", source_message_id=None, model=broken)
    assert [m.kind for m in got] == ["boundary"]
    # short messages and disabled extraction never reach the model
    silent = ScriptedChatModel(replies=[])
    assert await extract("hi babe", source_message_id=None, model=silent) == []
    assert (
        await extract("my dog Max says hello to you", source_message_id=None, model=silent, use_llm=False)
        == []
    )


class _OldModel:
    name = "old-model"

    def embed(self, texts: list[str]) -> np.ndarray:
        v = np.zeros((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):  # orthogonal per text, so nothing merges
            v[i, sum(map(ord, t)) % 384] = 1.0
        return v


async def test_reembed_moves_every_vector_to_the_current_model(
    settings: Settings, emb: MiniLMEmbedder
) -> None:
    t = await make_tenant()
    texts = [f"Has {n} cats at home" for n in ("two", "three", "five")] + [
        "Works as a nurse",
        "Lives in Denver",
    ]
    async with db.pool().connection() as conn, conn.transaction():
        await remember(conn, t.creator_id, t.fans[0], [MemoryIn("fact", x, 0.5) for x in texts], _OldModel())
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "cli.main", "memory", "reembed", "--batch", "2"),
        env={**os.environ, "DATABASE_URL": str(settings.database_url)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-500:]
    assert json.loads(out.decode().splitlines()[-1]) == {"model": emb.name, "reembedded": 5}
    async with db.pool().connection() as conn:
        assert await reembed(conn, emb, batch=2) == 0
        await register_vector_async(conn)
        cur = await conn.execute("SELECT text, embedding, embedding_model FROM fan_memories ORDER BY text")
        rows = await cur.fetchall()
    assert {r["embedding_model"] for r in rows} == {emb.name}
    expected = emb.embed([r["text"] for r in rows])
    assert np.allclose(np.array([r["embedding"].to_numpy() for r in rows]), expected, atol=1e-5)


async def test_creator_search_stays_within_the_creator(database_url: str, emb: MiniLMEmbedder) -> None:
    t, other = await make_tenant(fans=2), await make_tenant("other", fans=1)
    async with db.pool().connection() as conn, conn.transaction():
        await remember(
            conn, t.creator_id, t.fans[0], [MemoryIn("fact", "Has a golden retriever named Max", 0.5)], emb
        )
        await remember(conn, t.creator_id, t.fans[1], [MemoryIn("fact", "Works as a nurse", 0.5)], emb)
        await remember(
            conn, other.creator_id, other.fans[0], [MemoryIn("fact", "Has a dog named Max", 0.5)], emb
        )
    q = emb.embed(["which fans have a dog?"])[0]
    async with db.pool().connection() as conn:
        exact = await search_creator(conn, t.creator_id, q, k=5)
        approx = await search_creator(conn, t.creator_id, q, k=5, exact=False)
    assert [r["text"] for r in exact] == ["Has a golden retriever named Max", "Works as a nurse"]
    assert [r["id"] for r in approx] == [r["id"] for r in exact]


async def test_approximate_creator_search_walks_the_half_precision_graph(database_url: str) -> None:
    """The approximate path takes the HNSW index over halfvec (auto_explain shows the nested plan), finds what
    the exact scan finds on a small creator, and leaves the caller's session settings as they were."""
    t, other = await make_tenant(fans=3), await make_tenant("other", fans=1)
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((60, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    async with db.pool().connection() as conn, conn.transaction():
        await register_vector_async(conn)
        for i, v in enumerate(vectors):
            creator, fan = (t.creator_id, t.fans[i % 3]) if i < 50 else (other.creator_id, other.fans[0])
            await conn.execute(
                "INSERT INTO fan_memories (creator_id, fan_id, kind, text, embedding) VALUES (%s, %s, 'fact', %s, %s)",
                [creator, fan, f"memory {i}", v],
            )
    query = vectors[7] + 0.3 * vectors[8]
    plans: list[str] = []
    async with db.pool().connection() as conn:
        exact = await search_creator(conn, t.creator_id, query, k=10)
        await conn.execute("LOAD 'auto_explain'")
        for setting in (
            "auto_explain.log_min_duration = 0",
            "auto_explain.log_nested_statements = on",
            "auto_explain.log_level = notice",
        ):
            await conn.execute(f"SET {setting}")
        conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
        before = [await _setting(conn, s) for s in ("hnsw.ef_search", "enable_sort", "hnsw.iterative_scan")]
        approx = await search_creator(conn, t.creator_id, query, k=10, exact=False, ef_search=64)
        after = [await _setting(conn, s) for s in ("hnsw.ef_search", "enable_sort", "hnsw.iterative_scan")]
        # the connection goes back to the pool without auto_explain's settings
        await conn.execute("RESET ALL")
        with pytest.raises(ValueError, match="ef_search"):
            await search_creator(conn, t.creator_id, query, exact=False, ef_search=0)
    assert [r["text"] for r in exact][:2] == ["memory 7", "memory 8"]
    assert [r["id"] for r in approx] == [r["id"] for r in exact]
    assert [r["distance"] for r in approx] == sorted(r["distance"] for r in approx)
    inner = [p for p in plans if "search_creator_memories" not in p and "fan_memories m" in p]
    assert inner and "Index Scan using fan_memories_p" in inner[-1], plans
    assert "Order By: ((embedding)::halfvec(384) <=>" in inner[-1], inner[-1]
    assert before == after


async def _setting(conn: Any, name: str) -> str:
    cur = await conn.execute("SELECT current_setting(%s)", [name])
    row = await cur.fetchone()
    return str(next(iter(row.values())))
