"""The hand-off queue: a fan message with a safety cue opens a hand-off (one per freeze, a new one when a fan kept
frozen is handed off again); a manager assigns it, the assigned chatter resolves it, unfreezing the fan or
keeping it frozen, with the fan resume's rules; everything audited."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Tenant, make_tenant
from tests.workflows.helpers import fetch, wait_until


def _msg(event_id: str, text: str, fan: str = "kid") -> dict[str, Any]:
    return {"event_id": event_id, "kind": "message", "text": text, "fan": {"platform_fan_id": fan}}


async def _handed_off(api: httpx.AsyncClient, t: Tenant, event_id: str, text: str) -> None:
    r = await api.post("/v1/events", json=_msg(event_id, text), headers=t.auth())
    assert r.status_code == 202, r.text
    await wait_until(
        "SELECT count(*) = 1 FROM events e WHERE e.creator_id = %s AND e.platform_event_id = %s"
        " AND e.processed_at IS NOT NULL",
        [t.creator_id, event_id],
    )


async def test_a_handoff_is_assigned_resolved_kept_frozen_reopened_and_unfrozen(
    api: httpx.AsyncClient,
) -> None:
    t = await make_tenant(fans=0)
    await _handed_off(api, t, "m-1", "i'm 15 is that ok")
    page = (await api.get("/v1/handoffs", headers=t.auth("viewer"))).json()
    [h] = page["items"]
    assert (h["reason"], h["assignee"], h["resolved_at"], h["fan_frozen"]) == (
        "possible_minor",
        None,
        None,
        True,
    )
    assert page["next_cursor"] is None
    [inbox] = (await api.get("/v1/inbox/handoffs", headers=t.auth("viewer"))).json()["items"]
    assert inbox["handoff_id"] == h["id"] and inbox["fan_id"] == h["fan_id"]

    # a chatter neither assigns nor resolves what is not theirs
    chatter = t.members["chatter"]
    r = await api.post(
        f"/v1/handoffs/{h['id']}/assign", json={"member_id": chatter}, headers=t.auth("chatter")
    )
    assert r.status_code == 403
    r = await api.post(
        f"/v1/handoffs/{h['id']}/resolve", json={"reason": "x", "unfreeze": False}, headers=t.auth("chatter")
    )
    assert r.status_code == 403
    # a viewer cannot take one; the manager gives it to the chatter
    r = await api.post(
        f"/v1/handoffs/{h['id']}/assign", json={"member_id": t.members["viewer"]}, headers=t.auth("manager")
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "member_id"
    r = await api.post(
        f"/v1/handoffs/{h['id']}/assign", json={"member_id": chatter}, headers=t.auth("manager")
    )
    assert r.status_code == 200, r.text
    assert (r.json()["assignee"], r.json()["assignee_email"]) == (chatter, f"chatter@{'mia'}.example")
    mine = (await api.get("/v1/handoffs?assignee=me", headers=t.auth("chatter"))).json()["items"]
    assert [x["id"] for x in mine] == [h["id"]]
    assert (await api.get("/v1/handoffs?assignee=none", headers=t.auth())).json()["items"] == []

    # the chatter may not clear an age signal: that stays a manager's call
    r = await api.post(
        f"/v1/handoffs/{h['id']}/resolve",
        json={"reason": "checked", "unfreeze": True, "age_signal_cleared": True},
        headers=t.auth("chatter"),
    )
    assert r.status_code == 403
    # unfreezing without clearing the age signal is refused and changes nothing
    r = await api.post(
        f"/v1/handoffs/{h['id']}/resolve",
        json={"reason": "fine", "unfreeze": True},
        headers=t.auth("chatter"),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "age_signal_not_cleared"
    assert (await api.get(f"/v1/handoffs/{h['id']}", headers=t.auth())).json()["resolved_at"] is None
    # kept frozen: resolved, the fan still frozen
    r = await api.post(
        f"/v1/handoffs/{h['id']}/resolve",
        json={"reason": "answered by hand; stays frozen", "unfreeze": False},
        headers=t.auth("chatter"),
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["handoff"]["resolved_by"] == chatter and out["handoff"]["unfroze"] is False
    assert out["fan"]["handoff_reason"] == "possible_minor" and out["handoff"]["fan_frozen"] is True
    again = await api.post(
        f"/v1/handoffs/{h['id']}/resolve", json={"reason": "again", "unfreeze": False}, headers=t.auth()
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "handoff_resolved"
    assert (await api.get("/v1/handoffs", headers=t.auth())).json()["items"] == []
    assert (await api.get("/v1/inbox/handoffs", headers=t.auth())).json()["items"] == []

    # the fan writes again: still an age signal, so a new hand-off (the old one stays resolved)
    await _handed_off(api, t, "m-2", "hello?")
    [h2] = (await api.get("/v1/handoffs", headers=t.auth())).json()["items"]
    assert h2["id"] != h["id"] and h2["fan_id"] == h["fan_id"]
    every = (await api.get("/v1/handoffs?status=all&limit=1", headers=t.auth())).json()
    assert [x["id"] for x in every["items"]] == [h2["id"]] and every["next_cursor"]
    older = (
        await api.get(
            "/v1/handoffs", params={"status": "all", "cursor": every["next_cursor"]}, headers=t.auth()
        )
    ).json()
    assert [x["id"] for x in older["items"]] == [h["id"]] and older["next_cursor"] is None

    # the manager unfreezes with the age checked: the fan resumes as POST /v1/fans/{id}/resume would
    r = await api.post(
        f"/v1/handoffs/{h2['id']}/resolve",
        json={"reason": "ID checked: 24", "unfreeze": True, "age_signal_cleared": True},
        headers=t.auth("manager"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["handoff"]["unfroze"] is True and r.json()["handoff"]["fan_frozen"] is False
    [fan] = await fetch(
        "SELECT handoff_at, age_signal_at, opted_out_at FROM fans WHERE id = %s", [h["fan_id"]]
    )
    assert fan == {"handoff_at": None, "age_signal_at": None, "opted_out_at": None}
    audit = await fetch(
        "SELECT action, actor, details FROM audit_log WHERE creator_id = %s AND action IN"
        " ('handoff.assigned', 'handoff.resolved', 'fan.resumed') ORDER BY id",
        [t.creator_id],
    )
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("handoff.assigned", t.members["manager"]),
        ("handoff.resolved", chatter),
        ("handoff.resolved", t.members["manager"]),
        ("fan.resumed", t.members["manager"]),
    ]
    assert audit[0]["details"]["to"] == chatter and audit[2]["details"]["unfreeze"] is True
    verify = (await api.get("/v1/audit/verify", headers=t.auth())).json()
    assert verify["ok"] is True


async def test_resuming_a_fan_resolves_its_open_handoff(api: httpx.AsyncClient) -> None:
    t = await make_tenant(fans=0)
    await _handed_off(api, t, "m-1", "i'm 15 is that ok")
    [h] = (await api.get("/v1/handoffs", headers=t.auth())).json()["items"]
    r = await api.post(
        f"/v1/fans/{h['fan_id']}/resume",
        json={"reason": "checked", "age_signal_cleared": True},
        headers=t.auth("manager"),
    )
    assert r.status_code == 200
    done = (await api.get(f"/v1/handoffs/{h['id']}", headers=t.auth())).json()
    assert (done["resolution"], done["unfroze"], done["resolved_by"]) == (
        "checked",
        True,
        t.members["manager"],
    )
    r = await api.post(f"/v1/handoffs/{h['id']}/assign", json={"member_id": None}, headers=t.auth("manager"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "handoff_resolved"


async def test_bad_filters_and_ids_are_named(api: httpx.AsyncClient) -> None:
    t = await make_tenant(fans=0)
    r = await api.get("/v1/handoffs?status=closed", headers=t.auth())
    assert r.status_code == 422
    [field] = r.json()["error"]["details"]["fields"]
    assert field["field"] == "query.status" and field["allowed"] == ["open", "resolved", "all"]
    r = await api.get("/v1/handoffs?assignee=someone", headers=t.auth())
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "query.assignee"
    r = await api.get("/v1/handoffs?cursor=bm9wZQ", headers=t.auth())
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "cursor"
    r = await api.post(
        "/v1/handoffs/00000000-0000-0000-0000-000000000001/resolve",
        json={"reason": "", "unfreeze": True},
        headers=t.auth(),
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "reason"
