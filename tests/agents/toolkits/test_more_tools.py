"""The price suggestion, the creator's similar past replies, cohorts and the segment refresh, on two seeded
businesses: each answers from its own creator's rows, with figures that match the tables."""

from __future__ import annotations

from typing import Any

import pytest

from agents.toolkits import AGENTS, ToolFailed, tools_for
from core import db
from tests.agents.toolkits.conftest import Business


def _tools(b: Business) -> dict[str, Any]:
    return {t.name: t for agent in AGENTS for t in tools_for(agent, b.creator_id)}


async def _sql(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    async with db.pool().connection() as conn:
        cur = await conn.execute(sql, params)  # type: ignore[arg-type]
        return list(await cur.fetchall())


async def test_suggest_price_reads_the_fans_own_purchases_within_bounds(
    two_businesses: tuple[Business, Business],
) -> None:
    a, b = two_businesses
    tools = _tools(a)
    fan = a.fans[0]
    paid = await _sql(
        "SELECT id, amount_cents FROM transactions WHERE creator_id = %s AND fan_id = %s"
        " AND kind IN ('ppv', 'unlock') ORDER BY occurred_at, id",
        [a.creator_id, fan],
    )
    # the whole of the first purchase goes back: it no longer counts as a price the fan paid
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
            " VALUES (%s, %s, 'cb-1', 'purchase', '{}', now()) RETURNING id",
            [a.creator_id, fan],
        )
        ev = await cur.fetchone()
        assert ev
        await conn.execute(
            "INSERT INTO refunds (creator_id, fan_id, kind, transaction_id, amount_cents, event_id, occurred_at)"
            " VALUES (%s, %s, 'chargeback', %s, %s, %s, now())",
            [a.creator_id, fan, paid[0]["id"], paid[0]["amount_cents"], ev["id"]],
        )
    out = await tools["suggest_price"].ainvoke({"fan_id": fan})
    assert out["fan_id"] == fan and out["item"] is None
    assert out["fan_purchases"] == len(paid) - 1
    assert out["anchor"] == "creator_median" and out["anchor_cents"] == out["creator_median_cents"]
    assert (out["min_cents"], out["max_cents"]) == (500, 5000)  # the seeded creator's bounds
    assert 500 <= out["price_cents"] <= 5000
    n = out["fan_purchases"]
    assert out["fan_weight"] == round(n / (n + 3), 4)

    # tighter bounds (PATCH /v1/creator) clamp the price
    async with db.pool().connection() as conn:
        await conn.execute(
            "UPDATE creators SET ppv_min_cents = 100, ppv_max_cents = 200 WHERE id = %s", [a.creator_id]
        )
    clamped = await tools["suggest_price"].ainvoke({"fan_id": fan})
    assert clamped["price_cents"] == 200 and clamped["clamped"] == "max"

    item = (await tools["search_catalog"].ainvoke({"query": ""}))["items"][0]
    priced = await tools["suggest_price"].ainvoke({"fan_id": fan, "catalog_id": item["id"]})
    assert priced["anchor"] == "item_price" and priced["anchor_cents"] == item["price_cents"]
    assert priced["item"]["id"] == item["id"]
    # another creator's item is no item of this creator
    with pytest.raises(ToolFailed):
        await tools["suggest_price"].ainvoke({"fan_id": fan, "catalog_id": b.catalog[0]})
    with pytest.raises(ToolFailed):
        await tools["suggest_price"].ainvoke({"fan_id": fan, "platform_item_id": "no-such-item"})


async def test_similar_replies_come_from_the_creators_own_history(
    two_businesses: tuple[Business, Business],
) -> None:
    a, b = two_businesses
    for own, other in ((a, "bravo"), (b, "alpha")):
        found = await _tools(own)["similar_replies"].ainvoke({"text": "any new beach pics tonight?", "k": 10})
        replies = found["replies"]
        stored = await _sql(
            "SELECT count(*) AS n FROM voice_examples WHERE creator_id = %s", [own.creator_id]
        )
        assert len(replies) == min(10, stored[0]["n"]) and replies
        assert replies[0]["reply_text"].endswith("the sunset beach set drops at 9")
        assert replies[0]["similarity"] > 0.5
        assert [r["similarity"] for r in replies] == sorted((r["similarity"] for r in replies), reverse=True)
        assert other not in str(found)
        sent = await _sql(
            "SELECT DISTINCT text FROM messages WHERE creator_id = %s AND direction = 'out'", [own.creator_id]
        )
        assert {r["reply_text"] for r in replies} <= {r["text"] for r in sent}


async def test_cohorts_count_fans_and_money_net_of_what_went_back(
    two_businesses: tuple[Business, Business],
) -> None:
    a, _ = two_businesses
    out = await _tools(a)["cohorts"].ainvoke({"months": 6})
    cohorts = out["cohorts"]
    assert len(cohorts) == 6 and cohorts == sorted(cohorts, key=lambda c: c["month"])
    # the seeded history spans 60 days: every fan's first subscription lies in the last 6 months
    assert sum(c["fans"] for c in cohorts) == 40
    gross = await _sql(
        "SELECT sum(amount_cents)::bigint AS s FROM transactions WHERE creator_id = %s", [a.creator_id]
    )
    assert sum(c["gross_cents"] for c in cohorts) == gross[0]["s"]
    active = await _sql(
        "SELECT count(*) AS n FROM fans WHERE creator_id = %s AND subscription_status = 'active'"
        " AND (expires_at IS NULL OR expires_at > now())",
        [a.creator_id],
    )
    assert sum(c["retained"] for c in cohorts) == active[0]["n"]
    for c in cohorts:
        assert c["net_cents"] == c["gross_cents"] - c["refunds_cents"] - c["chargebacks_cents"]
    one = await _tools(a)["cohorts"].ainvoke({"months": 1})
    assert [c["month"] for c in one["cohorts"]] == [cohorts[-1]["month"]]


async def test_refresh_segments_rescores_every_fan_and_says_so(
    two_businesses: tuple[Business, Business],
) -> None:
    a, b = two_businesses
    before = await _sql("SELECT max(run_id) AS r FROM fan_scores WHERE creator_id = %s", [b.creator_id])
    out = await _tools(a)["refresh_segments"].ainvoke({})
    assert sum(out["before"].values()) == 40 and sum(out["after"].values()) == 40 and out["fans"] == 40
    runs = await _sql("SELECT DISTINCT run_id FROM fan_scores WHERE creator_id = %s", [a.creator_id])
    assert [r["run_id"] for r in runs] == [out["run_id"]]
    feed = await _sql(
        "SELECT count(*) AS n FROM agent_actions WHERE creator_id = %s AND kind = 'segments_refreshed'",
        [a.creator_id],
    )
    assert feed[0]["n"] == 1
    # the other creator's scores are untouched
    after = await _sql("SELECT max(run_id) AS r FROM fan_scores WHERE creator_id = %s", [b.creator_id])
    assert after == before
