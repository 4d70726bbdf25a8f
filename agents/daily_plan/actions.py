"""Build the Daily Action List from the business's own numbers.

Every action says what it is worth and how that was estimated (`basis`): a rate measured on this creator's
history when there is enough of it (at least MIN_SAMPLES cases), otherwise a stated prior. Actions link to the
drafts and fans they concern, so the inbox or a campaign is one call away. SQL aggregates; no loop per fan.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from agents.analytics.overview import recent_anomalies
from core.db import Conn

MIN_SAMPLES = 20
PRIOR_OFFER_CONVERSION = 0.15  # a PPV offer bought within 72 h
PRIOR_WIN_BACK = 0.10  # an expired fan subscribing again within 30 days
PRIOR_RE_ENGAGE = 0.05  # a quiet fan buying again within 30 days of a re-engagement
PRIOR_AT_RISK_SAVE = 0.10  # share of an at-risk fan's lifetime value a timely message keeps
LINKED = 50  # fan and draft ids listed per action (the counts are exact)

TOP_TIERS = ("whale", "big_spender")


@dataclass
class Rate:
    value: float
    measured: bool
    samples: int

    def basis(self, what: str) -> str:
        if self.measured:
            return f"{what}: {self.value:.0%}, measured on {self.samples} past cases"
        return f"{what}: {self.value:.0%} (a prior: only {self.samples} past cases to measure)"


@dataclass
class Action:
    kind: str
    title: str
    detail: str
    expected_value_cents: int
    basis: str
    count: int
    fan_ids: list[str] = field(default_factory=list)
    draft_ids: list[str] = field(default_factory=list)
    link: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    rank: int = 0


def _money(cents: float) -> str:
    return f"${cents / 100:,.0f}"


def _rate(hits: int, n: int, prior: float) -> Rate:
    return Rate(hits / n, True, n) if n >= MIN_SAMPLES else Rate(prior, False, n)


async def _rows(conn: Conn, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cur = await conn.execute(sql, params)
    return list(await cur.fetchall())


async def offer_conversion(conn: Conn, c: str, now: datetime) -> Rate:
    """Sent drafts with a PPV offer in the last 90 days (and at least 72 h old) whose item that fan bought
    within 72 h of the send."""
    [r] = await _rows(
        conn,
        "SELECT count(*) AS n, count(*) FILTER (WHERE EXISTS ("
        "  SELECT 1 FROM transactions t WHERE t.creator_id = d.creator_id AND t.fan_id = d.fan_id"
        "  AND t.catalog_id = (d.offer ->> 'catalog_id')::uuid"
        "  AND t.occurred_at BETWEEN m.sent_at AND m.sent_at + interval '72 hours')) AS hits"
        " FROM drafts d JOIN messages m ON m.draft_id = d.id"
        " WHERE d.creator_id = %(c)s AND d.status = 'sent' AND d.offer IS NOT NULL"
        " AND m.sent_at BETWEEN %(now)s - interval '90 days' AND %(now)s - interval '72 hours'",
        {"c": c, "now": now},
    )
    return _rate(int(r["hits"]), int(r["n"]), PRIOR_OFFER_CONVERSION)


async def win_back_rate(conn: Conn, c: str, now: datetime) -> Rate:
    """Expiries in the last 180 days (at least 30 days old) followed by a new subscription within 30 days."""
    [r] = await _rows(
        conn,
        "SELECT count(*) AS n, count(*) FILTER (WHERE EXISTS ("
        "  SELECT 1 FROM events s WHERE s.creator_id = e.creator_id AND s.fan_id = e.fan_id"
        "  AND s.kind IN ('subscription_started', 'subscription_renewed')"
        "  AND s.occurred_at > e.occurred_at AND s.occurred_at <= e.occurred_at + interval '30 days')) AS hits"
        " FROM events e WHERE e.creator_id = %(c)s AND e.kind = 'subscription_expired'"
        " AND e.occurred_at BETWEEN %(now)s - interval '180 days' AND %(now)s - interval '30 days'",
        {"c": c, "now": now},
    )
    return _rate(int(r["hits"]), int(r["n"]), PRIOR_WIN_BACK)


async def build_actions(conn: Conn, creator_id: str, now: datetime, today: date) -> list[Action]:
    c = creator_id
    actions: list[Action] = []
    conv = await offer_conversion(conn, c, now)

    # 1. Drafts waiting for a human: nothing reaches a fan until someone decides them.
    [d] = await _rows(
        conn,
        "SELECT count(*) AS n, count(*) FILTER (WHERE status = 'blocked') AS blocked,"
        " coalesce(sum((offer ->> 'price_cents')::int) FILTER (WHERE status = 'pending_review'), 0) AS offers,"
        " (array_agg(id::text ORDER BY created_at))[1:%(k)s] AS ids"
        " FROM drafts WHERE creator_id = %(c)s AND status IN ('pending_review', 'blocked')",
        {"c": c, "k": LINKED},
    )
    if d["n"]:
        ev = round(int(d["offers"]) * conv.value)
        blocked = f" ({d['blocked']} blocked by policy: edit or reject them)" if d["blocked"] else ""
        actions.append(
            Action(
                kind="review_drafts",
                title=f"Review {d['n']} draft(s) waiting in the inbox{blocked}, est. {_money(ev)}",
                detail="Approved drafts go out at each fan's best hour; undecided ones expire.",
                expected_value_cents=ev,
                basis=f"PPV offers in pending drafts ({_money(int(d['offers']))}) x "
                + conv.basis("offer conversion"),
                count=int(d["n"]),
                draft_ids=d["ids"] or [],
                link="/v1/inbox",
            )
        )

    # 2. Expired fans worth winning back, top spenders apart from the rest.
    wb = await win_back_rate(conn, c, now)
    rows = await _rows(
        conn,
        "SELECT (s.value_tier = ANY(%(top)s)) AS top, count(*) AS n,"
        " coalesce(sum(v.cents), 0) AS cents,"
        " (array_agg(f.id::text ORDER BY v.cents DESC NULLS LAST))[1:%(k)s] AS fans,"
        " (array_agg(dr.id::text) FILTER (WHERE dr.id IS NOT NULL))[1:%(k)s] AS drafts"
        " FROM fans f JOIN fan_scores s ON s.creator_id = f.creator_id AND s.fan_id = f.id"
        " LEFT JOIN LATERAL (SELECT sum(t.amount_cents) AS cents FROM transactions t"
        "   WHERE t.creator_id = f.creator_id AND t.fan_id = f.id"
        "   AND t.occurred_at > coalesce(f.expires_at, %(now)s) - interval '90 days') v ON true"
        " LEFT JOIN LATERAL (SELECT d.id FROM drafts d JOIN followups fu ON fu.id = d.followup_id"
        "   WHERE d.creator_id = f.creator_id AND d.fan_id = f.id AND fu.kind = 'win_back'"
        "   AND d.status IN ('pending_review', 'blocked') ORDER BY d.created_at DESC LIMIT 1) dr ON true"
        " WHERE f.creator_id = %(c)s AND f.subscription_status = 'expired'"
        " AND f.expires_at > %(now)s - interval '30 days'"
        " AND f.opted_out_at IS NULL AND f.handoff_at IS NULL"
        " GROUP BY 1",
        {"c": c, "now": now, "top": list(TOP_TIERS), "k": LINKED},
    )
    for r in sorted(rows, key=lambda r: not r["top"]):
        ev = round(int(r["cents"]) * wb.value)
        who = "expired whales and big spenders" if r["top"] else "other recently expired fans"
        pending = len(r["drafts"] or [])
        actions.append(
            Action(
                kind="win_back",
                title=f"Win back {r['n']} {who}, est. {_money(ev)}",
                detail=(
                    f"{pending} win-back draft(s) are waiting for approval; the sequences write the next ones."
                    if pending
                    else "Their win-back sequences will draft messages; a campaign can reach them sooner."
                ),
                expected_value_cents=ev,
                basis=f"their spend in their last 90 days as fans ({_money(int(r['cents']))}) x "
                + wb.basis("win-back rate"),
                count=int(r["n"]),
                fan_ids=r["fans"] or [],
                draft_ids=r["drafts"] or [],
                link="/v1/fans?segment=expired",
                data={"top_spenders": bool(r["top"])},
            )
        )

    # 3. Quiet fans the plan started re-engaging today.
    [q] = await _rows(
        conn,
        "SELECT count(*) AS n, coalesce(sum(s.ltv_cents), 0) AS ltv,"
        " (array_agg(fu.fan_id::text ORDER BY s.ltv_cents DESC NULLS LAST))[1:%(k)s] AS fans"
        " FROM followups fu LEFT JOIN fan_scores s ON s.creator_id = fu.creator_id AND s.fan_id = fu.fan_id"
        " WHERE fu.creator_id = %(c)s AND fu.kind = 'inactive' AND fu.workflow_id LIKE %(trigger)s",
        {"c": c, "trigger": f"%-inactive-d{today.isoformat()}", "k": LINKED},
    )
    if q["n"]:
        ev = round(int(q["ltv"]) * PRIOR_RE_ENGAGE)
        actions.append(
            Action(
                kind="re_engage",
                title=f"Re-engage {q['n']} quiet fan(s), est. {_money(ev)}",
                detail="Re-engagement sequences started today; their drafts arrive in the inbox at each step.",
                expected_value_cents=ev,
                basis=f"their lifetime value ({_money(int(q['ltv']))}) x {PRIOR_RE_ENGAGE:.0%} (a prior)",
                count=int(q["n"]),
                fan_ids=q["fans"] or [],
                link="/v1/followups?kind=inactive",
            )
        )

    # 4. PPV offers sent and not bought: reminders are scheduled.
    [p] = await _rows(
        conn,
        "SELECT count(*) AS n, coalesce(sum(c.price_cents), 0) AS cents,"
        " (array_agg(fu.fan_id::text))[1:%(k)s] AS fans"
        " FROM followups fu JOIN catalog c ON c.id = fu.catalog_id"
        " WHERE fu.creator_id = %(c)s AND fu.kind = 'ppv_reminder' AND fu.status = 'active'",
        {"c": c, "k": LINKED},
    )
    if p["n"]:
        ev = round(int(p["cents"]) * conv.value)
        actions.append(
            Action(
                kind="ppv_reminders",
                title=f"{p['n']} PPV offer(s) not bought yet: reminders are scheduled, est. {_money(ev)}",
                detail="Each reminder becomes a draft for approval; a purchase cancels it.",
                expected_value_cents=ev,
                basis=f"open offers ({_money(int(p['cents']))}) x " + conv.basis("offer conversion"),
                count=int(p["n"]),
                fan_ids=p["fans"] or [],
                link="/v1/followups?kind=ppv_reminder",
            )
        )

    # 5. Valuable fans drifting away: a campaign to the at-risk segment.
    [a] = await _rows(
        conn,
        "SELECT count(*) AS n, coalesce(sum(s.ltv_cents), 0) AS ltv, avg(s.p_alive) AS p_alive,"
        " (array_agg(s.fan_id::text ORDER BY s.ltv_cents DESC NULLS LAST))[1:%(k)s] AS fans"
        " FROM fan_scores s JOIN fans f ON f.creator_id = s.creator_id AND f.id = s.fan_id"
        " WHERE s.creator_id = %(c)s AND s.segment = 'at_risk' AND f.opted_out_at IS NULL AND f.handoff_at IS NULL",
        {"c": c, "k": LINKED},
    )
    if a["n"]:
        ev = round(int(a["ltv"]) * PRIOR_AT_RISK_SAVE)
        alive = f", mean P(alive) {a['p_alive']:.2f}" if a["p_alive"] is not None else ""
        actions.append(
            Action(
                kind="at_risk_campaign",
                title=f"Message {a['n']} at-risk fan(s) before they lapse, est. {_money(ev)}",
                detail=f"Lifetime value at stake {_money(int(a['ltv']))}{alive}."
                " POST /v1/campaigns with segment 'at_risk' drafts one message each.",
                expected_value_cents=ev,
                basis=f"lifetime value at stake x {PRIOR_AT_RISK_SAVE:.0%} (a prior)",
                count=int(a["n"]),
                fan_ids=a["fans"] or [],
                link="/v1/fans?segment=at_risk",
                data={"campaign": {"segment": "at_risk"}},
            )
        )

    # 6. Anomalies of the last week that ask for something, each with its recommendation.
    for an in await recent_anomalies(conn, c, today):
        if not an["actionable"]:
            continue
        money = an["metric"] == "revenue_cents"
        gap = an["expected"] - an["observed"]
        ev = round(max(gap, 0)) if money and an["direction"] == "down" else 0
        label = an["metric"].replace("_cents", "").replace("_", " ")
        moved = "dropped" if an["direction"] == "down" else "rose"
        seen = f"{_fmt(an['metric'], an['observed'])} vs {_fmt(an['metric'], an['expected'])} expected"
        est = f", est. {_money(ev)}" if ev else ""
        actions.append(
            Action(
                kind="anomaly",
                title=f"{label.capitalize()} {moved} on {an['date']} ({seen}){est}: {an['recommendation']}",
                detail=f"robust z-score {an['score']}; the expectation is this weekday's usual level",
                expected_value_cents=ev,
                basis="the revenue missing that day (expected - observed)" if ev else "no money estimate",
                count=1,
                link=f"/v1/analytics/overview?from={an['date']}&to={an['date']}",
                data=an,
            )
        )

    # Highest expected value first; ties keep the order above (drafts before sequences before anomalies).
    actions.sort(key=lambda x: -x.expected_value_cents)
    for i, act in enumerate(actions, 1):
        act.rank = i
    return actions


def _fmt(metric: str, v: float) -> str:
    if metric == "revenue_cents":
        return _money(v)
    if metric == "reply_rate":
        return f"{v:.0%}"
    return f"{v:.0f}"


def as_json(actions: list[Action]) -> list[dict[str, Any]]:
    return [asdict(a) for a in actions]
