"""Instagram on a live stack (the real app, worker, Postgres and Temporal test server) against a fake Graph API on
loopback: a signed messages webhook becomes a draft, the approval sends exactly one message with the right
recipient, text and token, and the receipt keeps Instagram's message id; replays, unsigned and badly signed
webhooks store nothing; a send past the 24-hour window is held with its reason, and a member's own message goes
with the HUMAN_AGENT tag."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from core import db
from core.settings import Settings, configure
from core.types import conversation_workflow_id
from tests.factories import Tenant, make_tenant
from tests.fakes.graph import FakeGraph
from tests.workflows.helpers import fetch, wait_until

APP_SECRET = "meta-app-secret-0123456789"
VERIFY_TOKEN = "verify-me-please"
ACCOUNT = "17841400000000001"
TOKEN = "IGAA-page-token-0123456789abcdef"
HOOK = "/v1/connectors/instagram/webhook"


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    g = FakeGraph(APP_SECRET)
    g.server.start()
    g.connect(ACCOUNT, TOKEN)
    yield g
    g.server.stop()


@pytest.fixture
def settings(settings: Settings, graph: FakeGraph) -> Settings:
    s = settings.model_copy(
        update={
            "instagram_app_secret": SecretStr(APP_SECRET),
            "instagram_verify_token": SecretStr(VERIFY_TOKEN),
            "instagram_graph_url": graph.base_url,
        }
    )
    configure(s)
    return s


async def connect(api: httpx.AsyncClient, t: Tenant) -> dict[str, Any]:
    r = await api.put(
        "/v1/connections/instagram", json={"account_id": ACCOUNT, "access_token": TOKEN}, headers=t.auth()
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _draft_for(api: httpx.AsyncClient, t: Tenant, user: str) -> dict[str, Any]:
    for _ in range(1200):
        items = [
            d
            for d in (await api.get("/v1/inbox", headers=t.auth())).json()["items"]
            if d["fan"]["platform_fan_id"] == user
        ]
        if items:
            return dict(items[0])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no draft for {user}")


async def _count(sql: str, creator: str) -> int:
    [row] = await fetch(sql, [creator])
    return int(row["n"])


async def test_webhook_to_draft_to_one_send_with_its_receipt(
    api: httpx.AsyncClient, graph: FakeGraph
) -> None:
    t = await make_tenant()
    conn = await connect(api, t)
    assert (conn["kind"], conn["account_id"], conn["state"]) == ("instagram", ACCOUNT, "connected")
    assert "access_token" not in conn and TOKEN not in str(conn)

    ok = await api.get(
        HOOK,
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = await api.get(
        HOOK, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "verification_failed"

    body, headers = graph.user_writes(ACCOUNT, "igsid-1", "hey, loved your last post")
    unsigned = await api.post(HOOK, content=body, headers={"Content-Type": "application/json"})
    forged = await api.post(
        HOOK, content=body, headers={**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    )
    tampered = await api.post(HOOK, content=body.replace(b"loved", b"hated"), headers=headers)
    for r in (unsigned, forged, tampered):
        assert r.status_code == 401 and r.json()["error"]["code"] == "bad_signature", r.text
    assert await _count("SELECT count(*) AS n FROM events WHERE creator_id = %s", t.creator_id) == 0

    r = await api.post(HOOK, content=body, headers=headers)
    assert r.status_code == 200 and r.json() == {"stored": 1, "ignored": 0, "messages": 1}, r.text
    draft = await _draft_for(api, t, "igsid-1")
    assert draft["fan"]["platform"] == "instagram"
    replay = await api.post(HOOK, content=body, headers=headers)
    assert replay.status_code == 200 and replay.json()["stored"] == 0
    assert await _count("SELECT count(*) AS n FROM events WHERE creator_id = %s", t.creator_id) == 1
    assert await _count("SELECT count(*) AS n FROM drafts WHERE creator_id = %s", t.creator_id) == 1

    r = await api.post(f"/v1/drafts/{draft['id']}/approve", json={"version": 1}, headers=t.auth("chatter"))
    assert r.status_code == 200, r.text
    await wait_until("SELECT platform_message_id IS NOT NULL FROM outbox WHERE draft_id = %s", [draft["id"]])
    [sent] = graph.sends
    assert (sent["recipient"], sent["text"], sent["token"]) == ("igsid-1", draft["text"], TOKEN)
    assert (sent["messaging_type"], sent["tag"]) == ("RESPONSE", None)
    delivery = (await api.get(f"/v1/deliveries/{draft['id']}", headers=t.auth("viewer"))).json()
    assert (delivery["status"], delivery["platform_message_id"]) == ("delivered", sent["message_id"])
    health = (await api.get("/v1/connections", headers=t.auth())).json()["items"]
    [ig] = [c for c in health if c["platform"] == "instagram"]
    assert (
        ig["state"] == "connected" and ig["last_event_at"] and ig["last_send_at"] and ig["last_error"] is None
    )
    assert len(graph.sends) == 1 and graph.refused == []


async def test_past_the_window_is_held_and_a_members_reply_goes_with_the_human_agent_tag(
    api: httpx.AsyncClient, graph: FakeGraph
) -> None:
    t = await make_tenant()
    await connect(api, t)
    yesterday = datetime.now(UTC) - timedelta(hours=25)
    body, headers = graph.user_writes(ACCOUNT, "igsid-2", "are you there?", at=yesterday)
    assert (await api.post(HOOK, content=body, headers=headers)).json()["stored"] == 1
    draft = await _draft_for(api, t, "igsid-2")
    r = await api.post(f"/v1/drafts/{draft['id']}/approve", json={"version": 1}, headers=t.auth("chatter"))
    assert r.status_code == 200, r.text
    await wait_until("SELECT status = 'failed' FROM outbox WHERE draft_id = %s", [draft["id"]])
    delivery = (await api.get(f"/v1/deliveries/{draft['id']}", headers=t.auth("viewer"))).json()
    assert "outside Instagram's 24-hour messaging window" in delivery["error"], delivery
    feed = (await api.get("/v1/actions", params={"kind": "delivery_failed"}, headers=t.auth())).json()[
        "items"
    ]
    assert [a["draft_id"] for a in feed] == [draft["id"]] and "24-hour" in feed[0]["summary"]
    assert graph.sends == [] and graph.refused == []  # held here: never sent for Instagram to refuse
    [ig] = (await api.get("/v1/connections", headers=t.auth())).json()["items"]
    assert ig["state"] == "failing" and "24-hour" in ig["last_error"]

    r = await api.post(
        f"/v1/fans/{draft['fan']['id']}/messages",
        json={"text": "sorry for the wait, here now"},
        headers=t.auth("chatter") | {"Idempotency-Key": "ig-1"},
        timeout=120,
    )
    assert r.status_code == 201, r.text
    own = r.json()["id"]
    await wait_until("SELECT platform_message_id IS NOT NULL FROM outbox WHERE draft_id = %s", [own])
    [sent] = graph.sends
    assert (sent["recipient"], sent["text"], sent["token"]) == (
        "igsid-2",
        "sorry for the wait, here now",
        TOKEN,
    )
    assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    [row] = await fetch("SELECT status, platform_message_id FROM outbox WHERE draft_id = %s", [own])
    assert row == {"status": "delivered", "platform_message_id": sent["message_id"]}


async def test_a_members_message_the_window_holds_answers_held_with_the_deliverys_reason(
    api: httpx.AsyncClient, graph: FakeGraph, temporal_env: WorkflowEnvironment
) -> None:
    t = await make_tenant()
    await connect(api, t)
    body, headers = graph.user_writes(ACCOUNT, "igsid-8", "hi", at=datetime.now(UTC) - timedelta(days=8))
    assert (await api.post(HOOK, content=body, headers=headers)).json()["stored"] == 1
    draft = await _draft_for(api, t, "igsid-8")
    r = await api.post(
        f"/v1/fans/{draft['fan']['id']}/messages",
        json={"text": "still there?"},
        headers=t.auth("chatter") | {"Idempotency-Key": "ig-8"},
        timeout=120,
    )
    assert r.status_code == 201, r.text
    out = r.json()
    delivery = (await api.get(f"/v1/deliveries/{out['id']}", headers=t.auth("viewer"))).json()
    assert delivery["status"] == "failed" and "7-day human agent window" in delivery["error"], delivery
    assert (out["state"], out["not_before"], out["held_because"]) == ("held", None, [delivery["error"]])
    assert graph.sends == []
    # the refusal is the delivery's, not the conversation's: the fan's workflow goes on
    wf = temporal_env.client.get_workflow_handle(conversation_workflow_id(t.creator_id, draft["fan"]["id"]))
    assert (await wf.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_an_expiring_token_raises_one_alert_per_expiry(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    async with db.pool().connection() as conn:  # alerts by e-mail: no webhook to stand up
        await conn.execute(
            "INSERT INTO alert_configs (creator_id, email_to, events) VALUES (%s, 'owner@x.example', %s)",
            [t.creator_id, ["token_expiring"]],
        )
    soon = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    body = {"account_id": ACCOUNT, "access_token": TOKEN, "token_expires_at": soon.isoformat()}
    assert (await api.put("/v1/connections/instagram", json=body, headers=t.auth())).status_code == 200
    for _ in range(2):  # looked at twice: one alert
        [ig] = (await api.get("/v1/connections", headers=t.auth())).json()["items"]
        assert ig["state"] == "token_expiring"
    sql = "SELECT event, idempotency_key, payload FROM alerts WHERE creator_id = %s ORDER BY id"
    [alert] = await fetch(sql, [t.creator_id])
    assert alert["event"] == "token_expiring"
    assert alert["payload"] == {"platform": "instagram", "token_expires_at": soon.isoformat()}
    # a new token with a new expiry that is also close: a new alert
    later = soon + timedelta(days=1)
    body["token_expires_at"] = later.isoformat()
    assert (await api.put("/v1/connections/instagram", json=body, headers=t.auth())).status_code == 200
    await api.get("/v1/connections", headers=t.auth())
    assert [a["payload"]["token_expires_at"] for a in await fetch(sql, [t.creator_id])] == [
        soon.isoformat(),
        later.isoformat(),
    ]
