"""Analytics over stored times no API accepts today (rows written before the timestamp bound, or by SQL), and
analytics days outside the bound asked for: the overview answers, the bad day is a 422 naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from agents.analytics.overview import Period, _compute_cohorts, overview, recent_anomalies
from core import db
from devstack.seed import seed_business
from tests.api.conftest import client_for


def _poison(url: str, creator_id: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        fan = conn.execute("SELECT id FROM fans WHERE creator_id = %s LIMIT 1", [creator_id]).fetchone()
        assert fan is not None
        for i, at in enumerate(("0001-01-01 00:00:00+00", "9999-12-31 00:00:00+00", "-infinity", "infinity")):
            conn.execute(
                "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, platform_txn_id, occurred_at)"
                " VALUES (%s, %s, 'subscription', 500, %s, %s)",
                [creator_id, fan[0], f"poison-{i}", at],
            )
            conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, %s, 'x', %s)",
                [creator_id, fan[0], "in" if i % 2 else "out", at],
            )
        conn.execute(
            "UPDATE fans SET subscription_status = 'expired', expires_at = '-infinity', subscribed_at = '0001-01-01'"
            " WHERE id = %s",
            [fan[0]],
        )


async def test_the_overview_answers_over_poisoned_rows(app: FastAPI, database_url: str) -> None:
    res = seed_business(database_url, fans=60, days=90, seed=8, handle="poisoned-money")
    tz = ZoneInfo("UTC")
    last = datetime.now(UTC).date().replace(day=1)
    async with db.pool().connection() as conn:
        clean = await _compute_cohorts(conn, res.creator_id, last, tz)
    _poison(database_url, res.creator_id)
    async with db.pool().connection() as conn:
        # a year-1 or -infinity first subscription does not take its fan out of the cohort it joined
        assert await _compute_cohorts(conn, res.creator_id, last, tz) == clean and clean
    auth = {"Authorization": f"Bearer {res.api_key}"}
    async with client_for(app) as api:
        for params in (
            {},
            {"from": "2000-01-01", "to": "2000-12-31", "granularity": "week"},
            {"from": (date.today() - timedelta(days=400)).isoformat(), "granularity": "month"},
        ):
            r = await api.get("/v1/analytics/overview", params=params, headers=auth)
            assert r.status_code == 200, (params, r.text)
    # the first cohort months and the year 2000 hold none of the poisoned rows
    first = await overview(res.creator_id, Period(date(2000, 1, 1), date(2000, 3, 31)), "month")
    assert first["key_stats"]["revenue_cents"]["value"] == 0 and first["cohorts"] == []
    async with db.pool().connection() as conn:
        assert isinstance(await recent_anomalies(conn, res.creator_id, datetime.now(UTC).date()), list)


async def test_analytics_days_outside_the_window_are_refused(app: FastAPI, database_url: str) -> None:
    res = seed_business(database_url, fans=5, days=10, seed=8, handle="old-days")
    auth = {"Authorization": f"Bearer {res.api_key}"}
    api: httpx.AsyncClient
    async with client_for(app) as api:
        for params, field in (
            ({"from": "0001-01-05", "to": "0001-01-10"}, "query.from"),
            ({"from": "1999-12-31", "to": "2000-01-10"}, "query.from"),
            ({"to": "9999-12-31"}, "query.to"),
            ({"to": (date.today() + timedelta(days=3)).isoformat()}, "query.to"),
        ):
            r = await api.get("/v1/analytics/overview", params=params, headers=auth)
            assert r.status_code == 422, (params, r.text)
            fields = r.json()["error"]["details"]["fields"]
            assert fields[0]["field"] == field and "2000-01-01" in fields[0]["message"], fields
        # the edge of the window is fine, even when `from` defaults to 29 days before it
        for params in ({"to": "2000-01-01"}, {"from": "2000-01-01", "to": "2000-01-01"}):
            r = await api.get("/v1/analytics/overview", params=params, headers=auth)
            assert r.status_code == 200, (params, r.text)
    with pytest.raises(ValueError, match="outside"):
        await overview(res.creator_id, Period(date(1, 1, 5), date(1, 1, 10)), "day")
