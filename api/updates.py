"""Calls that wait on a workflow Update, cancelled by their client.

A client that goes away mid-request cancels the request's task; the Temporal SDK reports that cancellation of an
Update call as its own `WorkflowUpdateRPCTimeoutOrCancelledError`, which would end as an unhandled 500. Inside
`client_cancel()` it ends as the cancellation it is: nothing is answered and nothing is logged as an error. An
Update the server received stands and is applied once. The same error without a cancellation (an RPC deadline)
passes through for the caller to answer; inside `bounded()` it, or the call's own deadline passing (no worker took
the Update, or Temporal is slow), ends as `NotTakenYet` for the caller to answer with a 503 and Retry-After.

A POST that hands over an Update may take an `Idempotency-Key` header (`IdempotencyKey`): the Update's id is then
derived from the key and the request's content (`content_digest`), so the same request sent again joins the first
Update (in flight, or completed in the same run) instead of being a second one."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Header
from temporalio.client import Client, WorkflowUpdateHandle, WorkflowUpdateRPCTimeoutOrCancelledError

T = TypeVar("T")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="makes a retried POST apply once: the same key from the same member, with the same content,"
        " answers with the first request's outcome; with other content it is 409 `idempotency_conflict`",
    ),
]


def content_digest(*parts: Any) -> str:
    """A short digest of a request's content (JSON-serialisable parts), for an Update id derived from it."""
    return hashlib.sha256(json.dumps(list(parts), sort_keys=True).encode()).hexdigest()[:16]


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
