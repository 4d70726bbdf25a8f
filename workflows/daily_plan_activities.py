"""Activities of the daily plan: start re-engagement for quiet fans, and write the Daily Action List."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb
from temporalio import activity

from agents.daily_plan.actions import as_json, build_actions
from core import db
from core.journal import record_action
from core.store import alerts, drafts
from workflows.alerts import send_pending_quietly
from workflows.conversation_activities import expire_undecided
from workflows.followup_activities import ensure_followup, load_config
from workflows.types import (
    EXPIRE_OVERDUE_DRAFTS,
    PLAN_INACTIVE,
    WRITE_DAILY_PLAN,
    DailyPlanResult,
    DraftRef,
    ExpireOverdueResult,
    PlanInactiveResult,
    PlanStepInput,
)


async def _creator_day(creator_id: str, now: datetime) -> tuple[str, Any]:
    async with db.pool().connection() as conn:
        cur = await conn.execute("SELECT timezone FROM creators WHERE id = %s", [creator_id])
        row = await cur.fetchone()
    if row is None:
        raise LookupError(f"creator {creator_id} not found")
    return row["timezone"], now.astimezone(ZoneInfo(row["timezone"])).date()


@activity.defn(name=PLAN_INACTIVE)
async def plan_inactive_followups(inp: PlanStepInput) -> PlanInactiveResult:
    """Start a re-engagement sequence for the creator's quiet fans: subscribed, nothing from them (message or
    purchase) for `inactive_days`, nothing running for them, none re-engaged in that window, nothing awaiting
    review; the most valuable first, at most `inactive_per_day`. The trigger is the plan's day, so a retry starts
    nothing twice."""
    now = datetime.fromtimestamp(inp.now, UTC)
    _, day = await _creator_day(inp.creator_id, now)
    async with db.pool().connection() as conn:
        config = await load_config(conn, inp.creator_id)
        if not config.inactive.enabled or config.inactive_per_day == 0:
            return PlanInactiveResult(started=0)
        cur = await conn.execute(
            """
            SELECT f.id::text AS id,
                   (SELECT max(e.id) FROM events e WHERE e.creator_id = f.creator_id AND e.fan_id = f.id) AS last_event
            FROM fans f LEFT JOIN fan_scores s ON s.creator_id = f.creator_id AND s.fan_id = f.id
            WHERE f.creator_id = %(c)s AND f.subscription_status = 'active'
              AND f.opted_out_at IS NULL AND f.handoff_at IS NULL
              AND coalesce(f.subscribed_at, f.created_at) < %(since)s
              AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.creator_id = f.creator_id AND m.fan_id = f.id
                              AND m.direction = 'in' AND m.sent_at >= %(since)s)
              AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.creator_id = f.creator_id AND t.fan_id = f.id
                              AND t.kind IN ('ppv', 'tip', 'unlock') AND t.occurred_at >= %(since)s)
              AND NOT EXISTS (SELECT 1 FROM followups fu WHERE fu.creator_id = f.creator_id AND fu.fan_id = f.id
                              AND (fu.status = 'active' OR (fu.kind = 'inactive' AND fu.started_at >= %(since)s)))
              AND NOT EXISTS (SELECT 1 FROM drafts d WHERE d.creator_id = f.creator_id AND d.fan_id = f.id
                              AND d.status IN ('pending_review', 'blocked'))
            ORDER BY s.ltv_cents DESC NULLS LAST, f.id
            LIMIT %(n)s
            """,
            {
                "c": inp.creator_id,
                "since": now - config.inactive_window(),
                "n": config.inactive_per_day,
            },
        )
        quiet = await cur.fetchall()
    started = 0
    client = activity.client()
    for i, fan in enumerate(quiet):
        wid = await ensure_followup(
            client,
            inp.creator_id,
            fan["id"],
            "inactive",
            trigger=f"d{day.isoformat()}",
            trigger_event_id=fan["last_event"],
        )
        started += wid is not None
        if i % 20 == 0:
            activity.heartbeat(i)
    return PlanInactiveResult(started=started)


@activity.defn(name=WRITE_DAILY_PLAN)
async def write_daily_plan(inp: PlanStepInput) -> DailyPlanResult:
    """Build the ranked actions and store them as the creator's plan for the day (a rerun replaces it)."""
    now = datetime.fromtimestamp(inp.now, UTC)
    tz, day = await _creator_day(inp.creator_id, now)
    async with db.pool().connection() as conn, conn.transaction():
        actions = await build_actions(conn, inp.creator_id, now, day)
        summary = {
            "actions": len(actions),
            "expected_value_cents": sum(a.expected_value_cents for a in actions),
            "anomalies": sum(a.kind == "anomaly" for a in actions),
            "timezone": tz,
            "generated_at": now.isoformat(),
        }
        await conn.execute(
            "INSERT INTO daily_plans (creator_id, plan_date, actions, summary, created_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (creator_id, plan_date) DO UPDATE"
            " SET actions = EXCLUDED.actions, summary = EXCLUDED.summary, created_at = EXCLUDED.created_at",
            [inp.creator_id, day, Jsonb(as_json(actions)), Jsonb(summary), now],
        )
        top = actions[0].title if actions else "nothing needs doing today"
        await record_action(
            conn,
            creator_id=inp.creator_id,
            kind="daily_plan",
            summary=f"daily plan for {day.isoformat()}: {len(actions)} action(s); first: {top}",
            details={"plan_date": day.isoformat(), **summary},
            dedupe_key=f"daily_plan:{day.isoformat()}:{inp.now}",
        )
        # one alert per plan day (a rerun replaces the plan, not the alert)
        await alerts.enqueue(
            conn,
            inp.creator_id,
            alerts.DAILY_PLAN_READY,
            f"daily_plan_ready:{day.isoformat()}",
            {
                "plan_date": day.isoformat(),
                "actions": summary["actions"],
                "expected_value_cents": summary["expected_value_cents"],
                "anomalies": summary["anomalies"],
            },
        )
        # one alert per revenue anomaly (keyed by its day: the plans of the week after it show it again)
        for a in actions:
            if a.kind == "anomaly" and a.data.get("metric") == "revenue_cents":
                await alerts.enqueue(
                    conn,
                    inp.creator_id,
                    alerts.REVENUE_ANOMALY,
                    f"revenue_anomaly:{a.data['date']}",
                    {
                        "date": str(a.data["date"]),
                        "direction": a.data.get("direction"),
                        "observed_cents": a.data.get("observed"),
                        "expected_cents": a.data.get("expected"),
                        "recommendation": a.data.get("recommendation"),
                    },
                )
        # the drafts awaiting a decision that expire before the next day's plan: one alert per plan day
        cur = await conn.execute(
            "SELECT id::text AS id, fan_id::text AS fan_id, expires_at FROM drafts WHERE creator_id = %s"
            " AND status = 'pending_review' AND expires_at > %s AND expires_at <= %s ORDER BY expires_at, id",
            [inp.creator_id, now, now + EXPIRING_WITHIN],
        )
        expiring = await cur.fetchall()
        if expiring:
            await alerts.enqueue(
                conn,
                inp.creator_id,
                alerts.DRAFTS_EXPIRING,
                f"drafts_expiring:{day.isoformat()}",
                {
                    "plan_date": day.isoformat(),
                    "count": len(expiring),
                    "drafts": [
                        {
                            "draft_id": d["id"],
                            "fan_id": d["fan_id"],
                            "expires_at": d["expires_at"].isoformat(),
                        }
                        for d in expiring[:100]
                    ],
                },
            )
    await send_pending_quietly(inp.creator_id)
    return DailyPlanResult(
        plan_date=day.isoformat(), actions=len(actions), segments_run_id=None, inactive_started=0
    )


# The daily plan's alert about drafts that expire before the next plan.
EXPIRING_WITHIN = timedelta(days=1)

# A draft that outlived its expiry by this much has no workflow waiting for it (the conversation expires its own
# drafts on time): only a crash or a lost workflow leaves one behind.
OVERDUE_GRACE = timedelta(hours=1)


@activity.defn(name=EXPIRE_OVERDUE_DRAFTS)
async def expire_overdue_drafts(inp: PlanStepInput) -> ExpireOverdueResult:
    """Expire and escalate the creator's drafts that nobody can decide any more (idempotent)."""
    now = datetime.fromtimestamp(inp.now, UTC)
    async with db.pool().connection() as conn:
        stuck = await drafts.overdue(conn, inp.creator_id, now - OVERDUE_GRACE)
    expired = 0
    for d in stuck:
        ref = DraftRef(inp.creator_id, d.fan_id, d.id, "no conversation was waiting for a decision any more")
        expired += await expire_undecided(ref)
    return ExpireOverdueResult(expired)


DAILY_PLAN_ACTIVITIES: list[Callable[..., Any]] = [
    plan_inactive_followups,
    write_daily_plan,
    expire_overdue_drafts,
]
