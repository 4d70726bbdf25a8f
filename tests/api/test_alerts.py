"""Alerts: a creator's alert webhook (PUT/GET /v1/alerts/config, manager or owner, audited, the URL egress-checked)
and the hand-off alert: a fan message with a safety cue sends exactly one signed alert to a receiver on loopback,
also when the save that recorded the hand-off is retried, also after a failed try; a failed delivery and a daily
plan each send one alert however often their activity runs; over the creator's hourly limit an alert is dropped."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiosmtpd.controller import Controller
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from core import db
from core.settings import Settings, configure
from core.store import outbox
from core.types import Route, RouteDecision, conversation_workflow_id
from devstack.seed import seed_business
from tests.factories import Tenant, add_message_event, make_tenant
from tests.fakes.webhook import WebhookReceiver
from tests.workflows.helpers import fetch, start_conversation, wait_pending, wait_until
from workflows.alerts import send_due_alerts
from workflows.conversation_activities import save_outcome
from workflows.daily_plan_activities import write_daily_plan
from workflows.delivery_activities import mark_delivery_failed
from workflows.types import PlanStepInput, SaveOutcomeInput, SendInput

SECRET = "alert-secret-0123456789"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(secret=SECRET)
    r.server.start()
    yield r
    r.server.stop()


async def _configure(api: httpx.AsyncClient, t: Tenant, url: str) -> dict[str, Any]:
    r = await api.put(
        "/v1/alerts/config",
        json={"webhook_url": url, "secret": SECRET, "events": ["handoff"]},
        headers=t.auth("manager"),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _hand_off(api: httpx.AsyncClient, t: Tenant, event_id: str, fan: str) -> None:
    r = await api.post(
        "/v1/events",
        json={
            "event_id": event_id,
            "kind": "message",
            "text": "i'm 15 is that ok",
            "fan": {"platform_fan_id": fan},
        },
        headers=t.auth(),
    )
    assert r.status_code == 202, r.text
    await wait_until(
        "SELECT count(*) = 1 FROM events WHERE creator_id = %s AND platform_event_id = %s AND processed_at IS NOT NULL",
        [t.creator_id, event_id],
    )


async def _retry_save(t: Tenant, platform_fan_id: str) -> None:
    """The conversation's save of the hand-off, run again as a retried activity would."""
    [fan] = await fetch(
        "SELECT id::text AS id FROM fans WHERE creator_id = %s AND platform_fan_id = %s",
        [t.creator_id, platform_fan_id],
    )
    rows = await fetch(
        "SELECT id FROM events WHERE creator_id = %s AND fan_id = %s", [t.creator_id, fan["id"]]
    )
    inp = SaveOutcomeInput(
        t.creator_id,
        fan["id"],
        conversation_workflow_id(t.creator_id, fan["id"]),
        [r["id"] for r in rows],
        RouteDecision(Route.HANDOFF, "possible_minor", fan_text="i'm 15 is that ok"),
        None,
        None,
        0.0,
    )
    await ActivityEnvironment().run(save_outcome, inp)


async def test_alert_config_is_for_managers_checked_audited_and_keeps_its_secret(
    api: httpx.AsyncClient,
) -> None:
    t = await make_tenant(fans=0)
    empty = (await api.get("/v1/alerts/config", headers=t.auth("manager"))).json()
    assert empty == {
        "webhook_url": None,
        "email": None,
        "key_id": None,
        "events": [],
        "updated_at": None,
        "updated_by": None,
    }
    for role in ("chatter", "viewer"):
        assert (await api.get("/v1/alerts/config", headers=t.auth(role))).status_code == 403
        r = await api.put("/v1/alerts/config", json={"events": []}, headers=t.auth(role))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # a private address is refused, naming the field; nothing is stored
    r = await api.put(
        "/v1/alerts/config",
        json={"webhook_url": "http://10.0.0.7/hook", "secret": SECRET, "events": ["handoff"]},
        headers=t.auth("manager"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "webhook_url_not_allowed"
    assert r.json()["error"]["details"]["fields"][0]["field"] == "webhook_url"
    assert await fetch("SELECT 1 FROM alert_configs WHERE creator_id = %s", [t.creator_id]) == []

    out = await _configure(api, t, "https://alerts.example/hook")
    assert out["webhook_url"] == "https://alerts.example/hook" and out["events"] == ["handoff"]
    assert out["key_id"] == "test-a" and out["updated_by"] == t.members["manager"]
    got = await api.get("/v1/alerts/config", headers=t.auth("owner"))
    assert got.json() == out and SECRET not in got.text
    [row] = await fetch("SELECT secret_sealed FROM alert_configs WHERE creator_id = %s", [t.creator_id])
    assert SECRET.encode() not in bytes(row["secret_sealed"])
    [audit] = await fetch(
        "SELECT actor, details FROM audit_log WHERE creator_id = %s AND action = 'alerts.config_updated'",
        [t.creator_id],
    )
    assert audit["actor"] == t.members["manager"] and audit["details"]["events"] == ["handoff"]
    assert SECRET not in str(audit["details"])

    # turning the webhook off: both fields null
    r = await api.put("/v1/alerts/config", json={"events": ["handoff"]}, headers=t.auth("owner"))
    assert r.status_code == 200 and r.json()["webhook_url"] is None and r.json()["key_id"] is None


async def test_a_handoff_sends_one_signed_alert_even_when_its_save_is_retried(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    t = await make_tenant(fans=0)
    await _configure(api, t, receiver.url)
    await _hand_off(api, t, "m-1", "kid")
    await wait_until(
        "SELECT count(*) = 1 FROM alerts WHERE creator_id = %s AND status = 'sent'", [t.creator_id]
    )
    [handoff] = await fetch(
        "SELECT id::text AS id, fan_id::text AS fan_id FROM handoffs WHERE creator_id = %s", [t.creator_id]
    )
    assert receiver.calls == [{"key": f"handoff:{handoff['id']}", "signature_ok": True}]
    payload = receiver.delivered[f"handoff:{handoff['id']}"]
    assert payload["event"] == "handoff" and payload["creator_id"] == t.creator_id
    assert payload["fan_id"] == handoff["fan_id"] and payload["handoff_id"] == handoff["id"]
    assert payload["reason"] == "possible_minor"
    assert "that ok" not in str(payload)  # the fan's words stay out of alerts

    await _retry_save(t, "kid")
    await _retry_save(t, "kid")
    assert len(receiver.calls) == 1
    [row] = await fetch("SELECT status, attempts FROM alerts WHERE creator_id = %s", [t.creator_id])
    assert (row["status"], row["attempts"]) == ("sent", 1)


async def test_a_failed_try_is_kept_and_the_retry_sends_it_once(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    t = await make_tenant(fans=0)
    await _configure(api, t, receiver.url)
    receiver.fail_next = 1
    await _hand_off(api, t, "m-1", "kid")
    await wait_until(
        "SELECT count(*) = 1 FROM alerts WHERE creator_id = %s AND status = 'pending' AND attempts = 1",
        [t.creator_id],
    )
    [row] = await fetch("SELECT last_error FROM alerts WHERE creator_id = %s", [t.creator_id])
    assert row["last_error"] == "webhook answered 503"
    assert receiver.delivered == {}
    await _retry_save(t, "kid")
    await _retry_save(t, "kid")
    assert len(receiver.delivered) == 1 and len(receiver.calls) == 2
    [row] = await fetch("SELECT status, attempts FROM alerts WHERE creator_id = %s", [t.creator_id])
    assert (row["status"], row["attempts"]) == ("sent", 2)


async def test_a_failed_try_is_sent_again_on_its_own_once_due(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """The alert retry schedule's sweep (send_due_alerts) sends a failed alert when it is due, without another
    alert: HUNTAZE_ALERTS_RETRY_S after the try, doubled for each further failed one."""
    t = await make_tenant(fans=0)
    await _configure(api, t, receiver.url)
    receiver.fail_next = 2
    await _hand_off(api, t, "m-1", "kid")
    await wait_until("SELECT count(*) = 1 FROM alerts WHERE creator_id = %s AND attempts = 1", [t.creator_id])
    wait = "SELECT extract(epoch FROM next_attempt_at - now()) AS s FROM alerts WHERE creator_id = %s"
    [due] = await fetch(wait, [t.creator_id])
    assert 50 < due["s"] <= 60  # HUNTAZE_ALERTS_RETRY_S, 60 by default
    assert await send_due_alerts() == 0 and len(receiver.calls) == 1  # not due yet: not tried
    past = "UPDATE alerts SET next_attempt_at = now() - interval '1 second' WHERE creator_id = %s"
    async with db.pool().connection() as conn:
        await conn.execute(past, [t.creator_id])
    assert await send_due_alerts() == 0 and len(receiver.calls) == 2  # tried, failed again: twice the wait
    [due] = await fetch(wait, [t.creator_id])
    assert 110 < due["s"] <= 120
    async with db.pool().connection() as conn:
        await conn.execute(past, [t.creator_id])
    assert await send_due_alerts() == 1
    assert await send_due_alerts() == 0  # sent: never again
    assert len(receiver.calls) == 3 and len(receiver.delivered) == 1
    [row] = await fetch("SELECT status, attempts FROM alerts WHERE creator_id = %s", [t.creator_id])
    assert (row["status"], row["attempts"]) == ("sent", 3)


async def test_alerts_over_the_hourly_limit_are_dropped(
    api: httpx.AsyncClient, receiver: WebhookReceiver, settings: Settings
) -> None:
    configure(settings.model_copy(update={"alerts_per_creator_per_hour": 1}))
    t = await make_tenant(fans=0)
    await _configure(api, t, receiver.url)
    await _hand_off(api, t, "m-1", "kid")
    await _hand_off(api, t, "m-2", "teen")
    await wait_until(
        "SELECT count(*) = 2 FROM alerts WHERE creator_id = %s AND status <> 'pending'", [t.creator_id]
    )
    rows = await fetch("SELECT status FROM alerts WHERE creator_id = %s ORDER BY id", [t.creator_id])
    assert [r["status"] for r in rows] == ["sent", "rate_limited"]
    assert len(receiver.calls) == 1


async def test_no_alert_without_a_subscription(api: httpx.AsyncClient, receiver: WebhookReceiver) -> None:
    t = await make_tenant(fans=0)
    r = await api.put(
        "/v1/alerts/config",
        json={"webhook_url": receiver.url, "secret": SECRET, "events": []},
        headers=t.auth("manager"),
    )
    assert r.status_code == 200
    await _hand_off(api, t, "m-1", "kid")
    assert await fetch("SELECT 1 FROM alerts WHERE creator_id = %s", [t.creator_id]) == []
    assert receiver.calls == []


async def test_a_failed_delivery_and_a_daily_plan_each_send_one_alert_across_retries(
    api: httpx.AsyncClient, receiver: WebhookReceiver, settings: Settings, temporal_env: WorkflowEnvironment
) -> None:
    t = await make_tenant()
    r = await api.put(
        "/v1/alerts/config",
        json={
            "webhook_url": receiver.url,
            "secret": SECRET,
            "events": ["delivery_failed", "daily_plan_ready", "drafts_expiring"],
        },
        headers=t.auth("manager"),
    )
    assert r.status_code == 200, r.text
    # an approved draft whose delivery is still pending after its retries ran out
    h = await start_conversation(
        temporal_env.client,
        settings,
        t.creator_id,
        t.fans[0],
        [await add_message_event(t, t.fans[0], "hey", "e1")],
    )
    p = await wait_pending(h)
    async with db.pool().connection() as conn, conn.transaction():
        await outbox.insert(
            conn, t.creator_id, draft_id=p.draft_id, fan_id=t.fans[0], platform="onlyfans", payload={}
        )
        await conn.execute(
            "UPDATE outbox SET last_error = 'webhook answered 500' WHERE draft_id = %s", [p.draft_id]
        )
    ref = SendInput(t.creator_id, t.fans[0], p.draft_id, time.time())
    assert await ActivityEnvironment().run(mark_delivery_failed, ref) is True
    assert await ActivityEnvironment().run(mark_delivery_failed, ref) is False  # a retry: nothing new
    key = f"delivery_failed:{p.draft_id}:0"
    assert [c["key"] for c in receiver.calls] == [key]
    failed = receiver.delivered[key]
    assert (failed["event"], failed["draft_id"], failed["fan_id"], failed["error"]) == (
        "delivery_failed",
        p.draft_id,
        t.fans[0],
        "webhook answered 500",
    )
    assert "hey" not in str(failed)

    # the daily plan, written twice (a rerun the same day): one alert for the day
    step = PlanStepInput(t.creator_id, time.time())
    await ActivityEnvironment().run(write_daily_plan, step)
    await ActivityEnvironment().run(write_daily_plan, step)
    [plan] = await fetch(
        "SELECT plan_date::text AS day, summary FROM daily_plans WHERE creator_id = %s", [t.creator_id]
    )
    assert [c["key"] for c in receiver.calls] == [
        key,
        f"daily_plan_ready:{plan['day']}",
        f"drafts_expiring:{plan['day']}",
    ]
    expiring = receiver.delivered[f"drafts_expiring:{plan['day']}"]
    assert expiring["count"] == 1 and [d["draft_id"] for d in expiring["drafts"]] == [p.draft_id]
    ready = receiver.delivered[f"daily_plan_ready:{plan['day']}"]
    assert ready["event"] == "daily_plan_ready" and ready["plan_date"] == plan["day"]
    assert ready["actions"] == plan["summary"]["actions"]
    assert all(c["signature_ok"] for c in receiver.calls)


async def test_a_revenue_anomaly_sends_one_alert_for_its_day(
    api: httpx.AsyncClient, receiver: WebhookReceiver, database_url: str
) -> None:
    """A seeded business with a day without any sale: the daily plan reports the drop, and the plans of the next
    days (which show it again) send no second alert for it."""
    biz = seed_business(database_url, fans=1000, days=120, seed=5, handle="anomalous")
    [c] = await fetch("SELECT timezone FROM creators WHERE id = %s", [biz.creator_id])
    tz = ZoneInfo(c["timezone"])
    drop = datetime.now(tz).date() - timedelta(days=3)
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM transactions WHERE creator_id = %s AND occurred_at >= %s AND occurred_at < %s",
            [
                biz.creator_id,
                datetime.combine(drop, datetime.min.time(), tz),
                datetime.combine(drop + timedelta(days=1), datetime.min.time(), tz),
            ],
        )
        # as after a TOTP step-up (tested in tests/api/test_security.py)
        await conn.execute(
            "UPDATE api_keys SET step_up_until = now() + interval '5 minutes' WHERE creator_id = %s",
            [biz.creator_id],
        )
    r = await api.put(
        "/v1/alerts/config",
        json={"webhook_url": receiver.url, "secret": SECRET, "events": ["revenue_anomaly"]},
        headers={"Authorization": f"Bearer {biz.api_key}"},
    )
    assert r.status_code == 200, r.text
    now = time.time()
    await ActivityEnvironment().run(write_daily_plan, PlanStepInput(biz.creator_id, now))
    await ActivityEnvironment().run(write_daily_plan, PlanStepInput(biz.creator_id, now + 86400))
    key = f"revenue_anomaly:{drop.isoformat()}"
    assert key in receiver.delivered
    assert [c["key"] for c in receiver.calls].count(key) == 1
    got = receiver.delivered[key]
    assert got["event"] == "revenue_anomaly" and got["direction"] == "down" and got["observed_cents"] == 0
    assert got["expected_cents"] > 0 and got["recommendation"]


async def test_alerts_are_mailed_once_through_the_smtp_server(
    api: httpx.AsyncClient, receiver: WebhookReceiver, settings: Settings
) -> None:
    """An SMTP server on loopback (aiosmtpd): a hand-off alert goes to the webhook and by e-mail, each once, however
    often the save is retried; without an SMTP server in the settings an e-mail address is refused."""
    t = await make_tenant(fans=0)
    body = {
        "webhook_url": receiver.url,
        "secret": SECRET,
        "email": "team@agency.example",
        "events": ["handoff"],
    }
    r = await api.put("/v1/alerts/config", json=body, headers=t.auth("manager"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "email_not_configured"
    assert r.json()["error"]["details"]["fields"][0]["field"] == "email"

    mails: list[Message] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            mails.append(message_from_bytes(envelope.content))
            return "250 OK"

    port = _free_port()
    smtp = Controller(Handler(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        # the API's settings and the activities' are this one object
        settings.smtp_host, settings.smtp_port = "127.0.0.1", port
        r = await api.put("/v1/alerts/config", json=body, headers=t.auth("manager"))
        assert r.status_code == 200, r.text
        assert r.json()["email"] == "team@agency.example"
        await _hand_off(api, t, "m-1", "kid")
        await wait_until(
            "SELECT count(*) = 2 FROM alerts WHERE creator_id = %s AND status = 'sent'", [t.creator_id]
        )
        await _retry_save(t, "kid")
        [handoff] = await fetch("SELECT id::text AS id FROM handoffs WHERE creator_id = %s", [t.creator_id])
        [mail] = mails
        assert mail["To"] == "team@agency.example" and mail["Subject"] == "Huntaze alert: handoff"
        assert mail["X-Huntaze-Alert-Id"] == f"handoff:{handoff['id']}"
        assert f'"handoff_id": "{handoff["id"]}"' in mail.get_payload()
        assert "that ok" not in mail.as_string()
        assert [c["key"] for c in receiver.calls] == [f"handoff:{handoff['id']}"]
    finally:
        smtp.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
