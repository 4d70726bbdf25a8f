"""GET /v1/conversations: each fan with recent activity in the state a human acts on, with its last message,
value and assignee, in the order asked and in keyset pages that add up to the whole list."""

from __future__ import annotations

from typing import Any

import httpx

from core import db
from tests.factories import Tenant, make_tenant


async def _business() -> Tenant:
    """Six fans: waiting on the fan, needing a reply, a pending draft, handed off (assigned to the chatter), opted
    out 40 days ago, and one who never wrote."""
    t = await make_tenant("conv", fans=6)
    f = t.fans
    messages = [
        (f[0], "in", "2 hours"),
        (f[0], "out", "1 hour"),
        (f[1], "out", "3 hours"),
        (f[1], "in", "2 hours"),
        (f[1], "in", "1 hour"),
        (f[2], "in", "5 hours"),
        (f[3], "in", "1 hour"),
        (f[4], "in", "40 days"),
    ]
    async with db.pool().connection() as conn, conn.transaction():
        for fan, direction, ago in messages:
            await conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at)"
                " VALUES (%s, %s, %s, %s, now() - %s::interval)",
                [t.creator_id, fan, direction, f"{direction} {ago}", ago],
            )
        await conn.execute(
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, policy_report, expires_at)"
            " VALUES (%s, %s, 'k', 'w', 'pending_review', 'hi', '{}', now() + interval '1 day')",
            [t.creator_id, f[2]],
        )
        await conn.execute(
            "UPDATE fans SET handoff_at = now(), handoff_reason = 'self_harm' WHERE id = %s", [f[3]]
        )
        await conn.execute(
            "INSERT INTO handoffs (creator_id, fan_id, reason, assignee, assigned_at)"
            " VALUES (%s, %s, 'self_harm', %s, now())",
            [t.creator_id, f[3], t.members["chatter"]],
        )
        await conn.execute("UPDATE fans SET opted_out_at = now() WHERE id = %s", [f[4]])
        for fan, cents in ((f[1], 5000), (f[2], 1000)):
            await conn.execute(
                "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, occurred_at)"
                " VALUES (%s, %s, 'tip', %s, now())",
                [t.creator_id, fan, cents],
            )
    return t


async def _all(api: httpx.AsyncClient, t: Tenant, **params: Any) -> list[dict[str, Any]]:
    r = await api.get("/v1/conversations", params=params, headers=t.auth("viewer"))
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _paged(api: httpx.AsyncClient, t: Tenant, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):
        q = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        r = await api.get("/v1/conversations", params=q, headers=t.auth("chatter"))
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pages never ended")


async def test_states_order_filters_and_pages(api: httpx.AsyncClient) -> None:
    t = await _business()
    f = t.fans
    waiting = await _all(api, t)
    assert [(c["fan_id"], c["state"]) for c in waiting] == [
        (f[2], "draft_pending"),
        (f[1], "needs_reply"),
        (f[3], "handed_off"),
        (f[0], "waiting_on_fan"),
    ]
    by_fan = {c["fan_id"]: c for c in waiting}
    needs = by_fan[f[1]]
    assert needs["last_message"]["direction"] == "in" and needs["last_message"]["text"] == "in 1 hour"
    # waiting since the fan's first message after the creator's side last wrote
    assert needs["waiting_since"] < needs["last_message"]["sent_at"]
    assert needs["value"] == {"spend_cents": 5000, "ltv_cents": None, "segment": None}
    assert by_fan[f[0]]["waiting_since"] is None
    assert by_fan[f[2]]["draft_id"] is not None and by_fan[f[3]]["handoff_id"] is not None
    assert by_fan[f[3]]["assignee"] == t.members["chatter"]

    value = await _all(api, t, sort="value")
    assert [c["fan_id"] for c in value[:2]] == [f[1], f[2]]
    recent = await _all(api, t, sort="recent")
    # the draft and the hand-off were made now (one transaction: the same time), then the latest messages
    assert {c["fan_id"] for c in recent[:2]} == {f[2], f[3]} and recent[2]["fan_id"] in (f[0], f[1])
    for sort, whole in (("waiting", waiting), ("value", value), ("recent", recent)):
        assert [c["fan_id"] for c in await _paged(api, t, sort=sort)] == [c["fan_id"] for c in whole], sort

    assert [c["fan_id"] for c in await _all(api, t, state="needs_reply")] == [f[1]]
    older = await _all(api, t, within_days=60, state="opted_out")
    assert [c["fan_id"] for c in older] == [f[4]]
    mine = (await api.get("/v1/conversations?assignee=me", headers=t.auth("chatter"))).json()["items"]
    assert [c["fan_id"] for c in mine] == [f[3]]
    assert len(await _all(api, t, assignee="none")) == 3
    assert await _all(api, t, assignee=t.members["manager"]) == []
    other = await make_tenant("other", fans=1)
    assert await _all(api, other) == []


async def test_bad_parameters_are_named(api: httpx.AsyncClient) -> None:
    t = await make_tenant("convbad", fans=0)
    for param, value, allowed in (
        ("state", "closed", ["handed_off", "opted_out", "draft_pending", "needs_reply", "waiting_on_fan"]),
        ("sort", "ltv", ["waiting", "value", "recent"]),
    ):
        r = await api.get("/v1/conversations", params={param: value}, headers=t.auth())
        assert r.status_code == 422, r.text
        [field] = r.json()["error"]["details"]["fields"]
        assert field["field"] == f"query.{param}" and sorted(field["allowed"]) == sorted(allowed)
    r = await api.get("/v1/conversations", params={"assignee": "bob"}, headers=t.auth())
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "query.assignee"
    for cursor in (
        "nope",
        "WzEsICJ4IiwgInZhbHVlIl0=",
    ):  # garbage; a cursor of the value sort used for waiting
        r = await api.get("/v1/conversations", params={"cursor": cursor}, headers=t.auth())
        assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "cursor"
    r = await api.get("/v1/conversations", params={"within_days": 0}, headers=t.auth())
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "query.within_days"
