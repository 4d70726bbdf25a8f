"""GET /v1/analytics/overview through its response model: the JSON is the one the overview computes (same keys
and value types), and /openapi.json describes it."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder

from agents.analytics.overview import Period, overview
from devstack.seed import seed_business
from tests.api.conftest import client_for

UNTIL = date(2026, 6, 1)


def _same(got: Any, want: Any, path: str = "$") -> None:
    """Equal with the same JSON types (1 is not 1.0), else fail naming the path. Key order is not compared: a
    cohort read back from its jsonb cache came with jsonb's key order, the model writes one order always."""
    assert type(got) is type(want), (
        f"{path}: {got!r} ({type(got).__name__}) != {want!r} ({type(want).__name__})"
    )
    if isinstance(want, dict):
        assert sorted(got) == sorted(want), f"{path}: keys {sorted(got)} != {sorted(want)}"
        for k in want:
            _same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), f"{path}: {len(got)} items != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


async def test_the_response_model_keeps_the_json(app: FastAPI, database_url: str) -> None:
    res = seed_business(database_url, fans=600, days=180, seed=5, until=UNTIL, handle="overview-wire")
    with psycopg.connect(database_url) as conn:
        # a day without any sale, so the answer has an anomaly to describe
        tz = conn.execute("SELECT timezone FROM creators WHERE id = %s", [res.creator_id]).fetchone()
        assert tz is not None
        drop = datetime.combine(date(2026, 5, 20), time(), ZoneInfo(tz[0]))
        conn.execute(
            "DELETE FROM transactions WHERE creator_id = %s AND occurred_at >= %s AND occurred_at < %s",
            [res.creator_id, drop, drop + timedelta(days=1)],
        )
    auth = {"Authorization": f"Bearer {res.api_key}"}
    api: httpx.AsyncClient
    async with client_for(app) as api:
        for params in (
            {"from": "2026-05-03", "to": UNTIL.isoformat()},
            {"from": "2026-01-01", "to": UNTIL.isoformat(), "granularity": "month"},
        ):
            r = await api.get("/v1/analytics/overview", params=params, headers=auth)
            assert r.status_code == 200, r.text
            got = r.json()
            today = datetime.now(ZoneInfo(got["period"]["timezone"])).date()
            raw = await overview(
                res.creator_id,
                Period(date.fromisoformat(params["from"]), date.fromisoformat(params["to"])),
                params.get("granularity", "day"),  # type: ignore[arg-type]
                today=today,
            )
            # what FastAPI sent for the bare dict before the endpoint had a response model
            want = json.loads(json.dumps(jsonable_encoder(raw)))
            assert want["anomalies"] and want["cohorts"] and want["series"], want
            _same(got, want)


async def test_openapi_describes_the_overview(app: FastAPI) -> None:
    async with client_for(app) as api:
        spec = (await api.get("/openapi.json")).json()
    ok = spec["paths"]["/v1/analytics/overview"]["get"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"]
    schemas = spec["components"]["schemas"]

    def props(schema: str | dict[str, Any]) -> dict[str, Any]:
        """The properties of the model a schema names (a $ref, or one wrapped in allOf)."""
        if isinstance(schema, dict):
            schema = str(schema["$ref"] if "$ref" in schema else schema["allOf"][0]["$ref"])
        return dict(schemas[schema.rsplit("/", 1)[-1]]["properties"])

    top = props(ref)
    assert set(top) == {
        "period",
        "today",
        "series",
        "money",
        "by_source",
        "key_stats",
        "by_segment",
        "cohorts",
        "conversion",
        "anomalies",
    }
    assert set(props(top["period"])) == {"from", "to", "granularity", "timezone"}
    money = {"gross_cents", "refunds_cents", "chargebacks_cents", "net_cents"}
    assert set(props(top["money"])) == money
    assert set(props(top["today"])) == money | {
        "date",
        "revenue_cents",
        "by_source",
        "same_day_last_week",
        "change_pct",
    }
    assert set(props(top["by_source"])) == {"subscription", "renewal", "ppv", "tip", "unlock"}
    assert set(props(top["series"]["items"])) == money | {"period_start", "revenue_cents", "by_source"}
    stats = props(top["key_stats"])
    assert set(stats) == {
        "revenue_cents",
        "refunds_cents",
        "chargebacks_cents",
        "net_cents",
        "paying_fans",
        "arppu_cents",
        "new_subscribers",
        "churned",
    }
    assert set(props(stats["churned"])) == {"value", "previous", "change_pct"}
    assert set(props(top["by_segment"]["items"])) == {"segment", "paying_fans", "revenue_cents", "share"}
    assert set(props(top["cohorts"]["items"])) == {"cohort", "size", "retention"}
    conversion = props(top["conversion"])
    assert set(conversion) == {"message_to_purchase", "ppv_offer_to_purchase", "reply_rate"}
    assert set(props(conversion["reply_rate"])) == {"rate", "of"}
    assert set(props(top["anomalies"]["items"])) == {
        "metric",
        "date",
        "direction",
        "observed",
        "expected",
        "score",
        "recommendation",
        "actionable",
    }
