"""The numpy aggregation of a refresh (agents/segmentation/activity.py) against the SQL it replaced, kept here as
the reference: per-fan purchase columns, hour-of-week counts in each fan's timezone (DST included) and the best
hours, on the seeded business."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest
from psycopg.rows import tuple_row

from agents.segmentation.activity import best_hours, hour_profile, load_activity
from core import db
from devstack.seed import seed_business

UNTIL = date(2026, 3, 31)  # the seed's 180 days span the March DST changes in Europe and the US
AS_OF = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
PRIOR = 8.0

_REFERENCE_FAN_SQL = """
SELECT f.id AS fan_id,
       f.subscription_status = 'active' AS active,
       f.subscription_status = 'expired' AS expired,
       %(as_of_day)s - (coalesce(f.subscribed_at, f.created_at) AT TIME ZONE 'UTC')::date AS days_joined,
       %(as_of_day)s - p.first_day AS age_days,
       coalesce(p.x, 0) AS x,
       CASE WHEN p.x > 0 THEN p.last_disc_day - p.first_day ELSE 0 END AS recency_days,
       CASE WHEN p.x > 0 THEN (p.disc - p.first_day_disc)::float8 / p.x ELSE 0 END AS m,
       coalesce(p.spend, 0) AS spend,
       coalesce(p.disc, 0) AS disc,
       coalesce(p.purchase_days, 0) AS purchase_days,
       %(as_of_day)s - p.last_day AS days_since_purchase,
       %(as_of_day)s - greatest(p.last_day, (a.last_in AT TIME ZONE 'UTC')::date) AS days_since_active,
       coalesce(p.subs[cardinality(p.subs)], 0) AS sub_price
FROM fans f
LEFT JOIN (
    SELECT fan_id, min(day) AS first_day, max(day) AS last_day, count(*) AS purchase_days, sum(cents) AS spend,
           coalesce(sum(disc), 0) AS disc,
           -- repeat purchases: days with discretionary spend, not counting the first day of all
           count(disc) - ((array_agg(coalesce(disc, 0) ORDER BY day))[1] > 0)::int AS x,
           (array_agg(coalesce(disc, 0) ORDER BY day))[1] AS first_day_disc,
           max(day) FILTER (WHERE disc IS NOT NULL) AS last_disc_day,
           array_agg(sub ORDER BY day) FILTER (WHERE sub IS NOT NULL) AS subs
    FROM (
        SELECT fan_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, sum(amount_cents) AS cents,
               sum(amount_cents) FILTER (WHERE kind IN ('ppv', 'tip', 'unlock')) AS disc,
               max(amount_cents) FILTER (WHERE kind IN ('subscription', 'renewal')) AS sub
        FROM transactions
        WHERE creator_id = %(creator)s AND occurred_at <= %(as_of)s AND amount_cents > 0 {fan_filter}
        GROUP BY 1, 2
    ) d
    GROUP BY fan_id
) p ON p.fan_id = f.id
LEFT JOIN (
    SELECT fan_id, max(sent_at) AS last_in FROM messages
    WHERE creator_id = %(creator)s AND direction = 'in' AND sent_at <= %(as_of)s {fan_filter}
    GROUP BY fan_id
) a ON a.fan_id = f.id
WHERE f.creator_id = %(creator)s {fan_filter_f}
ORDER BY f.id
"""

_REFERENCE_HOUR_COUNTS_SQL = """
CREATE TEMP TABLE hour_counts ON COMMIT DROP AS
SELECT ev.fan_id,
       ((date_part('isodow', ev.at AT TIME ZONE f.timezone)::int - 1) * 24
         + date_part('hour', ev.at AT TIME ZONE f.timezone)::int) AS how,
       count(*) AS n
FROM (
    SELECT fan_id, sent_at AS at FROM messages
    WHERE creator_id = %(creator)s AND direction = 'in' AND sent_at <= %(as_of)s {fan_filter}
    UNION ALL
    SELECT fan_id, occurred_at FROM transactions
    WHERE creator_id = %(creator)s AND occurred_at <= %(as_of)s {fan_filter}
) ev
JOIN fans f ON f.creator_id = %(creator)s AND f.id = ev.fan_id
GROUP BY 1, 2
"""

_REFERENCE_BEST_HOURS_SQL = """
CREATE TEMP TABLE best_hours ON COMMIT DROP AS
WITH prof AS (SELECT (o - 1)::int AS how, p FROM unnest(%(profile)s::float8[]) WITH ORDINALITY AS u(p, o)),
top_prof AS (SELECT how, p FROM prof WHERE how = ANY(%(creator_top)s)),
cand AS (
    SELECT h.fan_id, h.how, h.n + %(prior)s * p.p AS w FROM hour_counts h JOIN prof p USING (how)
    UNION ALL
    SELECT t.fan_id, tp.how, %(prior)s * tp.p FROM (SELECT DISTINCT fan_id FROM hour_counts) t CROSS JOIN top_prof tp
),
best AS (SELECT fan_id, how, max(w) AS w FROM cand GROUP BY fan_id, how)
SELECT fan_id, (array_agg(how ORDER BY w DESC, how))[1:3]::smallint[] AS best FROM best GROUP BY fan_id
"""


COLUMNS = (
    "active",
    "expired",
    "days_joined",
    "age_days",
    "x",
    "recency_days",
    "m",
    "spend",
    "disc",
    "purchase_days",
    "days_since_purchase",
    "days_since_active",
    "sub_price",
)


@pytest.fixture
async def creator(database_url: str) -> str:
    return seed_business(database_url, fans=400, days=180, seed=5, until=UNTIL, handle="act").creator_id


async def test_numpy_activity_equals_the_sql_it_replaced(creator: str) -> None:
    params: dict[str, Any] = {"creator": creator, "as_of": AS_OF, "as_of_day": AS_OF.date(), "prior": PRIOR}
    async with db.pool().connection() as conn, conn.transaction():
        act = await load_activity(conn, creator, AS_OF, None)
        cur = await conn.cursor(row_factory=tuple_row).execute(
            _REFERENCE_FAN_SQL.format(fan_filter="", fan_filter_f=""), params
        )
        ref = await cur.fetchall()
        await conn.execute(_REFERENCE_HOUR_COUNTS_SQL.format(fan_filter=""), params)
        cur = await conn.cursor(row_factory=tuple_row).execute("SELECT fan_id, how, n FROM hour_counts")
        ref_hours = await cur.fetchall()
        profile = hour_profile(act)
        top = sorted(range(168), key=lambda h: (-profile[h], h))[:3]
        await conn.execute(
            _REFERENCE_BEST_HOURS_SQL, {"prior": PRIOR, "profile": profile, "creator_top": top}
        )
        cur = await conn.cursor(row_factory=tuple_row).execute("SELECT fan_id, best FROM best_hours")
        ref_best = {r[0].bytes: list(r[1]) for r in await cur.fetchall()}

    assert len(ref) == len(act.fan_ids) == 400
    assert [r[0].bytes for r in ref] == list(act.fan_ids)  # both in uuid order
    for i, name in enumerate(COLUMNS, start=1):
        want = np.array([np.nan if r[i] is None else float(r[i]) for r in ref])
        got = np.asarray(getattr(act, name), dtype=np.float64)
        assert np.allclose(got, want, equal_nan=True, rtol=1e-12, atol=0), name
    assert act.x.sum() > 100 and (act.x == 0).sum() > 10  # repeat buyers and fans without a repeat purchase

    index = {f: i for i, f in enumerate(act.fan_ids)}
    want_hours = sorted((index[f.bytes], int(h), int(n)) for f, h, n in ref_hours)
    got_hours = sorted(
        zip(act.hour_fan.tolist(), act.hour_of_week.tolist(), act.hour_count.tolist(), strict=True)
    )
    assert got_hours == want_hours and len(want_hours) > 1000

    best = best_hours(act, profile, top, PRIOR)
    for f, hours in ref_best.items():
        assert [h for h in best[index[f]].tolist() if h >= 0] == hours
    assert all(best[i, 0] == -1 for f, i in index.items() if f not in ref_best)


def test_fans_are_found_by_their_uuid_bytes_even_when_halves_collide() -> None:
    from agents.segmentation.activity import _fan_index

    rng = np.random.default_rng(2)
    fans = np.sort(np.frombuffer(rng.bytes(16 * 1000), dtype="S16"))
    wanted = fans[rng.integers(0, 1000, 5000)]
    assert (fans[_fan_index(fans, wanted)] == wanted).all()
    twin = bytes(fans[0])[:8] + bytes(16 - 8)  # shares the first 8 bytes with fans[0]
    collided = np.sort(np.r_[fans, np.array([twin], dtype="S16")])
    assert (collided[_fan_index(collided, collided[::7])] == collided[::7]).all()
    with pytest.raises(ValueError, match="not the creator's"):
        _fan_index(fans, np.array([b"\xff" * 16], dtype="S16"))


async def test_spend_is_net_of_refunds_and_chargebacks(database_url: str) -> None:
    """A payment given back in part counts what is left; one given back whole is no purchase at all."""
    creator = seed_business(database_url, fans=20, days=60, seed=9, until=UNTIL, handle="net").creator_id
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT DISTINCT ON (fan_id) id, fan_id, amount_cents, occurred_at FROM transactions"
            " WHERE creator_id = %s AND kind IN ('ppv', 'tip') AND amount_cents > 1 ORDER BY fan_id, id LIMIT 2",
            [creator],
        )
        (part, whole) = await cur.fetchall()
        before = await load_activity(conn, creator, AS_OF, None)
        for txn, kind, cents in ((part, "refund", 1), (whole, "chargeback", whole["amount_cents"])):
            cur = await conn.execute(
                "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
                " VALUES (%s, %s, %s, %s, '{}', %s) RETURNING id",
                [creator, txn["fan_id"], f"back-{txn['id']}", kind, txn["occurred_at"]],
            )
            event = await cur.fetchone()
            assert event
            await conn.execute(
                "INSERT INTO refunds (creator_id, fan_id, kind, transaction_id, amount_cents, event_id, occurred_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [creator, txn["fan_id"], kind, txn["id"], cents, event["id"], txn["occurred_at"]],
            )
        after = await load_activity(conn, creator, AS_OF, None)
    index = {f: i for i, f in enumerate(after.fan_ids)}
    p, w = index[part["fan_id"].bytes], index[whole["fan_id"].bytes]
    assert after.spend[p] == before.spend[p] - 1 and after.disc[p] == before.disc[p] - 1
    assert after.spend[w] == before.spend[w] - whole["amount_cents"]
    assert after.disc[w] == before.disc[w] - whole["amount_cents"]
    others = [i for i in range(len(after.fan_ids)) if i not in (p, w)]
    assert np.array_equal(after.spend[others], before.spend[others])
