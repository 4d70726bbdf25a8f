"""Follow one request of an assistant thread as it runs: the events its activity signals to the thread's workflow
(`events` query), then its answer. Read by the API's event stream and by `huntaze assistant ask`.

The Update must have been started with a request id (`AssistantAsk.request_id`) and accepted. The events
signalled before the answer are in the workflow before the Update completes, so one last read after it yields
every one of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from temporalio.client import (
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from workflows.types import AssistantReply

# How often the thread's workflow is asked for new progress, and how long the follower stays silent at most
# (a `ping` then: the API's stream sends a comment line so that proxies keep it open while a slow model thinks).
POLL_S = 0.5
KEEPALIVE_S = 15.0


async def follow(
    handle: WorkflowHandle[Any, Any], update: WorkflowUpdateHandle[AssistantReply], request_id: str
) -> AsyncIterator[tuple[str, Any]]:
    """(name, data) as the request runs: `agents`, `step`, `retry` ({attempt}: the steps start again), `ping`
    after a silence; then `answer` (the AssistantReply) or `error` ({code, message}), and the end. Progress is
    best effort (a query that fails is skipped); the answer is the Update's result."""
    result = asyncio.ensure_future(update.result())
    sent, attempt, quiet = 0, 1, 0.0
    try:
        while True:
            finished = (await asyncio.wait({result}, timeout=POLL_S))[0]
            try:
                got = await handle.query("events", request_id, result_type=dict)
            except (RPCError, WorkflowQueryFailedError):
                got = {"attempt": attempt, "events": []}
            if got["attempt"] > attempt:
                attempt, sent = got["attempt"], 0
                yield "retry", {"attempt": attempt}
            events = got["events"][sent:] if got["attempt"] == attempt else []
            for e in events:
                yield str(e.get("event", "step")), {k: v for k, v in e.items() if k != "event"}
            sent += len(events)
            quiet = 0.0 if events else quiet + POLL_S
            if finished:
                break
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield "ping", {}
        try:
            reply = result.result()
        except WorkflowUpdateFailedError as exc:
            if isinstance(exc.cause, ApplicationError) and exc.cause.type == "idempotency_conflict":
                yield "error", {"code": "idempotency_conflict", "message": str(exc.cause)}
            else:
                yield (
                    "error",
                    {"code": "assistant_failed", "message": f"the assistant could not answer: {exc.cause}"},
                )
            return
        except RPCError:
            yield (
                "error",
                {"code": "workflow_unavailable", "message": "the workflow service is unreachable; retry"},
            )
            return
        except (
            WorkflowUpdateRPCTimeoutOrCancelledError
        ):  # the RPC for the answer timed out; the request runs on
            yield (
                "error",
                {
                    "code": "assistant_pending",
                    "message": "the request is being answered but its answer did not come in time: it is stored"
                    " in the thread once answered; sending it again asks a second time",
                },
            )
            return
        yield "answer", reply
    finally:
        result.cancel()  # a follower gone: stop waiting (the request itself runs on and is in the actions feed)
