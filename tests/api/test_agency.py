"""Agencies: one agency key of a member with roles on two creators lists both (GET /v1/creators), reads one inbox
across them and decides each creator's drafts with X-Creator-Id under the role it holds there; a third creator
answers 404, as an unknown one does; other keys are unchanged (their own creator only)."""

from __future__ import annotations

import httpx

from tests.factories import Tenant, make_agency_key, make_tenant
from tests.workflows.helpers import fetch, wait_until


async def _pending_drafts(t: Tenant, n: int, tag: str) -> list[str]:
    ids = []
    for i in range(n):
        [row] = await fetch(
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, policy_report,"
            " expires_at) VALUES (%s, %s, %s, %s, 'pending_review', %s, '{}', now() + interval '1 day')"
            " RETURNING id::text AS id",
            [t.creator_id, t.fans[0], f"{tag}-{i}", f"wf-{tag}", f"{tag} text {i}"],
        )
        ids.append(row["id"])
    return ids


def _as(key: str, creator_id: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} | ({"X-Creator-Id": creator_id} if creator_id else {})


async def test_an_agency_member_sees_both_creators_one_inbox_and_decides_per_creator(
    api: httpx.AsyncClient,
) -> None:
    a, c, x = await make_tenant("ag-a"), await make_tenant("ag-c"), await make_tenant("ag-x")
    key = await make_agency_key(a, "manager", {c.creator_id: "viewer"})
    r = await api.post(  # a draft of A's, written by the conversation workflow
        "/v1/events",
        json={"event_id": "a-1", "kind": "message", "text": "hi", "fan": {"platform_fan_id": "a-fan"}},
        headers=a.auth(),
    )
    assert r.status_code == 202, r.text
    await wait_until("SELECT count(*) = 1 FROM drafts WHERE creator_id = %s", [a.creator_id])
    [a_draft] = await fetch("SELECT id::text AS id FROM drafts WHERE creator_id = %s", [a.creator_id])
    c_drafts = await _pending_drafts(c, 2, "c")
    x_drafts = await _pending_drafts(x, 1, "x")
    await fetch(
        "INSERT INTO handoffs (creator_id, fan_id, reason) VALUES (%s, %s, 'chargeback') RETURNING id",
        [c.creator_id, c.fans[1]],
    )

    listed = await api.get("/v1/creators", headers=_as(key))
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == [
        {
            "id": a.creator_id,
            "handle": "ag-a",
            "display_name": "Ag-A",
            "role": "manager",
            "pending_drafts": 1,
            "open_handoffs": 0,
        },
        {
            "id": c.creator_id,
            "handle": "ag-c",
            "display_name": "Ag-C",
            "role": "viewer",
            "pending_drafts": 2,
            "open_handoffs": 1,
        },
    ]
    # the combined inbox, in keyset pages, each item naming its creator; nothing of X's
    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(3):
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/agency/inbox", params=params, headers=_as(key))).json()
        seen += [(i["creator"]["id"], i["id"]) for i in page["items"]]
        assert all(i["fan"]["id"] and i["creator"]["handle"] in ("ag-a", "ag-c") for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([(a.creator_id, a_draft["id"])] + [(c.creator_id, d) for d in c_drafts])
    assert not any(d in str(seen) for d in x_drafts)

    # without X-Creator-Id a key of two creators is asked to name one; the answer names none
    r = await api.get("/v1/inbox", headers=_as(key))
    assert r.status_code == 400 and r.json()["error"]["code"] == "creator_required"
    assert a.creator_id not in r.text and c.creator_id not in r.text
    assert r.json()["error"]["details"]["header"] == "X-Creator-Id"
    r = await api.get("/v1/inbox", headers=_as(key, c.creator_id))
    assert sorted(i["id"] for i in r.json()["items"]) == sorted(c_drafts)
    # decisions go through each creator's endpoints, with the role held there
    r = await api.post(
        f"/v1/drafts/{c_drafts[0]}/approve", json={"version": 1}, headers=_as(key, a.creator_id)
    )
    assert r.status_code == 404  # C's draft, asked as A's manager
    r = await api.post(
        f"/v1/drafts/{c_drafts[0]}/approve", json={"version": 1}, headers=_as(key, c.creator_id)
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await api.post(
        f"/v1/drafts/{a_draft['id']}/approve", json={"version": 1}, headers=_as(key, a.creator_id)
    )
    assert r.status_code == 200 and r.json()["status"] in ("approved", "sent"), r.text
    [audit] = await fetch(
        "SELECT actor FROM audit_log WHERE creator_id = %s AND action = 'draft.approved'", [a.creator_id]
    )
    assert audit["actor"] == a.members["manager"]  # A's member row: the decision is A's member's

    # a creator the key has no role on, named or unknown: 404, the same answer
    for creator in (x.creator_id, "00000000-0000-0000-0000-000000000000"):
        for path in ("/v1/inbox", "/v1/creators", "/v1/agency/inbox", "/v1/creator"):
            r = await api.get(path, headers=_as(key, creator))
            assert (r.status_code, r.json()["error"]) == (
                404,
                {"code": "not_found", "message": "no such creator", "details": None},
            ), (path, r.text)
    r = await api.get("/v1/inbox", headers=_as(key, "not-a-uuid"))
    assert r.status_code == 422
    assert r.json()["error"]["details"]["fields"][0]["field"] == "X-Creator-Id"

    # C's owner changes the member's role there: seen at once, and the agency key's step-up is gone
    [c_row] = await fetch(
        "SELECT id::text AS id FROM members WHERE creator_id = %s AND identity_id = %s",
        [c.creator_id, a.members["manager"]],
    )
    r = await api.patch(f"/v1/members/{c_row['id']}", json={"role": "chatter"}, headers=c.auth())
    assert r.status_code == 200, r.text
    roles = {i["id"]: i["role"] for i in (await api.get("/v1/creators", headers=_as(key))).json()["items"]}
    assert roles == {a.creator_id: "manager", c.creator_id: "chatter"}
    [k] = await fetch(
        "SELECT step_up_until FROM api_keys WHERE agency AND member_id = %s", [a.members["manager"]]
    )
    assert k["step_up_until"] is None

    # C's owner sees the granted role and takes it back: the agency key no longer acts for C
    listed = (await api.get("/v1/members", headers=c.auth())).json()["items"]
    assert [m["id"] for m in listed if m["granted"]] == [c_row["id"]]
    path = f"/v1/members/{c_row['id']}/agency"
    assert (await api.delete(path, headers=c.auth("manager"))).status_code == 403
    r = await api.delete(path, headers=c.auth())
    assert r.status_code == 200 and (r.json()["granted"], r.json()["role"]) == (False, "chatter"), r.text
    r = await api.get("/v1/inbox", headers=_as(key, c.creator_id))
    assert r.status_code == 404 and r.json()["error"]["message"] == "no such creator"
    assert [i["id"] for i in (await api.get("/v1/creators", headers=_as(key))).json()["items"]] == [
        a.creator_id
    ]
    r = await api.delete(path, headers=c.auth())
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_granted"
    [audit] = await fetch(
        "SELECT actor, details FROM audit_log WHERE creator_id = %s AND action = 'member.grant_revoked'",
        [c.creator_id],
    )
    assert audit == {
        "actor": c.members["owner"],
        "details": {"email": "manager@ag-a.example", "role": "chatter"},
    }


async def test_other_keys_act_for_their_own_creator_only(api: httpx.AsyncClient) -> None:
    a, c = await make_tenant("own-a"), await make_tenant("own-c")
    await make_agency_key(a, "chatter", {c.creator_id: "manager"})
    # A's chatter row holds a role on C now, but only the agency key reaches C: their plain key is A's alone
    r = await api.get("/v1/creators", headers=a.auth("chatter"))
    assert [(i["id"], i["role"]) for i in r.json()["items"]] == [(a.creator_id, "chatter")]
    assert (
        await api.get("/v1/inbox", headers=a.auth("chatter") | {"X-Creator-Id": a.creator_id})
    ).status_code == 200
    r = await api.get("/v1/inbox", headers=a.auth("chatter") | {"X-Creator-Id": c.creator_id})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # a key C's owner makes for the granted row is C's key, for C only
    [c_row] = await fetch(
        "SELECT id::text AS id FROM members WHERE creator_id = %s AND identity_id IS NOT NULL", [c.creator_id]
    )
    made = await api.post("/v1/keys", json={"member_id": c_row["id"]}, headers=c.auth())
    assert made.status_code == 201 and made.json()["agency"] is False
    r = await api.get("/v1/creators", headers=_as(made.json()["key"]))
    assert [i["id"] for i in r.json()["items"]] == [c.creator_id]
    r = await api.get("/v1/inbox", headers=_as(made.json()["key"], a.creator_id))
    assert r.status_code == 404
    # an agency key of one creator needs no header
    solo = await make_agency_key(a, "viewer", {})
    assert (await api.get("/v1/inbox", headers=_as(solo))).status_code == 200
