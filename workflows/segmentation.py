"""SegmentationWorkflow: one whole refresh of a creator's fan scores (RFM, labels, churn, LTV, best hours).

Started by `POST /v1/segments/refresh` (and, later, by the daily plan). One at a time per creator: the
workflow id is derived from the creator, and the activity also takes a per-creator advisory lock.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.types import REFRESH_SEGMENTS, SegmentationInput, SegmentationResult


def segmentation_workflow_id(creator_id: str) -> str:
    return f"segments-{creator_id}"


@workflow.defn
class SegmentationWorkflow:
    @workflow.run
    async def run(self, inp: SegmentationInput) -> SegmentationResult:
        result: SegmentationResult = await workflow.execute_activity(
            REFRESH_SEGMENTS,
            inp,
            result_type=SegmentationResult,
            # a million fans take about a minute on two cores; the refresh is one transaction, so a retry
            # after a crash starts clean
            start_to_close_timeout=timedelta(minutes=30),
            # the refresh heartbeats; its numpy steps hold the event loop for seconds at a million fans
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=5),
        )
        return result
