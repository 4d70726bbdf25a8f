"""AlertRetryWorkflow: started by the alert retry schedule (every HUNTAZE_ALERTS_RETRY_S seconds; one schedule per
task queue, created by the worker process at start-up), it runs one sweep that sends the pending alerts that are
due (workflows/alerts.py `send_due_alerts`). A sweep that fails is not retried: the next one covers it.

Lean like every workflow module: temporalio and its own names only.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

SEND_DUE_ALERTS = "send_due_alerts"  # the activity: workflows/alerts.py


def alert_retry_schedule_id(task_queue: str) -> str:
    return f"alert-retry-{task_queue}"


@workflow.defn(sandboxed=False)
class AlertRetryWorkflow:
    @workflow.run
    async def run(self) -> int:
        sent: int = await workflow.execute_activity(
            SEND_DUE_ALERTS,
            result_type=int,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return sent
