"""The assistant's activities: one request of a thread, answered by the supervisor graph, stored as the thread's
turn with every delegation written to the actions feed; and a run's start, the thread's stored turns."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.service import RPCError

from core import db
from core.journal import record_action
from core.settings import get_settings
from core.store import assistant_turns, creators
from workflows.heartbeat import heartbeating
from workflows.types import (
    ASSISTANT_THREAD,
    ASSISTANT_TURN,
    AssistantProgress,
    AssistantReply,
    AssistantThreadRef,
    AssistantThreadState,
    AssistantTurnInput,
)

log = logging.getLogger(__name__)


def _progress(request_id: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """Signal each progress event to the thread's workflow. Best effort: progress that cannot be signalled is
    logged and dropped (the answer is the activity's result, not the events)."""
    info = activity.info()
    handle = activity.client().get_workflow_handle(info.workflow_id or "")

    async def tell(event: dict[str, Any]) -> None:
        try:
            await handle.signal("progress", AssistantProgress(request_id, info.attempt, event))
        except RPCError as exc:
            log.warning("assistant progress of %s not signalled: %s", request_id, exc)

    return tell


@activity.defn(name=ASSISTANT_THREAD)
async def assistant_thread(ref: AssistantThreadRef) -> AssistantThreadState:
    """The thread's next turn number and its newest `ref.last` stored turns."""
    async with db.pool().connection() as conn:
        nxt = await assistant_turns.next_turn(conn, ref.creator_id, ref.thread_id)
        last = await assistant_turns.last(conn, ref.creator_id, ref.thread_id, ref.last)
    return AssistantThreadState(nxt, [{"text": t.text, "answer": t.answer} for t in last])


def _reply(turn: assistant_turns.Turn) -> AssistantReply:
    return AssistantReply(turn.thread_id, turn.answer, turn.agents, turn.steps, turn.proposals)


@activity.defn(name=ASSISTANT_TURN)
async def assistant_turn(inp: AssistantTurnInput) -> AssistantReply:
    """Answer the request, then store it as the thread's turn `inp.turn` in the transaction that writes its
    actions. A turn already stored (an attempt that committed, then lost its worker before reporting) is
    answered from the store, without asking the model again: one turn, one answer, one set of actions."""
    from agents import llm
    from agents.assistant import RequestTurn, ask
    from agents.router import router_for
    from agents.tool_loop import tool_mode

    settings = get_settings()
    mode = tool_mode(settings)
    async with db.pool().connection() as conn:
        creator = await creators.get(conn, inp.creator_id)
        stored = await assistant_turns.get(conn, inp.creator_id, inp.thread_id, inp.turn)
    if stored is not None:
        return _reply(stored)
    if creator is None:
        raise LookupError(f"no creator {inp.creator_id}")
    tz = ZoneInfo(creator.timezone)
    history = [RequestTurn(text=h["text"], answer=h["answer"]) for h in inp.history]
    async with heartbeating():
        answer = await ask(
            inp.creator_id,
            llm.chat_model(),
            mode,
            inp.text,
            today=datetime.now(tz).date(),
            timezone=creator.timezone,
            history=history,
            max_steps=settings.agent_max_steps,
            attempts=settings.llm_attempts,
            on_progress=_progress(inp.request_id) if inp.request_id else None,
            router=router_for(mode),
        )
    public = answer.public(inp.thread_id)
    key = f"assistant:{inp.thread_id}:{inp.turn}"
    async with db.pool().connection() as conn, conn.transaction():
        if not await assistant_turns.add(
            conn,
            inp.creator_id,
            inp.thread_id,
            inp.turn,
            member_id=inp.member_id,
            text=inp.text,
            answer=public["answer"],
            agents=public["agents"],
            steps=public["steps"],
            proposals=public["proposals"],
            request_key=inp.key or None,
        ):  # an attempt running beside this one stored the turn first: its answer is the turn's
            stored = await assistant_turns.get(conn, inp.creator_id, inp.thread_id, inp.turn)
            assert stored is not None  # it conflicted with this row
            return _reply(stored)
        for agent in answer.agents:
            steps = [s.public() for s in answer.steps if s.agent == agent]
            await record_action(
                conn,
                creator_id=inp.creator_id,
                kind="assistant_delegated",
                summary=f"assistant → {agent}: " + (", ".join(s["tool"] for s in steps) or "no tool chosen"),
                details={
                    "thread_id": inp.thread_id,
                    "turn": inp.turn,
                    "member_id": inp.member_id,
                    "steps": steps,
                },
                dedupe_key=f"{key}:{agent}",
            )
        await record_action(
            conn,
            creator_id=inp.creator_id,
            kind="assistant_answered",
            summary=f"assistant answered with {len(answer.steps)} tool calls and {len(answer.proposals)} proposals",
            details={
                "thread_id": inp.thread_id,
                "turn": inp.turn,
                "member_id": inp.member_id,
                "agents": answer.agents,
                "removed_numbers": answer.removed_numbers,
                "invalid_calls": answer.invalid_calls,
                "supervisor_error": answer.supervisor_error,
                "routed_by": answer.routed_by,
            },
            dedupe_key=f"{key}:answered",
        )
    return AssistantReply(
        thread_id=inp.thread_id,
        answer=public["answer"],
        agents=public["agents"],
        steps=public["steps"],
        proposals=public["proposals"],
        removed_numbers=answer.removed_numbers,
        invalid_calls=answer.invalid_calls,
    )


ASSISTANT_ACTIVITIES: list[Callable[..., Any]] = [assistant_turn, assistant_thread]
