"""The creator's own message on the platform, on a time-skipping server of its own: it stops a running follow-up
sequence as a fan's reply does, and no step is drafted after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from core.types import conversation_workflow_id
from tests.api.conftest import client_for, make_app
from tests.conftest import venv_bin
from tests.factories import make_tenant
from tests.workflows.helpers import fetch, skip, wait_pending, wait_until
from workflows.conversation import ConversationWorkflow
from workflows.types import Decision
from workflows.worker import build_worker


@pytest.fixture
async def env(settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """Its own test server: skipping days must not fire other tests' timers."""
    async with (
        await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=venv_bin("temporal-test-server")
        ) as e,
        build_worker(e.client, settings.task_queue),
    ):
        yield e


async def test_a_creator_message_stops_a_running_follow_up_sequence(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    t = await make_tenant()
    app = make_app(env, settings)
    try:
        async with client_for(app) as api:
            r = await api.post(
                "/v1/events",
                json={
                    "event_id": "s-1",
                    "kind": "subscription_started",
                    "amount_cents": 999,
                    "fan": {"platform_fan_id": "newbie", "platform": "fanvue"},
                },
                headers=t.auth("manager"),
            )
            assert r.status_code == 202, r.text
            fan = r.json()["fan_id"]
            h = env.client.get_workflow_handle(conversation_workflow_id(t.creator_id, fan))
            p = await wait_pending(h)
            decision = Decision(p.draft_id, p.version, "approve", t.members["owner"])
            assert (await h.execute_update(ConversationWorkflow.decide, decision)).status == "approved"
            await wait_until(
                "SELECT count(*) = 1 FROM followups WHERE fan_id = %s AND status = 'active'", [fan]
            )
            # Sent before she writes: a creator's own message supersedes an approved draft not sent yet, and on a
            # busy machine the send can come after the next event.
            await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
            r = await api.post(
                "/v1/events",
                json={
                    "event_id": "c-1",
                    "kind": "creator_message",
                    "text": "welcome in! ask me anything",
                    "fan": {"platform_fan_id": "newbie", "platform": "fanvue"},
                },
                headers=t.auth("manager"),
            )
            assert r.status_code == 202, r.text
            await wait_until("SELECT status = 'cancelled' FROM followups WHERE fan_id = %s", [fan])
            [seq] = await fetch("SELECT kind, stop_reason FROM followups WHERE fan_id = %s", [fan])
            assert seq == {"kind": "welcome", "stop_reason": "the creator wrote to the fan"}
            await skip(env, timedelta(days=5))  # past every step of the welcome sequence
            assert (
                await fetch("SELECT 1 FROM events WHERE fan_id = %s AND kind = 'followup_due'", [fan]) == []
            )
            drafts = await fetch("SELECT status FROM drafts WHERE fan_id = %s ORDER BY created_at", [fan])
            assert [d["status"] for d in drafts] == [
                "sent"
            ]  # the welcome only: nothing drafted after her message
    finally:
        await app.state.fresh_cache.close()
