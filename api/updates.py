"""Calls that wait on a workflow Update, cancelled by their client.

A client that goes away mid-request cancels the request's task; the Temporal SDK reports that cancellation of an
Update call as its own `WorkflowUpdateRPCTimeoutOrCancelledError`, which would end as an unhandled 500. Inside
`client_cancel()` it ends as the cancellation it is: nothing is answered and nothing is logged as an error. An
Update the server received stands and is applied once. The same error without a cancellation (an RPC deadline)
passes through for the caller to answer; inside `bounded()` it, or the call's own deadline passing (no worker took
the Update, or Temporal is slow), ends as `NotTakenYet` for the caller to answer with a 503 and Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from typing import TypeVar

from temporalio.client import Client, WorkflowUpdateHandle, WorkflowUpdateRPCTimeoutOrCancelledError

T = TypeVar("T")


@contextmanager
def client_cancel() -> Iterator[None]:
    """Around an Update call (`execute_update`, `start_update`, an Update handle's `result()`)."""
    try:
        yield
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from exc
        raise


class NotTakenYet(Exception):
    """An Update call ended at its deadline, or its RPC timed out: the server may hold the Update, which a worker
    then applies once (the same Update id sent again joins it)."""


@asynccontextmanager
async def bounded(deadline: float) -> AsyncIterator[None]:
    """`client_cancel()` around an Update call that must end by `deadline` (the event loop's clock,
    `asyncio.get_running_loop().time()`): past it, or when its RPC times out, raises `NotTakenYet`."""
    try:
        with client_cancel():
            async with asyncio.timeout_at(deadline):
                yield
    except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError) as exc:
        raise NotTakenYet from exc


class CancellableUpdate(WorkflowUpdateHandle[T]):
    """An Update handle whose `result()` is waited for inside `client_cancel()`: a task that waits for it (an event
    stream's follower) and is cancelled ends cancelled, not with the SDK's error that nobody reads."""

    @classmethod
    def of(
        cls, client: Client, update: WorkflowUpdateHandle[T], result_type: type[T]
    ) -> CancellableUpdate[T]:
        return cls(
            client,
            update.id,
            update.workflow_id,
            workflow_run_id=update.workflow_run_id,
            result_type=result_type,
        )

    async def result(
        self, *, rpc_metadata: Mapping[str, str | bytes] | None = None, rpc_timeout: timedelta | None = None
    ) -> T:
        with client_cancel():
            return await super().result(rpc_metadata=rpc_metadata or {}, rpc_timeout=rpc_timeout)
