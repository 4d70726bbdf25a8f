"""AssistantWorkflow: one thread of the creator's assistant (`assistant-<creator>-<thread>`).

Each request is an `ask` Update, answered by the `assistant_turn` activity (the supervisor graph picking the
agents, their tools, the checked answer); requests of a thread run one at a time and see the thread's earlier
requests. The thread completes after `idle_close_s` without a request; the next request starts a new run under
the same id. Nothing here writes to fans: proposals come back for a human to send through the existing
endpoints.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.types import (
        ASSISTANT_TURN,
        AssistantAsk,
        AssistantReply,
        AssistantThreadInput,
        AssistantTurnInput,
    )

# Turns of the thread the next request sees.
HISTORY_TURNS = 2


def assistant_workflow_id(creator_id: str, thread_id: str) -> str:
    return f"assistant-{creator_id}-{thread_id}"


@workflow.defn
class AssistantWorkflow:
    @workflow.init
    def __init__(self, inp: AssistantThreadInput) -> None:
        self.inp = inp
        self.turns: list[dict[str, str]] = []
        self.asked = 0
        self.busy = 0
        self.lock = asyncio.Lock()

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
        return len(self.turns)

    @workflow.update
    async def ask(self, req: AssistantAsk) -> AssistantReply:
        self.asked += 1
        self.busy += 1
        try:
            async with self.lock:
                reply: AssistantReply = await workflow.execute_activity(
                    ASSISTANT_TURN,
                    AssistantTurnInput(
                        req.creator_id,
                        self.inp.thread_id,
                        len(self.turns),
                        req.member_id,
                        req.text,
                        self.turns[-HISTORY_TURNS:],
                    ),
                    result_type=AssistantReply,
                    # a request may take several calls of a slow local model
                    start_to_close_timeout=timedelta(minutes=20),
                    heartbeat_timeout=timedelta(minutes=2),
                    retry_policy=RetryPolicy(maximum_attempts=2),
                )
                self.turns.append({"text": req.text, "answer": reply.answer})
                return reply
        finally:
            self.busy -= 1

    @ask.validator
    def _check(self, req: AssistantAsk) -> None:
        if req.creator_id != self.inp.creator_id:
            raise ValueError("this thread belongs to another creator")
        if not req.text.strip():
            raise ValueError("empty request")
