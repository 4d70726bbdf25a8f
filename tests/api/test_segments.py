"""Segments and fans over the API: refresh through the workflow, segment summary, fan list with keyset
pagination, one fan with explained scores, the supervisor re-scoring a fan on a purchase, and bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from devstack.seed import seed_business
from tests.factories import make_tenant
from tests.workflows.helpers import fetch, wait_until


@pytest.fixture
async def business(
    api: httpx.AsyncClient, database_url: str, temporal_env: WorkflowEnvironment
) -> dict[str, Any]:
    res = seed_business(database_url, fans=400, days=180, seed=21, handle="segapi")
    auth = {"Authorization": f"Bearer {res.api_key}"}
    before = await api.get("/v1/segments/top", headers=auth)
    assert before.status_code == 200 and before.json() == {"run": None, "segments": []}
    r = await api.post("/v1/segments/refresh", headers=auth)
    assert r.status_code == 202, r.text
    out = await temporal_env.client.get_workflow_handle(r.json()["workflow_id"]).result()
    assert out["fans"] == 400
    return {"auth": auth, "creator_id": res.creator_id}


async def test_segments_top_sums_up_the_fans(api: httpx.AsyncClient, business: dict[str, Any]) -> None:
    body = (await api.get("/v1/segments/top", params={"top": 3}, headers=business["auth"])).json()
    assert body["run"]["fans"] == 400 and body["run"]["model"]["bgnbd"]["r"] > 0
    segs = {s["segment"]: s for s in body["segments"]}
    assert sum(s["fans"] for s in segs.values()) == 400
    assert sum(s["revenue_share"] for s in segs.values()) == pytest.approx(1.0, abs=0.01)
    assert segs["whale"]["revenue_share"] > segs["whale"]["fans"] / 400  # whales punch above their weight
    for s in segs.values():
        ltvs = [f["ltv_cents"] or -1 for f in s["top_fans"]]
        assert len(ltvs) <= 3 and ltvs == sorted(ltvs, reverse=True)
    (action,) = await fetch("SELECT summary FROM agent_actions WHERE kind = 'segments_refreshed'", [])
    assert action["summary"].startswith("segmented 400 fans")


async def test_fan_list_pages_through_a_segment(api: httpx.AsyncClient, business: dict[str, Any]) -> None:
    auth = business["auth"]
    everyone = (await api.get("/v1/fans", params={"segment": "expired", "limit": 500}, headers=auth)).json()
    expected = [f["id"] for f in everyone["items"]]
    assert expected and everyone["next_cursor"] is None
    assert all(f["segment"] == "expired" for f in everyone["items"])
    ltv = [f["ltv_cents"] if f["ltv_cents"] is not None else -1 for f in everyone["items"]]
    assert ltv == sorted(ltv, reverse=True)
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"segment": "expired", "limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get("/v1/fans", params=params, headers=auth)).json()
        seen += [f["id"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    by_risk = (await api.get("/v1/fans", params={"sort": "p_alive", "limit": 50}, headers=auth)).json()[
        "items"
    ]
    p = [f["p_alive"] if f["p_alive"] is not None else 2 for f in by_risk]
    assert p == sorted(p)


async def test_one_fan_with_explained_scores(api: httpx.AsyncClient, business: dict[str, Any]) -> None:
    auth = business["auth"]
    [whale] = (await api.get("/v1/fans", params={"segment": "whale", "limit": 1}, headers=auth)).json()[
        "items"
    ]
    fan = (await api.get(f"/v1/fans/{whale['id']}", headers=auth)).json()
    s = fan["scores"]
    assert s["segment"] == "whale" and s["value_tier"] == "whale"
    assert 0 <= s["p_alive"] <= 1 and s["ltv_cents"] >= 0 and len(s["best_hours"]) == 3
    assert set(s["explanation"]) >= {"segment", "rfm", "p_alive", "ltv", "best_hours"}
    assert "top 2%" in s["explanation"]["segment"]
    assert fan["timezone"] in s["explanation"]["best_hours"]
    assert fan["recent_purchases"] and fan["memories"] == []


async def test_a_purchase_rescores_the_fan(api: httpx.AsyncClient, business: dict[str, Any]) -> None:
    auth = business["auth"]
    [fan] = (await api.get("/v1/fans", params={"segment": "never_spent", "limit": 1}, headers=auth)).json()[
        "items"
    ]
    r = await api.post(
        "/v1/events",
        json={
            "event_id": "tip-big",
            "kind": "tip",
            "amount_cents": 500000,
            "fan": {"platform_fan_id": fan["platform_fan_id"]},
        },
        headers=auth,
    )
    assert r.status_code == 202
    await wait_until(
        "SELECT discretionary_cents = 500000 FROM fan_scores WHERE fan_id = %s", [fan["id"]], timeout_s=60
    )
    after = (await api.get(f"/v1/fans/{fan['id']}", headers=auth)).json()["scores"]
    assert after["value_tier"] == "whale"
    # the supervisor delegated the re-score to the segmentation agent, which says so in the feed
    feed = (
        await api.get("/v1/actions", params={"kind": "delegated", "fan_id": fan["id"]}, headers=auth)
    ).json()
    [action] = feed["items"]
    assert action["details"]["agent"] == "segmentation" and action["details"]["event_ids"] == [r.json()["id"]]
    assert action["details"]["rescored"] is True and action["details"]["segment_before"] == "never_spent"
    assert action["details"]["segment"] == after["segment"] and action["details"]["reason"].startswith("tip")
    assert (await fetch("SELECT count(*) AS n FROM segmentation_runs", []))[0]["n"] == 1


async def test_bad_input_gets_machine_readable_errors(
    api: httpx.AsyncClient, business: dict[str, Any]
) -> None:
    auth = business["auth"]
    r = await api.get("/v1/fans", params={"segment": "vip"}, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"].endswith("segment")
    r = await api.get("/v1/fans", params={"cursor": "bm90LWpzb24"}, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "cursor"
    page = (await api.get("/v1/fans", params={"limit": 1}, headers=auth)).json()
    r = await api.get("/v1/fans", params={"cursor": page["next_cursor"], "sort": "name"}, headers=auth)
    assert r.status_code == 422  # a cursor belongs to its sort order
    r = await api.get("/v1/fans/00000000-0000-0000-0000-000000000000", headers=auth)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.get("/v1/segments/top", params={"top": 99}, headers=auth)
    assert r.status_code == 422


async def test_roles_and_tenancy(api: httpx.AsyncClient, business: dict[str, Any]) -> None:
    t = await make_tenant("other")
    assert (await api.post("/v1/segments/refresh", headers=t.auth("chatter"))).status_code == 403
    [fan] = (await api.get("/v1/fans", params={"limit": 1}, headers=business["auth"])).json()["items"]
    assert (await api.get(f"/v1/fans/{fan['id']}", headers=t.auth())).status_code == 404
    theirs = (await api.get("/v1/fans", headers=t.auth("viewer"))).json()["items"]
    assert sorted(f["id"] for f in theirs) == sorted(t.fans)  # only their own fans, unscored
    assert all(f["segment"] is None for f in theirs)
