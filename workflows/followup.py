"""FollowupWorkflow: one follow-up sequence for one fan (welcome, win-back, PPV reminder, re-engagement).

Durable timers wait for each step; at each step an activity re-checks the fan (a reply, purchase, renewal,
opt-out or hand-off since the sequence started stops it; caps or a draft still under review defer it) and
then hands the step to the fan's ConversationWorkflow as an internal event. The draft is written, checked and
approved there like any reply: this workflow never writes a draft and never sends anything.

A `stop` signal (from the conversation, when the fan replies or buys) ends the sequence at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.types import (
        FINISH_FOLLOWUP,
        FOLLOWUP_STEP,
        FinishFollowupInput,
        FollowupInput,
        FollowupStepInput,
        FollowupStepResult,
    )

DB_TIMEOUT = timedelta(seconds=60)
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


def followup_workflow_id(creator_id: str, fan_id: str, kind: str, trigger: str) -> str:
    """Derived from what started the sequence, so a retried start never makes a second one."""
    return f"followup-{creator_id}-{fan_id}-{kind}-{trigger}"


@workflow.defn
class FollowupWorkflow:
    @workflow.init
    def __init__(self, inp: FollowupInput) -> None:
        self.stop_reason: str | None = None
        self.done = 0

    @workflow.signal
    def stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    @workflow.query
    def steps_done(self) -> int:
        return self.done

    @workflow.run
    async def run(self, inp: FollowupInput) -> str:
        started = workflow.now().timestamp()
        for i, step in enumerate(inp.steps):
            due = started + step.after_s
            deferrals = 0
            while True:
                if not await self._sleep_until(due):
                    return await self._finish(inp, "cancelled", self.stop_reason or "stopped")
                res = await workflow.execute_activity(
                    FOLLOWUP_STEP,
                    FollowupStepInput(
                        inp.followup_id, inp.creator_id, inp.fan_id, i, workflow.now().timestamp()
                    ),
                    result_type=FollowupStepResult,
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=DB_RETRY,
                )
                if res.outcome == "stop":
                    return await self._finish(inp, "cancelled", res.reason)
                if res.outcome == "defer" and res.retry_at is not None and deferrals < inp.max_deferrals:
                    deferrals += 1
                    due = res.retry_at
                    continue
                break  # drafted, or deferred too often: the step is skipped and the sequence goes on
            self.done = i + 1
        return await self._finish(inp, "completed", "every step was drafted")

    async def _sleep_until(self, due: float) -> bool:
        """Wait for the due time; False when a stop signal came first."""
        left = due - workflow.now().timestamp()
        if left > 0:
            try:
                await workflow.wait_condition(
                    lambda: self.stop_reason is not None, timeout=timedelta(seconds=left)
                )
            except TimeoutError:
                pass
        return self.stop_reason is None

    async def _finish(
        self, inp: FollowupInput, status: Literal["completed", "cancelled"], reason: str
    ) -> str:
        await workflow.execute_activity(
            FINISH_FOLLOWUP,
            FinishFollowupInput(inp.followup_id, inp.creator_id, status, reason),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        return status


__all__ = ["FollowupWorkflow", "followup_workflow_id"]
