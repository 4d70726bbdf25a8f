"""Calls that wait on a workflow Update, cancelled by their client mid-Update, on the Temporal dev server (as
tests/api/test_drafts_retries.py does for approvals): a member's message (POST /v1/fans/{id}/messages) and an
assistant request (POST /v1/assistant/messages, JSON and event stream). No worker runs until the server holds the
Update; the call cancelled then ends as a cancellation with nothing logged as an error; once a worker runs, what
the server received is applied once (one message sent, one assistant turn stored). An event stream cancelled while
the model answers (time-skipping server, worker running) ends the same way."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowUpdateHandle,
)
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Runtime
from core.settings import Settings
from core.types import conversation_workflow_id
from tests.api.conftest import client_for
from tests.api.test_drafts_retries import _admitted
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls
from tests.workflows.helpers import fetch, wait_until
from workflows.assistant import assistant_workflow_id
from workflows.worker import build_worker


class _UpdateIds(Interceptor):
    """Gives each Update the API starts its id here (the SDK would draw the same kind of random id later), so that
    the test knows which Update to wait for at the server."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.sent = asyncio.Event()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        ids, sent = self.ids, self.sent

        class _Out(OutboundInterceptor):
            async def start_workflow_update(
                self, input: StartWorkflowUpdateInput
            ) -> WorkflowUpdateHandle[Any]:
                input.update_id = input.update_id or str(uuid.uuid4())
                ids.append(input.update_id)
                sent.set()
                return await super().start_workflow_update(input)

        return _Out(next)


def _app(env: WorkflowEnvironment, settings: Settings, ids: _UpdateIds) -> tuple[FastAPI, Client]:
    config = env.client.config()
    config["interceptors"] = [ids]
    client = Client(**config)
    app = create_app(settings, temporal=client)
    app.state.runtime = Runtime(temporal=client, settings=settings)
    return app, client


async def _cancel_when_admitted(
    client: Client, call: asyncio.Task[httpx.Response], workflow_id: str, update_id: str, caplog: Any
) -> None:
    """Cancel the call once the server holds its Update: a cancellation, nothing logged as an error."""
    await _admitted(client, workflow_id, update_id)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == [], [f"{r.levelname} {r.name}: {r.getMessage()}" for r in loud]


async def test_a_members_message_cancelled_mid_update_is_sent_once(
    temporal_dev_env: WorkflowEnvironment, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    t = await make_tenant(fans=1)
    fan, chatter = t.fans[0], t.members["chatter"]
    text = "thanks for the tip 💕"
    app, client = _app(temporal_dev_env, settings, ids := _UpdateIds())
    headers = t.auth("chatter") | {"Idempotency-Key": "cancel-1"}
    try:
        async with client_for(app) as api:
            caplog.set_level(logging.INFO)
            call = asyncio.create_task(
                api.post(f"/v1/fans/{fan}/messages", json={"text": text}, headers=headers)
            )
            content = hashlib.sha256(json.dumps([text, None], sort_keys=True).encode()).hexdigest()[:16]
            update_id = f"compose:{chatter}:cancel-1:{content}"
            await _cancel_when_admitted(
                client, call, conversation_workflow_id(t.creator_id, fan), update_id, caplog
            )
            assert ids.ids == [update_id]
            assert await fetch("SELECT 1 FROM drafts WHERE creator_id = %s", [t.creator_id]) == []

            async with build_worker(client, settings.task_queue):
                # The message the server received is sent without anyone asking again; the retry learns it.
                await wait_until(
                    "SELECT count(*) = 1 FROM outbox WHERE creator_id = %s", [t.creator_id], timeout_s=120
                )
                r = await api.post(f"/v1/fans/{fan}/messages", json={"text": text}, headers=headers)
                assert r.status_code == 201, r.text
                assert r.json()["state"] == "sent" and r.json()["sent_by"] == chatter, r.text
    finally:
        await app.state.fresh_cache.close()
    out = await fetch(
        "SELECT text, draft_id::text AS draft_id FROM messages WHERE creator_id = %s AND direction = 'out'",
        [t.creator_id],
    )
    assert out == [{"text": text, "draft_id": r.json()["id"]}]
    assert len(await fetch("SELECT 1 FROM outbox WHERE creator_id = %s", [t.creator_id])) == 1


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream"])
async def test_an_assistant_request_cancelled_mid_update_is_answered_once(
    temporal_dev_env: WorkflowEnvironment,
    settings: Settings,
    fake_llm: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
    accept: str,
) -> None:
    t = await make_tenant(fans=0)
    app, client = _app(temporal_dev_env, settings, ids := _UpdateIds())
    thread = uuid.uuid4().hex
    try:
        async with client_for(app) as api:
            caplog.set_level(logging.INFO)
            call = asyncio.create_task(
                api.post(
                    "/v1/assistant/messages",
                    json={"text": "how did my campaigns do?", "thread_id": thread},
                    headers=t.auth("viewer") | {"Accept": accept},
                )
            )
            wid = assistant_workflow_id(t.creator_id, thread)
            await asyncio.wait_for(ids.sent.wait(), 60)  # the thread's workflow is started, then the Update
            await _cancel_when_admitted(client, call, wid, ids.ids[0], caplog)
            assert await fetch("SELECT 1 FROM assistant_turns WHERE creator_id = %s", [t.creator_id]) == []

            fake_llm.script(
                {"agents": ["analytics"]}, tool_calls(("campaign_results", {})), "No campaigns yet."
            )
            async with build_worker(client, settings.task_queue):
                # The request the server received is answered, and stored once.
                await wait_until(
                    "SELECT count(*) = 1 FROM assistant_turns WHERE creator_id = %s",
                    [t.creator_id],
                    timeout_s=120,
                )
    finally:
        await app.state.fresh_cache.close()
    turns = await fetch(
        "SELECT thread_id, turn, text FROM assistant_turns WHERE creator_id = %s", [t.creator_id]
    )
    assert turns == [{"thread_id": thread, "turn": 0, "text": "how did my campaigns do?"}]
    assert len(ids.ids) == 1  # one Update sent: nothing retried behind the client's back


async def test_an_event_stream_cancelled_mid_answer_is_answered_once(
    api: httpx.AsyncClient, fake_llm: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    """The stream has started (the model holds the request) when its client goes away: its follower stops waiting
    for the Update's result with nothing logged (no task left with an error nobody reads); the request runs on and
    is stored once."""
    t = await make_tenant(fans=0)
    fake_llm.script({"agents": ["analytics"]}, tool_calls(("campaign_results", {})), "No campaigns yet.")
    caplog.set_level(logging.INFO)
    before = fake_llm.calls
    fake_llm.hold("zebra campaigns")
    call = asyncio.create_task(
        api.post(
            "/v1/assistant/messages",
            json={"text": "how did my zebra campaigns do?"},
            headers=t.auth("viewer") | {"Accept": "text/event-stream"},
        )
    )
    for _ in range(1200):  # until the model has the request: the Update was accepted, the stream follows it
        if fake_llm.calls > before:
            break
        await asyncio.sleep(0.05)
    assert fake_llm.calls > before, "the request never reached the model"
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    fake_llm.release_held()
    await wait_until(
        "SELECT count(*) = 1 FROM assistant_turns WHERE creator_id = %s", [t.creator_id], timeout_s=120
    )
    gc.collect()  # a task finished with an error nobody read is reported when it is collected
    await asyncio.sleep(0)
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == [], [f"{r.levelname} {r.name}: {r.getMessage()}" for r in loud]
    turns = await fetch("SELECT turn, text FROM assistant_turns WHERE creator_id = %s", [t.creator_id])
    assert turns == [{"turn": 0, "text": "how did my zebra campaigns do?"}]
