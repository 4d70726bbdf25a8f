"""Fan-memory activities: what a handled batch of fan messages teaches about the fan."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from temporalio import activity

from core import db
from core.journal import record_action
from core.settings import get_settings
from core.store import messages as message_store
from workflows.heartbeat import heartbeating
from workflows.types import REMEMBER_MESSAGES, RememberInput, RememberResult

log = logging.getLogger(__name__)


async def learn_voice(creator_id: str, fan_id: str) -> None:
    """The fan's replies not indexed yet (this one, a creator's own messages before it) become examples of the
    creator's voice. Best effort: a failure is logged, and the next send or `huntaze voice index` catches up."""
    from memory.embed import embedder
    from memory.voice import index_fan

    try:
        async with db.pool().connection() as conn:
            await index_fan(conn, creator_id, fan_id, embedder())
    except Exception as exc:  # the send goes on: a voice example is not worth a failed delivery
        log.warning("voice examples of fan %s not indexed: %s", fan_id, exc)


@activity.defn(name=REMEMBER_MESSAGES)
async def remember_messages(inp: RememberInput) -> RememberResult:
    """Extract memories from the fan's messages in a handled batch and store them (merging restatements).
    Idempotent enough for retries: a memory stored by an earlier attempt is merged, not duplicated."""
    async with heartbeating():
        return await _remember(inp)


async def _remember(inp: RememberInput) -> RememberResult:
    from agents import llm
    from memory.embed import embedder
    from memory.extract import extract
    from memory.store import remember

    # the creator's own messages to the fan since the last send (creator_message events) join her voice examples
    await learn_voice(inp.creator_id, inp.fan_id)
    settings = get_settings()
    async with db.pool().connection() as conn:
        messages = await message_store.inbound_of_events(conn, inp.creator_id, inp.fan_id, inp.event_ids)
    # Rule-found boundaries first, committed at once: they need no model, and a local model queued behind
    # drafts can take minutes. Then the model's proposals, in their own transaction.
    inserted = merged = 0
    for phase in ("rules", "llm"):
        if phase == "llm" and not settings.memory_llm_extraction:
            break
        items = []
        # after the draft: served after live replies, before batch drafts, never in the slot kept for live work
        with llm.lane(llm.CallLane.BACKGROUND):
            for m in messages:
                items += await extract(
                    m.text,
                    source_message_id=m.id,
                    model=llm.chat_model() if phase == "llm" else None,
                    use_llm=phase == "llm",
                    include_rules=phase == "rules",
                    fan_id=inp.fan_id,
                )
        if not items:
            continue
        async with db.pool().connection() as conn, conn.transaction():
            saved = await remember(conn, inp.creator_id, inp.fan_id, items, embedder())
            new = sum(r.outcome == "inserted" for r in saved)
            inserted, merged = inserted + new, merged + len(saved) - new
            await record_action(
                conn,
                creator_id=inp.creator_id,
                fan_id=inp.fan_id,
                kind="remembered",
                summary="remembered: " + "; ".join(f"[{r.kind}] {r.text}" for r in saved)[:300],
                details={
                    "memory_ids": [r.id for r in saved],
                    "inserted": new,
                    "merged": len(saved) - new,
                    "by": phase,
                },
                dedupe_key=f"remembered:{phase}:{inp.fan_id}:{min(inp.event_ids)}-{max(inp.event_ids)}",
            )
    return RememberResult(inserted, merged)


MEMORY_ACTIVITIES: list[Callable[..., Any]] = [remember_messages]
