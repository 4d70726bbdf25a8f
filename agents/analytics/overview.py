"""The analytics overview of one creator: money over time by source, key stats against the previous period,
revenue by segment, subscription-month cohorts, conversion rates and anomalies. SQL does the aggregation;
every date is a calendar date in the creator's timezone.

Definitions (also in the README):
- gross (`revenue_cents` in the older fields): the sum of transactions (subscriptions, renewals, PPV, tips,
  unlocks) by when they were paid; refunds and chargebacks: money back on them, by when it went back; net =
  gross - refunds - chargebacks (negative in a period that gave back more than it took).
- paying fans: fans with a transaction in the period; ARPPU: gross / paying fans.
- new subscribers: first subscriptions (kind `subscription`) in the period; churned: fans whose subscription
  expired in the period and was not renewed.
- cohort: the month of a fan's first subscription; retention in month k: share of the cohort with a
  subscription or renewal payment in calendar month cohort + k.
- message conversion: of the fans who received a creator message in the period, the share who bought (PPV,
  tip, unlock) within 48 hours after one. PPV conversion: of the sent drafts offering a catalog item, the
  share followed by that fan buying that item within 72 hours. Reply rate: of the fan messages, the share
  answered by the creator within 24 hours.

Stored times no API accepts (rows written before the API's bound, or by SQL: year 1, -infinity, year 9999) stay
out of every period, which is bounded on both sides; a fan's first subscription ignores the ones before
EARLIEST_DAY, so such a row does not take the fan out of their cohort. A period must lie within PERIOD_RANGE
(ValueError otherwise, never a date overflow in the history arithmetic).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from agents.analytics.anomalies import HISTORY_DAYS, describe, detect
from core import db

Granularity = Literal["day", "week", "month"]
SOURCES = ("subscription", "renewal", "ppv", "tip", "unlock")
# Days of daily history read before `from` so the anomaly detector can judge the first day of the period.
ANOMALY_HISTORY_DAYS = HISTORY_DAYS + 7
COHORT_MONTHS = 6
# The first day analytics reads (the API's bound on client times too): older stored rows are left out.
EARLIEST_DAY = date(2000, 1, 1)
# Periods the date arithmetic (previous period, anomaly history) handles; the API admits a narrower window.
PERIOD_RANGE = (date(1900, 1, 1), date(9000, 1, 1))
# Days before today that are final enough to cache (a fan message of the day before yesterday can still be
# answered within 24 h until yesterday ends, in any timezone).
CACHE_AFTER_DAYS = 3


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def _check_period(period: Period) -> None:
    """Days near either end of the calendar would overflow the history arithmetic."""
    lo, hi = PERIOD_RANGE
    if period.start < lo or period.end > hi:
        raise ValueError(f"period {period.start}..{period.end} is outside {lo}..{hi}")


def _change(value: float | None, previous: float | None) -> dict[str, Any]:
    pct = None
    if value is not None and previous:
        pct = round(100 * (value - previous) / abs(previous), 1)
    return {"value": value, "previous": previous, "change_pct": pct}


def _buckets(period: Period, granularity: Granularity) -> list[date]:
    def trunc(d: date) -> date:
        if granularity == "week":
            return d - timedelta(days=d.weekday())
        if granularity == "month":
            return d.replace(day=1)
        return d

    out, d = [], trunc(period.start)
    while d <= period.end:
        out.append(d)
        if granularity == "day":
            d += timedelta(days=1)
        elif granularity == "week":
            d += timedelta(days=7)
        else:
            d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


async def _one(conn: AsyncConnection[Any], sql: str, params: dict[str, Any]) -> dict[str, Any]:
    row = await (await conn.execute(sql, params)).fetchone()
    assert row is not None
    return dict(row)


_KEY_STATS = """
SELECT m.*, c.churned, b.refunds, b.chargebacks FROM (
    SELECT coalesce(sum(amount_cents), 0) AS revenue,
           count(DISTINCT fan_id) FILTER (WHERE amount_cents > 0) AS paying_fans,
           count(*) FILTER (WHERE kind = 'subscription') AS new_subscribers
    FROM transactions
    WHERE creator_id = %(c)s AND occurred_at >= %(lo)s AND occurred_at < %(hi)s) m,
  (SELECT count(*) AS churned FROM fans
   WHERE creator_id = %(c)s AND subscription_status = 'expired' AND expires_at >= %(lo)s AND expires_at < %(hi)s) c,
  (SELECT coalesce(sum(amount_cents) FILTER (WHERE kind = 'refund'), 0) AS refunds,
          coalesce(sum(amount_cents) FILTER (WHERE kind = 'chargeback'), 0) AS chargebacks
   FROM refunds WHERE creator_id = %(c)s AND occurred_at >= %(lo)s AND occurred_at < %(hi)s) b
"""


def _bounds(period: Period, tz: ZoneInfo) -> dict[str, datetime]:
    lo = datetime.combine(period.start, datetime.min.time(), tzinfo=tz)
    hi = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return {"lo": lo, "hi": hi}


async def _stats(
    conn: AsyncConnection[Any], creator_id: str, period: Period, tz: ZoneInfo
) -> dict[str, float]:
    params = {"c": creator_id, **_bounds(period, tz)}
    money = await _one(conn, _KEY_STATS, params)
    revenue, paying = int(money["revenue"]), int(money["paying_fans"])
    refunds, chargebacks = int(money["refunds"]), int(money["chargebacks"])
    return {
        "revenue_cents": revenue,
        "refunds_cents": refunds,
        "chargebacks_cents": chargebacks,
        "net_cents": revenue - refunds - chargebacks,
        "paying_fans": paying,
        "arppu_cents": round(revenue / paying) if paying else 0,
        "new_subscribers": int(money["new_subscribers"]),
        "churned": int(money["churned"]),
    }


async def _daily_rows(
    conn: AsyncConnection[Any], creator_id: str, period: Period, tz: ZoneInfo
) -> list[dict[str, Any]]:
    """Computed from the source tables: one row per day with revenue, subs, churned, inbound, answered."""
    params = {"c": creator_id, "tz": str(tz), **_bounds(period, tz)}
    cur = await conn.execute(
        """
        WITH days AS (SELECT generate_series(%(lo)s::timestamptz AT TIME ZONE %(tz)s,
                                             (%(hi)s::timestamptz AT TIME ZONE %(tz)s) - interval '1 day',
                                             interval '1 day')::date AS day),
        money AS (SELECT (occurred_at AT TIME ZONE %(tz)s)::date AS day, sum(amount_cents) AS revenue,
                         count(*) FILTER (WHERE kind = 'subscription') AS subs
                  FROM transactions WHERE creator_id = %(c)s AND occurred_at >= %(lo)s AND occurred_at < %(hi)s
                  GROUP BY 1),
        churn AS (SELECT (expires_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS churned FROM fans
                  WHERE creator_id = %(c)s AND subscription_status = 'expired'
                    AND expires_at >= %(lo)s AND expires_at < %(hi)s GROUP BY 1),
        msgs AS (SELECT fan_id, direction, sent_at,
                        -- the next creator message: a running min over the later rows (newest first), which
                        -- Postgres computes incrementally, unlike a frame that ends at UNBOUNDED FOLLOWING
                        min(sent_at) FILTER (WHERE direction = 'out') OVER (
                          PARTITION BY fan_id ORDER BY sent_at DESC, id DESC
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                        ) AS next_out
                 FROM messages WHERE creator_id = %(c)s AND sent_at >= %(lo)s AND sent_at < %(hi)s + interval '1 day'),
        replies AS (SELECT (sent_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS inbound,
                           count(*) FILTER (WHERE next_out <= sent_at + interval '24 hours') AS answered
                    FROM msgs WHERE direction = 'in' AND sent_at < %(hi)s GROUP BY 1)
        SELECT d.day, coalesce(m.revenue, 0) AS revenue, coalesce(m.subs, 0) AS subs,
               coalesce(ch.churned, 0) AS churned, r.inbound, r.answered
        FROM days d LEFT JOIN money m USING (day) LEFT JOIN churn ch USING (day) LEFT JOIN replies r USING (day)
        ORDER BY d.day
        """,
        params,
    )
    return [
        {**r, "inbound": int(r["inbound"] or 0), "answered": int(r["answered"] or 0)}
        for r in await cur.fetchall()
    ]


async def _cached_rows(
    conn: AsyncConnection[Any], creator_id: str, period: Period, tz: ZoneInfo
) -> list[dict[str, Any]]:
    """The period's days from analytics_daily; missing days (never filled, or forgotten because their data
    changed) are computed from the first missing one on and stored, under the creator's exclusive lock (see
    migration 0009: a write in flight is waited for, so nothing stale is stored)."""
    cur = await conn.execute(
        "SELECT day, revenue, subs, churned, inbound, answered FROM analytics_daily"
        " WHERE creator_id = %s AND timezone = %s AND day BETWEEN %s AND %s ORDER BY day",
        [creator_id, str(tz), period.start, period.end],
    )
    have = {r["day"]: r for r in await cur.fetchall()}
    missing = [d for d in _buckets(period, "day") if d not in have]
    if not missing:
        return [have[d] for d in sorted(have)]
    # on this connection (a second one from the pool could wait on the pool for ever under load); the lock is
    # held until this connection's transaction ends
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"analytics_daily:{creator_id}"])
        fresh = await _daily_rows(conn, creator_id, Period(missing[0], period.end), tz)
        async with conn.cursor() as c:
            await c.executemany(
                "INSERT INTO analytics_daily (creator_id, timezone, day, revenue, subs, churned, inbound, answered)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (creator_id, timezone, day) DO UPDATE SET"
                " revenue = EXCLUDED.revenue, subs = EXCLUDED.subs, churned = EXCLUDED.churned,"
                " inbound = EXCLUDED.inbound, answered = EXCLUDED.answered",
                [
                    [
                        creator_id,
                        str(tz),
                        r["day"],
                        r["revenue"],
                        r["subs"],
                        r["churned"],
                        r["inbound"],
                        r["answered"],
                    ]
                    for r in fresh
                ],
            )
    for r in fresh:
        have[r["day"]] = r
    return [have[d] for d in sorted(have)]


async def _daily(conn: AsyncConnection[Any], creator_id: str, period: Period, tz: ZoneInfo) -> dict[str, Any]:
    """Daily revenue, new subscribers, churn and reply rate, for the anomaly detector. Days older than
    CACHE_AFTER_DAYS come from the analytics_daily cache; the recent ones, still changing, are computed."""
    cutoff = min(period.end, datetime.now(tz).date() - timedelta(days=CACHE_AFTER_DAYS))
    rows: list[dict[str, Any]] = []
    if period.start <= cutoff:
        rows = await _cached_rows(conn, creator_id, Period(period.start, cutoff), tz)
    if cutoff < period.end:
        rows += await _daily_rows(
            conn, creator_id, Period(max(period.start, cutoff + timedelta(days=1)), period.end), tz
        )
    return {
        "days": [r["day"] for r in rows],
        "revenue_cents": np.array([float(r["revenue"]) for r in rows]),
        "new_subscribers": np.array([float(r["subs"]) for r in rows]),
        "churned": np.array([float(r["churned"]) for r in rows]),
        "reply_rate": np.array(
            [float(r["answered"]) / r["inbound"] if r["inbound"] else np.nan for r in rows], dtype=np.float64
        ),
        "inbound": [int(r["inbound"] or 0) for r in rows],
        "answered": [int(r["answered"] or 0) for r in rows],
    }


def _anomalies(daily: dict[str, Any], period: Period, today: date) -> list[dict[str, Any]]:
    """Anomalies on the period's complete days (today is still going: it is never judged)."""
    from agents.analytics.anomalies import DetectorConfig

    found = []
    for metric in ("revenue_cents", "new_subscribers", "churned", "reply_rate"):
        values = daily[metric]
        if np.isnan(values).any():  # days without fan messages: carry the last known rate
            filled = values.copy()
            for i in range(len(filled)):
                if np.isnan(filled[i]):
                    filled[i] = (
                        filled[i - 1] if i else np.nanmean(values) if np.isfinite(values).any() else 0.0
                    )
            values = filled
        # rates live in [0, 1]: a gap of 0.15 (15 points) is the least worth an alert
        cfg = DetectorConfig(min_abs=0.15, min_rel=0.0) if metric == "reply_rate" else DetectorConfig()
        for a in detect(values, cfg):
            day = daily["days"][a.index]
            if period.start <= day <= period.end and day < today:
                found.append(describe(metric, day, a))
    return sorted(found, key=lambda x: (x["date"], -abs(x["score"])), reverse=True)


async def overview(
    creator_id: str,
    period: Period,
    granularity: Granularity,
    today: date | None = None,
) -> dict[str, Any]:
    """The whole overview. Its queries run side by side, each on its own pooled connection (the caller holds
    none while it waits, so concurrent requests cannot starve the pool)."""
    _check_period(period)
    async with db.pool().connection() as conn:
        row = await _one(conn, "SELECT timezone FROM creators WHERE id = %(c)s", {"c": creator_id})
    tz = ZoneInfo(row["timezone"])
    today = today or datetime.now(tz).date()
    params = {"c": creator_id, "tz": str(tz), "g": granularity, **_bounds(period, tz)}
    today_p = Period(today, today)
    week_ago = Period(today - timedelta(days=7), today - timedelta(days=7))
    history = Period(period.start - timedelta(days=ANOMALY_HISTORY_DAYS), period.end)
    # Independent queries, each on its own pooled connection: Postgres runs them side by side.
    (
        series,
        now,
        before,
        today_money,
        last_week,
        by_segment,
        cohorts,
        conversion,
        daily,
    ) = await asyncio.gather(
        _pooled(_series, creator_id, period, granularity, params),
        _pooled(_stats, creator_id, period, tz),
        _pooled(_stats, creator_id, period.previous(), tz),
        _pooled(_money_by_source, creator_id, today_p, tz),
        _pooled(_money_by_source, creator_id, week_ago, tz),
        _pooled(_by_segment, creator_id, params),
        _pooled(_cohorts, creator_id, period, tz),
        _pooled(_conversion, creator_id, period, tz),
        _pooled(_daily, creator_id, history, tz),
    )
    by_source = {s: sum(x["by_source"][s] for x in series) for s in SOURCES}
    money = {
        "gross_cents": now["revenue_cents"],
        "refunds_cents": now["refunds_cents"],
        "chargebacks_cents": now["chargebacks_cents"],
        "net_cents": now["net_cents"],
    }
    total = max(now["revenue_cents"], 1)
    for seg in by_segment:
        seg["share"] = round(seg["revenue_cents"] / total, 4)
    return {
        "period": {
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "granularity": granularity,
            "timezone": str(tz),
        },
        "today": {
            "date": today.isoformat(),
            **today_money,
            "same_day_last_week": last_week["revenue_cents"],
            "change_pct": _change(today_money["revenue_cents"], last_week["revenue_cents"])["change_pct"],
        },
        "series": series,
        "money": money,
        "by_source": by_source,
        "key_stats": {k: _change(now[k], before[k]) for k in now},
        "by_segment": by_segment,
        "cohorts": cohorts,
        "conversion": {
            **conversion,
            "reply_rate": _reply_rate(daily, period),
        },
        "anomalies": _anomalies(daily, period, today),
    }


async def _series(
    conn: AsyncConnection[Any],
    creator_id: str,
    period: Period,
    granularity: Granularity,
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT date_trunc(%(g)s, occurred_at AT TIME ZONE %(tz)s)::date AS bucket, kind,"
        " sum(amount_cents) AS cents, count(*) AS n"
        " FROM transactions WHERE creator_id = %(c)s AND occurred_at >= %(lo)s AND occurred_at < %(hi)s"
        " GROUP BY 1, 2",
        params,
    )
    by_bucket: dict[date, dict[str, int]] = {}
    for r in await cur.fetchall():
        by_bucket.setdefault(r["bucket"], {})[r["kind"]] = int(r["cents"])
    cur = await conn.execute(
        "SELECT date_trunc(%(g)s, occurred_at AT TIME ZONE %(tz)s)::date AS bucket, kind, sum(amount_cents) AS cents"
        " FROM refunds WHERE creator_id = %(c)s AND occurred_at >= %(lo)s AND occurred_at < %(hi)s GROUP BY 1, 2",
        params,
    )
    back: dict[date, dict[str, int]] = {}
    for r in await cur.fetchall():
        back.setdefault(r["bucket"], {})[r["kind"]] = int(r["cents"])
    return [
        {"period_start": b.isoformat(), **_money(by_bucket.get(b, {}), back.get(b, {}))}
        for b in _buckets(period, granularity)
    ]


def _money(paid: dict[str, int], back: dict[str, int]) -> dict[str, Any]:
    """Gross by source, money back and net, from cents paid by transaction kind and given back by refund kind."""
    gross = sum(paid.values())
    refunds, chargebacks = back.get("refund", 0), back.get("chargeback", 0)
    return {
        "revenue_cents": gross,
        "gross_cents": gross,
        "refunds_cents": refunds,
        "chargebacks_cents": chargebacks,
        "net_cents": gross - refunds - chargebacks,
        "by_source": {s: paid.get(s, 0) for s in SOURCES},
    }


async def _pooled(fn: Any, *args: Any) -> Any:
    async with db.pool().connection() as conn:
        return await fn(conn, *args)


async def _by_segment(
    conn: AsyncConnection[Any], creator_id: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT coalesce(s.segment, 'not_scored') AS segment, count(DISTINCT t.fan_id) AS fans,"
        " sum(t.amount_cents) AS cents FROM transactions t"
        " LEFT JOIN fan_scores s ON s.creator_id = t.creator_id AND s.fan_id = t.fan_id"
        " WHERE t.creator_id = %(c)s AND t.occurred_at >= %(lo)s AND t.occurred_at < %(hi)s GROUP BY 1"
        " ORDER BY cents DESC",
        params,
    )
    return [
        {"segment": r["segment"], "paying_fans": r["fans"], "revenue_cents": int(r["cents"])}
        for r in await cur.fetchall()
    ]


def _reply_rate(daily: dict[str, Any], period: Period) -> dict[str, Any]:
    """The period's reply rate from the daily rows the anomaly detector reads (one pass over the messages)."""
    days = [i for i, d in enumerate(daily["days"]) if period.start <= d <= period.end]
    inbound = sum(daily["inbound"][i] for i in days)
    answered = sum(daily["answered"][i] for i in days)
    return {"rate": round(answered / inbound, 4) if inbound else None, "of": inbound}


async def _money_by_source(
    conn: AsyncConnection[Any], creator_id: str, p: Period, tz: ZoneInfo
) -> dict[str, Any]:
    params = {"c": creator_id, **_bounds(p, tz)}
    cur = await conn.execute(
        "SELECT kind, sum(amount_cents) AS cents FROM transactions"
        " WHERE creator_id = %(c)s AND occurred_at >= %(lo)s AND occurred_at < %(hi)s GROUP BY kind",
        params,
    )
    paid = {r["kind"]: int(r["cents"]) for r in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT kind, sum(amount_cents) AS cents FROM refunds"
        " WHERE creator_id = %(c)s AND occurred_at >= %(lo)s AND occurred_at < %(hi)s GROUP BY kind",
        params,
    )
    return _money(paid, {r["kind"]: int(r["cents"]) for r in await cur.fetchall()})


async def _cohorts(
    conn: AsyncConnection[Any], creator_id: str, period: Period, tz: ZoneInfo
) -> list[dict[str, Any]]:
    """Cohorts of the months from COHORT_MONTHS before `to` up to `to`; retention up to the month of `to`.
    Cached in analytics_cohorts until a write reaches those months (migration 0009)."""
    last = period.end.replace(day=1)
    key = [creator_id, str(tz), last]
    cur = await conn.execute(
        "SELECT cohorts FROM analytics_cohorts WHERE creator_id = %s AND timezone = %s AND last_month = %s",
        key,
    )
    row = await cur.fetchone()
    if row is not None:
        return list(row["cohorts"])
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"analytics_daily:{creator_id}"])
        cohorts = await _compute_cohorts(conn, creator_id, last, tz)
        await conn.execute(
            "INSERT INTO analytics_cohorts (creator_id, timezone, last_month, cohorts) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (creator_id, timezone, last_month) DO UPDATE SET cohorts = EXCLUDED.cohorts",
            [*key, Jsonb(cohorts)],
        )
    return cohorts


async def _compute_cohorts(
    conn: AsyncConnection[Any], creator_id: str, last: date, tz: ZoneInfo
) -> list[dict[str, Any]]:
    first = last
    for _ in range(COHORT_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    months = [first]
    while months[-1] <= last:
        months.append((months[-1] + timedelta(days=32)).replace(day=1))
    # Month starts as instants in the creator's timezone: rows are bucketed with width_bucket against them, not
    # converted one by one (a per-row AT TIME ZONE was most of this query's time).
    bounds = [datetime.combine(m, datetime.min.time(), tzinfo=tz) for m in months]
    cur = await conn.execute(
        """
        WITH firsts AS (
            SELECT fan_id, width_bucket(min(occurred_at), %(b)s::timestamptz[]) AS cohort
            FROM transactions WHERE creator_id = %(c)s AND kind = 'subscription' AND occurred_at >= %(earliest)s
            GROUP BY fan_id),
        paid AS (
            SELECT DISTINCT fan_id, width_bucket(occurred_at, %(b)s::timestamptz[]) AS month
            FROM transactions WHERE creator_id = %(c)s AND kind IN ('subscription', 'renewal')
              AND occurred_at >= %(lo)s AND occurred_at < %(hi)s)
        SELECT f.cohort, p.month - f.cohort AS k, count(*) AS active
        FROM firsts f JOIN paid p ON p.fan_id = f.fan_id AND p.month >= f.cohort
        WHERE f.cohort BETWEEN 1 AND %(n)s
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        {
            "c": creator_id,
            "b": bounds,
            "lo": bounds[0],
            "hi": bounds[-1],
            "n": len(bounds) - 1,
            "earliest": datetime.combine(EARLIEST_DAY, datetime.min.time(), tzinfo=tz),
        },
    )
    cohorts: dict[date, dict[str, Any]] = {}
    sizes: dict[date, int] = {}
    rows = [{**r, "cohort": months[r["cohort"] - 1]} for r in await cur.fetchall()]
    # the cohort's size is its distinct fans (month 0 counts every one of them)
    for r in rows:
        if r["k"] == 0:
            sizes[r["cohort"]] = int(r["active"])
    for r in rows:
        c = cohorts.setdefault(
            r["cohort"],
            {"cohort": r["cohort"].isoformat(), "size": sizes.get(r["cohort"], 0), "retention": []},
        )
        if r["k"] is not None and c["size"]:
            while len(c["retention"]) < r["k"]:
                c["retention"].append(0.0)
            c["retention"].append(round(int(r["active"]) / c["size"], 4))
    return list(cohorts.values())


async def _conversion(
    conn: AsyncConnection[Any], creator_id: str, period: Period, tz: ZoneInfo
) -> dict[str, Any]:
    params = {"c": creator_id, **_bounds(period, tz)}
    msg = await _one(
        conn,
        """
        WITH ev AS (
            -- the creator's messages (from 48 h before the period: one of those can be a purchase's latest)
            -- and the fans' purchases, in one time line per fan
            SELECT fan_id, sent_at AS at, true AS is_msg FROM messages
            WHERE creator_id = %(c)s AND direction = 'out'
              AND sent_at >= %(lo)s - interval '48 hours' AND sent_at < %(hi)s
            UNION ALL
            SELECT fan_id, occurred_at, false FROM transactions
            WHERE creator_id = %(c)s AND kind IN ('ppv', 'tip', 'unlock')
              AND occurred_at > %(lo)s AND occurred_at <= %(hi)s + interval '48 hours'),
        lined AS (
            -- each purchase with the creator's latest message before it (a message at the same instant is not
            -- before it: purchases sort first among equal times)
            SELECT fan_id, at, is_msg,
                   max(at) FILTER (WHERE is_msg) OVER (PARTITION BY fan_id ORDER BY at, is_msg
                                                       ROWS UNBOUNDED PRECEDING) AS last_msg
            FROM ev)
        -- a purchase converts that latest message if it was sent in the period and at most 48 hours earlier
        SELECT count(DISTINCT fan_id) FILTER (WHERE is_msg AND at >= %(lo)s) AS fans,
               count(DISTINCT fan_id) FILTER (WHERE NOT is_msg AND last_msg >= %(lo)s
                                                AND last_msg >= at - interval '48 hours') AS bought
        FROM lined
        """,
        params,
    )
    ppv = await _one(
        conn,
        """
        SELECT count(*) AS offers,
               count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM transactions t WHERE t.creator_id = d.creator_id AND t.fan_id = d.fan_id
                     AND t.catalog_id = (d.offer ->> 'catalog_id')::uuid
                     AND t.occurred_at > o.created_at AND t.occurred_at <= o.created_at + interval '72 hours'))
                 AS bought
        FROM drafts d JOIN outbox o ON o.draft_id = d.id
        WHERE d.creator_id = %(c)s AND d.offer IS NOT NULL AND o.created_at >= %(lo)s AND o.created_at < %(hi)s
        """,
        params,
    )

    def rate(num: int, den: int) -> dict[str, Any]:
        return {"rate": round(num / den, 4) if den else None, "of": den}

    return {
        "message_to_purchase": rate(int(msg["bought"]), int(msg["fans"])),
        "ppv_offer_to_purchase": rate(int(ppv["bought"]), int(ppv["offers"])),
    }


async def recent_anomalies(
    conn: AsyncConnection[Any], creator_id: str, today: date, days: int = 7
) -> list[dict[str, Any]]:
    """Anomalies on the last `days` complete days before `today` (creator-local), newest first: what the daily
    plan reports. The same detector and history as the overview's."""
    row = await _one(conn, "SELECT timezone FROM creators WHERE id = %(c)s", {"c": creator_id})
    tz = ZoneInfo(row["timezone"])
    period = Period(today - timedelta(days=days), today - timedelta(days=1))
    _check_period(period)
    history = Period(period.start - timedelta(days=ANOMALY_HISTORY_DAYS), period.end)
    daily = await _daily(conn, creator_id, history, tz)
    return _anomalies(daily, period, today)
