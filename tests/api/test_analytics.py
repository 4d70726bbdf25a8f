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
