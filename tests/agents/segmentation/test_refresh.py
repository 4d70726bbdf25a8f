"""Segmentation on a seeded business: every fan scored, numbers that agree with independent SQL, labels that
agree with how the seed generated each fan, and single-fan re-scoring."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from agents.segmentation.refresh import SEGMENTS, refresh_segments, rescore_fans
from core import db
from devstack.seed import seed_business

UNTIL = date(2026, 6, 1)
AS_OF = datetime(2026, 6, 1, 23, 59, 59, tzinfo=UTC)


@pytest.fixture
async def seeded(database_url: str) -> dict[str, Any]:
    res = seed_business(database_url, fans=800, days=180, seed=11, until=UNTIL, handle="seg")
    async with db.pool().connection() as conn, conn.transaction():
        result = await refresh_segments(conn, res.creator_id, as_of=AS_OF)
    return {"url": database_url, "creator_id": res.creator_id, "result": result}


def _rows(url: str, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


async def test_every_fan_scored_with_a_known_label(seeded: dict[str, Any]) -> None:
    res = seeded["result"]
    assert res.fans == 800
    assert sum(res.segments.values()) == 800
    assert set(res.segments) <= set(SEGMENTS)
    # the seed's mix produces most labels; whales are rare by construction
    assert {"expired", "never_spent", "whale", "regular"} <= set(res.segments), res.segments
    assert res.model["bgnbd"] is not None and res.model["gamma_gamma"] is not None
    (n,) = _rows(
        seeded["url"], "SELECT count(*) FROM fan_scores WHERE creator_id = %s", [seeded["creator_id"]]
    )[0]
    assert n == 800


async def test_money_and_recency_agree_with_independent_sql(seeded: dict[str, Any]) -> None:
    mismatches = _rows(
        seeded["url"],
        """
        WITH t AS (
            SELECT fan_id, sum(amount_cents) AS spend,
                   coalesce(sum(amount_cents) FILTER (WHERE kind <> 'subscription' AND kind <> 'renewal'), 0) AS disc,
                   count(DISTINCT (occurred_at AT TIME ZONE 'UTC')::date) AS days,
                   %s::date - max((occurred_at AT TIME ZONE 'UTC')::date) AS dsp
            FROM transactions WHERE creator_id = %s AND amount_cents > 0 AND occurred_at <= %s GROUP BY fan_id)
        SELECT s.fan_id FROM fan_scores s LEFT JOIN t USING (fan_id)
        WHERE s.creator_id = %s AND (s.spend_cents <> coalesce(t.spend, 0) OR s.discretionary_cents <> coalesce(t.disc, 0)
              OR s.purchase_days <> coalesce(t.days, 0) OR s.days_since_purchase IS DISTINCT FROM t.dsp)
        """,
        [UNTIL, seeded["creator_id"], AS_OF, seeded["creator_id"]],
    )
    assert mismatches == []


async def test_labels_follow_the_seeded_behaviour(seeded: dict[str, Any]) -> None:
    rows = _rows(
        seeded["url"],
        "SELECT f.display_name, f.subscription_status, s.segment, s.value_tier, s.p_alive, s.ltv_cents,"
        " s.r_score, s.f_score, s.m_score FROM fan_scores s JOIN fans f ON f.id = s.fan_id WHERE s.creator_id = %s",
        [seeded["creator_id"]],
    )
    by_arch: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_arch.setdefault(r[0].split("(")[-1].rstrip(")"), []).append(r)
    # every expired subscription is labelled expired; nothing else is
    assert all((r[1] == "expired") == (r[2] == "expired") for r in rows)
    # the seed's never-spenders never buy PPV or tip: never in a spending tier
    assert all(r[3] == "none" for r in by_arch["never_spender"])
    # whales mostly land in the top spending tiers; regulars mostly do not
    whale_top = sum(r[3] in ("whale", "big_spender") for r in by_arch["whale"]) / len(by_arch["whale"])
    regular_top = sum(r[3] in ("whale", "big_spender") for r in by_arch["regular"]) / len(by_arch["regular"])
    assert whale_top >= 0.8 and regular_top <= 0.2, (whale_top, regular_top)
    # probabilities are probabilities; LTV is never negative; scores are 1..5 or absent
    assert all(r[4] is None or 0 <= r[4] <= 1 for r in rows)
    assert all(r[5] is None or r[5] >= 0 for r in rows)
    assert all(v is None or 1 <= v <= 5 for r in rows for v in r[6:9])

    def median_ltv(arch: str) -> float:
        vals = sorted(r[5] for r in by_arch[arch] if r[5] is not None)
        return float(vals[len(vals) // 2])

    assert median_ltv("whale") > 3 * median_ltv("regular")
    # churners expire more than whales
    churned = {a: sum(r[1] == "expired" for r in by_arch[a]) / len(by_arch[a]) for a in ("whale", "churner")}
    assert churned["churner"] > churned["whale"] + 0.3, churned


async def test_best_hours_follow_the_fans_evening_rhythm(seeded: dict[str, Any]) -> None:
    # the seed puts each fan's activity around a local peak of 19-23h or 13h; shrinkage keeps this for active fans
    rows = _rows(
        seeded["url"],
        "SELECT s.best_hours FROM fan_scores s WHERE s.creator_id = %s AND cardinality(s.best_hours) = 3",
        [seeded["creator_id"]],
    )
    assert len(rows) == 800
    local_hours = [h % 24 for (best,) in rows for h in best[:1]]
    share = sum(9 <= h <= 23 for h in local_hours) / len(local_hours)
    assert share >= 0.9, share


async def test_one_fan_is_rescored_with_the_stored_models(seeded: dict[str, Any]) -> None:
    url, creator = seeded["url"], seeded["creator_id"]
    fan_id, before = _rows(
        url,
        "SELECT fan_id, spend_cents FROM fan_scores WHERE creator_id = %s AND segment = 'regular' ORDER BY fan_id LIMIT 1",
        [creator],
    )[0]
    other_before = _rows(
        url,
        "SELECT fan_id, computed_at FROM fan_scores WHERE creator_id = %s AND fan_id <> %s",
        [creator, fan_id],
    )
    with psycopg.connect(url) as sync_conn:
        sync_conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, occurred_at) VALUES (%s, %s, 'tip', 250000, %s)",
            [creator, fan_id, AS_OF],
        )
    async with db.pool().connection() as conn, conn.transaction():
        res = await rescore_fans(conn, creator, [str(fan_id)], as_of=AS_OF)
    assert res is not None and res.fans == 1 and res.run_id == seeded["result"].run_id
    spend, tier, segment = _rows(
        url,
        "SELECT spend_cents, value_tier, segment FROM fan_scores WHERE creator_id = %s AND fan_id = %s",
        [creator, fan_id],
    )[0]
    assert spend == before + 250000
    assert tier == "whale" and segment == "whale"
    assert (
        _rows(
            url,
            "SELECT fan_id, computed_at FROM fan_scores WHERE creator_id = %s AND fan_id <> %s",
            [creator, fan_id],
        )
        == other_before
    )
    (runs,) = _rows(url, "SELECT count(*) FROM segmentation_runs WHERE creator_id = %s", [creator])[0]
    assert runs == 1


async def test_rescoring_without_a_run_does_nothing(database_url: str) -> None:
    res = seed_business(database_url, fans=20, days=30, seed=3, until=UNTIL, handle="norun")
    async with db.pool().connection() as conn, conn.transaction():
        assert await rescore_fans(conn, res.creator_id, [], as_of=AS_OF) is None
    assert _rows(database_url, "SELECT count(*) FROM fan_scores", []) == [(0,)]


async def test_a_small_creator_gets_labels_without_models(database_url: str) -> None:
    res = seed_business(database_url, fans=12, days=60, seed=5, until=UNTIL, handle="tiny")
    async with db.pool().connection() as conn, conn.transaction():
        out = await refresh_segments(conn, res.creator_id, as_of=AS_OF)
    assert out.fans == 12 and out.model["bgnbd"] is None and "need" in out.model["fit_error"]
    rows = _rows(database_url, "SELECT segment, p_alive, ltv_cents, best_hours FROM fan_scores", [])
    assert len(rows) == 12 and all(r[1] is None and r[2] is None and len(r[3]) == 3 for r in rows)


async def test_deleting_fans_deletes_their_scores_even_during_a_refresh(database_url: str) -> None:
    """fan_scores has no foreign key (a million checks per refresh); a trigger deletes a deleted fan's score,
    after waiting for a refresh in flight, so no score outlives its fan (migration 0013)."""
    import asyncio

    res = seed_business(database_url, fans=12, days=60, seed=5, until=UNTIL, handle="gone")
    async with db.pool().connection() as conn, conn.transaction():
        await refresh_segments(conn, res.creator_id, as_of=AS_OF)
        cur = await conn.execute(
            "INSERT INTO fans (creator_id, platform_fan_id) VALUES (%s, 'quiet') RETURNING id",
            [res.creator_id],
        )
        quiet = (await cur.fetchone() or {})["id"]
    async with db.pool().connection() as refresh_conn, db.pool().connection() as delete_conn:
        async with refresh_conn.transaction():
            await refresh_segments(refresh_conn, res.creator_id, as_of=AS_OF)  # scores the quiet fan too

            async def delete() -> None:
                async with delete_conn.transaction():
                    await delete_conn.execute("DELETE FROM fans WHERE id = %s", [quiet])

            deleting = asyncio.create_task(delete())
            await asyncio.sleep(0.5)
            assert not deleting.done()  # the delete waits for the refresh to commit
        await deleting
    assert _rows(database_url, "SELECT count(*) FROM fan_scores WHERE fan_id = %s", [quiet]) == [(0,)]
    assert _rows(database_url, "SELECT count(*) FROM fan_scores WHERE creator_id = %s", [res.creator_id]) == [
        (12,)
    ]
