"""A hand-off on the live stack, from the fan's message to a member's answer: the real Temporal dev server, a worker
process (`huntaze up --worker-only`) killed right after the hand-off commits and before its alert is sent, a
fresh worker, the embedded PostgreSQL, the API in this process and a webhook receiver on loopback.

A fan message with a hand-off cue freezes the fan; exactly one alert arrives, signed with the creator's secret
(checked here with hmac, apart from the project's own verify), though the first worker died before sending it and
the receiver refuses the first try (the alert retry schedule sends it on its own); a manager assigns the hand-off
to a chatter, who answers the fan through POST /v1/fans/{id}/messages; the message sent records that chatter; the
fan stays frozen for the agent; the audit chain verifies."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Runtime
from core import db
from core.journal import verify_audit
from core.settings import Settings
from tests.api.conftest import client_for
from tests.api.crash_helpers import stop, worker, worker_env
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.webhook import WebhookReceiver
from tests.workflows.helpers import fetch, wait_until
from workflows.alert_retry import alert_retry_schedule_id

SECRET = "live-alert-secret-0123456789"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(secret=SECRET)
    r.server.start()
    yield r
    r.server.stop()


async def test_a_handoff_alerts_once_across_a_worker_crash_and_a_chatter_answers(
    temporal_dev_env: WorkflowEnvironment,
    settings: Settings,
    fake_llm: FakeOpenAI,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    t = await make_tenant("live-handoff", fans=0)
    chatter, manager = t.members["chatter"], t.members["manager"]
    crash = tmp_path / "crash"
    crash.touch()  # the first worker ends itself right after the hand-off's save commits
    queue = f"handoff-{os.getpid()}-{t.creator_id[:8]}"
    env = worker_env(
        settings,
        temporal_dev_env,
        fake_llm,
        queue,
        tmp_path,
        {
            "HUNTAZE_ALLOW_LOOPBACK_WEBHOOKS": "true",
            "HUNTAZE_TEST_CRASH_FILE": str(crash),
            "HUNTAZE_ALERTS_RETRY_S": "0",  # the first worker: no retry schedule, nothing sends the alert but itself
        },
    )
    log = tmp_path / "worker.log"
    s = settings.model_copy(update={"task_queue": queue})
    app = create_app(s, temporal=temporal_dev_env.client)
    app.state.runtime = Runtime(temporal=temporal_dev_env.client, settings=s)
    first = await worker(env, log)
    second = None
    try:
        async with client_for(app) as api:
            r = await api.put(
                "/v1/alerts/config",
                json={"webhook_url": receiver.url, "secret": SECRET, "events": ["handoff"]},
                headers=t.auth("manager"),
            )
            assert r.status_code == 200, r.text
            r = await api.post(
                "/v1/events",
                json={
                    "event_id": "live-1",
                    "kind": "message",
                    "text": "i'm 15 is that ok",
                    "fan": {"platform_fan_id": "kid", "display_name": "Kid"},
                },
                headers=t.auth(),
            )
            assert r.status_code == 202, r.text

            # The hand-off commits (the fan frozen, the hand-off open, its alert row written), then the worker dies.
            assert await asyncio.wait_for(first.wait(), 120) == 137, log.read_text()[-3000:]
            assert not crash.exists()
            [fan] = await fetch(
                "SELECT id::text AS id, handoff_at IS NOT NULL AS frozen, handoff_reason FROM fans"
                " WHERE creator_id = %s AND platform_fan_id = 'kid'",
                [t.creator_id],
            )
            assert fan["frozen"] and fan["handoff_reason"] == "possible_minor"
            [handoff] = await fetch(
                "SELECT id::text AS id FROM handoffs WHERE creator_id = %s AND resolved_at IS NULL",
                [t.creator_id],
            )
            [alert] = await fetch("SELECT status, attempts FROM alerts WHERE creator_id = %s", [t.creator_id])
            assert alert == {"status": "pending", "attempts": 0} and receiver.calls == []

            # A fresh worker with the retry schedule; the receiver refuses the first try.
            receiver.fail_next = 1
            second = await worker(env | {"HUNTAZE_ALERTS_RETRY_S": "1"}, log)
            await wait_until(
                "SELECT status = 'sent' FROM alerts WHERE creator_id = %s", [t.creator_id], timeout_s=120
            )
            key = f"handoff:{handoff['id']}"
            assert receiver.calls == [{"key": key, "signature_ok": True}] * 2  # a 503, then accepted
            assert list(receiver.delivered) == [key]
            for got in receiver.raw:
                mac = hmac.new(
                    SECRET.encode(), got["timestamp"].encode() + b"." + got["body"], hashlib.sha256
                )
                assert got["signature"] == "sha256=" + mac.hexdigest()
            payload = json.loads(receiver.raw[-1]["body"])
            assert payload["event"] == "handoff" and payload["handoff_id"] == handoff["id"]
            assert payload["fan_id"] == fan["id"] and payload["reason"] == "possible_minor"
            assert "that ok" not in receiver.raw[-1]["body"].decode()  # the fan's words stay out of alerts

            # A manager assigns the hand-off to a chatter, who answers the fan.
            r = await api.post(
                f"/v1/handoffs/{handoff['id']}/assign", json={"member_id": chatter}, headers=t.auth("manager")
            )
            assert r.status_code == 200, r.text
            mine = await api.get("/v1/handoffs", params={"assignee": "me"}, headers=t.auth("chatter"))
            assert [h["id"] for h in mine.json()["items"]] == [handoff["id"]]
            r = await api.post(
                f"/v1/fans/{fan['id']}/messages",
                json={"text": "Hi, this is Sam from the team. We can only chat with adults, take care."},
                headers=t.auth("chatter") | {"Idempotency-Key": "answer-1"},
                timeout=120,
            )
            assert r.status_code == 201, r.text
            assert r.json()["state"] == "sent", r.text
            chain = await api.get("/v1/audit/verify", headers=t.auth())
            assert chain.status_code == 200 and chain.json()["ok"] is True, chain.text
    finally:
        await app.state.fresh_cache.close()
        await stop(first, second)
        await temporal_dev_env.client.get_schedule_handle(alert_retry_schedule_id(queue)).delete()

    sent = await fetch(
        "SELECT sent_by::text AS sent_by, text FROM messages WHERE creator_id = %s AND direction = 'out'",
        [t.creator_id],
    )
    assert sent == [
        {
            "sent_by": chatter,
            "text": "Hi, this is Sam from the team. We can only chat with adults, take care.",
        }
    ]
    drafts = await fetch(
        "SELECT written_by::text AS written_by, status FROM drafts WHERE creator_id = %s", [t.creator_id]
    )
    assert drafts == [
        {"written_by": chatter, "status": "sent"}
    ]  # the agent drafted nothing for the frozen fan
    [still] = await fetch("SELECT handoff_at IS NOT NULL AS frozen FROM fans WHERE id = %s", [fan["id"]])
    assert still["frozen"]
    [row] = await fetch("SELECT status, attempts FROM alerts WHERE creator_id = %s", [t.creator_id])
    assert (row["status"], row["attempts"]) == ("sent", 2) and len(receiver.calls) == 2
    audit = await fetch(
        "SELECT actor::text AS actor, action FROM audit_log WHERE creator_id = %s ORDER BY id", [t.creator_id]
    )
    actions = [a["action"] for a in audit]
    assert actions.count("fan.handoff") == 1
    assert {"actor": manager, "action": "handoff.assigned"} in audit
    assert {"actor": chatter, "action": "message.written"} in audit
    async with db.pool().connection() as conn:
        report = await verify_audit(conn, t.creator_id)
    assert report.ok and report.rows_checked == len(audit), report
