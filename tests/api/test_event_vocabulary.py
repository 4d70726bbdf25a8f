"""The event vocabulary through HTTP, on the real worker and the time-skipping server: a fan's platform, the
creator's own messages, PPV unlocks, refunds and chargebacks."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from psycopg.types.json import Jsonb

from core import db
from tests.factories import Tenant, make_tenant
from tests.workflows.helpers import fetch, wait_until


def ev(event_id: str, kind: str, fan: str = "of-1", **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "kind": kind, "fan": {"platform_fan_id": fan}, **extra}


async def _post(api: httpx.AsyncClient, t: Tenant, body: dict[str, Any], status: int = 202) -> dict[str, Any]:
    r = await api.post("/v1/events", json=body, headers=t.auth("manager"))
    assert r.status_code == status, r.text
    return dict(r.json())


async def _pending(api: httpx.AsyncClient, t: Tenant) -> dict[str, Any]:
    for _ in range(1200):
        items = (await api.get("/v1/inbox", headers=t.auth())).json()["items"]
        if items:
            return dict(items[0])
        await asyncio.sleep(0.05)
    raise AssertionError("inbox stayed empty")


def _field_errors(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 422, r.text
    return {f["field"]: f["message"] for f in r.json()["error"]["details"]["fields"]}


async def test_a_fan_is_one_per_platform_and_an_unknown_platform_is_named(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    a = await _post(api, t, ev("p-1", "tip", "same-handle", amount_cents=100))
    b = await _post(
        api,
        t,
        ev("p-2", "tip", amount_cents=100)
        | {"fan": {"platform_fan_id": "same-handle", "platform": "fansly"}},
    )
    assert a["fan_id"] != b["fan_id"]
    rows = await fetch(
        "SELECT platform FROM fans WHERE platform_fan_id = 'same-handle' ORDER BY platform", []
    )
    assert [r["platform"] for r in rows] == ["fansly", "onlyfans"]
    shown = (await api.get(f"/v1/fans/{b['fan_id']}", headers=t.auth())).json()
    assert (shown["platform"], shown["platform_fan_id"]) == ("fansly", "same-handle")
    listed = (await api.get("/v1/fans", params={"sort": "name"}, headers=t.auth())).json()["items"]
    assert {(f["platform"], f["platform_fan_id"]) for f in listed} >= {
        ("fansly", "same-handle"),
        ("onlyfans", "same-handle"),
    }
    r = await api.post(
        "/v1/events",
        json=ev("p-3", "tip", amount_cents=100) | {"fan": {"platform_fan_id": "z", "platform": "myspace"}},
        headers=t.auth(),
    )
    errors = _field_errors(r)
    assert set(errors) == {"fan.platform"}
    for allowed in ("onlyfans", "fansly", "fanvue", "instagram", "reddit", "tiktok", "'x'"):
        assert allowed in errors["fan.platform"], errors
    assert await fetch("SELECT 1 FROM events WHERE platform_event_id = 'p-3'", []) == []


async def test_a_creator_message_supersedes_the_pending_draft_and_is_stored_outbound(
    api: httpx.AsyncClient,
) -> None:
    t = await make_tenant()
    await _post(api, t, ev("m-1", "message", text="are you there?"))
    draft = await _pending(api, t)
    await _post(api, t, ev("c-1", "creator_message", text="yes babe, right here"))
    await wait_until("SELECT status = 'superseded' FROM drafts WHERE id = %s", [draft["id"]])
    await wait_until("SELECT count(*) = 2 FROM events WHERE processed_at IS NOT NULL", [])
    [d] = await fetch("SELECT decision_reason FROM drafts WHERE id = %s", [draft["id"]])
    assert d["decision_reason"] == "the creator answered on the platform"
    assert len(await fetch("SELECT 1 FROM drafts", [])) == 1  # nothing new drafted: she answered herself
    assert await fetch("SELECT 1 FROM outbox", []) == []  # and the superseded draft is never sent
    out = await fetch("SELECT text, platform_message_id, draft_id FROM messages WHERE direction = 'out'", [])
    assert out == [{"text": "yes babe, right here", "platform_message_id": "c-1", "draft_id": None}]
    late = await api.post(f"/v1/drafts/{draft['id']}/approve", json={"version": 1}, headers=t.auth())
    assert late.status_code == 409, late.text
    actions = (await api.get("/v1/actions", params={"kind": "superseded"}, headers=t.auth())).json()["items"]
    assert actions[0]["details"]["reason"] == "the creator answered on the platform"
    # The fan writes again after her message: that is answered as usual.
    await _post(api, t, ev("m-2", "message", text="what are you up to tonight?"))
    await wait_until("SELECT count(*) = 1 FROM drafts WHERE status = 'pending_review'", [])


async def test_a_creator_message_counts_in_the_frequency_cap(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    async with db.pool().connection() as conn:
        await conn.execute(
            "UPDATE creators SET policy_config = policy_config || %s WHERE id = %s",
            [Jsonb({"max_per_fan_per_day": 1}), t.creator_id],
        )
    await _post(api, t, ev("c-1", "creator_message", text="morning! new set is up"))
    await wait_until("SELECT count(*) = 1 FROM events WHERE processed_at IS NOT NULL", [])
    await _post(api, t, ev("m-1", "message", text="ooh what is it about?"))
    draft = await _pending(api, t)
    r = await api.post(f"/v1/drafts/{draft['id']}/approve", json={"version": 1}, headers=t.auth())
    assert r.status_code == 200, r.text
    await wait_until(
        "SELECT count(*) = 1 FROM agent_actions WHERE kind = 'send_held' AND draft_id = %s", [draft["id"]]
    )
    [held] = await fetch("SELECT details FROM agent_actions WHERE kind = 'send_held'", [])
    assert held["details"]["reasons"] == ["at most 1 messages to this fan in 24 hours"]
    assert await fetch("SELECT 1 FROM outbox", []) == []


async def test_a_ppv_unlock_is_revenue_attributed_to_the_item_and_its_offer(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    first = await _post(api, t, ev("u-0", "tip", amount_cents=100))
    fan = first["fan_id"]
    # A sent draft that offered the first item (as the send path leaves one).
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, offer, policy_report,"
            " expires_at, decided_by) VALUES (%s, %s, 'k', 'w', 'sent', 'just for you', %s, '{}', now(), %s)"
            " RETURNING id::text AS id",
            [t.creator_id, fan, Jsonb({"catalog_id": t.catalog[0], "price_cents": 1500}), t.members["owner"]],
        )
        offer = (await cur.fetchone() or {})["id"]
    await _post(api, t, ev("u-1", "ppv_unlock", amount_cents=1500, catalog_id=t.catalog[0]))
    await _post(api, t, ev("u-2", "ppv_unlock", amount_cents=1500, offer_draft_id=offer))
    async with db.pool().connection() as conn:
        await conn.execute("UPDATE catalog SET platform_item_id = 'vault-2' WHERE id = %s", [t.catalog[1]])
    await _post(api, t, ev("u-3", "ppv_unlock", amount_cents=2500, platform_item_id="vault-2"))
    rows = await fetch(
        "SELECT platform_txn_id, kind, amount_cents, catalog_id::text AS c, offer_draft_id::text AS o"
        " FROM transactions WHERE kind = 'unlock' ORDER BY id",
        [],
    )
    assert rows == [
        {"platform_txn_id": "u-1", "kind": "unlock", "amount_cents": 1500, "c": t.catalog[0], "o": offer},
        {"platform_txn_id": "u-2", "kind": "unlock", "amount_cents": 1500, "c": t.catalog[0], "o": offer},
        {"platform_txn_id": "u-3", "kind": "unlock", "amount_cents": 2500, "c": t.catalog[1], "o": None},
    ]
    # An unlock is thanked like a purchase.
    await wait_until("SELECT count(*) >= 1 FROM drafts WHERE status = 'pending_review'", [])
    # Bad unlocks: no item, an offer that is not this fan's sent offer, an item the offer did not name.
    for body, field in (
        (ev("u-4", "ppv_unlock", amount_cents=100), ""),
        (ev("u-5", "ppv_unlock", catalog_id=t.catalog[0]), ""),
        (ev("u-6", "ppv_unlock", "someone-else", amount_cents=100, offer_draft_id=offer), "offer_draft_id"),
        (
            ev("u-7", "ppv_unlock", amount_cents=100, offer_draft_id=offer, catalog_id=t.catalog[1]),
            "catalog_id",
        ),
    ):
        r = await api.post("/v1/events", json=body, headers=t.auth())
        assert field in _field_errors(r), (body, r.text)
    assert (
        await fetch("SELECT 1 FROM events WHERE platform_event_id IN ('u-4', 'u-5', 'u-6', 'u-7')", []) == []
    )
    assert await fetch("SELECT 1 FROM fans WHERE platform_fan_id = 'someone-else'", []) == []


async def test_refunds_and_chargebacks_give_money_back_on_one_payment(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    buy = await _post(api, t, ev("b-1", "purchase", amount_cents=2000, catalog_id=t.catalog[0]))
    await _post(api, t, ev("b-2", "tip", "other-fan", amount_cents=700))
    # Part of it by the platform's event id, the rest by the id this API answered.
    await _post(api, t, ev("r-1", "refund", original_event_id="b-1", amount_cents=500))
    await _post(api, t, ev("r-2", "refund", original_id=buy["id"]))
    rows = await fetch(
        "SELECT r.kind, r.amount_cents, t.platform_txn_id FROM refunds r JOIN transactions t ON t.id = r.transaction_id"
        " ORDER BY r.id",
        [],
    )
    assert rows == [
        {"kind": "refund", "amount_cents": 500, "platform_txn_id": "b-1"},
        {"kind": "refund", "amount_cents": 1500, "platform_txn_id": "b-1"},
    ]
    assert [
        r["amount_cents"] for r in await fetch("SELECT amount_cents FROM transactions ORDER BY id", [])
    ] == [
        2000,
        700,
    ]  # what was paid stays as it was: gross
    for body, field in (
        (ev("r-3", "refund", original_event_id="b-1"), "original_event_id"),  # nothing left
        (ev("r-4", "refund", original_event_id="nope"), "original_event_id"),
        (ev("r-5", "refund", original_id=10**12), "original_id"),
        (ev("r-6", "chargeback", original_event_id="b-2", amount_cents=701, fan="other-fan"), "amount_cents"),
        (ev("r-7", "chargeback", original_event_id="b-2"), "fan"),  # the tip was another fan's
        (ev("r-8", "refund"), ""),
        (ev("r-9", "refund", original_event_id="b-2", original_id=buy["id"]), ""),
        (ev("r-10", "tip", amount_cents=100, original_event_id="b-2"), ""),
        (ev("r-11", "refund", original_event_id="r-1"), "original_event_id"),  # a refund is not a payment
    ):
        r = await api.post("/v1/events", json=body, headers=t.auth())
        assert field in _field_errors(r), (body, r.text)
    assert len(await fetch("SELECT 1 FROM refunds", [])) == 2
    # A chargeback flags the fan for a human through the hand-off: no draft, visible on the fan and the feed.
    await wait_until("SELECT count(*) = 4 FROM events WHERE processed_at IS NOT NULL", [])
    before = {d["id"] for d in await fetch("SELECT id::text AS id FROM drafts", [])}
    cb = await _post(api, t, ev("cb-1", "chargeback", "other-fan", original_event_id="b-2"))
    await wait_until("SELECT handoff_reason = 'chargeback' FROM fans WHERE id = %s", [cb["fan_id"]])
    await wait_until("SELECT count(*) = 5 FROM events WHERE processed_at IS NOT NULL", [])
    assert {
        d["id"] for d in await fetch("SELECT id::text AS id FROM drafts WHERE fan_id = %s", [cb["fan_id"]])
    } <= before
    fan = (await api.get(f"/v1/fans/{cb['fan_id']}", headers=t.auth())).json()
    assert fan["handoff_reason"] == "chargeback"
    feed = (await api.get("/v1/actions", params={"fan_id": cb["fan_id"]}, headers=t.auth())).json()["items"]
    assert feed[0]["kind"] == "handoff" and feed[0]["details"]["reason"] == "chargeback"
    [cbrow] = await fetch("SELECT kind, amount_cents FROM refunds WHERE kind = 'chargeback'", [])
    assert cbrow == {"kind": "chargeback", "amount_cents": 700}
    # The same chargeback again changes nothing.
    again = await _post(api, t, ev("cb-1", "chargeback", "other-fan", original_event_id="b-2"))
    assert again == cb and len(await fetch("SELECT 1 FROM refunds", [])) == 3
