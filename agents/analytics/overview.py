"""The analytics overview of one creator: money over time by source, key stats against the previous period,
revenue by segment, subscription-month cohorts, conversion rates and anomalies. SQL does the aggregation;
every date is a calendar date in the creator's timezone.

Definitions (also in the README):
- revenue: the sum of transactions (subscriptions, renewals, PPV, tips, unlocks); nothing is refunded in our
  data, so gross and net are the same.
- paying fans: fans with a transaction in the period; ARPPU: revenue / paying fans.
- new subscribers: first subscriptions (kind `subscription`) in the period; churned: fans whose subscription
  expired in the period and was not renewed.
- cohort: the month of a fan's first subscription; retention in month k: share of the cohort with a
  subscription or renewal payment in calendar month cohort + k.
- message conversion: of the fans who received a creator message in the period, the share who bought (PPV,
  tip, unlock) within 48 hours after one. PPV conversion: of the sent drafts offering a catalog item, the
  share followed by that fan buying that item within 72 hours. Reply rate: of the fan messages, the share
  answered by the creator within 24 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from psycopg import AsyncConnection

from agents.analytics.anomalies import HISTORY_DAYS, describe, detect

Granularity = Literal["day", "week", "month"]
SOURCES = ("subscription", "renewal", "ppv", "tip", "unlock")
# Days of daily history read before `from` so the anomaly detector can judge the first day of the period.
ANOMALY_HISTORY_DAYS = HISTORY_DAYS + 7
COHORT_MONTHS = 6


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


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
SELECT coalesce(sum(amount_cents), 0) AS revenue,
       count(DISTINCT fan_id) FILTER (WHERE amount_cents > 0) AS paying_fans,
       count(*) FILTER (WHERE kind = 'subscription') AS new_subscribers
FROM transactions
WHERE creator_id = %(c)s AND occurred_at >= %(lo)s AND occurred_at < %(hi)s
"""
_CHURNED = """
SELECT count(*) AS churned FROM fans
WHERE creator_id = %(c)s AND subscription_status = 'expired' AND expires_at >= %(lo)s AND expires_at < %(hi)s
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
    churn = await _one(conn, _CHURNED, params)
    revenue, paying = int(money["revenue"]), int(money["paying_fans"])
    return {
        "revenue_cents": revenue,
        "paying_fans": paying,
        "arppu_cents": round(revenue / paying) if paying else 0,
        "new_subscribers": int(money["new_subscribers"]),
        "churned": int(churn["churned"]),
    }


async def _daily(conn: AsyncConnection[Any], creator_id: str, period: Period, tz: ZoneInfo) -> dict[str, Any]:
    """Daily revenue, new subscribers, churn and reply rate, for the anomaly detector."""
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
    rows = await cur.fetchall()
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
    conn: AsyncConnection[Any],
    creator_id: str,
    period: Period,
    granularity: Granularity,
    today: date | None = None,
) -> dict[str, Any]:
    row = await _one(conn, "SELECT timezone FROM creators WHERE id = %(c)s", {"c": creator_id})
    tz = ZoneInfo(row["timezone"])
    today = today or datetime.now(tz).date()
    params = {"c": creator_id, "tz": str(tz), "g": granularity, **_bounds(period, tz)}

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
    series: list[dict[str, Any]] = [
        {
            "period_start": b.isoformat(),
            "revenue_cents": sum(by_bucket.get(b, {}).values()),
            "by_source": {s: by_bucket.get(b, {}).get(s, 0) for s in SOURCES},
        }
        for b in _buckets(period, granularity)
    ]
    by_source = {s: sum(x["by_source"][s] for x in series) for s in SOURCES}

    now, before = (
        await _stats(conn, creator_id, period, tz),
        await _stats(conn, creator_id, period.previous(), tz),
    )
    today_p = Period(today, today)
    week_ago = Period(today - timedelta(days=7), today - timedelta(days=7))
    today_money = await _money_by_source(conn, creator_id, today_p, tz)
    last_week = await _money_by_source(conn, creator_id, week_ago, tz)

    cur = await conn.execute(
        "SELECT coalesce(s.segment, 'not_scored') AS segment, count(DISTINCT t.fan_id) AS fans,"
        " sum(t.amount_cents) AS cents FROM transactions t"
        " LEFT JOIN fan_scores s ON s.creator_id = t.creator_id AND s.fan_id = t.fan_id"
        " WHERE t.creator_id = %(c)s AND t.occurred_at >= %(lo)s AND t.occurred_at < %(hi)s GROUP BY 1"
        " ORDER BY cents DESC",
        params,
    )
    total = max(now["revenue_cents"], 1)
    by_segment = [
        {
            "segment": r["segment"],
            "paying_fans": r["fans"],
            "revenue_cents": int(r["cents"]),
            "share": round(int(r["cents"]) / total, 4),
        }
        for r in await cur.fetchall()
    ]

    history = Period(period.start - timedelta(days=ANOMALY_HISTORY_DAYS), period.end)
    daily = await _daily(conn, creator_id, history, tz)
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
        "by_source": by_source,
        "key_stats": {k: _change(now[k], before[k]) for k in now},
        "by_segment": by_segment,
        "cohorts": await _cohorts(conn, creator_id, period, tz),
        "conversion": {
            **await _conversion(conn, creator_id, period, tz),
            "reply_rate": _reply_rate(daily, period),
        },
        "anomalies": _anomalies(daily, period, today),
    }


def _reply_rate(daily: dict[str, Any], period: Period) -> dict[str, Any]:
    """The period's reply rate from the daily rows the anomaly detector reads (one pass over the messages)."""
    days = [i for i, d in enumerate(daily["days"]) if period.start <= d <= period.end]
    inbound = sum(daily["inbound"][i] for i in days)
    answered = sum(daily["answered"][i] for i in days)
    return {"rate": round(answered / inbound, 4) if inbound else None, "of": inbound}


async def _money_by_source(
    conn: AsyncConnection[Any], creator_id: str, p: Period, tz: ZoneInfo
) -> dict[str, Any]:
    cur = await conn.execute(
        "SELECT kind, sum(amount_cents) AS cents FROM transactions"
        " WHERE creator_id = %(c)s AND occurred_at >= %(lo)s AND occurred_at < %(hi)s GROUP BY kind",
        {"c": creator_id, **_bounds(p, tz)},
    )
    got = {r["kind"]: int(r["cents"]) for r in await cur.fetchall()}
    return {"revenue_cents": sum(got.values()), "by_source": {s: got.get(s, 0) for s in SOURCES}}


async def _cohorts(
    conn: AsyncConnection[Any], creator_id: str, period: Period, tz: ZoneInfo
) -> list[dict[str, Any]]:
    """Cohorts of the months from COHORT_MONTHS before `to` up to `to`; retention up to the month of `to`."""
    last = period.end.replace(day=1)
    first = last
    for _ in range(COHORT_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    cur = await conn.execute(
        """
        WITH firsts AS (
            SELECT fan_id, date_trunc('month', min(occurred_at AT TIME ZONE %(tz)s))::date AS cohort
            FROM transactions WHERE creator_id = %(c)s AND kind = 'subscription' GROUP BY fan_id),
        paid AS (
            SELECT DISTINCT fan_id, date_trunc('month', occurred_at AT TIME ZONE %(tz)s)::date AS month
            FROM transactions WHERE creator_id = %(c)s AND kind IN ('subscription', 'renewal'))
        SELECT f.cohort, count(DISTINCT f.fan_id) AS size,
               (extract(year FROM p.month) * 12 + extract(month FROM p.month)
                - extract(year FROM f.cohort) * 12 - extract(month FROM f.cohort))::int AS k,
               count(DISTINCT p.fan_id) AS active
        FROM firsts f LEFT JOIN paid p ON p.fan_id = f.fan_id AND p.month >= f.cohort AND p.month <= %(last)s
        WHERE f.cohort BETWEEN %(first)s AND %(last)s
        GROUP BY f.cohort, k ORDER BY f.cohort, k
        """,
        {"c": creator_id, "tz": str(tz), "first": first, "last": last},
    )
    cohorts: dict[date, dict[str, Any]] = {}
    sizes: dict[date, int] = {}
    rows = await cur.fetchall()
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
        WITH bought AS (
            -- a purchase converts the creator's latest message before it, if that one was sent in the period
            -- and at most 48 hours earlier
            SELECT DISTINCT t.fan_id FROM transactions t
            JOIN LATERAL (SELECT m.sent_at FROM messages m
                          WHERE m.creator_id = t.creator_id AND m.fan_id = t.fan_id AND m.direction = 'out'
                            AND m.sent_at < t.occurred_at AND m.sent_at < %(hi)s
                          ORDER BY m.sent_at DESC LIMIT 1) last ON true
            WHERE t.creator_id = %(c)s AND t.kind IN ('ppv', 'tip', 'unlock')
              AND t.occurred_at > %(lo)s AND t.occurred_at <= %(hi)s + interval '48 hours'
              AND last.sent_at >= %(lo)s AND last.sent_at >= t.occurred_at - interval '48 hours')
        SELECT (SELECT count(DISTINCT fan_id) FROM messages WHERE creator_id = %(c)s AND direction = 'out'
                  AND sent_at >= %(lo)s AND sent_at < %(hi)s) AS fans,
               (SELECT count(*) FROM bought) AS bought
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
    history = Period(period.start - timedelta(days=ANOMALY_HISTORY_DAYS), period.end)
    daily = await _daily(conn, creator_id, history, tz)
    return _anomalies(daily, period, today)
