"""Calls that hand work to a workflow Update when no worker takes it, on the Temporal dev server (the time-skipping
server does not keep an Update for a worker to come): each ends within its bound (HUNTAZE_DECISION_WAIT_S, short
here) with a 503 and Retry-After, never a 500 or an open-ended wait, and what the server received is applied once
when a worker runs.

- A bulk approval shares one deadline among all its drafts: past it, the drafts still waiting for their turn are
  handed over at once; each draft not applied reports `decision_pending` as the single approve would; the same
  bulk request again, with a worker, answers every draft ok and sends each once.
- A member's message answers 503 `message_pending`; the same request with the same Idempotency-Key joins it and,
  with a worker, learns it was sent (once). One without a key is said not to be safe to send again.
- An assistant request answers 503 `assistant_pending` as JSON, and as an `error` event of its event stream; the
  same request with an Idempotency-Key joins it and, with a worker, is answered once (one turn) and again the same.
- A call that starts a workflow the service refuses (the app's namespace is not on it) answers 503
  `workflow_unavailable`, not a 500."""

from __future__ import annotations

import json
import time

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Runtime
from api.routers import drafts as drafts_router
from api.routers.drafts import decision_update_id
from core.settings import Settings
from tests.api.conftest import client_for, make_app
from tests.api.crash_helpers import two_pending_drafts
from tests.api.test_drafts_retries import _admitted
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls
from tests.workflows.helpers import fetch, wait_until
from workflows.assistant import assistant_workflow_id
from workflows.types import Decision
from workflows.worker import build_worker

PENDING_DETAILS = {"status": "pending_review", "retry_after_s": 5}


async def test_a_bulk_approval_without_a_worker_ends_at_one_deadline_and_is_applied_once(
    temporal_dev_env: WorkflowEnvironment, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(drafts_router, "BULK_CONCURRENCY", 1)  # two turns: the second comes at the deadline
    wait = 3.0
    client = temporal_dev_env.client
    t = await make_tenant(fans=0)
    app = make_app(temporal_dev_env, settings.model_copy(update={"decision_wait_s": wait}))
    patient = make_app(temporal_dev_env, settings.model_copy(update={"decision_wait_s": 120.0}))
    try:
        async with client_for(app) as api, client_for(patient) as api_patient:
            async with build_worker(client, settings.task_queue):
                pending = await two_pending_drafts(api, t)
            body = {"drafts": [{"id": d["id"], "version": 1} for d in pending]}

            started = time.monotonic()
            r = await api.post("/v1/drafts/approve", json=body, headers=t.auth("chatter"))
            # One deadline for the request (a wait per turn would take two).
            assert time.monotonic() - started < 2 * wait
            assert r.status_code == 200, r.text
            assert r.headers["Retry-After"] == "5"
            out = r.json()
            assert (out["approved"], out["failed"]) == (0, 2), r.text
            single = await api.post(
                f"/v1/drafts/{pending[0]['id']}/approve", json={"version": 1}, headers=t.auth("chatter")
            )
            assert single.status_code == 503, single.text
            assert single.json()["error"]["details"] == PENDING_DETAILS
            for result, d in zip(out["results"], pending, strict=True):
                assert (result["id"], result["ok"]) == (d["id"], False)
                assert result["error"] == single.json()["error"]  # the single approve's answer
                # Handed over, the second too: the server holds each decision for a worker.
                decision = Decision(draft_id=d["id"], version=1, action="approve", actor=t.members["chatter"])
                await _admitted(client, d["workflow_id"], decision_update_id(decision))

            async with build_worker(client, settings.task_queue):
                # The same request again joins the queued decisions; once sent, it answers the same.
                for _ in range(2):
                    r = await api_patient.post("/v1/drafts/approve", json=body, headers=t.auth("chatter"))
                    assert r.status_code == 200, r.text
                    assert (r.json()["approved"], r.json()["failed"]) == (2, 0), r.text
                    assert "Retry-After" not in r.headers
                    for d in pending:
                        await wait_until(
                            "SELECT status = 'sent' FROM drafts WHERE id = %s", [d["id"]], timeout_s=120
                        )
    finally:
        await app.state.fresh_cache.close()
        await patient.state.fresh_cache.close()
    rows = await fetch(
        "SELECT count(m.*) AS sent FROM drafts d LEFT JOIN messages m ON m.draft_id = d.id"
        " WHERE d.creator_id = %s GROUP BY d.id",
        [t.creator_id],
    )
    assert rows == [{"sent": 1}] * 2
    assert len(await fetch("SELECT 1 FROM outbox WHERE creator_id = %s", [t.creator_id])) == 2


async def test_a_members_message_without_a_worker_is_pending_and_a_keyed_retry_sends_it_once(
    temporal_dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = temporal_dev_env.client
    t = await make_tenant(fans=2)
    keyed, unkeyed = t.fans
    app = make_app(temporal_dev_env, settings.model_copy(update={"decision_wait_s": 1.0}))
    headers = t.auth("chatter") | {"Idempotency-Key": "late-1"}
    try:
        async with client_for(app) as api:
            for _ in range(2):  # the retry joins the first Update (its id is the key and the content)
                r = await api.post(f"/v1/fans/{keyed}/messages", json={"text": "back soon"}, headers=headers)
                assert r.status_code == 503, r.text
                assert r.headers["Retry-After"] == "5"
                error = r.json()["error"]
                assert error["code"] == "message_pending", r.text
                assert error["details"] == {"retry_after_s": 5, "retry_safe": True}
                assert "same Idempotency-Key" in error["message"]
            r = await api.post(f"/v1/fans/{unkeyed}/messages", json={"text": "hi"}, headers=t.auth("chatter"))
            assert r.status_code == 503, r.text
            assert r.json()["error"]["details"] == {"retry_after_s": 5, "retry_safe": False}
            assert "no Idempotency-Key" in r.json()["error"]["message"]
            assert await fetch("SELECT 1 FROM drafts WHERE creator_id = %s", [t.creator_id]) == []

            async with build_worker(client, settings.task_queue):
                r = await api.post(f"/v1/fans/{keyed}/messages", json={"text": "back soon"}, headers=headers)
                assert r.status_code == 201, r.text
                assert r.json()["state"] == "sent", r.text
                # The message without a key was queued too: sent once, without anyone asking again.
                await wait_until(
                    "SELECT count(*) = 2 FROM outbox WHERE creator_id = %s", [t.creator_id], timeout_s=120
                )
    finally:
        await app.state.fresh_cache.close()
    out = await fetch(
        "SELECT fan_id::text AS fan, text FROM messages WHERE creator_id = %s AND direction = 'out'"
        " ORDER BY text",
        [t.creator_id],
    )
    assert out == [{"fan": keyed, "text": "back soon"}, {"fan": unkeyed, "text": "hi"}]


async def test_an_assistant_request_without_a_worker_is_pending_and_a_keyed_retry_is_asked_once(
    temporal_dev_env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI
) -> None:
    client = temporal_dev_env.client
    t = await make_tenant(fans=0)
    app = make_app(temporal_dev_env, settings.model_copy(update={"decision_wait_s": 1.0}))
    ask = {"text": "how did my campaigns do?", "thread_id": "late"}
    details = {"thread_id": "late", "retry_after_s": 5, "retry_safe": False}
    try:
        async with client_for(app) as api:
            r = await api.post("/v1/assistant/messages", json=ask, headers=t.auth("viewer"))
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "5"
            assert r.json()["error"]["code"] == "assistant_pending", r.text
            assert r.json()["error"]["details"] == details

            sse = t.auth("viewer") | {"Accept": "text/event-stream"}
            r = await api.post("/v1/assistant/messages", json=ask, headers=sse)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            events = [
                (lines[0].removeprefix("event: "), json.loads(lines[1].removeprefix("data: ")))
                for block in r.text.strip().split("\n\n")
                if (lines := block.split("\n"))
            ]
            assert [name for name, _ in events] == ["thread", "error"], r.text
            assert events[0][1] == {"thread_id": "late"}
            error = events[1][1]["error"]
            assert (error["code"], error["details"]) == ("assistant_pending", details), r.text
            # Not to be asked: the thread's queued requests go with its workflow.
            await client.get_workflow_handle(assistant_workflow_id(t.creator_id, "late")).terminate()

            # With a key (and no thread id: the key names the new thread), the same request again joins the first.
            keyed = t.auth("viewer") | {"Idempotency-Key": "late-1"}
            threads = set()
            for _ in range(2):
                r = await api.post("/v1/assistant/messages", json={"text": ask["text"]}, headers=keyed)
                assert r.status_code == 503, r.text
                error = r.json()["error"]
                assert error["code"] == "assistant_pending" and error["details"]["retry_safe"] is True, r.text
                assert "same Idempotency-Key" in error["message"]
                threads.add(error["details"]["thread_id"])
            [thread] = threads
            fake_llm.script(
                {"agents": ["analytics"]}, tool_calls(("campaign_results", {})), "No campaigns yet."
            )
            async with build_worker(client, settings.task_queue):
                answers = [
                    await api.post("/v1/assistant/messages", json={"text": ask["text"]}, headers=keyed)
                    for _ in range(2)
                ]
    finally:
        await app.state.fresh_cache.close()
    assert [r.status_code for r in answers] == [200, 200], answers[0].text
    assert answers[0].json() == answers[1].json() and answers[0].json()["thread_id"] == thread
    assert answers[0].json()["answer"].startswith("No campaigns yet.")
    turns = await fetch("SELECT thread_id, text FROM assistant_turns WHERE creator_id = %s", [t.creator_id])
    assert turns == [{"thread_id": thread, "text": ask["text"]}]


async def test_starting_a_workflow_the_service_refuses_answers_503(
    temporal_dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    config = temporal_dev_env.client.config()
    config["namespace"] = "not-on-this-server"
    client = Client(**config)
    app = create_app(settings, temporal=client)
    app.state.runtime = Runtime(temporal=client, settings=settings)
    t = await make_tenant(fans=0)
    try:
        async with client_for(app) as api:
            for path in ("/v1/agents/unified/actions/run", "/v1/segments/refresh"):
                r = await api.post(path, headers=t.auth("manager"))
                assert r.status_code == 503, (path, r.text)
                assert r.json()["error"]["code"] == "workflow_unavailable", r.text
    finally:
        await app.state.fresh_cache.close()
