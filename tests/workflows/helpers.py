from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    ListOpenWorkflowExecutionsRequest,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core import db
from core.settings import Settings
from core.types import DraftAttempt, PolicyReport, Route, RouteDecision, conversation_workflow_id
from tests.factories import Tenant, add_message_event, make_tenant
from workflows.conversation import ConversationWorkflow
from workflows.types import ConversationInput, PendingDraft, SaveOutcomeInput
from workflows.worker import build_worker


async def start_conversation(
    client: Client, s: Settings, creator_id: str, fan_id: str, event_ids: list[int]
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        ConversationWorkflow.run,
        ConversationInput(
            creator_id=creator_id,
            fan_id=fan_id,
            draft_timeout_s=s.draft_timeout_s,
            debounce_s=s.debounce_s,
            idle_close_s=s.idle_close_s,
        ),
        id=conversation_workflow_id(creator_id, fan_id),
        task_queue=s.task_queue,
        start_signal="new_events",
        start_signal_args=[event_ids],
    )


async def wait_pending(
    handle: WorkflowHandle[Any, Any], *, not_id: str | None = None, timeout_s: float = 60
) -> PendingDraft:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            p = await handle.query(ConversationWorkflow.pending_draft)
        except RPCError:  # a query can time out while a loaded worker is busy (or between runs): poll on
            p = None
        if p is not None and p.draft_id != not_id:
            return p
        await asyncio.sleep(0.05)
    raise AssertionError("no pending draft appeared")


_TASK_IN_PROGRESS = (
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
)


async def _busy(env: WorkflowEnvironment) -> list[str]:
    """The open workflows with a workflow task or an activity in progress. The test server's description leaves
    out a workflow task in progress, so its history says it (the last event a task scheduled or started)."""
    svc, ns = env.client.workflow_service, env.client.namespace
    listed = await svc.list_open_workflow_executions(
        ListOpenWorkflowExecutionsRequest(namespace=ns, maximum_page_size=1000)
    )
    busy = []
    for info in listed.executions:
        wid = info.execution.workflow_id
        try:
            d = await svc.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(namespace=ns, execution=WorkflowExecution(workflow_id=wid))
            )
            history = await env.client.get_workflow_handle(wid).fetch_history()
        except RPCError:  # closed between the list and the describe
            continue
        last = history.events[-1].event_type if history.events else None
        started = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        if last in _TASK_IN_PROGRESS or any(a.state == started for a in d.pending_activities):
            busy.append(wid)
    return busy


async def skip(env: WorkflowEnvironment, delta: timedelta, timeout_s: float = 60) -> None:
    """Skip time once every workflow is at rest: the time-skipping server does not see the local activities of a
    workflow task in progress, and a skip that starts during them moves the clock under that task (a timer it
    then cancels may have fired meanwhile, and the server refuses the task's completion)."""
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while quiet < 2:  # at rest twice in a row: a completed task may have scheduled the next one
        busy = await _busy(env)
        quiet = 0 if busy else quiet + 1
        if busy and time.monotonic() > deadline:
            raise AssertionError(f"workflows never came to rest before a time skip: {busy}")
        await asyncio.sleep(0.05)
    await env.sleep(delta)


async def wait_until(sql: str, params: list[Any], timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s / 0.05)):
        async with db.pool().connection() as conn:
            row = await (await conn.execute(sql, params)).fetchone()
        if row and next(iter(row.values())):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition never held: {sql}")


async def wait_for(holds: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if holds():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def fetch(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    async with db.pool().connection() as conn:
        return list(await (await conn.execute(sql, params)).fetchall())


@contextlib.asynccontextmanager
async def drafted(
    env: WorkflowEnvironment, settings: Settings, text: str = "hello", max_cached_workflows: int = 1000
) -> AsyncIterator[tuple[Tenant, WorkflowHandle[Any, Any], PendingDraft]]:
    """A tenant, a running worker, and a conversation whose first draft awaits a decision."""
    t = await make_tenant()
    async with build_worker(env.client, settings.task_queue, max_cached_workflows=max_cached_workflows):
        eid = await add_message_event(t, t.fans[0], text, "e1")
        h = await start_conversation(env.client, settings, t.creator_id, t.fans[0], [eid])
        yield t, h, await wait_pending(h)


def reply_outcome(
    creator_id: str,
    fan_id: str,
    event_ids: list[int],
    drafting: DraftAttempt,
    expires_at: float | None = None,
) -> SaveOutcomeInput:
    """What the supervisor graph hands the save for a reply: the draft (checked and passing), or its failure."""
    return SaveOutcomeInput(
        creator_id,
        fan_id,
        conversation_workflow_id(creator_id, fan_id),
        event_ids,
        RouteDecision(Route.REPLY, "the fan sent a message", fan_text="hi"),
        drafting,
        PolicyReport("pass") if drafting.draft else None,
        time.time() + 3600 if expires_at is None else expires_at,
    )
