"""A delivery whose webhook keeps failing for the whole day of retries ends failed, for a human: the delivery is
`failed` with the last error (a category), an agent action says so, and a human's retry goes out again. On a
time-skipping server of its own (skipping a day must not fire other tests' timers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings, configure
from tests.api.conftest import client_for, make_app
from tests.conftest import venv_bin
from tests.factories import add_message_event, make_tenant
from tests.fakes.webhook import WebhookReceiver
from tests.workflows.helpers import fetch, start_conversation, wait_pending, wait_until
from workflows.conversation import ConversationWorkflow
from workflows.types import Decision
from workflows.worker import build_worker


@pytest.fixture
async def env(settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    async with (
        await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=venv_bin("temporal-test-server")
        ) as e,
        build_worker(e.client, settings.task_queue),
    ):
        yield e


async def test_a_retry_failing_all_day_becomes_a_failed_delivery_again(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    """The retry's activity is a regular one: its backoff is the server's timers, which this server skips."""
    receiver = WebhookReceiver(secret="s3cret")
    receiver.server.start()
    configure(
        settings.model_copy(update={"webhook_url": receiver.url, "webhook_secret": SecretStr("s3cret")})
    )
    app = make_app(env, settings)
    try:
        t = await make_tenant()
        h = await start_conversation(
            env.client,
            settings,
            t.creator_id,
            t.fans[0],
            [await add_message_event(t, t.fans[0], "hey", "e1")],
        )
        p = await wait_pending(h)
        await h.execute_update(
            ConversationWorkflow.decide, Decision(p.draft_id, p.version, "approve", t.members["owner"])
        )
        await wait_until("SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [p.draft_id])
        receiver.fail_next = 10**6  # the platform is down from now on
        async with client_for(app) as api:
            r = await api.post(
                f"/v1/deliveries/{p.draft_id}",
                json={"status": "failed", "error": "timeout"},
                headers=t.auth(),
            )
            assert r.status_code == 200, r.text
            r = await api.post(f"/v1/deliveries/{p.draft_id}/retry", headers=t.auth("manager"))
            assert r.status_code == 202, r.text
            await wait_until("SELECT attempts >= 2 FROM outbox WHERE draft_id = %s", [p.draft_id])
            assert (await fetch("SELECT status FROM outbox WHERE draft_id = %s", [p.draft_id])) == [
                {"status": "pending"}
            ]
            # An hour at a time: one RPC holding a whole day of skipped retries lost its HTTP/2 connection on a
            # loaded machine (h2 protocol error); the retries and their timers are the same either way.
            for _ in range(25):
                await env.sleep(timedelta(hours=1))
            await wait_until("SELECT status = 'failed' FROM outbox WHERE draft_id = %s", [p.draft_id], 120)
            [box] = await fetch(
                "SELECT receipt, receipt_error, retries FROM outbox WHERE draft_id = %s", [p.draft_id]
            )
            assert box == {"receipt": None, "receipt_error": "webhook answered 503", "retries": 1}
            actions = await fetch(
                "SELECT summary, details FROM agent_actions WHERE kind = 'delivery_failed' AND draft_id = %s"
                " ORDER BY id",
                [p.draft_id],
            )
            assert [a["details"]["retries"] for a in actions] == [0, 1]
            assert "webhook answered 503" in actions[1]["summary"]
            # The platform is back: a second retry goes out once, under its own key.
            receiver.fail_next = 0
            r = await api.post(f"/v1/deliveries/{p.draft_id}/retry", headers=t.auth("manager"))
            assert r.status_code == 202 and r.json()["retries"] == 2, r.text
            await wait_until("SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [p.draft_id], 60)
        assert list(receiver.delivered) == [p.draft_id, f"{p.draft_id}/retry-2"]
    finally:
        receiver.server.stop()
        await app.state.fresh_cache.close()
