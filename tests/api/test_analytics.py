"""GET /v1/analytics/overview over HTTP: defaults, granularities and clear 422s."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from devstack.seed import seed_business
from tests.api.conftest import client_for


async def test_overview_defaults_and_bad_input(app: FastAPI, database_url: str) -> None:
    res = seed_business(database_url, fans=200, days=120, seed=8, handle="money")
    auth = {"Authorization": f"Bearer {res.api_key}"}
    api: httpx.AsyncClient
    async with client_for(app) as api:
        r = await api.get("/v1/analytics/overview", headers=auth)
        assert r.status_code == 200, r.text
        body = r.json()
        tz = ZoneInfo(body["period"]["timezone"])
        today = datetime.now(tz).date()
        assert body["period"] == {
            "from": (today - timedelta(days=29)).isoformat(),
            "to": today.isoformat(),
            "granularity": "day",
            "timezone": str(tz),
        }
        assert len(body["series"]) == 30 and body["today"]["date"] == today.isoformat()
        assert body["key_stats"]["revenue_cents"]["value"] == sum(p["revenue_cents"] for p in body["series"])
        assert set(body) >= {"by_source", "by_segment", "cohorts", "conversion", "anomalies"}

        months = await api.get(
            "/v1/analytics/overview",
            params={"from": (today - timedelta(days=89)).isoformat(), "granularity": "month"},
            headers=auth,
        )
        assert months.status_code == 200 and all(
            date.fromisoformat(p["period_start"]).day == 1 for p in months.json()["series"]
        )

        for params, field in (
            ({"from": "2026-05-10", "to": "2026-05-01"}, "query.from"),
            ({"from": "2024-01-01", "to": "2026-01-01"}, "query.from"),
            ({"granularity": "hour"}, "query.granularity"),
            ({"to": "yesterday"}, "query.to"),
        ):
            bad = await api.get("/v1/analytics/overview", params=params, headers=auth)
            assert bad.status_code == 422, (params, bad.text)
            assert bad.json()["error"]["details"]["fields"][0]["field"] == field, bad.text
        assert (await api.get("/v1/analytics/overview")).status_code == 401


async def test_gross_refunds_chargebacks_and_net(api: httpx.AsyncClient) -> None:
    from tests.factories import make_tenant

    t = await make_tenant()  # the creator's timezone is UTC
    today = datetime.now(ZoneInfo("UTC")).date()
    paid_day, back_day = today - timedelta(days=3), today - timedelta(days=2)

    def at(d: date) -> str:
        return f"{d.isoformat()}T12:00:00Z"

    for body in (
        {"event_id": "s", "kind": "subscription_started", "amount_cents": 999, "occurred_at": at(paid_day)},
        {"event_id": "p", "kind": "purchase", "amount_cents": 2000, "occurred_at": at(paid_day)},
        {"event_id": "t", "kind": "tip", "amount_cents": 700, "occurred_at": at(paid_day)},
        {
            "event_id": "u",
            "kind": "ppv_unlock",
            "amount_cents": 1500,
            "catalog_id": t.catalog[0],
            "occurred_at": at(paid_day),
        },
        {
            "event_id": "r",
            "kind": "refund",
            "original_event_id": "p",
            "amount_cents": 500,
            "occurred_at": at(back_day),
        },
        {"event_id": "c", "kind": "chargeback", "original_event_id": "t", "occurred_at": at(back_day)},
    ):
        r = await api.post("/v1/events", json={**body, "fan": {"platform_fan_id": "f"}}, headers=t.auth())
        assert r.status_code == 202, r.text
    r = await api.get(
        "/v1/analytics/overview", params={"from": (today - timedelta(days=5)).isoformat()}, headers=t.auth()
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["money"] == {
        "gross_cents": 5199,
        "refunds_cents": 500,
        "chargebacks_cents": 700,
        "net_cents": 3999,
    }
    points = {p["period_start"]: p for p in body["series"]}
    paid, back = points[paid_day.isoformat()], points[back_day.isoformat()]
    assert (paid["gross_cents"], paid["revenue_cents"], paid["net_cents"]) == (5199, 5199, 5199)
    assert paid["by_source"] == {"subscription": 999, "renewal": 0, "ppv": 2000, "tip": 700, "unlock": 1500}
    assert (back["gross_cents"], back["refunds_cents"], back["chargebacks_cents"], back["net_cents"]) == (
        0,
        500,
        700,
        -1200,
    )
    assert sum(p["net_cents"] for p in body["series"]) == 3999
    ks = body["key_stats"]
    assert ks["revenue_cents"]["value"] == 5199 and ks["net_cents"]["value"] == 3999
    assert ks["refunds_cents"]["value"] == 500 and ks["chargebacks_cents"]["value"] == 700
    assert body["today"]["net_cents"] == body["today"]["gross_cents"] == 0
    # A period that holds only the money going back: net is negative there.
    r = await api.get(
        "/v1/analytics/overview",
        params={"from": back_day.isoformat(), "to": back_day.isoformat()},
        headers=t.auth(),
    )
    assert r.json()["money"] == {
        "gross_cents": 0,
        "refunds_cents": 500,
        "chargebacks_cents": 700,
        "net_cents": -1200,
    }
