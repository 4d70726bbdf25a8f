"""AssistantWorkflow: one thread of the creator's assistant (`assistant-<creator>-<thread>`).

Each request is an `ask` Update, answered by the `assistant_turn` activity (the supervisor graph picking the
agents, their tools, the checked answer); requests of a thread run one at a time and see the thread's earlier
requests. Each answered request is stored by the activity (`assistant_turns`), so the thread outlives its run: it
completes after `idle_close_s` without a request, and the next request starts a new run under the same id, whose
first request reads the thread's stored turns (`assistant_thread`) and goes on numbering them. Nothing here writes
to fans: proposals come back for a human to send through the existing endpoints.

Progress: a request with a `request_id` is told by the activity, as it happens, through the `progress` signal
(the supervisor's choice, each tool call); the `events` query returns them while the request runs (the API's
event stream polls it). The final answer is the Update's result, never the events.

A request sent with an Idempotency-Key is an Update whose id the API (or the CLI) derives from the key and the text
(`keyed_ask_id`), so its
retry joins it; the run remembers each key's text, and fails the same key with another text
(`idempotency_conflict`) before asking anything. The key is stored with the turn, for a retry after the run closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.types import (
        ASSISTANT_THREAD,
        ASSISTANT_TURN,
        AssistantAsk,
        AssistantProgress,
        AssistantReply,
        AssistantThreadInput,
        AssistantThreadRef,
        AssistantThreadState,
        AssistantTurnInput,
    )

# Turns of the thread the next request sees.
HISTORY_TURNS = 2
# Answered requests whose progress events the `events` query still returns.
KEEP_PROGRESS = 4


def assistant_workflow_id(creator_id: str, thread_id: str) -> str:
    return f"assistant-{creator_id}-{thread_id}"


def keyed_thread_id(creator_id: str, key: str) -> str:
    """A new thread's id for a keyed request (`key`: the member-scoped Idempotency-Key): the same for its retries."""
    return hashlib.sha256(f"{creator_id}:{key}".encode()).hexdigest()[:32]


def keyed_ask_id(key: str, text: str) -> str:
    """A keyed request's Update id (and the name of its progress): the key and the text, so a retry joins the
    first and the same key with another text does not."""
    return f"ask:{key}:" + hashlib.sha256(json.dumps([text]).encode()).hexdigest()[:16]


@workflow.defn
class AssistantWorkflow:
    @workflow.init
    def __init__(self, inp: AssistantThreadInput) -> None:
        self.inp = inp
        self.turns: list[dict[str, str]] = []  # the thread's newest turns, {text, answer}
        self.next_turn = 0
        self.loaded = False  # the stored turns are read by the run's first request
        self.answered = 0
        self.asked = 0
        self.busy = 0
        self.texts: dict[str, str] = {}  # this run's requests' text by their scoped Idempotency-Key
        self.lock = asyncio.Lock()
        # requests' progress by request id: {"running", "attempt", "events"}; the last KEEP_PROGRESS answered
        # ones are kept so a stream reads the events signalled just before the answer
        self.progress_of: dict[str, dict[str, Any]] = {}

    @workflow.run
    async def run(self, inp: AssistantThreadInput) -> int:
        while True:
            seen = self.asked
            try:
                await workflow.wait_condition(
                    lambda seen=seen: self.asked != seen,  # type: ignore[misc]
                    timeout=timedelta(seconds=inp.idle_close_s),
                )
            except TimeoutError:
                if self.busy == 0:
                    break
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.answered

    @workflow.signal
    def progress(self, p: AssistantProgress) -> None:
        """An event of a running request (a late one, after its answer, is dropped)."""
        got = self.progress_of.get(p.request_id)
        if got is None or not got["running"] or p.attempt < got["attempt"]:
            return
        if p.attempt > got["attempt"]:  # a retry tells the request again from its start
            got["attempt"], got["events"] = p.attempt, []
        got["events"].append(p.event)

    @workflow.query
    def events(self, request_id: str) -> dict[str, Any]:
        """A request's events so far, the attempt they belong to, and whether it is still running (an unknown
        id: not running, no events)."""
        return self.progress_of.get(request_id) or {"running": False, "attempt": 0, "events": []}

    @workflow.update
    async def ask(self, req: AssistantAsk) -> AssistantReply:
        if req.key and self.texts.setdefault(req.key, req.text) != req.text:
            raise ApplicationError(
                "this idempotency key was used for another request",
                type="idempotency_conflict",
                non_retryable=True,
            )
        self.asked += 1
        self.busy += 1
        if req.request_id:
            self.progress_of[req.request_id] = {"running": True, "attempt": 1, "events": []}
        try:
            async with self.lock:
                if not self.loaded:
                    state: AssistantThreadState = await workflow.execute_activity(
                        ASSISTANT_THREAD,
                        AssistantThreadRef(self.inp.creator_id, self.inp.thread_id, HISTORY_TURNS),
                        result_type=AssistantThreadState,
                        start_to_close_timeout=timedelta(seconds=30),
                        # a database that does not answer fails this request (503); the next one reads again
                        retry_policy=RetryPolicy(maximum_attempts=3),
                    )
                    self.next_turn, self.turns = state.next_turn, state.history
                    self.loaded = True
                reply: AssistantReply = await workflow.execute_activity(
                    ASSISTANT_TURN,
                    AssistantTurnInput(
                        req.creator_id,
                        self.inp.thread_id,
                        self.next_turn,
                        req.member_id,
                        req.text,
                        self.turns[-HISTORY_TURNS:],
                        req.request_id,
                        req.key,
                    ),
                    result_type=AssistantReply,
                    # a request may take several calls of a slow local model
                    start_to_close_timeout=timedelta(minutes=20),
                    heartbeat_timeout=timedelta(minutes=2),
                    retry_policy=RetryPolicy(maximum_attempts=2),
                )
                self.turns = [*self.turns, {"text": req.text, "answer": reply.answer}][-HISTORY_TURNS:]
                self.next_turn += 1
                self.answered += 1
                return reply
        finally:
            self.busy -= 1
            if req.request_id in self.progress_of:
                self.progress_of[req.request_id]["running"] = False
                done = [k for k, v in self.progress_of.items() if not v["running"]]
                for old in done[:-KEEP_PROGRESS]:
                    del self.progress_of[old]

    @ask.validator
    def _check(self, req: AssistantAsk) -> None:
        if req.creator_id != self.inp.creator_id:
            raise ValueError("this thread belongs to another creator")
        if not req.text.strip():
            raise ValueError("empty request")
