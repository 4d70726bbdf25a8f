"""The creator's assistant: a question in, an answer built from the agents' tool results out.

Each thread is a Temporal workflow (`assistant-<creator>-<thread>`); a request is its `ask` Update, and each
answered request is stored as a turn of the thread (`GET /v1/assistant/threads[/{thread_id}]`). Any member may
ask and read (viewers included). The answer's proposals are requests for existing endpoints; each says the role it
needs and whether the asker has it, and is executed only when a human sends it there (a campaign's messages are
then drafts that wait for approval). The assistant itself never writes to a fan."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from temporalio.client import (
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.auth import ROLE_RANK, CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError, malformed_cursor
from api.updates import CancellableUpdate, IdempotencyKey, NotTakenYet, bounded
from core import db
from core.store import assistant_turns
from core.types import Role
from workflows.assistant import assistant_workflow_id, keyed_ask_id, keyed_thread_id
from workflows.assistant_stream import follow
from workflows.types import AssistantAsk, AssistantReply, AssistantThreadInput

router = APIRouter(prefix="/v1/assistant", tags=["assistant"])

# Seconds a client waits before looking again for a request that no worker has taken yet.
ASK_RETRY_AFTER_S = 5


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000, pattern=r"\S", description="the creator's request")
    thread_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="continue this thread (default: a new one)",
    )

    @field_validator("text")
    @classmethod
    def _no_nul(cls, v: str) -> str:
        if "\x00" in v:
            raise ValueError("text fields cannot contain NUL (\\u0000) characters")
        return v


class StepOut(BaseModel):
    agent: str
    tool: str
    args: dict[str, Any]
    summary: str
    mode: Literal["native", "json", "router"] = Field(
        description="how the tool was chosen: the model's tool call, its JSON choice, or the router's plan"
    )


class AskOut(BaseModel):
    thread_id: str
    answer: str = Field(description="only numbers that a tool returned (sentences with others are removed)")
    agents: list[str] = Field(description="the agents the supervisor delegated to, in order")
    steps: list[StepOut]
    proposals: list[dict[str, Any]] = Field(
        description="requests for existing endpoints that a human sends ({kind, summary, requires_role, request,"
        " allowed}); nothing is done until then"
    )


def _allowed(proposal: dict[str, Any], role: Role) -> dict[str, Any]:
    need = Role(proposal.get("requires_role", Role.OWNER))
    return {**proposal, "allowed": ROLE_RANK[role] >= ROLE_RANK[need]}


STREAM_DOC = (
    "With `Accept: text/event-stream`: server-sent events as the request runs: `thread` ({thread_id}), `agents`"
    " (the supervisor's choice), `step` per tool call ({agent, tool, args, summary, mode}), `retry` ({attempt})"
    " when the work starts again, then `answer` (this JSON) or `error` ({error: {code, message, details?}}: the"
    " codes of the JSON answer's 503s, or `idempotency_conflict`), and the end. A keyed request whose turn is"
    " stored: `thread`, then `answer`."
)


@router.post(
    "/messages",
    response_model=AskOut,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": STREAM_DOC},
        409: {},
        422: {},
        503: {},
    },
)
async def ask(
    body: AskIn,
    who: CurrentPrincipal,
    rt: Annotated[Runtime, Depends(runtime)],
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Ask the assistant. The supervisor picks the agents, each chooses its tools; the answer quotes tool results
    only. Waits for the answer (a local model may take minutes), or streams its progress as server-sent events
    when the request accepts `text/event-stream`. With an `Idempotency-Key`, the same request sent again is
    answered once (the same answer, one turn)."""
    key = f"{who.member_id}:{idempotency_key}" if idempotency_key else ""
    thread = body.thread_id or (keyed_thread_id(who.creator_id, key) if key else uuid.uuid4().hex)
    stream = "text/event-stream" in request.headers.get("accept", "").lower()
    # With a key, the Update's id (and the name of its progress) is the key and the text: a retry joins the first.
    update_id = keyed_ask_id(key, body.text) if key else ""
    req = AssistantAsk(
        who.creator_id, who.member_id, body.text, update_id or (uuid.uuid4().hex if stream else ""), key
    )
    stored = await _stored_turn(who.creator_id, thread, req) if key else None
    if stream:
        return StreamingResponse(
            _events(rt, thread, req, update_id, who.role, stored),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    if stored is not None:
        return _out(stored, who.role)
    _, update = await _hand_over(rt, thread, req, update_id)
    try:
        # A client gone: a cancellation (CancellableUpdate); a request the server received is answered once.
        reply: AssistantReply = await update.result()
    except WorkflowUpdateFailedError as exc:
        raise _failed(exc, thread) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise _assistant_pending(thread, bool(key)) from exc  # a worker has it; its answer's RPC timed out
    except RPCError as exc:
        raise ApiError(503, "workflow_unavailable", "the workflow service is unreachable; retry") from exc
    return _out(reply, who.role)


def _conflict(thread: str) -> ApiError:
    return ApiError(
        409,
        "idempotency_conflict",
        "this idempotency key was used for another request",
        {"thread_id": thread},
    )


async def _stored_turn(creator_id: str, thread: str, req: AssistantAsk) -> AssistantReply | None:
    """The answer of the thread's turn stored with the request's key (a retry that comes after it was answered,
    possibly after the thread's run closed); 409 when the key was used for another text."""
    async with db.pool().connection() as conn:
        turn = await assistant_turns.keyed(conn, creator_id, thread, req.key)
    if turn is None:
        return None
    if turn.text != req.text:
        raise _conflict(thread)
    return AssistantReply(turn.thread_id, turn.answer, turn.agents, turn.steps, turn.proposals)


def _failed(exc: WorkflowUpdateFailedError, thread: str) -> ApiError:
    if isinstance(exc.cause, ApplicationError) and exc.cause.type == "idempotency_conflict":
        return _conflict(thread)
    return ApiError(503, "assistant_failed", f"the assistant could not answer: {exc.cause}")


def _assistant_pending(thread: str, keyed: bool) -> ApiError:
    again = (
        "send the same request with the same Idempotency-Key to get its answer (it joins the first: asked once)"
        if keyed
        else "this request had no Idempotency-Key, so sending it again asks a second time"
    )
    return ApiError(
        503,
        "assistant_pending",
        "the request was handed to the thread's workflow but no worker has answered it yet (none has taken it, or"
        " the workflow service is slow): it stays queued and is answered once, in the thread (GET"
        f" /v1/assistant/threads/{thread}); {again}",
        {"thread_id": thread, "retry_after_s": ASK_RETRY_AFTER_S, "retry_safe": keyed},
        headers={"Retry-After": str(ASK_RETRY_AFTER_S)},
    )


async def _hand_over(
    rt: Runtime, thread: str, req: AssistantAsk, update_id: str
) -> tuple[WorkflowHandle[Any, Any], WorkflowUpdateHandle[AssistantReply]]:
    """Start the thread's workflow (or find it running) and hand it the request, until a worker accepts it: at most
    HUNTAZE_DECISION_WAIT_S, then 503 `assistant_pending`."""
    deadline = asyncio.get_running_loop().time() + rt.settings.decision_wait_s
    for _ in range(2):
        try:
            handle = await rt.temporal.start_workflow(
                "AssistantWorkflow",
                AssistantThreadInput(req.creator_id, thread, rt.settings.assistant_idle_close_s),
                id=assistant_workflow_id(req.creator_id, thread),
                task_queue=rt.settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            async with bounded(deadline):
                update = await handle.start_update(
                    "ask",
                    req,
                    id=update_id or None,
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                    result_type=AssistantReply,
                )
            return handle, CancellableUpdate.of(rt.temporal, update, AssistantReply)
        except NotTakenYet as exc:
            raise _assistant_pending(thread, bool(req.key)) from exc
        except WorkflowUpdateFailedError as exc:
            raise _failed(exc, thread) from exc
        except RPCError as exc:
            last = exc  # the thread closed between the start and the update: start it again, once
    raise ApiError(503, "workflow_unavailable", "the workflow service is unreachable; retry") from last


def _out(reply: AssistantReply, role: Role) -> AskOut:
    return AskOut(
        thread_id=reply.thread_id,
        answer=reply.answer,
        agents=reply.agents,
        steps=[StepOut(**s) for s in reply.steps],
        proposals=[_allowed(p, role) for p in reply.proposals],
    )


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n".encode()


async def _events(
    rt: Runtime, thread: str, req: AssistantAsk, update_id: str, role: Role, stored: AssistantReply | None
) -> AsyncIterator[bytes]:
    """The thread, the request handed over (an `error` event with the JSON answer's code when it cannot be), its
    progress as it runs (`workflows.assistant_stream.follow`), then the answer (at once: a keyed request's stored
    turn)."""
    yield _sse("thread", {"thread_id": thread})
    if stored is not None:
        yield _sse("answer", _out(stored, role).model_dump(mode="json"))
        return
    try:
        handle, update = await _hand_over(rt, thread, req, update_id)
    except ApiError as exc:
        yield _sse("error", {"error": {"code": exc.code, "message": exc.message, "details": exc.details}})
        return
    async for name, data in follow(handle, update, req.request_id):
        if name == "ping":
            yield b": waiting for the model\n\n"
        elif name == "answer":
            yield _sse("answer", _out(data, role).model_dump(mode="json"))
        elif name == "error":
            if data.get("code") == "assistant_pending":  # the JSON answer's 503, with whether a retry is safe
                pending = _assistant_pending(thread, bool(req.key))
                data = {"code": pending.code, "message": pending.message, "details": pending.details}
            yield _sse("error", {"error": data})
        else:
            yield _sse(name, data)


# --- stored threads -----------------------------------------------------------------------------------------

THREAD_ID = r"^[A-Za-z0-9_-]{1,64}$"


class ThreadOut(BaseModel):
    thread_id: str
    turns: int = Field(description="answered requests")
    first_text: str = Field(description="the thread's first request")
    started_at: datetime
    last_at: datetime = Field(description="when its newest request was answered")


class ThreadPage(BaseModel):
    items: list[ThreadOut]
    next_cursor: str | None


class TurnOut(BaseModel):
    turn: int = Field(description="from 0, in the order asked")
    member_id: str = Field(description="who asked: a member's id, or `cli`")
    text: str
    answer: str
    agents: list[str]
    steps: list[StepOut]
    proposals: list[dict[str, Any]] = Field(description="as answered, with `allowed` for the reader's role")
    created_at: datetime


class ThreadTurns(BaseModel):
    thread_id: str
    items: list[TurnOut]
    next_cursor: int | None


def _thread_cursor(t: assistant_turns.Thread) -> str:
    return base64.urlsafe_b64encode(json.dumps([t.last_at.isoformat(), t.thread_id]).encode()).decode()


def _before(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        at, tid = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(tid, str) or not re.match(THREAD_ID, tid):
            raise ValueError(tid)
        return datetime.fromisoformat(at), tid
    except (ValueError, TypeError) as exc:
        raise malformed_cursor() from exc


@router.get("/threads", response_model=ThreadPage, responses={422: {}})
async def list_threads(
    who: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=400, description="next_cursor of the previous page")
    ] = None,
) -> Any:
    """The creator's assistant threads, the one asked most recently first (any member may read)."""
    before = _before(cursor)
    async with db.pool().connection() as conn:
        rows = await assistant_turns.threads(conn, who.creator_id, before=before, limit=limit + 1)
    return ThreadPage(
        items=[ThreadOut(**asdict(t)) for t in rows[:limit]],
        next_cursor=_thread_cursor(rows[limit - 1]) if len(rows) > limit else None,
    )


@router.get("/threads/{thread_id}", response_model=ThreadTurns, responses={404: {}, 422: {}})
async def thread_turns(
    who: CurrentPrincipal,
    thread_id: Annotated[str, Path(pattern=THREAD_ID)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        int | None, Query(ge=0, le=2**31 - 1, description="next_cursor of the previous page")
    ] = None,
) -> Any:
    """A thread's answered requests, oldest first. A thread the creator has not (another creator's) is a 404."""
    async with db.pool().connection() as conn:
        rows = await assistant_turns.turns(conn, who.creator_id, thread_id, after=cursor, limit=limit + 1)
    if not rows and cursor is None:
        raise ApiError(404, "not_found", f"no assistant thread {thread_id}")
    items = [
        TurnOut(
            turn=t.turn,
            member_id=t.member_id,
            text=t.text,
            answer=t.answer,
            agents=t.agents,
            steps=[StepOut(**s) for s in t.steps],
            proposals=[_allowed(p, who.role) for p in t.proposals],
            created_at=t.created_at,
        )
        for t in rows[:limit]
    ]
    return ThreadTurns(
        thread_id=thread_id, items=items, next_cursor=rows[limit - 1].turn if len(rows) > limit else None
    )
