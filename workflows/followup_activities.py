"""Activities of follow-up sequences: plan and start them, stop them, run one step, finish them.

Starting is two idempotent steps: a followups row keyed by the workflow id (derived from what triggered the
sequence), then the workflow with that id. A retry after a crash between them finds the row and starts the
workflow; a retry after both finds both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from agents.followup.config import FollowupConfig, SequenceKind
from agents.followup.rules import (
    FOLLOWUP_DUE,
    HANDED_OFF,
    INTERNAL_KINDS,
    OPTED_OUT,
    next_best_time,
    stop_reason_since,
)
from agents.supervisor import FOLLOWUP_AGENT, FollowupOutcome, FollowupRequest, record_delegation
from core import db
from core.db import Conn
from core.journal import record_action
from core.settings import get_settings
from core.store import drafts
from core.types import FollowupKind, Lane
from workflows.dispatch import dispatch_events
from workflows.followup import followup_workflow_id
from workflows.types import (
    FINISH_FOLLOWUP,
    FOLLOWUP_STEP,
    SYNC_FOLLOWUPS,
    FinishFollowupInput,
    FollowupInput,
    FollowupStepInput,
    FollowupStepResult,
    FollowupStepSpec,
)

log = logging.getLogger(__name__)
# A step finds a draft for this fan still under review: the step waits this long and looks again, so a
# follow-up never supersedes a draft a human may be reading.
PENDING_RETRY = timedelta(hours=1)
WEEK = timedelta(days=7)


async def load_config(conn: Conn, creator_id: str) -> FollowupConfig:
    cur = await conn.execute("SELECT followup_config FROM creators WHERE id = %s", [creator_id])
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"creator {creator_id} not found")
    return FollowupConfig.from_stored(row["followup_config"])


async def plan_followup(
    conn: Conn,
    creator_id: str,
    fan_id: str,
    kind: SequenceKind,
    *,
    trigger: str,
    trigger_event_id: int | None,
    trigger_draft_id: str | None = None,
    catalog_id: str | None = None,
    now: datetime | None = None,
) -> FollowupInput | None:
    """Write the followups row for a new sequence and return the workflow's input; None when the creator
    turned the sequence off or the fan already has one of this kind running (one at a time per kind, except
    PPV reminders: one per offer)."""
    config = await load_config(conn, creator_id)
    if not config.sequence(kind).enabled:
        return None
    wid = followup_workflow_id(creator_id, fan_id, kind, trigger)
    cur = await conn.execute(
        "SELECT id::text AS id, workflow_id, steps FROM followups WHERE creator_id = %s AND workflow_id = %s",
        [creator_id, wid],
    )
    existing = await cur.fetchone()
    if existing is None:
        if kind != "ppv_reminder":
            cur = await conn.execute(
                "SELECT 1 FROM followups WHERE creator_id = %s AND fan_id = %s AND kind = %s AND status = 'active'",
                [creator_id, fan_id, kind],
            )
            if await cur.fetchone() is not None:
                return None
        cur = await conn.execute(
            "SELECT segment, value_tier FROM fan_scores WHERE creator_id = %s AND fan_id = %s",
            [creator_id, fan_id],
        )
        score = await cur.fetchone()
        segment = config.tuning_key(kind, score["segment"], score["value_tier"]) if score else None
        steps = [s.model_dump() for s in config.steps_for(kind, segment)]
        cur = await conn.execute(
            "INSERT INTO followups (creator_id, fan_id, kind, workflow_id, segment, trigger_event_id,"
            " trigger_draft_id, catalog_id, steps, started_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (creator_id, workflow_id) DO NOTHING RETURNING id::text AS id, workflow_id, steps",
            [
                creator_id,
                fan_id,
                kind,
                wid,
                segment,
                trigger_event_id,
                trigger_draft_id,
                catalog_id,
                Jsonb(steps),
                now or datetime.now(UTC),
            ],
        )
        existing = await cur.fetchone()
        if existing is None:  # a concurrent start won
            return None
        await record_action(
            conn,
            creator_id=creator_id,
            fan_id=fan_id,
            kind="followup_started",
            summary=f"{kind.replace('_', '-')} sequence planned: {len(steps)} step(s)"
            + (f" for a {segment.replace('_', ' ')} fan" if segment else ""),
            details={"followup_id": existing["id"], "kind": kind, "segment": segment, "steps": steps},
            dedupe_key=f"followup_started:{existing['id']}",
        )
    return FollowupInput(
        followup_id=existing["id"],
        creator_id=creator_id,
        fan_id=fan_id,
        kind=FollowupKind(kind),
        steps=[FollowupStepSpec(s["after_hours"] * 3600, s["intent"]) for s in existing["steps"]],
    )


async def start_followup_workflow(client: Client, inp: FollowupInput, workflow_id: str) -> None:
    try:
        await client.start_workflow(
            "FollowupWorkflow",
            inp,
            id=workflow_id,
            task_queue=get_settings().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:
        pass  # it ran and closed already: a retried start must not run it twice


async def ensure_followup(
    client: Client,
    creator_id: str,
    fan_id: str,
    kind: SequenceKind,
    *,
    trigger: str,
    trigger_event_id: int | None,
    trigger_draft_id: str | None = None,
    catalog_id: str | None = None,
) -> str | None:
    """Plan (row) then start (workflow) one sequence; the workflow id, or None when none was started."""
    async with db.pool().connection() as conn, conn.transaction():
        inp = await plan_followup(
            conn,
            creator_id,
            fan_id,
            kind,
            trigger=trigger,
            trigger_event_id=trigger_event_id,
            trigger_draft_id=trigger_draft_id,
            catalog_id=catalog_id,
        )
    if inp is None:
        return None
    wid = followup_workflow_id(creator_id, fan_id, kind, trigger)
    await start_followup_workflow(client, inp, wid)
    return wid


async def _counted_event_kinds(
    conn: Conn,
    creator_id: str,
    fan_id: str,
    kind: str,
    catalog_id: Any,
    *,
    after_event_id: int = 0,
    event_ids: list[int] | None = None,
) -> list[str]:
    """The kinds of the fan's own events (after one event, or among given ones) that can stop a sequence of
    `kind`. For a PPV reminder, a purchase of another catalog item does not count; a purchase that names no
    item does (we cannot tell, and one reminder too few beats one too many)."""
    cur = await conn.execute(
        "SELECT kind FROM events WHERE creator_id = %s AND fan_id = %s AND id > %s"
        " AND (%s::bigint[] IS NULL OR id = ANY(%s::bigint[])) AND kind <> ALL(%s)"
        " AND NOT (%s AND kind IN ('purchase', 'ppv_unlock') AND %s::uuid IS NOT NULL"
        "          AND (payload ->> 'catalog_id') IS NOT NULL"
        "          AND (payload ->> 'catalog_id') <> %s::text)"
        " ORDER BY id",
        [
            creator_id,
            fan_id,
            after_event_id,
            event_ids,
            event_ids,
            list(INTERNAL_KINDS),
            kind == "ppv_reminder",
            catalog_id,
            str(catalog_id) if catalog_id else None,
        ],
    )
    return [r["kind"] for r in await cur.fetchall()]


async def stop_followups(
    client: Client,
    creator_id: str,
    fan_id: str,
    reasons: dict[str, str],
    event_ids: list[int] | None = None,
) -> list[str]:
    """Cancel the fan's running sequences of the given kinds (kind -> why); the kinds stopped. With the batch's
    event ids, a PPV reminder is re-checked against them: buying another item does not stop it."""
    if not reasons:
        return []
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT id::text AS id, kind, workflow_id, catalog_id FROM followups WHERE creator_id = %s"
            " AND fan_id = %s AND status = 'active' AND kind = ANY(%s) FOR UPDATE",
            [creator_id, fan_id, list(reasons)],
        )
        candidates = await cur.fetchall()
        rows = []
        for r in candidates:
            why = reasons[r["kind"]]
            if r["kind"] == "ppv_reminder" and event_ids and why not in (OPTED_OUT, HANDED_OFF):
                counted = await _counted_event_kinds(
                    conn, creator_id, fan_id, r["kind"], r["catalog_id"], event_ids=event_ids
                )
                why = stop_reason_since(r["kind"], counted) or ""
                if not why:
                    continue
            reasons = {**reasons, r["kind"]: why}
            await _close(conn, creator_id, fan_id, r["id"], r["kind"], "cancelled", why)
            rows.append(r)
    for r in rows:
        try:
            await client.get_workflow_handle(r["workflow_id"]).signal("stop", reasons[r["kind"]])
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
    return [r["kind"] for r in rows]


async def _close(
    conn: Conn, creator_id: str, fan_id: str, followup_id: str, kind: str, status: str, reason: str
) -> bool:
    cur = await conn.execute(
        "UPDATE followups SET status = %s, stop_reason = %s, ended_at = now(), next_step_at = NULL"
        " WHERE creator_id = %s AND id = %s AND status = 'active' RETURNING id",
        [status, reason, creator_id, followup_id],
    )
    if await cur.fetchone() is None:
        return False
    verb = "completed" if status == "completed" else "stopped"
    await record_action(
        conn,
        creator_id=creator_id,
        fan_id=fan_id,
        kind=f"followup_{verb}",
        summary=f"{kind.replace('_', '-')} sequence {verb}: {reason}",
        details={"followup_id": followup_id, "kind": kind, "reason": reason},
        dedupe_key=f"followup_closed:{followup_id}",
    )
    return True


async def apply_followups(client: Client, req: FollowupRequest) -> FollowupOutcome:
    """The follow-up agent's work for one batch of a fan's events, as the supervisor delegated it: stop first (an
    expiry stops the welcome sequence), then start (and the expiry starts a win-back); then the delegation's action.
    Idempotent: stopping twice or starting by a derived workflow id changes nothing, the action is keyed by the
    batch."""
    stopped = await stop_followups(client, req.creator_id, req.fan_id, req.stop, req.event_ids)
    started = []
    trigger_event = max(req.event_ids) if req.event_ids else None
    for kind in req.start:
        wid = await ensure_followup(
            client,
            req.creator_id,
            req.fan_id,
            kind,  # type: ignore[arg-type]
            trigger=f"e{trigger_event}",
            trigger_event_id=trigger_event,
        )
        if wid:
            started.append(kind)
    done = [f"started {k.replace('_', '-')}" for k in started] + [
        f"stopped {k.replace('_', '-')}" for k in stopped
    ]
    asked = [f"start {k.replace('_', '-')}" for k in req.start] + [
        f"stop {k.replace('_', '-')} ({why})" for k, why in req.stop.items()
    ]
    async with db.pool().connection() as conn, conn.transaction():
        await record_delegation(
            conn,
            FOLLOWUP_AGENT,
            req.creator_id,
            req.fan_id,
            req.event_ids,
            ", ".join(done) if done else "no sequence to change",
            {
                "reason": "; ".join(asked),
                "start": req.start,
                "stop": req.stop,
                "started": started,
                "stopped": stopped,
            },
        )
    return FollowupOutcome(started=started, stopped=stopped)


@activity.defn(name=SYNC_FOLLOWUPS)
async def sync_followups(req: FollowupRequest) -> FollowupOutcome:
    """The follow-up agent's step in the supervisor graph (a local activity of the fan's conversation)."""
    return await apply_followups(activity.client(), req)


@activity.defn(name=FOLLOWUP_STEP)
async def followup_step(inp: FollowupStepInput) -> FollowupStepResult:
    """One step of a sequence, at its due time: stop, defer, or hand a follow-up event to the conversation."""
    now = datetime.fromtimestamp(inp.now, UTC)
    c, f = inp.creator_id, inp.fan_id
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT fu.*, fa.opted_out_at, fa.handoff_at, fa.timezone FROM followups fu"
            " JOIN fans fa ON fa.creator_id = fu.creator_id AND fa.id = fu.fan_id"
            " WHERE fu.creator_id = %s AND fu.id = %s FOR UPDATE OF fu",
            [c, inp.followup_id],
        )
        fu = await cur.fetchone()
        if fu is None:
            return FollowupStepResult("stop", "the sequence no longer exists")
        if fu["status"] != "active":
            return FollowupStepResult("stop", fu["stop_reason"] or f"the sequence is {fu['status']}")
        kind: SequenceKind = fu["kind"]
        why = OPTED_OUT if fu["opted_out_at"] else HANDED_OFF if fu["handoff_at"] else None
        if why is None:
            # The fan's own events since the sequence began; for a reminder, only purchases of its item count.
            counted = await _counted_event_kinds(
                conn, c, f, kind, fu["catalog_id"], after_event_id=fu["trigger_event_id"] or 0
            )
            why = stop_reason_since(kind, counted)
        if why is not None:
            await _close(conn, c, f, inp.followup_id, kind, "cancelled", why)
            return FollowupStepResult("stop", why)
        config = await load_config(conn, c)
        cur = await conn.execute(
            "SELECT occurred_at FROM events WHERE creator_id = %s AND fan_id = %s AND kind = %s"
            " AND occurred_at > %s AND platform_event_id NOT LIKE %s ORDER BY occurred_at",
            [c, f, FOLLOWUP_DUE, now - WEEK, f"followup:{inp.followup_id}:{inp.step}"],
        )
        recent = [r["occurred_at"] for r in await cur.fetchall()]
        cap = config.max_per_fan_per_week
        if len(recent) >= cap:
            retry = recent[len(recent) - cap] + WEEK
            return await _defer(conn, fu, inp, retry, f"at most {cap} follow-ups to this fan in 7 days")
        if await drafts.has_undecided(conn, c, f):
            return await _defer(
                conn, fu, inp, now + PENDING_RETRY, "a draft for this fan is still under review"
            )
        cur = await conn.execute(
            "SELECT best_hours FROM fan_scores WHERE creator_id = %s AND fan_id = %s", [c, f]
        )
        score = await cur.fetchone()
        send_after = next_best_time(
            now, fu["timezone"], score["best_hours"] if score else None, config.default_best_hours
        )
        step = fu["steps"][inp.step]
        key = f"followup:{inp.followup_id}:{inp.step}"
        payload = {
            "followup_id": inp.followup_id,
            "sequence": kind,
            "step": inp.step,
            "steps": len(fu["steps"]),
            "intent": step["intent"],
            "send_after": send_after.isoformat(),
            "catalog_id": str(fu["catalog_id"]) if fu["catalog_id"] else None,
        }
        cur = await conn.execute(
            "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (creator_id, platform_event_id) DO NOTHING RETURNING id",
            [c, f, key, FOLLOWUP_DUE, Jsonb(payload), now],
        )
        row = await cur.fetchone()
        if row is None:  # a retry: the event exists; dispatch it again (harmless)
            cur = await conn.execute(
                "SELECT id FROM events WHERE creator_id = %s AND platform_event_id = %s", [c, key]
            )
            row = await cur.fetchone()
            assert row is not None
        steps = fu["steps"]
        nxt = (
            fu["started_at"] + timedelta(hours=steps[inp.step + 1]["after_hours"])
            if inp.step + 1 < len(steps)
            else None
        )
        await conn.execute(
            "UPDATE followups SET steps_done = greatest(steps_done, %s), next_step_at = %s WHERE id = %s",
            [inp.step + 1, nxt, inp.followup_id],
        )
        await record_action(
            conn,
            creator_id=c,
            fan_id=f,
            kind="followup_step",
            summary=f"{kind.replace('_', '-')} step {inp.step + 1}/{len(steps)}: {step['intent']}",
            details={**payload, "event_id": row["id"]},
            dedupe_key=f"followup_step:{key}",
        )
    await dispatch_events(activity.client(), get_settings(), c, f, [row["id"]], Lane.BATCH)
    return FollowupStepResult("drafted", event_id=row["id"])


async def _defer(
    conn: Conn, fu: dict[str, Any], inp: FollowupStepInput, retry: datetime, why: str
) -> FollowupStepResult:
    await conn.execute("UPDATE followups SET next_step_at = %s WHERE id = %s", [retry, inp.followup_id])
    await record_action(
        conn,
        creator_id=inp.creator_id,
        fan_id=inp.fan_id,
        kind="followup_deferred",
        summary=f"{fu['kind'].replace('_', '-')} step {inp.step + 1} waits until {retry:%Y-%m-%d %H:%M} UTC: {why}",
        details={
            "followup_id": inp.followup_id,
            "step": inp.step,
            "retry_at": retry.isoformat(),
            "reason": why,
        },
        dedupe_key=f"followup_deferred:{inp.followup_id}:{inp.step}:{retry.isoformat()}",
    )
    return FollowupStepResult("defer", why, retry_at=retry.timestamp())


@activity.defn(name=FINISH_FOLLOWUP)
async def finish_followup(inp: FinishFollowupInput) -> bool:
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT fan_id::text AS fan_id, kind FROM followups WHERE creator_id = %s AND id = %s",
            [inp.creator_id, inp.followup_id],
        )
        row = await cur.fetchone()
        if row is None:
            return False
        return await _close(
            conn, inp.creator_id, row["fan_id"], inp.followup_id, row["kind"], inp.status, inp.reason
        )


FOLLOWUP_ACTIVITIES: list[Callable[..., Any]] = [sync_followups, followup_step, finish_followup]
