"""Messages written by a human (POST /v1/fans/{id}/messages), through the real fan workflow on the time-skipping
server and real Postgres: policy, idempotency, supersession, hand-off, quiet hours and caps, the send path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from psycopg.types.json import Jsonb
from temporalio.testing import ActivityEnvironment

from core import db
from core.types import conversation_workflow_id
from tests.factories import make_tenant
from tests.workflows.helpers import fetch, wait_until
from workflows.conversation_activities import compose_message
from workflows.types import Compose, ComposeInput


def _url(fan_id: str) -> str:
    return f"/v1/fans/{fan_id}/messages"


async def _outbound(creator_id: str) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT m.text, m.draft_id::text AS draft_id, m.sent_by::text AS sent_by FROM messages m"
        " WHERE m.creator_id = %s AND m.direction = 'out' ORDER BY m.id",
        [creator_id],
    )


async def test_a_chatters_message_is_sent_once_and_records_the_member(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    fan, chatter = t.fans[0], t.members["chatter"]
    body = {"text": "hey you, thanks for the tip 💕", "offer": {"catalog_id": t.catalog[1]}}
    viewer = await api.post(_url(fan), json=body, headers=t.auth("viewer"))
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden"
    headers = t.auth("chatter") | {"Idempotency-Key": "msg-1"}
    r = await api.post(_url(fan), json=body, headers=headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["state"] == "sent" and out["sent_by"] == chatter and out["fan_id"] == fan
    assert out["offer"] == {"catalog_id": t.catalog[1], "price_cents": 2500}
    assert out["superseded_draft_id"] is None and out["not_before"] is None
    # A retried POST with the same key answers with the same message and sends nothing new.
    again = await api.post(_url(fan), json=body, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == out["id"] and again.json()["state"] == "sent"
    assert await _outbound(t.creator_id) == [
        {"text": body["text"], "draft_id": out["id"], "sent_by": chatter}
    ]
    assert len(await fetch("SELECT 1 FROM outbox WHERE creator_id = %s", [t.creator_id])) == 1
    [draft] = await fetch(
        "SELECT status, written_by::text AS w, decided_by::text AS d, offer FROM drafts WHERE id = %s",
        [out["id"]],
    )
    assert draft == {
        "status": "sent",
        "w": chatter,
        "d": chatter,
        "offer": {"catalog_id": t.catalog[1], "price_cents": 2500},
    }
    audit = await fetch(
        "SELECT actor::text AS actor, action, subject FROM audit_log WHERE creator_id = %s ORDER BY id",
        [t.creator_id],
    )
    assert {"actor": chatter, "action": "message.written", "subject": out["id"]} in audit
    assert [a["action"] for a in audit].count("draft.sent") == 1
    chain = await api.get("/v1/audit/verify", headers=t.auth())
    assert chain.status_code == 200 and chain.json()["ok"] is True, chain.text
    # The same key with another text is a conflict, never a second message.
    other = await api.post(_url(fan), json={"text": "something else"}, headers=headers)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    # GET shows who sent it.
    page = (await api.get(_url(fan), headers=t.auth())).json()["items"]
    assert page[0]["draft_id"] == out["id"] and page[0]["sent_by"] == chatter
    assert len(await _outbound(t.creator_id)) == 1


async def test_a_message_that_breaks_policy_is_refused_with_the_report(api: httpx.AsyncClient) -> None:
    t = await make_tenant(forbidden=["cashapp"])
    fan = t.fans[0]
    r = await api.post(
        _url(fan),
        json={"text": "just pay me on cashapp babe"},
        headers=t.auth("chatter") | {"Idempotency-Key": "p"},
    )
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "policy_blocked"
    assert err["details"]["policy"]["outcome"] != "pass" and err["details"]["policy"]["findings"]
    assert "explanation" in err["details"]
    # An offer priced outside the creator's bounds is refused the same way.
    r = await api.post(
        _url(fan),
        json={"text": "a little something", "offer": {"catalog_id": t.catalog[0], "price_cents": 99_000}},
        headers=t.auth("chatter"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_blocked", r.text
    assert await fetch("SELECT 1 FROM drafts WHERE creator_id = %s", [t.creator_id]) == []
    assert await _outbound(t.creator_id) == []
    assert await fetch("SELECT 1 FROM outbox WHERE creator_id = %s", [t.creator_id]) == []


async def test_bad_input_names_the_field_and_stores_nothing(api: httpx.AsyncClient) -> None:
    t, other = await make_tenant(), await make_tenant("other")
    fan = t.fans[0]
    for body, field in (
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 1001}, "text"),
        ({"text": "hi", "extra": 1}, "extra"),
        ({"text": "hi", "offer": {}}, "offer"),
        ({"text": "hi", "offer": {"catalog_id": t.catalog[0], "platform_item_id": "p"}}, "offer"),
        ({"text": "hi", "offer": {"catalog_id": other.catalog[0]}}, "offer.catalog_id"),
        ({"text": "hi", "offer": {"platform_item_id": "nope"}}, "offer.platform_item_id"),
        ({"text": "hi", "offer": {"catalog_id": t.catalog[0], "price_cents": 0}}, "offer"),
    ):
        r = await api.post(_url(fan), json=body, headers=t.auth("chatter"))
        assert r.status_code == 422, (body, r.text)
        fields = [f["field"] for f in r.json()["error"]["details"]["fields"]]
        assert any(f.startswith(field) or field in f for f in fields), (body, fields)
    r = await api.post(_url(fan), json={"text": "hi"}, headers=t.auth("chatter") | {"Idempotency-Key": "a b"})
    assert r.status_code == 422, r.text
    missing = await api.post(_url(other.fans[0]), json={"text": "hi"}, headers=t.auth("chatter"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    async with db.pool().connection() as conn:
        await conn.execute("UPDATE fans SET opted_out_at = now() WHERE id = %s", [t.fans[1]])
    gone = await api.post(_url(t.fans[1]), json={"text": "miss you"}, headers=t.auth("chatter"))
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "fan_opted_out"
    assert await fetch("SELECT 1 FROM drafts WHERE creator_id = %s", [t.creator_id]) == []
    assert await _outbound(t.creator_id) == []


async def test_it_supersedes_the_agents_pending_draft(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    r = await api.post(
        "/v1/events",
        json={"event_id": "e-1", "kind": "message", "text": "hey!", "fan": {"platform_fan_id": "sam"}},
        headers=t.auth(),
    )
    fan = r.json()["fan_id"]
    await wait_until(
        "SELECT count(*) = 1 FROM drafts WHERE creator_id = %s AND status = 'pending_review'", [t.creator_id]
    )
    [pending] = await fetch("SELECT id::text AS id FROM drafts WHERE creator_id = %s", [t.creator_id])
    r = await api.post(
        _url(fan), json={"text": "hey Sam! I was just thinking of you"}, headers=t.auth("chatter")
    )
    assert r.status_code == 201, r.text
    assert r.json()["superseded_draft_id"] == pending["id"] and r.json()["state"] == "sent"
    assert (await fetch("SELECT status FROM drafts WHERE id = %s", [pending["id"]])) == [
        {"status": "superseded"}
    ]
    late = await api.post(
        f"/v1/drafts/{pending['id']}/approve", json={"version": 1}, headers=t.auth("chatter")
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "already_decided"
    assert [m["draft_id"] for m in await _outbound(t.creator_id)] == [r.json()["id"]]
    assert (await api.get("/v1/inbox", headers=t.auth())).json()["items"] == []


async def test_a_handed_off_fan_gets_the_answer_and_stays_frozen(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    r = await api.post(
        "/v1/events",
        json={
            "event_id": "h-1",
            "kind": "message",
            "text": "i want a refund or i do a chargeback",
            "fan": {"platform_fan_id": "angry"},
        },
        headers=t.auth(),
    )
    fan = r.json()["fan_id"]
    await wait_until("SELECT handoff_at IS NOT NULL FROM fans WHERE id = %s", [fan])
    r = await api.post(
        _url(fan), json={"text": "so sorry! let me sort this out for you"}, headers=t.auth("chatter")
    )
    assert r.status_code == 201 and r.json()["state"] == "sent", r.text
    assert [m["sent_by"] for m in await _outbound(t.creator_id)] == [t.members["chatter"]]
    # Still frozen for the agent: the fan's next message gets no draft.
    await api.post(
        "/v1/events",
        json={"event_id": "h-2", "kind": "message", "text": "ok thanks", "fan": {"platform_fan_id": "angry"}},
        headers=t.auth(),
    )
    await wait_until(
        "SELECT count(*) = 2 FROM events WHERE creator_id = %s AND processed_at IS NOT NULL", [t.creator_id]
    )
    [state] = await fetch("SELECT handoff_at IS NOT NULL AS frozen FROM fans WHERE id = %s", [fan])
    assert state["frozen"]
    assert (
        await fetch("SELECT 1 FROM drafts WHERE creator_id = %s AND written_by IS NULL", [t.creator_id]) == []
    )


async def test_caps_hold_the_message_and_say_until_when(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    fan = t.fans[0]
    earlier = datetime.now(UTC) - timedelta(hours=1)
    async with db.pool().connection() as conn:
        await conn.execute(
            "UPDATE creators SET policy_config = policy_config || %s WHERE id = %s",
            [Jsonb({"max_per_fan_per_day": 1}), t.creator_id],
        )
        await conn.execute(
            "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, 'out', 'x', %s)",
            [t.creator_id, fan, earlier],
        )
    r = await api.post(_url(fan), json={"text": "one more thing"}, headers=t.auth("chatter"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["state"] == "held", out
    assert datetime.fromisoformat(out["not_before"]) == earlier + timedelta(hours=24)
    assert out["held_because"] == ["at most 1 messages to this fan in 24 hours"]
    [draft] = await fetch("SELECT status FROM drafts WHERE id = %s", [out["id"]])
    assert draft["status"] == "approved"  # held, never dropped: the workflow sends it when the cap allows
    assert [m["draft_id"] for m in await _outbound(t.creator_id)] == [None]


async def test_a_message_stored_before_a_crash_is_sent_once_on_retry(api: httpx.AsyncClient) -> None:
    """A worker killed between the message's commit and the end of its activity runs the activity again, and the
    client retries its POST: both find the stored message, and it is sent exactly once."""
    t = await make_tenant()
    fan, chatter = t.fans[0], t.members["chatter"]
    msg = Compose(key=f"{chatter}:crash-1", author=chatter, text="back in a minute!")
    inp = ComposeInput(t.creator_id, fan, conversation_workflow_id(t.creator_id, fan), msg, None)
    env = ActivityEnvironment()
    first = await env.run(compose_message, inp)
    again = await env.run(compose_message, inp)
    assert first.ok and again.ok and first.draft_id == again.draft_id and again.status == "approved"
    assert await _outbound(t.creator_id) == []  # accepted, not yet sent
    r = await api.post(
        _url(fan), json={"text": msg.text}, headers=t.auth("chatter") | {"Idempotency-Key": "crash-1"}
    )
    assert r.status_code == 201 and r.json()["id"] == first.draft_id and r.json()["state"] == "sent", r.text
    assert await _outbound(t.creator_id) == [
        {"text": msg.text, "draft_id": first.draft_id, "sent_by": chatter}
    ]
    [n] = await fetch(
        "SELECT count(*) AS n FROM audit_log WHERE creator_id = %s AND action = 'message.written'",
        [t.creator_id],
    )
    assert n["n"] == 1
