"""Approve calls that meet no worker, are retried or are cancelled by their client, on the Temporal dev server (the
time-skipping test server neither keeps an Update for a worker to come nor deduplicates Update ids as the real
server does). The API's worker is in-process and stopped between the drafts and the decisions.

- An approval that no worker applies within HUNTAZE_DECISION_WAIT_S answers 503 `decision_pending` with
  Retry-After; the same approval sent again waits for the same Update (its id is the decision) and, once a worker
  runs, answers 200; it is applied and sent once.
- An approve call cancelled by its client mid-Update ends as a cancellation (no error, nothing logged as one); the
  decision the server received stands and is applied once (the first worker stops between workflow tasks: an Update
  no worker has taken is dropped by a workflow task that fails, see `_idle`).
- Once decided, the same decision again answers 200 with the draft as it is now; a different decision (a reject,
  an edit, another member) stays 409 `already_decided`.
- A decision no worker took in time, or whose caller went away, is also queued as a `decide_again` signal, which the
  server writes to the conversation's history (an Update no worker has taken lives in the server's memory only):
  the signal alone applies it once; with its Update also applied, still once; one that is stale or comes after
  another decision changes nothing."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.routers.drafts import decision_update_id
from core.settings import Settings
from tests.api.conftest import client_for, make_app
from tests.api.crash_helpers import two_pending_drafts
from tests.factories import Tenant, make_tenant
from tests.workflows.helpers import fetch, wait_until
from workflows.types import Decision
from workflows.worker import build_worker


async def _admitted(client: Client, workflow_id: str, update_id: str, timeout_s: float = 60) -> None:
    """Until the server holds the Update (admitted: it waits there for a worker)."""
    req = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(
            workflow_execution=WorkflowExecution(workflow_id=workflow_id), update_id=update_id
        ),
        wait_policy=WaitPolicy(
            lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
        ),
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            await client.workflow_service.poll_workflow_execution_update(req)
            return
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        await asyncio.sleep(0.05)
    raise AssertionError(f"the update {update_id} never reached the server")


async def _idle(client: Client, workflow_id: str, timeout_s: float = 60) -> None:
    """Until no workflow task of the conversation is scheduled or running. Temporal keeps an Update that no worker
    has taken in memory only and drops it when a workflow task fails or times out (the caller's SDK then sends it
    again): a worker stopped in the middle of a task would drop the approval whose caller went away."""
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not (await handle.describe()).raw_description.HasField("pending_workflow_task"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the conversation {workflow_id} never went idle")


async def _queued(client: Client, workflow_id: str) -> list[HistoryEvent]:
    """The `decide_again` signals in the conversation's history."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == "decide_again"
    ]


async def _until_queued(client: Client, workflow_id: str, n: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while len(await _queued(client, workflow_id)) < n:
        assert time.monotonic() < deadline, f"{workflow_id}: fewer than {n} decide_again signals"
        await asyncio.sleep(0.1)


def _approve(
    api: httpx.AsyncClient,
    t: Tenant,
    draft_id: str,
    body: dict[str, object] | None = None,
    role: str = "chatter",
) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        api.post(f"/v1/drafts/{draft_id}/approve", json=body or {"version": 1}, headers=t.auth(role))
    )


async def test_decisions_without_a_worker_retried_and_cancelled_are_applied_once(
    temporal_dev_env: WorkflowEnvironment, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client = temporal_dev_env.client
    t = await make_tenant(fans=0)
    app = make_app(temporal_dev_env, settings.model_copy(update={"decision_wait_s": 1.0}))
    patient = make_app(temporal_dev_env, settings.model_copy(update={"decision_wait_s": 120.0}))
    try:
        async with client_for(app) as api, client_for(patient) as api_patient:
            async with build_worker(client, settings.task_queue):
                first, second = await two_pending_drafts(api, t)
                for d in (first, second):
                    await _idle(client, d["workflow_id"])

            # No worker: the approval waits HUNTAZE_DECISION_WAIT_S, then says it is pending; so does its retry.
            for _ in range(2):
                r = await _approve(api, t, first["id"])
                assert r.status_code == 503, r.text
                assert r.headers["Retry-After"] == "5"
                assert r.json()["error"]["code"] == "decision_pending", r.text
                assert r.json()["error"]["details"] == {"status": "pending_review", "retry_after_s": 5}

            # A client that goes away mid-Update: a cancellation, not an error.
            caplog.clear()
            caplog.set_level(logging.INFO)
            cancelled = _approve(api_patient, t, second["id"])
            decision = Decision(
                draft_id=second["id"], version=1, action="approve", actor=t.members["chatter"]
            )
            await _admitted(client, second["workflow_id"], decision_update_id(decision))
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
            assert loud == [], [f"{r.levelname} {r.name}: {r.getMessage()}" for r in loud]
            # Both decisions are in the histories as signals too, whatever becomes of their Updates.
            assert len(await _queued(client, first["workflow_id"])) == 2  # one per 503
            await _until_queued(client, second["workflow_id"], 1)
            for d in (first, second):  # nothing applied yet
                assert await fetch("SELECT status FROM drafts WHERE id = %s", [d["id"]]) == [
                    {"status": "pending_review"}
                ]

            async with build_worker(client, settings.task_queue):
                # The same approval again: it waits for the one Update the server kept, applied by this worker.
                r = await _approve(api_patient, t, first["id"])
                assert r.status_code == 200, r.text
                assert r.json()["status"] in ("approved", "sent"), r.text
                # The cancelled call's approval stood: applied and sent without anyone asking again.
                for d in (first, second):
                    await wait_until(
                        "SELECT status = 'sent' FROM drafts WHERE id = %s", [d["id"]], timeout_s=120
                    )

                # Decided: the same decision answers as before, with the draft as it is now; another is a conflict.
                for d in (first, second):
                    r = await _approve(api, t, d["id"])
                    assert r.status_code == 200, r.text
                    assert (r.json()["id"], r.json()["status"], r.json()["version"]) == (d["id"], "sent", 2)
                for body, role, path in (
                    ({"version": 1, "reason": "no"}, "chatter", "reject"),
                    ({"version": 1, "text": "an edit"}, "chatter", "approve"),
                    ({"version": 1}, "manager", "approve"),
                    ({"version": 2}, "chatter", "approve"),
                ):
                    r = await api.post(f"/v1/drafts/{first['id']}/{path}", json=body, headers=t.auth(role))
                    assert r.status_code == 409, (body, role, r.text)
                    assert r.json()["error"]["code"] == "already_decided", r.text
                    assert r.json()["error"]["details"] == {"status": "sent"}
    finally:
        await app.state.fresh_cache.close()
        await patient.state.fresh_cache.close()

    rows = await fetch(
        "SELECT d.status, count(m.*) AS sent FROM drafts d LEFT JOIN messages m ON m.draft_id = d.id"
        " WHERE d.creator_id = %s GROUP BY d.id, d.status",
        [t.creator_id],
    )
    assert rows == [{"status": "sent", "sent": 1}] * 2
    [n] = await fetch("SELECT count(*) AS n FROM outbox WHERE creator_id = %s", [t.creator_id])
    assert n["n"] == 2


async def test_a_decision_queued_as_a_signal_alone_is_applied_once_and_a_stale_one_changes_nothing(
    temporal_dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = temporal_dev_env.client
    t = await make_tenant(fans=0)
    app = make_app(temporal_dev_env, settings)
    try:
        async with client_for(app) as api:
            async with build_worker(client, settings.task_queue):
                first, second = await two_pending_drafts(api, t)
                for d in (first, second):
                    await _idle(client, d["workflow_id"])
            chatter = t.members["chatter"]
            # No Update at all (as if the server had dropped it): the signal, twice; for the second draft, one at a
            # version it is not at, then a reject, then an approval that comes after it.
            approve_first = Decision(draft_id=first["id"], version=1, action="approve", actor=chatter)
            for _ in range(2):
                await client.get_workflow_handle(first["workflow_id"]).signal("decide_again", approve_first)
            other = client.get_workflow_handle(second["workflow_id"])
            await other.signal(
                "decide_again", Decision(draft_id=second["id"], version=7, action="approve", actor=chatter)
            )
            await other.signal(
                "decide_again",
                Decision(draft_id=second["id"], version=1, action="reject", actor=chatter, reason="not now"),
            )
            await other.signal(
                "decide_again", Decision(draft_id=second["id"], version=1, action="approve", actor=chatter)
            )
            assert await fetch("SELECT status FROM drafts WHERE id = %s", [first["id"]]) == [
                {"status": "pending_review"}
            ]
            async with build_worker(client, settings.task_queue):
                await wait_until(
                    "SELECT status = 'sent' FROM drafts WHERE id = %s", [first["id"]], timeout_s=120
                )
                await wait_until(
                    "SELECT status = 'rejected' FROM drafts WHERE id = %s", [second["id"]], timeout_s=120
                )
                for d in (first, second):
                    await _idle(client, d["workflow_id"])
    finally:
        await app.state.fresh_cache.close()

    rows = await fetch(
        "SELECT d.id::text AS id, d.status, d.decision_reason, count(m.*) AS sent FROM drafts d"
        " LEFT JOIN messages m ON m.draft_id = d.id WHERE d.creator_id = %s GROUP BY d.id ORDER BY d.status DESC",
        [t.creator_id],
    )
    assert rows == [
        {"id": first["id"], "status": "sent", "decision_reason": None, "sent": 1},
        {"id": second["id"], "status": "rejected", "decision_reason": "not now", "sent": 0},
    ]
