"""DeliveryRetryWorkflow: a human retries a failed delivery. It runs the same send activity as the conversation
(the approval re-checked under the draft's row lock, the outbox row and message unique on the draft), so a retry
cannot send anything that was not approved, nor send it twice. Quiet hours and frequency caps hold a retry as they
hold a first send (the failed message itself not counted): the workflow waits on a timer, then tries again.

Lean like every workflow module: temporalio and its own dataclasses only.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.types import MARK_DELIVERY_FAILED, SEND_DRAFT, SendInput, SendResult

# As the conversation's sends: backoff for up to a day, never past a missing approval.
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["NotApproved", "WebhookRefused"],
)


def delivery_retry_workflow_id(creator_id: str, draft_id: str, retry: int) -> str:
    """One workflow per retry of a draft's delivery: asking twice for the same retry starts it once."""
    return f"delivery-retry-{creator_id}-{draft_id}-{retry}"


@workflow.defn(sandboxed=False)
class DeliveryRetryWorkflow:
    @workflow.run
    async def run(self, ref: SendInput) -> SendResult:
        while True:
            ref.now = workflow.now().timestamp()
            try:
                result: SendResult = await workflow.execute_activity(
                    SEND_DRAFT,
                    ref,
                    result_type=SendResult,
                    start_to_close_timeout=timedelta(seconds=60),
                    schedule_to_close_timeout=timedelta(days=1),
                    retry_policy=RETRY,
                )
            except ActivityError:
                # Failed again for good: back to the human (a refused send has no pending delivery to mark).
                await workflow.execute_activity(
                    MARK_DELIVERY_FAILED,
                    ref,
                    result_type=bool,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(
                        initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
                    ),
                )
                return SendResult(ref.draft_id, False)
            if result.sent or result.not_before is None:
                return result
            # Quiet hours or a cap hold it, as they hold a first send: wait durably (a timer), then try again.
            await asyncio.sleep(max(0.0, result.not_before - workflow.now().timestamp()))
