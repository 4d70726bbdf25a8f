"""A worker that stops promptly and quietly, leaving its in-flight work to the next worker.

At shutdown the SDK cancels running activities at once. Left alone, a cancelled *local* activity counts as a
failed attempt that the worker retries itself, with another LLM call, until the step's deadline (minutes), and
every attempt logs a traceback. Here:

- an activity cancelled because its worker stops ends with a benign `WorkerStopping` error: logged at DEBUG,
  never retried on this worker (a regular activity is retried by the server on another worker as usual);
- a workflow whose local activity ended that way fails its *workflow task* (not the workflow, not the step): the
  server hands the task to the next worker, which runs the step again from the history;
- that expected task failure is logged as one INFO line instead of a warning with a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from datetime import timedelta
from typing import Any, ClassVar

from temporalio import activity, workflow
from temporalio.exceptions import ActivityError, ApplicationError, ApplicationErrorCategory
from temporalio.exceptions import CancelledError as TemporalCancelledError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

log = logging.getLogger(__name__)

WORKER_STOPPING = "WorkerStopping"
# A step still running this long after its worker began to stop is cancelled (a database step is done by then).
STOP_GRACE_S = 2.0
# A local step stopped with its worker is run again after this durable timer (HUNTAZE_WORKER_STOP_RETRY_S): more than
# the SDK's local retry threshold (1 minute), else the retry would be another attempt on the stopping worker.
LOCAL_RETRY_AFTER = timedelta(seconds=61)
SDK_LOCAL_RETRY_THRESHOLD = timedelta(minutes=1)


class WorkerStopping(Exception):
    """Raised in workflow code: this worker stops before the step finished; another worker runs it."""


def _stopping(err: BaseException) -> bool:
    return (
        isinstance(err, ActivityError)
        and isinstance(err.cause, ApplicationError)
        and err.cause.type == WORKER_STOPPING
    )


class _Activities(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, retry_after: timedelta) -> None:
        super().__init__(next)
        self.retry_after = retry_after

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        # The SDK does not cancel a running local activity when its worker shuts down (it waits for it, an LLM
        # call of minutes): past a short grace, this does.
        work = asyncio.ensure_future(super().execute_activity(input))
        stopping = asyncio.ensure_future(activity.wait_for_worker_shutdown())
        try:
            await asyncio.wait([work, stopping], return_when=asyncio.FIRST_COMPLETED)
            if not work.done():
                await asyncio.wait([work], timeout=STOP_GRACE_S)
            if work.done():
                return work.result()
        except (asyncio.CancelledError, TemporalCancelledError):
            details = activity.cancellation_details()
            if details is not None and details.timed_out and not activity.is_worker_shutdown():
                # The step ran out of time (its retry or its failure is already decided); the SDK would log the
                # cancellation as a warning with a traceback.
                info = activity.info()
                log.info(
                    "%s timed out (attempt %d) in %s", info.activity_type, info.attempt, info.workflow_id
                )
                raise ApplicationError(
                    f"{info.activity_type} timed out",
                    type="StepTimedOut",
                    category=ApplicationErrorCategory.BENIGN,
                ) from None
            if not activity.is_worker_shutdown():
                raise
        finally:
            stopping.cancel()
            if not work.done():
                work.cancel()
                with contextlib.suppress(BaseException):
                    await work
        info = activity.info()
        raise ApplicationError(
            f"{info.activity_type} stopped: the worker is shutting down",
            type=WORKER_STOPPING,
            category=ApplicationErrorCategory.BENIGN,
            # A local activity's retry after more than its local retry threshold (1 minute) is a durable timer
            # in the workflow, not another attempt on this worker: the workflow task completes, the worker stops,
            # and the next worker runs the step when the timer fires. A regular activity is retried by the server.
            next_retry_delay=self.retry_after if info.is_local else None,
        )


class _Outbound(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, local_retry_threshold: timedelta | None) -> None:
        super().__init__(next)
        self.local_retry_threshold = local_retry_threshold

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        if self.local_retry_threshold is not None and input.local_retry_threshold is None:
            input = dataclasses.replace(input, local_retry_threshold=self.local_retry_threshold)
        handle = self.next.start_local_activity(input)

        async def result() -> Any:
            try:
                return await handle
            except ActivityError as err:
                if _stopping(err):
                    raise WorkerStopping(str(err.cause)) from None
                raise

        # The workflow awaits (or cancels) this task exactly as it would the handle.
        return asyncio.get_running_loop().create_task(result())  # type: ignore[return-value]


class _Workflows(WorkflowInboundInterceptor):
    # None: the SDK's (1 minute); set below the retry timer when that is shorter than the default
    local_retry_threshold: ClassVar[timedelta | None] = None

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_Outbound(outbound, self.local_retry_threshold))


class StopCleanly(Interceptor):
    """The worker interceptor (see the module's docstring). `retry_after`: the durable timer after which the next
    worker runs a local step stopped with this one. Not longer than the SDK's local retry threshold, the threshold of
    the workflows this worker runs is set 1 s below it, so that the retry is still a timer."""

    def __init__(self, retry_after: timedelta = LOCAL_RETRY_AFTER) -> None:
        if retry_after < timedelta(seconds=2):
            raise ValueError("retry_after must be at least 2 s")
        self.retry_after = retry_after

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Activities(next, self.retry_after)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        if self.retry_after > SDK_LOCAL_RETRY_THRESHOLD:
            return _Workflows
        threshold = self.retry_after - timedelta(seconds=1)
        return type("_WorkflowsRetryingSooner", (_Workflows,), {"local_retry_threshold": threshold})


class _OneLine(logging.Filter):
    """The SDK logs a failed workflow task as a warning with its traceback; for WorkerStopping, one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, WorkerStopping):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = (
                "%s; the next worker runs the step again (%s)",
                (record.getMessage(), exc),
            )
            record.exc_info = record.exc_text = None
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


def quiet_expected_failures() -> None:
    """Install the one-line filter on the SDK's workflow logger (idempotent)."""
    logger = logging.getLogger("temporalio.worker._workflow_instance")
    if not any(isinstance(f, _OneLine) for f in logger.filters):
        logger.addFilter(_OneLine())
