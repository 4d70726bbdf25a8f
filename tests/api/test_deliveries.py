"""Delivery receipts through HTTP, on the real worker and the time-skipping server, with the platform's webhook
receiver on loopback: a receipt records the platform's message id or a failure; a failure is an agent action a
human retries (through the send path, approval checked again) or discards; repeated receipts change nothing and
contradictory ones are 409s."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from psycopg.types.json import Jsonb
from pydantic import SecretStr

from core import db
from core.settings import Settings, configure
from tests.factories import Tenant, make_tenant
from tests.fakes.webhook import WebhookReceiver
from tests.workflows.helpers import fetch, wait_until


@pytest.fixture
def receiver(settings: Settings) -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(secret="s3cret")
    r.server.start()
    configure(settings.model_copy(update={"webhook_url": r.url, "webhook_secret": SecretStr("s3cret")}))
    yield r
    r.server.stop()


async def _sent(api: httpx.AsyncClient, t: Tenant, fan: str, event_id: str) -> str:
    """A fan message answered by an approved draft that was handed to the platform; its draft id."""
    r = await api.post(
        "/v1/events",
        json={"event_id": event_id, "kind": "message", "text": "hey you", "fan": {"platform_fan_id": fan}},
        headers=t.auth(),
    )
    assert r.status_code == 202, r.text
    fan_id = r.json()["fan_id"]
    for _ in range(1200):
        items = [
            d
            for d in (await api.get("/v1/inbox", headers=t.auth())).json()["items"]
            if d["fan"]["id"] == fan_id
        ]
        if items:
            break
        await asyncio.sleep(0.05)
    [draft] = items
    r = await api.post(f"/v1/drafts/{draft['id']}/approve", json={"version": 1}, headers=t.auth("chatter"))
    assert r.status_code == 200, r.text
    await wait_until("SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [draft["id"]])
    return str(draft["id"])


async def _set_policy(creator_id: str, **changes: Any) -> None:
    async with db.pool().connection() as conn:
        await conn.execute(
            "UPDATE creators SET policy_config = policy_config || %s WHERE id = %s",
            [Jsonb(changes), creator_id],
        )


def _receipt(api: httpx.AsyncClient, t: Tenant, draft: str, role: str = "manager", **body: Any) -> Any:
    return api.post(f"/v1/deliveries/{draft}", json=body, headers=t.auth(role))


async def test_a_delivered_receipt_keeps_the_platform_message_id(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    t = await make_tenant()
    draft = await _sent(api, t, "f1", "m1")
    r = await api.get(f"/v1/deliveries/{draft}", headers=t.auth("viewer"))
    assert r.status_code == 200 and r.json()["status"] == "delivered" and r.json()["receipt"] is None
    assert (await _receipt(api, t, draft, "chatter", status="delivered")).status_code == 403
    first = await _receipt(api, t, draft, status="delivered", platform_message_id="pm-1")
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["status"], body["receipt"], body["platform_message_id"]) == (
        "delivered",
        "delivered",
        "pm-1",
    )
    again = await _receipt(api, t, draft, status="delivered", platform_message_id="pm-1")
    assert again.status_code == 200 and again.json() == body  # the same receipt again changes nothing
    for contradiction in (
        {"status": "failed", "error": "blocked"},
        {"status": "delivered", "platform_message_id": "pm-2"},
    ):
        r = await _receipt(api, t, draft, **contradiction)
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["code"] == "receipt_conflict" and err["details"]["delivery"] == body
        assert err["details"]["receipt"]["status"] == contradiction["status"]
    [row] = await fetch("SELECT status, platform_message_id FROM outbox WHERE draft_id = %s", [draft])
    assert row == {"status": "delivered", "platform_message_id": "pm-1"}
    kinds = [
        a["kind"]
        for a in (await api.get("/v1/actions", params={"kind": "delivered"}, headers=t.auth())).json()[
            "items"
        ]
    ]
    assert kinds == ["delivered"]


async def test_a_failed_delivery_waits_for_a_human_who_retries_or_discards_it(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    t = await make_tenant()
    retried, discarded = await _sent(api, t, "f1", "m1"), await _sent(api, t, "f2", "m2")
    for draft in (retried, discarded):
        r = await _receipt(api, t, draft, status="failed", error="the fan blocked the account")
        assert r.status_code == 200 and r.json()["status"] == "failed", r.text
        same = await _receipt(api, t, draft, status="failed", error="the fan blocked the account")
        assert same.status_code == 200 and same.json() == r.json()
    failed = (await api.get("/v1/deliveries", params={"status": "failed"}, headers=t.auth("viewer"))).json()
    assert {d["draft_id"] for d in failed["items"]} == {retried, discarded}
    feed = (await api.get("/v1/actions", params={"kind": "delivery_failed"}, headers=t.auth())).json()[
        "items"
    ]
    assert {a["draft_id"] for a in feed} == {retried, discarded}
    assert "the fan blocked the account" in feed[0]["summary"]
    late = await _receipt(api, t, retried, status="delivered", platform_message_id="pm-late")
    assert late.status_code == 409 and late.json()["error"]["code"] == "receipt_conflict"

    # Retried: the same message goes to the platform again, under an idempotency key of its own.
    assert (await api.post(f"/v1/deliveries/{retried}/retry", headers=t.auth("chatter"))).status_code == 403
    r = await api.post(f"/v1/deliveries/{retried}/retry", headers=t.auth("manager"))
    assert r.status_code == 202, r.text
    assert (r.json()["status"], r.json()["retries"], r.json()["receipt"]) == ("pending", 1, None)
    await wait_until("SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [retried])
    keys = [c["key"] for c in receiver.calls]
    assert keys.count(retried) == 1 and keys.count(f"{retried}/retry-1") == 1
    assert receiver.delivered[f"{retried}/retry-1"]["retry"] == 1
    assert receiver.delivered[f"{retried}/retry-1"]["text"] == receiver.delivered[retried]["text"]
    stale = await _receipt(api, t, retried, status="failed", error="late news", retry=0)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_receipt"
    ok = await _receipt(api, t, retried, status="delivered", platform_message_id="pm-9", retry=1)
    assert ok.status_code == 200 and ok.json()["platform_message_id"] == "pm-9", ok.text
    assert len(await fetch("SELECT 1 FROM messages WHERE draft_id = %s", [retried])) == 1  # one message, ever
    again = await api.post(f"/v1/deliveries/{retried}/retry", headers=t.auth())
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_failed"

    # Discarded: never tried again, and a later receipt cannot bring it back.
    assert (
        await api.post(f"/v1/deliveries/{discarded}/discard", json={}, headers=t.auth())
    ).status_code == 422
    r = await api.post(f"/v1/deliveries/{discarded}/discard", json={"reason": "fan left"}, headers=t.auth())
    assert r.status_code == 200 and r.json()["status"] == "discarded", r.text
    same = await api.post(
        f"/v1/deliveries/{discarded}/discard", json={"reason": "fan left"}, headers=t.auth()
    )
    assert same.status_code == 200 and same.json() == r.json()
    for bad, code in (
        (api.post(f"/v1/deliveries/{discarded}/retry", headers=t.auth()), "not_failed"),
        (_receipt(api, t, discarded, status="delivered", platform_message_id="pm-x"), "delivery_discarded"),
    ):
        resp = await bad
        assert resp.status_code == 409 and resp.json()["error"]["code"] == code, resp.text
    calls = [c["key"] for c in receiver.calls if c["key"].startswith(discarded)]
    assert calls == [discarded]
    audit = [a["action"] for a in (await api.get("/v1/audit", headers=t.auth())).json()["items"]]
    assert {"delivery.failed", "delivery.retried", "delivery.discarded"} <= set(audit)


async def test_a_retry_keeps_to_quiet_hours_and_caps_without_counting_itself(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    """A cap of one message a day does not hold the retry of the day's one message (it is the same message);
    quiet hours do: the retry waits, recorded as held, and nothing goes to the platform."""
    t = await make_tenant()
    draft = await _sent(api, t, "f1", "m1")

    async def fail_and_retry(retry: int) -> None:
        r = await _receipt(api, t, draft, status="failed", error="platform down", retry=retry)
        assert r.status_code == 200, r.text
        r = await api.post(f"/v1/deliveries/{draft}/retry", headers=t.auth("manager"))
        assert r.status_code == 202, r.text

    await _set_policy(t.creator_id, max_per_fan_per_day=1)
    await fail_and_retry(0)
    await wait_until("SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [draft])
    assert f"{draft}/retry-1" in [c["key"] for c in receiver.calls]

    now = datetime.now(UTC)
    quiet = {"start": f"{now - timedelta(hours=1):%H:%M}", "end": f"{now + timedelta(hours=2):%H:%M}"}
    await _set_policy(t.creator_id, quiet_hours=quiet)
    await fail_and_retry(1)
    await wait_until(
        "SELECT count(*) = 1 FROM agent_actions WHERE kind = 'send_held' AND draft_id = %s", [draft]
    )
    [held] = await fetch(
        "SELECT details FROM agent_actions WHERE kind = 'send_held' AND draft_id = %s", [draft]
    )
    assert "quiet hours" in held["details"]["reasons"][0]
    [box] = await fetch("SELECT status, retries FROM outbox WHERE draft_id = %s", [draft])
    assert box == {"status": "pending", "retries": 2}
    assert f"{draft}/retry-2" not in [c["key"] for c in receiver.calls]


async def test_only_an_approved_message_is_retried_and_receipts_need_a_sent_draft(
    api: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    t = await make_tenant()
    draft = await _sent(api, t, "f1", "m1")
    assert (await _receipt(api, t, draft, status="failed", error="timeout")).status_code == 200
    # A delivery whose draft has no recorded approval (tampered with in the database) is never sent again.
    from core import db

    async with db.pool().connection() as conn:
        await conn.execute("UPDATE drafts SET decided_by = NULL WHERE id = %s", [draft])
    r = await api.post(f"/v1/deliveries/{draft}/retry", headers=t.auth())
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_approved", r.text
    assert (await fetch("SELECT status FROM outbox WHERE draft_id = %s", [draft])) == [{"status": "failed"}]
    # A draft not sent yet has no delivery; an unknown one is not found.
    await api.post(
        "/v1/events",
        json={"event_id": "m2", "kind": "message", "text": "hello?", "fan": {"platform_fan_id": "f2"}},
        headers=t.auth(),
    )
    await wait_until("SELECT count(*) = 1 FROM drafts WHERE status = 'pending_review'", [])
    [pending] = await fetch("SELECT id::text AS id FROM drafts WHERE status = 'pending_review'", [])
    r = await _receipt(api, t, pending["id"], status="delivered")
    assert r.status_code == 409 and r.json()["error"]["details"]["draft_status"] == "pending_review"
    r = await _receipt(api, t, "00000000-0000-4000-8000-000000000000", status="delivered")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    for body, field in (
        ({"status": "lost"}, "status"),
        ({"status": "delivered", "error": "x"}, ""),
        ({"status": "failed", "platform_message_id": "x"}, ""),
        ({"status": "delivered", "extra": 1}, "extra"),
        ({"status": "delivered", "platform_message_id": ""}, "platform_message_id"),
        ({"status": "failed", "retry": -1}, "retry"),
    ):
        r = await _receipt(api, t, draft, **body)
        assert r.status_code == 422, (body, r.text)
        assert field in [f["field"] for f in r.json()["error"]["details"]["fields"]], r.text
    r = await api.get("/v1/deliveries", params={"status": "lost"}, headers=t.auth())
    assert r.status_code == 422


async def test_a_receipt_for_another_creators_delivery_is_not_found(api: httpx.AsyncClient) -> None:
    from core import db

    a, b = await make_tenant("a"), await make_tenant("b")
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, policy_report, expires_at,"
            " decided_by) VALUES (%s, %s, 'k', 'w', 'sent', 'hi', '{}', now(), %s) RETURNING id::text AS id",
            [b.creator_id, b.fans[0], b.members["owner"]],
        )
        draft = str((await cur.fetchone() or {})["id"])
        await conn.execute(
            "INSERT INTO outbox (creator_id, draft_id, fan_id, platform, payload, status)"
            " VALUES (%s, %s, %s, 'onlyfans', '{}', 'delivered')",
            [b.creator_id, draft, b.fans[0]],
        )
    before = await fetch("SELECT * FROM outbox WHERE draft_id = %s", [draft])
    for method, path, body in (
        ("POST", f"/v1/deliveries/{draft}", {"status": "failed", "error": "x"}),
        ("POST", f"/v1/deliveries/{draft}", {"status": "delivered", "platform_message_id": "pm"}),
        ("GET", f"/v1/deliveries/{draft}", None),
        ("POST", f"/v1/deliveries/{draft}/retry", None),
        ("POST", f"/v1/deliveries/{draft}/discard", {"reason": "x"}),
    ):
        r = await api.request(method, path, json=body, headers=a.auth())
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (method, path, r.text)
    assert (await api.get("/v1/deliveries", headers=a.auth())).json()["items"] == []
    assert await fetch("SELECT * FROM outbox WHERE draft_id = %s", [draft]) == before
    assert await fetch("SELECT 1 FROM agent_actions WHERE draft_id = %s", [draft]) == []
    mine = await api.post(
        f"/v1/deliveries/{draft}", json={"status": "failed", "error": "x"}, headers=b.auth()
    )
    assert mine.status_code == 200 and mine.json()["status"] == "failed"
