"""The creator's voice: her own past replies, indexed by the fan message they answered, and the ones nearest to a
new fan message (the DM agent quotes them as examples of how she writes).

Indexing reads `messages` (what was really sent: imported history, creator_message events, members' messages,
approved drafts, edited drafts with the agent's text kept beside the edit) and embeds the fan side; it is
idempotent (an exchange is indexed once) so a backfill and the incremental calls after each send can overlap.
Every query is scoped to one creator.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from core.store import Conn, Id
from core.store import voice_examples as store
from memory.embed import Embedder
from memory.store import _vectors

# How many past exchanges the DM prompt quotes: enough to show a voice, few enough to keep a small model's
# prompt short (each is ~40 tokens).
DEFAULT_K = 3


@dataclass(frozen=True)
class VoiceExample:
    fan_text: str
    reply_text: str
    source: str
    similarity: float


async def _index(conn: Conn, creator_id: Id, fan_id: Id | None, embedder: Embedder, batch: int) -> int:
    await _vectors(conn)
    done = 0
    while True:
        async with conn.transaction():
            todo = await store.unindexed(conn, creator_id, fan_id=fan_id, limit=batch)
            if not todo:
                return done
            # CPU-bound: off the event loop
            vectors = await asyncio.to_thread(embedder.embed, [e.fan_text for e in todo])
            done += await store.insert(conn, creator_id, todo, list(vectors), embedder.name)
        if len(todo) < batch:
            return done


async def index_fan(conn: Conn, creator_id: Id, fan_id: Id, embedder: Embedder, *, batch: int = 64) -> int:
    """Index the fan's replies that are not indexed yet (after a send, a creator's message). Returns how many."""
    return await _index(conn, creator_id, fan_id, embedder, batch)


async def index_creator(conn: Conn, creator_id: Id, embedder: Embedder, *, batch: int = 256) -> int:
    """Index every reply of the creator not indexed yet, and re-embed the examples another embedder made (after
    a change of HUNTAZE_EMBEDDINGS_*: retrieval compares vectors of the configured model only), a batch per
    transaction (a backfill can stop and resume). Returns how many were indexed or re-embedded."""
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    await _vectors(conn)
    redone = 0
    while True:
        async with conn.transaction():
            old = await store.stale(conn, creator_id, embedder.name, batch)
            if not old:
                break
            vectors = await asyncio.to_thread(embedder.embed, [e.fan_text for e in old])
            await store.reembed(conn, creator_id, [e.message_id for e in old], list(vectors), embedder.name)
            redone += len(old)
    return redone + await _index(conn, creator_id, None, embedder, batch)


async def index_all(conn: Conn, embedder: Embedder, *, batch: int = 256) -> dict[str, int]:
    """The backfill over every creator: {creator_id: exchanges indexed}."""
    return {
        c: await index_creator(conn, c, embedder, batch=batch)
        for c in await store.creators_with_unindexed(conn)
    }


async def similar(
    conn: Conn, creator_id: Id, query_vec: Any, embedder_name: str, k: int = DEFAULT_K
) -> list[VoiceExample]:
    """The creator's k past exchanges whose fan message is nearest to the new one (`query_vec`, embedded by the
    caller once for every use), nearest first. Only this creator's rows, only vectors of the same model."""
    if k < 1:
        return []
    await _vectors(conn)
    rows = await store.nearest(conn, creator_id, query_vec, embedder_name, k)
    return [VoiceExample(r.fan_text, r.reply_text, r.source, round(float(r.similarity), 4)) for r in rows]
