"""DailyPlanWorkflow: once a day per creator (a Temporal Schedule in the creator's timezone starts it), refresh
the segments, start re-engagement for quiet fans, detect anomalies and write the Daily Action List.

Each step is an activity; the refresh reuses the segmentation activity (it holds a per-creator lock, so a
refresh started from the API at the same time waits rather than doubles). Nothing here writes a draft or sends:
sequences and campaigns draft through the fans' conversations, and a human approves every message.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.types import (
        EXPIRE_OVERDUE_DRAFTS,
        PLAN_INACTIVE,
        REFRESH_SEGMENTS,
        WRITE_DAILY_PLAN,
        DailyPlanInput,
        DailyPlanResult,
        ExpireOverdueResult,
        PlanInactiveResult,
        PlanStepInput,
        SegmentationInput,
        SegmentationResult,
    )

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=2), maximum_attempts=5
)


def daily_plan_workflow_id(creator_id: str) -> str:
    return f"daily-plan-{creator_id}"


def daily_plan_schedule_id(creator_id: str) -> str:
    return f"daily-plan-schedule-{creator_id}"


@workflow.defn
class DailyPlanWorkflow:
    @workflow.run
    async def run(self, inp: DailyPlanInput) -> DailyPlanResult:
        run_id = None
        if inp.refresh_segments:
            seg: SegmentationResult = await workflow.execute_activity(
                REFRESH_SEGMENTS,
                SegmentationInput(inp.creator_id),
                result_type=SegmentationResult,
                start_to_close_timeout=timedelta(minutes=30),
                # the refresh heartbeats; its numpy steps hold the event loop for seconds at a million fans
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=RETRY,
            )
            run_id = seg.run_id
        # one clock for the whole plan: the workflow's, so a retried activity plans the same day
        step = PlanStepInput(inp.creator_id, workflow.now().timestamp())
        inactive: PlanInactiveResult = await workflow.execute_activity(
            PLAN_INACTIVE,
            step,
            result_type=PlanInactiveResult,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RETRY,
        )
        overdue: ExpireOverdueResult = await workflow.execute_activity(
            EXPIRE_OVERDUE_DRAFTS,
            step,
            result_type=ExpireOverdueResult,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RETRY,
        )
        result: DailyPlanResult = await workflow.execute_activity(
            WRITE_DAILY_PLAN,
            step,
            result_type=DailyPlanResult,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RETRY,
        )
        result.segments_run_id = run_id
        result.inactive_started = inactive.started
        result.drafts_expired = overdue.expired
        return result
