"""Team metrics of one creator over a period of calendar days in the creator's timezone: per member, the drafts
they decided and what those decisions earned, and the share of outbound messages the DM agent wrote.

Definitions (also in docs/analytics.md#team-metrics):
- a decision counts in the period when it was made in it (`drafts.decided_at`), for the member who made it
  (`drafts.decided_by`). Approved: every approval (edited or not); edited: the approvals whose sent text differs
  from the agent's (`final_text <> text`); rejected: the decisions that fixed no text.
- time to decision: from the draft's creation to its decision, over approvals and rejections; median and p90
  (continuous percentiles, in seconds), null without a decision.
- offer revenue: what fans paid for the item an approved offer named, bought (a PPV purchase or an unlock) by
  that fan within 72 hours after the offer was sent. A payment counts once, for the latest such send of that
  item to that fan before it; it counts for the member who approved that offer, when the approval is in the
  period. Gross: refunds are not taken off.
- own messages sent: the messages a member wrote (POST /v1/fans/{id}/messages: `drafts.written_by`) that were sent
  in the period (`messages.sent_at`). They are not decisions: not counted as approved, nor in time to decision.
- automation rate: of the outbound messages sent in the period, the share that are sent drafts the agent wrote
  (approved by a member); the rest are members' own messages and the creator's own messages on the platform
  (`creator_message`), which record no member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection

OFFER_WINDOW = timedelta(hours=72)


@dataclass(frozen=True)
class MemberStats:
    member_id: str
    email: str | None  # null: the member was removed since
    role: str | None
    approved: int
    edited: int
    rejected: int
    median_decision_seconds: float | None
    p90_decision_seconds: float | None
    offer_revenue_cents: int
    own_messages_sent: int


@dataclass(frozen=True)
class TeamStats:
    members: list[MemberStats]
    messages_sent: int
    agent_messages_sent: int
    automation_rate: float | None


_MEMBERS = """
WITH decided AS (
    SELECT decided_by AS member_id, final_text IS NOT NULL AS approved,
           final_text IS NOT NULL AND final_text <> text AS edited,
           extract(epoch FROM decided_at - created_at)::float8 AS seconds
    FROM drafts
    WHERE creator_id = %(c)s AND decided_by IS NOT NULL AND written_by IS NULL
      AND decided_at >= %(lo)s AND decided_at < %(hi)s),
own AS (
    SELECT d.written_by AS member_id, count(*) AS sent
    FROM drafts d JOIN messages m ON m.creator_id = d.creator_id AND m.draft_id = d.id
    WHERE d.creator_id = %(c)s AND d.written_by IS NOT NULL AND m.sent_at >= %(lo)s AND m.sent_at < %(hi)s
    GROUP BY d.written_by),
per_member AS (
    SELECT member_id, count(*) FILTER (WHERE approved) AS approved, count(*) FILTER (WHERE edited) AS edited,
           count(*) FILTER (WHERE NOT approved) AS rejected,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_seconds,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90_seconds
    FROM decided GROUP BY member_id),
bought AS (
    -- each payment for an item, with the latest send of an offer of that item to that fan in the 72 h before it
    SELECT t.amount_cents, s.decided_by, s.decided_at
    FROM transactions t
    CROSS JOIN LATERAL (
        SELECT d.decided_by, d.decided_at
        FROM drafts d JOIN messages m ON m.creator_id = d.creator_id AND m.draft_id = d.id
        WHERE d.creator_id = t.creator_id AND d.fan_id = t.fan_id AND d.offer IS NOT NULL
          AND (d.offer ->> 'catalog_id')::uuid = t.catalog_id
          AND m.sent_at < t.occurred_at AND m.sent_at >= t.occurred_at - %(window)s
        ORDER BY m.sent_at DESC, m.id DESC LIMIT 1) s
    WHERE t.creator_id = %(c)s AND t.kind IN ('ppv', 'unlock') AND t.catalog_id IS NOT NULL
      AND t.occurred_at > %(lo)s),
revenue AS (
    SELECT decided_by AS member_id, sum(amount_cents)::bigint AS cents FROM bought
    WHERE decided_by IS NOT NULL AND decided_at >= %(lo)s AND decided_at < %(hi)s GROUP BY decided_by),
everyone AS (
    SELECT id AS member_id FROM members WHERE creator_id = %(c)s
    UNION SELECT member_id FROM per_member UNION SELECT member_id FROM revenue UNION SELECT member_id FROM own)
SELECT e.member_id::text AS member_id, mb.email, mb.role, coalesce(p.approved, 0) AS approved,
       coalesce(p.edited, 0) AS edited, coalesce(p.rejected, 0) AS rejected, p.median_seconds, p.p90_seconds,
       coalesce(r.cents, 0) AS offer_revenue_cents, coalesce(o.sent, 0) AS own_messages_sent
FROM everyone e
LEFT JOIN members mb ON mb.creator_id = %(c)s AND mb.id = e.member_id
LEFT JOIN per_member p ON p.member_id = e.member_id
LEFT JOIN revenue r ON r.member_id = e.member_id
LEFT JOIN own o ON o.member_id = e.member_id
ORDER BY coalesce(p.approved, 0) + coalesce(p.rejected, 0) DESC, mb.email NULLS LAST, e.member_id
"""

_MESSAGES = """
SELECT count(*) AS sent, count(*) FILTER (WHERE d.id IS NOT NULL AND d.written_by IS NULL) AS agent
FROM messages m LEFT JOIN drafts d ON d.creator_id = m.creator_id AND d.id = m.draft_id
WHERE m.creator_id = %(c)s AND m.direction = 'out' AND m.sent_at >= %(lo)s AND m.sent_at < %(hi)s
"""


async def team_on(conn: AsyncConnection[Any], creator_id: str, start: date, end: date) -> TeamStats:
    cur = await conn.execute("SELECT timezone FROM creators WHERE id = %s", [creator_id])
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"no creator {creator_id}")
    tz = ZoneInfo(row["timezone"])
    params: dict[str, Any] = {
        "c": creator_id,
        "lo": datetime.combine(start, datetime.min.time(), tzinfo=tz),
        "hi": datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz),
        "window": OFFER_WINDOW,
    }
    rows = await (await conn.execute(_MEMBERS, params)).fetchall()
    msg = await (await conn.execute(_MESSAGES, params)).fetchone()
    assert msg is not None
    sent, agent = int(msg["sent"]), int(msg["agent"])
    return TeamStats(
        members=[
            MemberStats(
                member_id=r["member_id"],
                email=r["email"],
                role=r["role"],
                approved=int(r["approved"]),
                edited=int(r["edited"]),
                rejected=int(r["rejected"]),
                median_decision_seconds=r["median_seconds"],
                p90_decision_seconds=r["p90_seconds"],
                offer_revenue_cents=int(r["offer_revenue_cents"]),
                own_messages_sent=int(r["own_messages_sent"]),
            )
            for r in rows
        ],
        messages_sent=sent,
        agent_messages_sent=agent,
        automation_rate=round(agent / sent, 4) if sent else None,
    )
