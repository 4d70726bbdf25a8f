"""Campaigns: a segment minus exclusions; each recipient gets a draft through the conversation (policy + human
approval); bulk approval by campaign id; bad input is refused and stores nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from core import db
from tests.factories import Tenant, make_tenant
from tests.workflows.helpers import fetch, wait_until


async def _score(t: Tenant, fan: str, segment: str, ltv: int) -> None:
    async with db.pool().connection() as conn:
        await conn.execute(
            "INSERT INTO fan_scores (creator_id, fan_id, run_id, segment, value_tier, purchase_days, spend_cents,"
            " discretionary_cents, ltv_cents, best_hours, computed_at)"
            " VALUES (%s, %s, 0, %s, 'whale', 5, 50000, 40000, %s, '{}', now())",
            [t.creator_id, fan, segment, ltv],
        )


async def _business() -> tuple[Tenant, dict[str, str]]:
    """Six whales: one opted out, one messaged an hour ago, one who bought the Beach set, one with a draft
    awaiting review, and two who should get the campaign; plus one regular fan outside the segment."""
    t = await make_tenant("camp", fans=7)
    names = ["opted", "recent", "bought", "waiting", "top", "second", "regular"]
    fans = dict(zip(names, t.fans, strict=True))
    for i, name in enumerate(names):
        await _score(t, fans[name], "regular" if name == "regular" else "whale", 100_000 - i * 1000)
    beach = t.catalog[0]
    async with db.pool().connection() as conn:
        # every hour is a good hour, so an approved campaign draft goes out at once
        await conn.execute(
            "UPDATE creators SET followup_config = %s WHERE id = %s",
            [json.dumps({"default_best_hours": list(range(24))}), t.creator_id],
        )
        await conn.execute("UPDATE fans SET opted_out_at = now() WHERE id = %s", [fans["opted"]])
        await conn.execute(
            "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at)"
            " VALUES (%s, %s, 'out', 'hi', now() - interval '1 hour')",
            [t.creator_id, fans["recent"]],
        )
        await conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, catalog_id, occurred_at)"
            " VALUES (%s, %s, 'ppv', 1500, %s, now() - interval '3 days')",
            [t.creator_id, fans["bought"], beach],
        )
        await conn.execute(
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, rationale,"
            " policy_report, event_ids, expires_at) VALUES (%s, %s, 'k', 'w', 'pending_review', 'hey', '',"
            " '{}', '{}', now() + interval '1 day')",
            [t.creator_id, fans["waiting"]],
        )
    return t, fans


def _body(t: Tenant, **over: Any) -> dict[str, Any]:
    return {
        "name": "Beach weekend",
        "segment": "whale",
        "intent": "tell them the beach set is out this weekend",
        "catalog_id": t.catalog[0],
        **over,
    }


async def test_campaign_drafts_each_recipient_and_bulk_approval_sends_them(api: httpx.AsyncClient) -> None:
    t, fans = await _business()
    [before] = await fetch("SELECT count(*) AS n FROM events WHERE creator_id = %s", [t.creator_id])
    preview = await api.post("/v1/campaigns", json=_body(t, dry_run=True), headers=t.auth("manager"))
    assert preview.status_code == 202, preview.text
    p = preview.json()
    assert (p["segment_size"], p["recipients"]) == (6, 2)
    assert {k: v for k, v in p["excluded"].items() if v} == {
        "opted_out": 1,
        "messaged_recently": 1,
        "bought_item": 1,
        "awaiting_review": 1,
    }
    [after] = await fetch("SELECT count(*) AS n FROM events WHERE creator_id = %s", [t.creator_id])
    assert after == before and await fetch("SELECT 1 FROM campaigns", []) == []  # a dry run stores nothing

    r = await api.post("/v1/campaigns", json=_body(t), headers=t.auth("manager"))
    assert r.status_code == 202, r.text
    c = r.json()
    assert c["recipients"] == 2 and c["excluded"]["opted_out"] == 1
    await wait_until("SELECT count(*) = 2 FROM drafts WHERE campaign_id = %s", [c["id"]])
    drafts = await fetch(
        "SELECT fan_id::text AS fan_id, status, send_after FROM drafts WHERE campaign_id = %s", [c["id"]]
    )
    assert {d["fan_id"] for d in drafts} == {fans["top"], fans["second"]}
    assert all(d["status"] == "pending_review" and d["send_after"] is not None for d in drafts)
    # nothing went out before a human approved
    [n] = await fetch(
        "SELECT count(*) AS n FROM outbox o JOIN drafts d ON d.id = o.draft_id WHERE d.campaign_id = %s",
        [c["id"]],
    )
    assert n["n"] == 0
    got = (await api.get(f"/v1/campaigns/{c['id']}", headers=t.auth("viewer"))).json()
    assert got["drafts"]["pending_review"] == 2 and got["status"] == "dispatched"

    r = await api.post("/v1/drafts/approve", json={"campaign_id": c["id"]}, headers=t.auth("chatter"))
    assert r.status_code == 200, r.text
    assert (r.json()["approved"], r.json()["failed"]) == (2, 0)
    await wait_until("SELECT count(*) = 2 FROM drafts WHERE campaign_id = %s AND status = 'sent'", [c["id"]])
    listed = (await api.get("/v1/campaigns", headers=t.auth("viewer"))).json()
    assert [x["id"] for x in listed["items"]] == [c["id"]] and listed["items"][0]["drafts"]["sent"] == 2
    # approving the campaign again finds nothing left to decide
    again = (await api.post("/v1/drafts/approve", json={"campaign_id": c["id"]}, headers=t.auth())).json()
    assert (again["approved"], again["failed"]) == (0, 0)


async def test_campaign_refuses_bad_input_other_tenants_and_low_roles(api: httpx.AsyncClient) -> None:
    t, _ = await _business()
    other = await make_tenant("elsewhere")
    for body, field in (
        (_body(t, segment="vips"), "segment"),
        (_body(t, catalog_id=other.catalog[0]), "catalog_id"),  # another creator's item
        (_body(t, catalog_id="not-a-uuid"), "catalog_id"),
        (_body(t, name=""), "name"),
        (_body(t, exclude={"messaged_within_hours": 0}), "exclude.messaged_within_hours"),
        (_body(t, exclude={"opted_out": False}), "exclude.opted_out"),  # no rule can put opted-out fans back
        (_body(t, max_recipients=0), "max_recipients"),
    ):
        r = await api.post("/v1/campaigns", json=body, headers=t.auth("manager"))
        assert r.status_code == 422, (body, r.text)
        assert field in [f["field"] for f in r.json()["error"]["details"]["fields"]], r.text
    assert (
        await fetch("SELECT 1 FROM campaigns", []) == []
        and await fetch("SELECT 1 FROM events WHERE kind = 'campaign_message'", []) == []
    )
    for role in ("chatter", "viewer"):
        assert (await api.post("/v1/campaigns", json=_body(t), headers=t.auth(role))).status_code == 403
    r = await api.post("/v1/campaigns", json=_body(t, catalog_id=None), headers=t.auth("manager"))
    assert r.status_code == 202
    cid = r.json()["id"]
    assert (await api.get(f"/v1/campaigns/{cid}", headers=other.auth())).status_code == 404
    foreign = await api.post("/v1/drafts/approve", json={"campaign_id": cid}, headers=other.auth())
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    both = {"campaign_id": cid, "drafts": [{"id": str(uuid.uuid4()), "version": 1}]}
    assert (await api.post("/v1/drafts/approve", json=both, headers=t.auth())).status_code == 422


async def test_a_dry_run_refuses_a_catalog_item_exactly_like_the_real_run(api: httpx.AsyncClient) -> None:
    t, _ = await _business()
    other = await make_tenant("elsewhere")
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute("UPDATE catalog SET active = false WHERE id = %s", [t.catalog[1]])
    for item in (other.catalog[0], t.catalog[1], str(uuid.uuid4())):  # another creator's, inactive, unknown
        real = await api.post("/v1/campaigns", json=_body(t, catalog_id=item), headers=t.auth("manager"))
        dry = await api.post(
            "/v1/campaigns", json=_body(t, catalog_id=item, dry_run=True), headers=t.auth("manager")
        )
        assert dry.status_code == real.status_code == 422, (item, dry.text)
        assert (
            dry.json() == real.json() and dry.json()["error"]["details"]["fields"][0]["field"] == "catalog_id"
        )
    ok = await api.post(
        "/v1/campaigns", json=_body(t, catalog_id=t.catalog[0], dry_run=True), headers=t.auth("manager")
    )
    assert ok.status_code == 202 and ok.json()["dry_run"] is True
    assert await fetch("SELECT 1 FROM campaigns", []) == []


async def test_a_campaign_names_its_offer_by_the_platform_item_id(api: httpx.AsyncClient) -> None:
    t, _ = await _business()
    other = await make_tenant("elsewhere")
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute("UPDATE catalog SET platform_item_id = 'of-beach' WHERE id = %s", [t.catalog[0]])
        await conn.execute(
            "UPDATE catalog SET platform_item_id = 'of-gym', active = false WHERE id = %s", [t.catalog[1]]
        )
        await conn.execute(
            "UPDATE catalog SET platform_item_id = 'of-theirs' WHERE id = %s", [other.catalog[0]]
        )
    for ref, why in (
        ({"platform_item_id": "of-gym"}, "no such active catalog item"),  # retired
        ({"platform_item_id": "of-theirs"}, "no such catalog item"),  # another creator's
        ({"platform_item_id": "of-beach", "catalog_id": t.catalog[0]}, "not both"),
    ):
        body = {**_body(t, catalog_id=None), **ref}
        r = await api.post("/v1/campaigns", json=body, headers=t.auth("manager"))
        assert r.status_code == 422, (ref, r.text)
        [field] = r.json()["error"]["details"]["fields"]
        assert field["field"] == "platform_item_id" and why in field["message"], r.text
    assert await fetch("SELECT 1 FROM campaigns", []) == []
    body = {**_body(t, catalog_id=None), "platform_item_id": "of-beach"}
    r = await api.post("/v1/campaigns", json=body, headers=t.auth("manager"))
    assert r.status_code == 202, r.text
    assert r.json()["catalog_id"] == t.catalog[0]
