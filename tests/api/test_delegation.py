"""The supervisor delegates a fan's events to the agents that own the work, and each delegation is an action in
GET /v1/actions (actor: the agent): an expiry to the segmentation and follow-up agents (a win-back starts), a
reply to the follow-up agent (the win-back stops) and the DM agent (a draft waits for a human), once per batch
however often a step is retried; a creator's first paying events start its first whole refresh, once. The re-score
after a purchase is in tests/api/test_segments.py."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from agents.supervisor import FollowupRequest, ScoringRequest, rescore
from core import db
from tests.factories import add_event, make_tenant
from tests.workflows.helpers import fetch, wait_until
from workflows.followup_activities import apply_followups


async def _delegated(api: httpx.AsyncClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    page = (await api.get("/v1/actions", params={"kind": "delegated"}, headers=auth)).json()
    return list(page["items"])


async def test_an_expiry_and_a_reply_are_delegated_and_shown_as_actions(api: httpx.AsyncClient) -> None:
    t, other = await make_tenant("dlg"), await make_tenant("dlg-other")
    fan = {"platform_fan_id": "dlg-fan-0"}
    r = await api.post(
        "/v1/events", json={"event_id": "x-1", "kind": "subscription_expired", "fan": fan}, headers=t.auth()
    )
    assert r.status_code == 202, r.text
    expiry = r.json()["id"]
    await wait_until(
        "SELECT count(*) = 2 FROM agent_actions WHERE creator_id = %s AND kind = 'delegated'", [t.creator_id]
    )
    [fu] = await fetch("SELECT kind, status FROM followups WHERE creator_id = %s", [t.creator_id])
    assert fu == {"kind": "win_back", "status": "active"}
    followup, segmentation = await _delegated(api, t.auth("viewer"))  # newest first: scores came first
    assert followup["fan_id"] == t.fans[0] and followup["fan_name"] == "Fan 0"
    assert followup["details"]["agent"] == "followup" and followup["details"]["event_ids"] == [expiry]
    assert followup["details"]["started"] == ["win_back"] and followup["details"]["stopped"] == []
    assert followup["summary"] == "followup agent: started win-back"
    assert segmentation["details"]["agent"] == "segmentation"
    assert segmentation["details"]["event_ids"] == [expiry]
    assert "subscription expired" in segmentation["details"]["reason"]
    # no segmentation run yet for this creator: its first whole refresh started, then the fan was re-scored
    assert segmentation["details"]["refresh_started"] == f"segments-{t.creator_id}"
    assert segmentation["details"]["rescored"] is True and segmentation["details"]["segment"] == "expired"
    assert await _delegated(api, other.auth()) == []

    r = await api.post(
        "/v1/events",
        json={"event_id": "m-1", "kind": "message", "text": "hey, i'm back! what's new?", "fan": fan},
        headers=t.auth(),
    )
    assert r.status_code == 202, r.text
    reply = r.json()["id"]
    # the DM agent drafted as before: a draft waits for a human, nothing was sent
    await wait_until(
        "SELECT count(*) = 1 FROM drafts WHERE creator_id = %s AND status IN ('pending_review', 'blocked')",
        [t.creator_id],
    )
    assert (await fetch("SELECT count(*) AS n FROM outbox WHERE creator_id = %s", [t.creator_id])) == [
        {"n": 0}
    ]
    [fu] = await fetch("SELECT status, stop_reason FROM followups WHERE creator_id = %s", [t.creator_id])
    assert fu == {"status": "cancelled", "stop_reason": "the fan replied"}
    # who did what: the supervisor routed, each agent did its part
    feed = (await api.get("/v1/actions", params={"fan_id": t.fans[0]}, headers=t.auth())).json()["items"]
    graph_kinds = ("delegated", "routed", "drafted", "blocked")
    who = [(a["details"].get("agent"), a["kind"]) for a in reversed(feed) if a["kind"] in graph_kinds]
    assert who[:-1] == [
        ("segmentation", "delegated"),
        ("followup", "delegated"),
        ("supervisor", "routed"),
        ("followup", "delegated"),
        ("supervisor", "routed"),
    ], who
    assert who[-1] in (("dm", "drafted"), ("dm", "blocked")), who
    stopped = (await _delegated(api, t.auth()))[0]
    assert stopped["details"]["agent"] == "followup" and stopped["details"]["event_ids"] == [reply]
    assert (
        stopped["details"]["stopped"] == ["win_back"]
        and stopped["summary"] == "followup agent: stopped win-back"
    )


async def test_a_message_with_nothing_running_is_only_the_dm_agents(api: httpx.AsyncClient) -> None:
    t = await make_tenant("dlg-msg")
    r = await api.post(
        "/v1/events",
        json={
            "event_id": "m-1",
            "kind": "message",
            "text": "hi! how are you?",
            "fan": {"platform_fan_id": "dlg-msg-fan-0"},
        },
        headers=t.auth(),
    )
    assert r.status_code == 202, r.text
    await wait_until("SELECT count(*) = 1 FROM drafts WHERE creator_id = %s", [t.creator_id])
    assert await _delegated(api, t.auth()) == []


async def test_a_retried_delegation_changes_nothing_twice(
    api: httpx.AsyncClient, temporal_env: WorkflowEnvironment
) -> None:
    """The delegated steps run as local activities, retried after a crash: the second run finds the sequence
    started and the action recorded (both keyed by the batch)."""
    t = await make_tenant("dlg-retry")
    fan = t.fans[0]
    eid = await add_event(t, fan, "subscription_expired", "x-1")
    scoring = ScoringRequest(t.creator_id, fan, [eid], ["subscription_expired"])
    sequencing = FollowupRequest(t.creator_id, fan, [eid], ["win_back"], {"welcome": "the fan left"})
    first = await rescore(scoring), await apply_followups(temporal_env.client, sequencing)
    again = await rescore(scoring), await apply_followups(temporal_env.client, sequencing)
    assert first[1].started == ["win_back"] and again[1].started == ["win_back"]  # the same workflow id
    assert first[0] == again[0]
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT details ->> 'agent' AS agent, count(*) AS n FROM agent_actions"
            " WHERE creator_id = %s AND kind = 'delegated' GROUP BY 1 ORDER BY 1",
            [t.creator_id],
        )
        assert await cur.fetchall() == [{"agent": "followup", "n": 1}, {"agent": "segmentation", "n": 1}]
    assert await fetch("SELECT count(*) AS n FROM followups WHERE creator_id = %s", [t.creator_id]) == [
        {"n": 1}
    ]


async def test_a_new_creators_first_paying_events_start_one_whole_refresh(api: httpx.AsyncClient) -> None:
    """A creator from nothing (created, a catalog, no import, no refresh): two fans subscribe at once, then one buys.
    The first events start the creator's first whole refresh (one, however many fans arrive together), said in the
    feed; both fans get scores and a segment, and the purchase is re-scored with that run, starting nothing."""
    t = await make_tenant("dlg-first", fans=0)

    async def event(eid: str, kind: str, fan: str, **more: Any) -> int:
        body = {"event_id": eid, "kind": kind, "fan": {"platform_fan_id": fan}, **more}
        r = await api.post("/v1/events", json=body, headers=t.auth())
        assert r.status_code == 202, r.text
        return int(r.json()["id"])

    await asyncio.gather(
        event("s-1", "subscription_started", "first-a", amount_cents=999),
        event("s-2", "subscription_started", "first-b", amount_cents=999),
    )
    await wait_until(
        "SELECT count(*) = 2 FROM agent_actions WHERE creator_id = %s AND kind = 'delegated'"
        " AND details ->> 'agent' = 'segmentation'",
        [t.creator_id],
    )
    scored = await fetch(
        "SELECT f.platform_fan_id AS fan, s.segment FROM fan_scores s JOIN fans f ON f.id = s.fan_id"
        " WHERE s.creator_id = %s ORDER BY 1",
        [t.creator_id],
    )
    assert scored == [{"fan": "first-a", "segment": "new"}, {"fan": "first-b", "segment": "new"}]
    subscribed = [a for a in await _delegated(api, t.auth()) if a["details"]["agent"] == "segmentation"]
    assert {a["details"]["refresh_started"] for a in subscribed} <= {f"segments-{t.creator_id}", None}
    assert all(a["details"]["rescored"] and a["details"]["segment"] == "new" for a in subscribed)
    assert any("first whole refresh" in a["summary"] for a in subscribed)

    bought = await event("p-1", "purchase", "first-a", amount_cents=2500)
    await wait_until(
        "SELECT discretionary_cents = 2500 FROM fans f JOIN fan_scores s ON s.fan_id = f.id"
        " WHERE f.platform_fan_id = 'first-a' AND f.creator_id = %s",
        [t.creator_id],
    )
    [last] = [
        a
        for a in await _delegated(api, t.auth())
        if a["details"]["event_ids"] == [bought] and a["details"]["agent"] == "segmentation"
    ]
    assert last["details"]["rescored"] is True and last["details"]["refresh_started"] is None
    assert last["summary"].startswith("segmentation agent: re-scored the fan")
    # one run, one refresh in the feed (it read one or both fans: the other joined it, then was re-scored)
    refreshed = (await api.get("/v1/actions", params={"kind": "segments_refreshed"}, headers=t.auth())).json()
    assert [a["summary"] for a in refreshed["items"]] in (
        ["segmented 1 fans: 1 new"],
        ["segmented 2 fans: 2 new"],
    )
    assert await fetch(
        "SELECT count(*) AS n FROM segmentation_runs WHERE creator_id = %s", [t.creator_id]
    ) == [{"n": 1}]
