"""Every endpoint through HTTP (ASGI), with the real worker on the time-skipping server and real Postgres."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Tenant, make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch, wait_until


def msg(event_id: str, text: str = "hey there!", fan: str = "of-1", **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "kind": "message", "text": text, "fan": {"platform_fan_id": fan}, **extra}


async def _pending(api: httpx.AsyncClient, t: Tenant, n: int = 1) -> list[dict[str, Any]]:
    for _ in range(1200):  # up to 60 s on a loaded machine; returns as soon as the inbox fills
        items = (await api.get("/v1/inbox", headers=t.auth())).json()["items"]
        if len(items) >= n:
            return list(items)
        await __import__("asyncio").sleep(0.05)
    raise AssertionError("inbox stayed empty")


async def test_event_to_approved_send(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    r = await api.post(
        "/v1/events",
        json=msg("ev-1", fan="of-9")
        | {"fan": {"platform_fan_id": "of-9", "display_name": "Sam", "timezone": "Europe/Paris"}},
        headers=t.auth(),
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["kind"] == "message" and body["workflow_id"].endswith(body["fan_id"])
    [draft] = await _pending(api, t)
    assert draft["status"] == "pending_review" and draft["fan"]["display_name"] == "Sam"
    assert draft["fan"]["last_messages"][-1]["text"] == "hey there!"
    # One timestamp style in the whole item, nested messages included (Postgres' JSON would write `+00:00`).
    stamps = [
        draft["created_at"],
        draft["expires_at"],
        *(m["sent_at"] for m in draft["fan"]["last_messages"]),
    ]
    assert all(s.endswith("Z") for s in stamps), stamps
    assert (await api.get(f"/v1/drafts/{draft['id']}", headers=t.auth())).json()["version"] == 1
    r = await api.post(f"/v1/drafts/{draft['id']}/approve", json={"version": 1}, headers=t.auth("chatter"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] in ("approved", "sent")
    await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [draft["id"]])
    # Deciding again is a conflict, with a machine-readable body.
    again = await api.post(f"/v1/drafts/{draft['id']}/approve", json={"version": 2}, headers=t.auth())
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_decided"
    kinds = [a["kind"] for a in (await api.get("/v1/actions", headers=t.auth())).json()["items"]]
    assert kinds == ["sent", "approved", "drafted", "routed", "event_received"]


async def test_same_event_twice_has_one_effect(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    first = await api.post("/v1/events", json=msg("dup-1"), headers=t.auth())
    second = await api.post("/v1/events", json=msg("dup-1"), headers=t.auth())
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    await _pending(api, t)
    assert len(await fetch("SELECT 1 FROM events", [])) == 1
    assert len(await fetch("SELECT 1 FROM messages WHERE direction = 'in'", [])) == 1
    assert len(await fetch("SELECT 1 FROM drafts", [])) == 1
    reused = await api.post(
        "/v1/events",
        json={"event_id": "dup-1", "kind": "tip", "amount_cents": 500, "fan": {"platform_fan_id": "of-1"}},
        headers=t.auth(),
    )
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "event_id_reused"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_id": "x", "kind": "message", "fan": {"platform_fan_id": "f"}}, ""),
        ({"event_id": "x", "kind": "poke", "fan": {"platform_fan_id": "f"}}, "kind"),
        ({"event_id": "", "kind": "message", "text": "hi", "fan": {"platform_fan_id": "f"}}, "event_id"),
        ({"event_id": "x", "kind": "tip", "fan": {"platform_fan_id": "f"}}, ""),
        (
            {"event_id": "x", "kind": "tip", "amount_cents": -5, "fan": {"platform_fan_id": "f"}},
            "amount_cents",
        ),
        (
            {
                "event_id": "x",
                "kind": "message",
                "text": "hi",
                "fan": {"platform_fan_id": "f", "timezone": "Mars/X"},
            },
            "fan.timezone",
        ),
        (
            {"event_id": "x", "kind": "message", "text": "hi", "fan": {"platform_fan_id": "f"}, "extra": 1},
            "extra",
        ),
        (
            {
                "event_id": "x",
                "kind": "message",
                "text": "hi",
                "fan": {"platform_fan_id": "f"},
                "occurred_at": "2026-01-01T10:00:00",
            },
            "occurred_at",
        ),
        (
            {
                "event_id": "x",
                "kind": "purchase",
                "amount_cents": 500,
                "fan": {"platform_fan_id": "f"},
                "catalog_id": "00000000-0000-4000-8000-000000000000",
            },
            "catalog_id",
        ),
    ],
)
async def test_invalid_events_are_422_and_store_nothing(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    t = await make_tenant()
    r = await api.post("/v1/events", json=body, headers=t.auth())
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    assert field in [f["field"] for f in err["details"]["fields"]]
    assert await fetch("SELECT 1 FROM events", []) == []
    assert len(await fetch("SELECT 1 FROM fans", [])) == 2  # only the tenant's own fans


async def test_auth_and_roles(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    assert (await api.get("/v1/inbox")).json()["error"]["code"] == "unauthorized"
    assert (await api.get("/v1/inbox", headers={"Authorization": "Bearer hz_nope"})).status_code == 401
    viewer = await api.post("/v1/events", json=msg("v-1"), headers=t.auth("viewer"))
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden"
    assert (await api.get("/v1/inbox", headers=t.auth("viewer"))).status_code == 200
    await api.post("/v1/events", json=msg("m-1"), headers=t.auth("manager"))
    [draft] = await _pending(api, t)
    r = await api.post(f"/v1/drafts/{draft['id']}/approve", json={"version": 1}, headers=t.auth("viewer"))
    assert r.status_code == 403
    assert (await fetch("SELECT status FROM drafts", []))[0]["status"] == "pending_review"


async def test_other_creators_ids_answer_404(api: httpx.AsyncClient) -> None:
    a, b = await make_tenant("alice"), await make_tenant("bella")
    await api.post("/v1/events", json=msg("a-1"), headers=a.auth())
    [draft] = await _pending(api, a)
    for call in (
        api.get(f"/v1/drafts/{draft['id']}", headers=b.auth()),
        api.post(f"/v1/drafts/{draft['id']}/approve", json={"version": 1}, headers=b.auth()),
        api.post(f"/v1/drafts/{draft['id']}/reject", json={"version": 1, "reason": "no"}, headers=b.auth()),
    ):
        r = await call
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert (await api.get("/v1/inbox", headers=b.auth())).json()["items"] == []
    assert (await api.get("/v1/actions", headers=b.auth())).json()["items"] == []
    assert (await fetch("SELECT status FROM drafts", []))[0]["status"] == "pending_review"


async def test_reject_stale_version_and_blocked_draft(api: httpx.AsyncClient, fake_llm: FakeOpenAI) -> None:
    t = await make_tenant()
    fake_llm.script({"text": "add me on snapchat: mia_rose", "offer": None, "rationale": ""})
    await api.post("/v1/events", json=msg("b-1", fan="of-b"), headers=t.auth())
    [blocked] = await _pending(api, t)
    assert blocked["status"] == "blocked"
    assert blocked["policy_report"]["findings"][0]["rule"] == "off_platform_contact"
    r = await api.post(f"/v1/drafts/{blocked['id']}/approve", json={"version": 1}, headers=t.auth())
    assert r.status_code == 409 and r.json()["error"]["code"] == "blocked_requires_edit"
    r = await api.post(
        f"/v1/drafts/{blocked['id']}/approve",
        json={"version": 1, "text": "text me 555 201 3344"},
        headers=t.auth(),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "policy_blocked"
    assert r.json()["error"]["details"]["policy"]["outcome"] == "fix"
    r = await api.post(
        f"/v1/drafts/{blocked['id']}/reject", json={"version": 7, "reason": "unsafe"}, headers=t.auth()
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_version"
    r = await api.post(
        f"/v1/drafts/{blocked['id']}/reject", json={"version": 1, "reason": ""}, headers=t.auth()
    )
    assert r.status_code == 422
    r = await api.post(
        f"/v1/drafts/{blocked['id']}/reject", json={"version": 1, "reason": "unsafe"}, headers=t.auth()
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert await fetch("SELECT 1 FROM outbox", []) == []


async def test_inbox_and_actions_paginate(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    for i in range(3):
        await api.post("/v1/events", json=msg(f"p-{i}", fan=f"of-{i}"), headers=t.auth())
    await _pending(api, t, 3)
    page1 = (await api.get("/v1/inbox", params={"limit": 2}, headers=t.auth())).json()
    page2 = (
        await api.get("/v1/inbox", params={"limit": 2, "cursor": page1["next_cursor"]}, headers=t.auth())
    ).json()
    ids = [d["id"] for d in page1["items"] + page2["items"]]
    assert len(page1["items"]) == 2 and len(page2["items"]) == 1 and len(set(ids)) == 3
    assert page2["next_cursor"] is None
    bad = await api.get("/v1/inbox", params={"cursor": "garbage"}, headers=t.auth())
    assert bad.status_code == 422 and bad.json()["error"]["details"]["fields"][0]["field"] == "cursor"
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/actions", params=params, headers=t.auth())).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (
        seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 9
    )  # 3 x received, routed, drafted
    only = (await api.get("/v1/actions", params={"kind": "drafted"}, headers=t.auth())).json()["items"]
    assert [a["kind"] for a in only] == ["drafted"] * 3


async def test_handoff_and_opt_out_make_no_draft(api: httpx.AsyncClient, fake_llm: FakeOpenAI) -> None:
    t = await make_tenant()
    await api.post("/v1/events", json=msg("h-1", "i'm 15 is that ok", fan="kid"), headers=t.auth())
    await api.post("/v1/events", json=msg("o-1", "unsubscribe", fan="bye"), headers=t.auth())
    await wait_until("SELECT count(*) = 2 FROM events WHERE processed_at IS NOT NULL", [])
    await api.post("/v1/events", json=msg("o-2", "hello again?", fan="bye"), headers=t.auth())
    await wait_until("SELECT count(*) = 3 FROM events WHERE processed_at IS NOT NULL", [])
    assert await fetch("SELECT 1 FROM drafts", []) == []
    assert list(fake_llm.requests) == []
    fans = {
        r["platform_fan_id"]: r
        for r in await fetch(
            "SELECT platform_fan_id, handoff_reason, opted_out_at IS NOT NULL AS opted_out FROM fans", []
        )
    }
    assert fans["kid"]["handoff_reason"] == "possible_minor" and fans["bye"]["opted_out"]
    kinds = {a["kind"] for a in (await api.get("/v1/actions", headers=t.auth())).json()["items"]}
    assert {"handoff", "opt_out"} <= kinds


async def test_purchase_and_subscription_events_update_the_ledger(api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    r = await api.post(
        "/v1/events",
        json={
            "event_id": "s-1",
            "kind": "subscription_started",
            "amount_cents": 999,
            "fan": {"platform_fan_id": "new"},
        },
        headers=t.auth(),
    )
    assert r.status_code == 202
    r = await api.post(
        "/v1/events",
        json={
            "event_id": "b-1",
            "kind": "purchase",
            "amount_cents": 1500,
            "catalog_id": t.catalog[0],
            "fan": {"platform_fan_id": "new"},
        },
        headers=t.auth(),
    )
    assert r.status_code == 202
    txns = await fetch("SELECT kind, amount_cents, catalog_id::text AS c FROM transactions ORDER BY id", [])
    assert txns == [
        {"kind": "subscription", "amount_cents": 999, "c": None},
        {"kind": "ppv", "amount_cents": 1500, "c": t.catalog[0]},
    ]
    assert (await fetch("SELECT subscription_status FROM fans WHERE platform_fan_id = 'new'", []))[0] == {
        "subscription_status": "active"
    }


async def test_a_human_resumes_a_frozen_fan(api: httpx.AsyncClient, fake_llm: FakeOpenAI) -> None:
    t, other = await make_tenant(), await make_tenant("other")
    await api.post("/v1/events", json=msg("o-1", "stop", fan="f1"), headers=t.auth())
    await wait_until("SELECT count(*) = 1 FROM events WHERE processed_at IS NOT NULL", [])
    [fan] = await fetch("SELECT id::text AS id FROM fans WHERE platform_fan_id = 'f1'", [])
    url = f"/v1/fans/{fan['id']}/resume"
    assert (await api.post(url, json={"reason": "asked again"}, headers=t.auth("chatter"))).status_code == 403
    assert (await api.post(url, json={"reason": "x"}, headers=other.auth())).status_code == 404
    assert (await api.post(url, json={}, headers=t.auth())).status_code == 422
    r = await api.post(url, json={"reason": "fan asked to hear from us again"}, headers=t.auth("manager"))
    assert r.status_code == 200 and r.json()["opted_out"] is False
    again = await api.post(url, json={"reason": "twice"}, headers=t.auth())
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_frozen"
    # Drafting works again for this fan.
    await api.post("/v1/events", json=msg("o-2", "hi again!", fan="f1"), headers=t.auth())
    [draft] = await _pending(api, t)
    assert draft["fan"]["id"] == fan["id"]
    audit = await fetch("SELECT action FROM audit_log WHERE action = 'fan.resumed'", [])
    assert len(audit) == 1


async def test_policy_config_is_versioned_audited_and_enforced(
    api: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    t, other = await make_tenant(), await make_tenant("other")
    cur = (await api.get("/v1/policies", headers=t.auth("viewer"))).json()
    assert cur["version"] == 1 and cur["ppv_min_cents"] == 500 and cur["forbidden_words"] == []
    body = {
        "version": 1,
        "forbidden_words": ["darling", " darling "],
        "ppv_min_cents": 700,
        "ppv_max_cents": 3000,
        "handoff_spend_cents": 2000,
    }
    assert (await api.put("/v1/policies", json=body, headers=t.auth("chatter"))).status_code == 403
    bad = await api.put("/v1/policies", json=body | {"ppv_max_cents": 100}, headers=t.auth())
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    r = await api.put("/v1/policies", json=body, headers=t.auth("manager"))
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["forbidden_words"] == ["darling"]
    stale = await api.put("/v1/policies", json=body, headers=t.auth())
    assert stale.status_code == 409 and stale.json()["error"]["details"] == {"version": 2}
    assert (await api.get("/v1/policies", headers=other.auth())).json()["version"] == 1  # untouched
    versions = await fetch("SELECT version, config->>'ppv_min_cents' AS lo FROM policy_versions", [])
    assert versions == [{"version": 2, "lo": "700"}]
    assert len(await fetch("SELECT 1 FROM audit_log WHERE action = 'policy.updated'", [])) == 1
    # Enforced: the forbidden word blocks (with a redaction offered), and a big spender goes to a human.
    fake_llm.script({"text": "hello darling, new set tonight", "offer": None, "rationale": ""})
    await api.post("/v1/events", json=msg("w-1", fan="small"), headers=t.auth())
    [draft] = await _pending(api, t)
    assert (
        draft["status"] == "blocked"
        and draft["policy_report"]["fix_text"] == "hello [removed], new set tonight"
    )
    await api.post(
        "/v1/events",
        json={"event_id": "tip-1", "kind": "tip", "amount_cents": 2500, "fan": {"platform_fan_id": "whale"}},
        headers=t.auth(),
    )
    await api.post("/v1/events", json=msg("w-2", "hey you", fan="whale"), headers=t.auth())
    await wait_until("SELECT count(*) = 1 FROM fans WHERE handoff_reason = 'high_value_fan'", [])


async def test_policy_leaks_caps_and_quiet_hours_fields(api: httpx.AsyncClient, fake_llm: FakeOpenAI) -> None:
    t = await make_tenant()
    cur = (await api.get("/v1/policies", headers=t.auth())).json()
    assert cur["quiet_hours"] is None and cur["max_per_fan_per_day"] == 6 and cur["private_terms"] == []
    body = {k: v for k, v in cur.items() if k not in ("updated_at",)}
    for bad, field in (
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "25:00", "end": "08:00"}}, "quiet_hours.start"),
        ({"max_per_fan_per_day": 0}, "max_per_fan_per_day"),
        ({"private_terms": [""]}, "private_terms"),
        ({"quiet_hourz": None}, "quiet_hourz"),
    ):
        r = await api.put("/v1/policies", json=body | bad, headers=t.auth())
        assert r.status_code == 422, bad
        assert any(f["field"].startswith(field) for f in r.json()["error"]["details"]["fields"]), r.json()
    assert (await api.get("/v1/policies", headers=t.auth())).json()["version"] == 1  # nothing stored
    body |= {
        "private_terms": ["Jessica Moreno"],
        "quiet_hours": {"start": "23:00", "end": "07:30"},
        "max_per_fan_per_day": 3,
        "max_per_creator_per_hour": None,
    }
    r = await api.put("/v1/policies", json=body, headers=t.auth())
    assert r.status_code == 200, r.text
    got = r.json()
    assert (
        got["quiet_hours"] == {"start": "23:00:00", "end": "07:30:00"}
        and got["max_per_creator_per_hour"] is None
    )
    # Enforced on drafts: another fan's name blocks, the creator's private data blocks.
    # (one conversation at a time, so each scripted reply goes to the intended fan)
    marcus = {"platform_fan_id": "of-marcus", "display_name": "Marcus"}
    await api.post("/v1/events", json=msg("m-0") | {"fan": marcus}, headers=t.auth())
    await _pending(api, t, 1)
    fake_llm.script(
        {"text": "Marcus bought this set yesterday, want it too?", "offer": None, "rationale": ""}
    )
    await api.post("/v1/events", json=msg("m-1", fan="of-jo"), headers=t.auth())
    await _pending(api, t, 2)
    fake_llm.script({"text": "my real name is Jessica Moreno 😘", "offer": None, "rationale": ""})
    await api.post("/v1/events", json=msg("m-2", fan="of-kim"), headers=t.auth())
    items = await _pending(api, t, 3)
    rules = {
        i["text"]: {f["rule"] for f in i["policy_report"]["findings"]}
        for i in items
        if i["status"] == "blocked"
    }
    assert rules == {
        "Marcus bought this set yesterday, want it too?": {"other_fan_data"},
        "my real name is Jessica Moreno 😘": {"creator_private_data"},
    }


async def test_audit_log_for_owners(api: httpx.AsyncClient) -> None:
    t, other = await make_tenant(), await make_tenant("other")
    body = (await api.get("/v1/policies", headers=t.auth())).json()
    body = {k: v for k, v in body.items() if k != "updated_at"}
    for _ in range(3):
        body = (await api.put("/v1/policies", json=body, headers=t.auth())).json()
        body = {k: v for k, v in body.items() if k != "updated_at"}
    for role in ("manager", "chatter", "viewer"):
        assert (await api.get("/v1/audit", headers=t.auth(role))).status_code == 403
    page = (await api.get("/v1/audit", params={"limit": 2}, headers=t.auth())).json()
    assert [e["subject"] for e in page["items"]] == ["policy:v4", "policy:v3"]
    assert page["items"][0]["prev_hash"] == page["items"][1]["hash"]
    rest = (await api.get("/v1/audit", params={"cursor": page["next_cursor"]}, headers=t.auth())).json()
    assert [e["subject"] for e in rest["items"]] == ["policy:v2"] and rest["next_cursor"] is None
    assert (await api.get("/v1/audit", headers=other.auth())).json()["items"] == []  # scoped
    check = (await api.get("/v1/audit/verify", headers=t.auth())).json()
    newest = page["items"][0]
    assert check == {
        "ok": True,
        "rows_checked": 3,
        "first_broken": None,
        "head": {"id": newest["id"], "hash": newest["hash"]},
    }
    anchored = {"anchor_id": newest["id"], "anchor_hash": newest["hash"]}
    assert (await api.get("/v1/audit/verify", params=anchored, headers=t.auth())).json()["ok"] is True
    wrong = (await api.get("/v1/audit/verify", params=anchored, headers=other.auth())).json()  # not its chain
    assert wrong["ok"] is False and wrong["first_broken"]["id"] == newest["id"] and wrong["head"] is None
    for params, field in (
        ({"anchor_id": newest["id"]}, "query.anchor_hash"),
        ({"anchor_hash": newest["hash"]}, "query.anchor_id"),
        ({**anchored, "anchor_hash": "XYZ"}, "query.anchor_hash"),
    ):
        r = await api.get("/v1/audit/verify", params=params, headers=t.auth())
        assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == field, r.text


async def test_members_and_keys(api: httpx.AsyncClient) -> None:
    t, other = await make_tenant(), await make_tenant("other")
    for role in ("manager", "chatter", "viewer"):
        assert (await api.get("/v1/keys", headers=t.auth(role))).status_code == 403
        # the member list is a manager's too (hand-offs are assigned from it), not a chatter's or a viewer's
        listed = await api.get("/v1/members", headers=t.auth(role))
        assert listed.status_code == (200 if role == "manager" else 403), listed.text
        if role == "manager":
            assert {m["id"] for m in listed.json()["items"]} == set(t.members.values())
        assert (
            await api.post("/v1/members", json={"email": "x@y.io", "role": "viewer"}, headers=t.auth(role))
        ).status_code == 403
    bad = await api.post("/v1/members", json={"email": "not-an-email", "role": "boss"}, headers=t.auth())
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["error"]["details"]["fields"]} == {"email", "role"}
    m = await api.post(
        "/v1/members", json={"email": "Agency@Example.com", "role": "chatter"}, headers=t.auth()
    )
    assert m.status_code == 201 and m.json()["email"] == "agency@example.com"
    again = await api.post(
        "/v1/members", json={"email": "agency@example.com", "role": "viewer"}, headers=t.auth()
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "member_exists"
    # The same person may also work for another creator: a separate member there.
    assert (
        await api.post(
            "/v1/members", json={"email": "agency@example.com", "role": "viewer"}, headers=other.auth()
        )
    ).status_code == 201
    new = await api.post("/v1/keys", json={"member_id": m.json()["id"], "name": "laptop"}, headers=t.auth())
    assert new.status_code == 201 and new.json()["role"] == "chatter" and new.json()["name"] == "laptop"
    key = new.json()["key"]
    listed = (await api.get("/v1/keys", headers=t.auth())).json()["items"]
    assert len(listed) == 5 and all("key" not in k for k in listed)  # four from the factory, the new one
    assert [k["name"] for k in listed].count("laptop") == 1
    unnamed = await api.post("/v1/keys", json={"member_id": m.json()["id"], "name": ""}, headers=t.auth())
    assert unnamed.status_code == 422 and unnamed.json()["error"]["details"]["fields"][0]["field"] == "name"
    assert key not in str(await fetch("SELECT * FROM api_keys", []))  # only its hash is stored
    as_new = {"Authorization": f"Bearer {key}"}
    assert (await api.get("/v1/inbox", headers=as_new)).status_code == 200
    assert (
        await api.post("/v1/keys", json={"member_id": m.json()["id"]}, headers=other.auth())
    ).status_code == 404
    assert (await api.delete(f"/v1/keys/{new.json()['id']}", headers=other.auth())).status_code == 404
    revoked = await api.delete(f"/v1/keys/{new.json()['id']}", headers=t.auth())
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert (await api.get("/v1/inbox", headers=as_new)).status_code == 401
    owner_key = next(k for k in listed if k["role"] == "owner")
    last = await api.delete(f"/v1/keys/{owner_key['id']}", headers=t.auth())
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_owner_key"
    actions = [e["action"] for e in (await api.get("/v1/audit", headers=t.auth())).json()["items"]]
    assert actions == ["key.revoked", "key.created", "member.added"]


async def test_an_age_signal_keeps_the_fan_handed_off_until_a_human_clears_it(
    api: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    """A message read as a possible minor is remembered with the fan: later, harmless messages still hand the fan
    off, and resuming needs a human to say the age was checked."""
    t = await make_tenant()
    await api.post(
        "/v1/events", json=msg("a-1", "je suis en troisième au collège", fan="f1"), headers=t.auth()
    )
    await wait_until("SELECT count(*) = 1 FROM events WHERE processed_at IS NOT NULL", [])
    [fan] = await fetch(
        "SELECT id::text AS id, handoff_reason, age_signal_text FROM fans WHERE platform_fan_id = 'f1'", []
    )
    assert fan["handoff_reason"] == "possible_minor" and "troisième" in fan["age_signal_text"]
    detail = (await api.get(f"/v1/fans/{fan['id']}", headers=t.auth("viewer"))).json()
    assert detail["age_signal_at"] is not None
    url = f"/v1/fans/{fan['id']}/resume"
    refused = await api.post(url, json={"reason": "looks fine"}, headers=t.auth("manager"))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "age_signal_not_cleared"
    # A later message that says nothing about age does not lift the hand-off: no draft is written.
    await api.post("/v1/events", json=msg("a-2", "hey how are you", fan="f1"), headers=t.auth())
    await wait_until("SELECT count(*) = 2 FROM events WHERE processed_at IS NOT NULL", [])
    assert await fetch("SELECT id FROM drafts", []) == []
    ok = await api.post(url, json={"reason": "ID checked: 19", "age_signal_cleared": True}, headers=t.auth())
    assert ok.status_code == 200
    assert (await fetch("SELECT age_signal_at FROM fans WHERE id = %s", [fan["id"]]))[0][
        "age_signal_at"
    ] is None
    audit = await fetch("SELECT details FROM audit_log WHERE action = 'fan.resumed'", [])
    assert audit[0]["details"]["age_signal_cleared"] is True
    await api.post("/v1/events", json=msg("a-3", "hi again!", fan="f1"), headers=t.auth())
    [draft] = await _pending(api, t)
    assert draft["fan"]["id"] == fan["id"]
