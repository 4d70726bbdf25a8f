"""Conversation activities: save what the supervisor graph decided, close drafts, record human decisions.

Each is idempotent: a retry after a crash finds the effect already made and does nothing new.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from temporalio import activity

from agents.followup.rules import INTERNAL_KINDS
from agents.supervisor import CREATOR_ANSWERED, batch_key
from core import db
from core.journal import append_audit, record_action
from core.store import alerts, drafts, fans, handoffs
from core.types import DraftStatus, PolicyReport, Route
from policies.scoped import check_draft_for_creator
from workflows.alerts import send_pending_quietly
from workflows.types import (
    APPLY_DECISION,
    COMPOSE_MESSAGE,
    EXPIRE_DRAFT,
    SAVE_OUTCOME,
    SUPERSEDE_DRAFT,
    WITHDRAW_UNSENT,
    ApplyDecisionInput,
    ApplyDecisionResult,
    ComposeInput,
    ComposeResult,
    DraftRef,
    SaveOutcomeInput,
    SaveOutcomeResult,
    WithdrawInput,
)

log = logging.getLogger(__name__)


def _batch_key(inp: SaveOutcomeInput) -> str:
    return batch_key(inp.fan_id, inp.event_ids)


async def _internal_origin(conn: Any, creator_id: str, fan_id: str, event_ids: list[int]) -> dict[str, Any]:
    """The follow-up step or campaign a draft was written for (with the fan's best time to send it), when the
    batch holds one and no fan message (a message is answered as a reply, whatever else came with it)."""
    cur = await conn.execute(
        "SELECT kind, payload FROM events WHERE creator_id = %s AND fan_id = %s AND id = ANY(%s)"
        " AND kind = ANY(%s) ORDER BY id DESC",
        [creator_id, fan_id, event_ids, ["message", *INTERNAL_KINDS]],
    )
    rows = await cur.fetchall()
    if not rows or any(r["kind"] == "message" for r in rows):
        return {}
    p = rows[0]["payload"]
    return {
        "followup_id": p.get("followup_id"),
        "campaign_id": p.get("campaign_id"),
        "send_after": p.get("send_after"),
    }


async def _enqueue_handoff_alert(conn: Any, creator_id: str, fan_id: str) -> None:
    """One alert per hand-off (keyed by the open hand-off's id: a retried save finds it and adds none)."""
    cur = await conn.execute(
        "SELECT id::text AS id, reason, opened_at FROM handoffs"
        " WHERE creator_id = %s AND fan_id = %s AND resolved_at IS NULL",
        [creator_id, fan_id],
    )
    row = await cur.fetchone()
    if row is None:
        return
    await alerts.enqueue(
        conn,
        creator_id,
        alerts.HANDOFF,
        f"handoff:{row['id']}",
        {
            "fan_id": fan_id,
            "handoff_id": row["id"],
            "reason": row["reason"],
            "opened_at": row["opened_at"].isoformat(),
        },
    )


@activity.defn(name=SAVE_OUTCOME)
async def save_outcome(inp: SaveOutcomeInput) -> SaveOutcomeResult:
    """Persist what the supervisor graph decided, in one transaction (the agents it delegated to made their own
    changes already). Pipeline mode: the statements whose results are not read go out without waiting for each other."""
    async with db.pool().connection() as conn:
        async with conn.pipeline(), conn.transaction():
            saved = await _persist_outcome(conn, inp)
        if saved.draft_id or inp.routing.route == Route.HANDOFF:
            _crash_hook_after_commit()  # a hand-off: before its alert is sent
        if inp.routing.route == Route.HANDOFF:
            await send_pending_quietly(inp.creator_id)
    return saved


def _crash_hook_after_commit(at: str = "") -> None:
    """The crash tests' hook: end this worker right after a draft's save, a hand-off's (before its alert is sent) or
    a member's message commits (`at` ""), or a human decision (`at` "decision"), before the workflow task that ran it
    completes (where a replay used to strand the draft). Inert unless HUNTAZE_TEST_CRASH_FILE names a file that
    exists and holds `at` (empty for the first kind); the test creates it each time it wants this crash."""
    path = os.environ.get("HUNTAZE_TEST_CRASH_FILE")
    if not path:
        return
    try:
        with open(path) as f:
            wanted = f.read().strip()
    except FileNotFoundError:
        return
    if wanted == at:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        os._exit(137)


async def _persist_outcome(conn: Any, inp: SaveOutcomeInput) -> SaveOutcomeResult:
    routing = inp.routing
    route = routing.route
    key = _batch_key(inp)
    c, f = inp.creator_id, inp.fan_id
    # Replayed after a crash between this save's commit and the end of its workflow task, the graph finds the
    # batch's events handled and drafts nothing: the draft saved the first time is still this batch's outcome.
    saved = await drafts.get_by_source_key(conn, c, key)
    if saved is not None:
        return SaveOutcomeResult(draft_id=saved.id, version=saved.version, status=DraftStatus(saved.status))
    # The workflow superseded its own pending draft before this batch, so a draft of this fan still awaiting a
    # decision was saved by a workflow task that never completed, and the replay's batch grew (more events had
    # arrived). This save adopts it or supersedes it: none is left that nobody can decide.
    orphans = await drafts.undecided_of_fan(conn, c, f)
    await conn.execute(
        "UPDATE events SET processed_at = coalesce(processed_at, now())"
        " WHERE creator_id = %s AND fan_id = %s AND id = ANY(%s)",
        [c, f, inp.event_ids],
    )
    await record_action(
        conn,
        creator_id=c,
        fan_id=f,
        kind="routed",
        dedupe_key=f"routed:{key}",
        summary=f"routed to {route}: {routing.reason}",
        details={
            "agent": "supervisor",
            "route": route,
            "reason": routing.reason,
            "event_ids": inp.event_ids,
            "inbound": routing.inbound.to_json() if routing.inbound else {},
        },
    )
    if routing.opt_out:
        await fans.opt_out(conn, c, f)
        await record_action(
            conn,
            creator_id=c,
            fan_id=f,
            kind="opt_out",
            dedupe_key=f"opt_out:{key}",
            summary="the fan opted out: automated drafting is frozen",
            details={"agent": "supervisor"},
        )
        await append_audit(conn, creator_id=c, actor="system", action="fan.opt_out", subject=f)
    if route == Route.HANDOFF and routing.reason == "possible_minor":
        await fans.record_age_signal(conn, c, f, routing.fan_text or routing.reason)
    if route == Route.HANDOFF:
        await fans.hand_off(conn, c, f, routing.reason)
        await handoffs.open_for(conn, c, f, routing.reason)
        await _enqueue_handoff_alert(conn, c, f)
        await record_action(
            conn,
            creator_id=c,
            fan_id=f,
            kind="handoff",
            dedupe_key=f"handoff:{key}",
            summary=f"a human is needed: {routing.reason}",
            details={"agent": "supervisor", "reason": routing.reason},
        )
        await append_audit(
            conn,
            creator_id=c,
            actor="system",
            action="fan.handoff",
            subject=f,
            details={"reason": routing.reason},
        )
    if route != Route.REPLY:
        if route == Route.HANDOFF or routing.opt_out:
            await _supersede(conn, c, f, orphans, "a human or the fan's opt-out took over")
            return SaveOutcomeResult(draft_id=None, version=0, status=None)
        return await _adopt(conn, c, f, orphans)
    draft = inp.drafting.draft if inp.drafting else None
    if draft is None:
        if orphans:
            return await _adopt(conn, c, f, orphans)
        await record_action(
            conn,
            creator_id=c,
            fan_id=f,
            kind="draft_failed",
            dedupe_key=f"draft_failed:{key}",
            summary="the DM agent could not produce a valid draft",
            details={"agent": "dm", "failure": inp.drafting.failure if inp.drafting else "no draft"},
        )
        return SaveOutcomeResult(draft_id=None, version=0, status=None)
    # A draft that was never checked is never ready for review.
    policy = inp.policy or PolicyReport("block", fix_text=None)
    status = DraftStatus.PENDING_REVIEW if policy.outcome == "pass" else DraftStatus.BLOCKED
    origin = await _internal_origin(conn, c, f, inp.event_ids)
    # The one statement here whose result is read (RETURNING): the pipeline syncs on it.
    row = await drafts.insert(
        conn,
        c,
        fan_id=f,
        source_key=key,
        workflow_id=inp.workflow_id,
        status=status,
        text=draft.text,
        offer=asdict(draft.offer) if draft.offer else None,
        rationale=draft.rationale,
        policy_report=policy.to_json(),
        event_ids=inp.event_ids,
        expires_at=inp.expires_at,
        followup_id=origin.get("followup_id"),
        campaign_id=origin.get("campaign_id"),
        send_after=origin.get("send_after"),
    )
    if row is None:  # a retry: the draft exists already
        row = await drafts.get_by_source_key(conn, c, key)
        assert row is not None
        return SaveOutcomeResult(draft_id=row.id, version=row.version, status=DraftStatus(row.status))
    await _supersede(conn, c, f, orphans, "a newer draft covers the same messages")
    kind = "drafted" if status == DraftStatus.PENDING_REVIEW else "blocked"
    reasons = "; ".join(x.reason for x in policy.findings)
    await record_action(
        conn,
        creator_id=c,
        fan_id=f,
        draft_id=row.id,
        kind=kind,
        dedupe_key=f"{kind}:{key}",
        summary="draft ready for review" if kind == "drafted" else f"draft blocked: {reasons}",
        details={"agent": "dm", "policy": policy.to_json(), "attempts": draft.attempts},
    )
    return SaveOutcomeResult(draft_id=row.id, version=row.version, status=DraftStatus(row.status))


async def _adopt(conn: Any, c: str, f: str, orphans: list[drafts.DraftKey]) -> SaveOutcomeResult:
    """Keep the newest stranded draft as the one awaiting a decision; supersede any other."""
    if not orphans:
        return SaveOutcomeResult(draft_id=None, version=0, status=None)
    keep, rest = orphans[0], orphans[1:]
    await _supersede(conn, c, f, rest, "a newer draft covers the same messages")
    return SaveOutcomeResult(draft_id=keep.id, version=keep.version, status=DraftStatus(keep.status))


async def _supersede(conn: Any, c: str, f: str, orphans: list[drafts.DraftKey], reason: str) -> None:
    for d in orphans:
        if await drafts.set_status(conn, c, d.id, DraftStatus.SUPERSEDED, reason=reason):
            await record_action(
                conn,
                creator_id=c,
                fan_id=f,
                draft_id=d.id,
                kind="superseded",
                summary=f"draft superseded: {reason}",
                dedupe_key=f"superseded:{d.id}",
                details={"reason": reason},
            )


async def _close_draft(ref: DraftRef, status: DraftStatus, kind: str, summary: str) -> bool:
    async with db.pool().connection() as conn, conn.transaction():
        changed = await drafts.set_status(
            conn, ref.creator_id, ref.draft_id, status, reason=ref.reason or None
        )
        if changed:
            await record_action(
                conn,
                creator_id=ref.creator_id,
                fan_id=ref.fan_id,
                draft_id=ref.draft_id,
                kind=kind,
                summary=summary,
                dedupe_key=f"{kind}:{ref.draft_id}",
                details={"reason": ref.reason},
            )
            await append_audit(
                conn,
                creator_id=ref.creator_id,
                actor="system",
                action=f"draft.{kind}",
                subject=ref.draft_id,
                details={"reason": ref.reason},
            )
        return changed


async def _creator_answered(creator_id: str, fan_id: str) -> bool:
    """Whether the creator's own message on the platform is among the fan's events not handled yet."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT 1 FROM events WHERE creator_id = %s AND fan_id = %s AND kind = 'creator_message'"
            " AND processed_at IS NULL LIMIT 1",
            [creator_id, fan_id],
        )
        return await cur.fetchone() is not None


@activity.defn(name=SUPERSEDE_DRAFT)
async def supersede_draft(ref: DraftRef) -> bool:
    """The fan's pending draft gives way to the batch that just arrived: a newer fan message, or the creator's
    own message on the platform (then the draft is never sent: she answered herself)."""
    if await _creator_answered(ref.creator_id, ref.fan_id):
        ref = replace(ref, reason=CREATOR_ANSWERED)
        return await _close_draft(
            ref, DraftStatus.SUPERSEDED, "superseded", f"draft superseded: {CREATOR_ANSWERED}"
        )
    return await _close_draft(
        ref, DraftStatus.SUPERSEDED, "superseded", "a newer fan message superseded the draft"
    )


@activity.defn(name=WITHDRAW_UNSENT)
async def withdraw_unsent(inp: WithdrawInput) -> list[str]:
    """The agent's approved drafts not sent yet (held by quiet hours or a cap, or next in line) give way when the
    creator's own message on the platform came in among the fan's events not handled yet: each one still approved
    is superseded and never sent. A member's own message stays (a human wrote it for this fan). Returns the drafts
    withdrawn."""
    if not await _creator_answered(inp.creator_id, inp.fan_id):
        return []
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT id::text AS id FROM drafts WHERE creator_id = %s AND id = ANY(%s::uuid[]) AND written_by IS NULL",
            [inp.creator_id, inp.draft_ids],
        )
        agents = {r["id"] for r in await cur.fetchall()}
    withdrawn = []
    for draft_id in inp.draft_ids:
        if draft_id not in agents:
            continue
        ref = DraftRef(inp.creator_id, inp.fan_id, draft_id, CREATOR_ANSWERED)
        summary = f"approved message withdrawn before it was sent: {CREATOR_ANSWERED}"
        async with db.pool().connection() as conn, conn.transaction():
            closed = await drafts.set_status(
                conn,
                inp.creator_id,
                draft_id,
                DraftStatus.SUPERSEDED,
                reason=CREATOR_ANSWERED,
                only_from=[DraftStatus.APPROVED],
            )
            if closed:
                await record_action(
                    conn,
                    creator_id=inp.creator_id,
                    fan_id=inp.fan_id,
                    draft_id=draft_id,
                    kind="superseded",
                    summary=summary,
                    dedupe_key=f"superseded:{draft_id}",
                    details={"reason": ref.reason},
                )
                await append_audit(
                    conn,
                    creator_id=inp.creator_id,
                    actor="system",
                    action="draft.superseded",
                    subject=draft_id,
                    details={"reason": ref.reason},
                )
        if closed:
            withdrawn.append(draft_id)
    return withdrawn


@activity.defn(name=EXPIRE_DRAFT)
async def expire_draft(ref: DraftRef) -> bool:
    return await expire_undecided(ref)


async def expire_undecided(ref: DraftRef) -> bool:
    """Expire a draft nobody decided (if it still waits) and escalate the fan to a human."""
    changed = await _close_draft(
        ref, DraftStatus.EXPIRED, "expired", "nobody decided in time: the draft expired"
    )
    if changed:
        async with db.pool().connection() as conn, conn.transaction():
            await record_action(
                conn,
                creator_id=ref.creator_id,
                fan_id=ref.fan_id,
                draft_id=ref.draft_id,
                kind="escalated",
                dedupe_key=f"escalated:{ref.draft_id}",
                summary="an expired draft needs a human to answer this fan",
            )
    return changed


@activity.defn(name=APPLY_DECISION)
async def apply_decision(req: ApplyDecisionInput) -> ApplyDecisionResult:
    """Record a human decision. Conditional on the version, so a stale or repeated decision changes nothing."""
    creator_id, fan_id, inp = req.creator_id, req.fan_id, req.decision
    policy: PolicyReport | None = None
    if inp.action == "approve" and inp.text is not None:
        async with db.pool().connection() as conn:
            offer = await drafts.get_offer(conn, creator_id, inp.draft_id)
        policy = await check_draft_for_creator(creator_id, fan_id, inp.text, offer)
        if policy.outcome != "pass":
            return ApplyDecisionResult(
                ok=False,
                status=None,
                version=inp.version,
                error_code="policy_blocked",
                message="the edited text breaks policy",
                policy=policy,
            )
    new_status = DraftStatus.APPROVED if inp.action == "approve" else DraftStatus.REJECTED
    async with db.pool().connection() as conn, conn.transaction():
        row = await drafts.decide(
            conn,
            creator_id,
            inp.draft_id,
            version=inp.version,
            status=new_status,
            actor=inp.actor,
            reason=inp.reason,
            approve=inp.action == "approve",
            text=inp.text,
            policy_report=policy.to_json() if policy else None,
        )
        if row is None:
            prev = await drafts.decision(conn, creator_id, inp.draft_id)
            if (
                prev is not None
                and prev.status == new_status
                and prev.version == inp.version + 1
                and prev.decided_by == str(inp.actor)
            ):
                # This very decision, retried after a crash between its commit and the activity's completion:
                # report it done, so the workflow still sends an approved draft (the send is idempotent).
                return ApplyDecisionResult(ok=True, status=DraftStatus(prev.status), version=prev.version)
            return ApplyDecisionResult(
                ok=False,
                status=None,
                version=inp.version,
                error_code="conflict",
                message="the draft changed or was already decided",
            )
        kind = "approved" if new_status == DraftStatus.APPROVED else "rejected"
        summary = f"draft {kind}" + (" with edits" if inp.text is not None else "")
        if inp.reason:
            summary += f": {inp.reason}"
        await record_action(
            conn,
            creator_id=creator_id,
            fan_id=fan_id,
            draft_id=inp.draft_id,
            kind=kind,
            summary=summary,
            dedupe_key=f"{kind}:{inp.draft_id}",
            details={"actor": inp.actor, "edited": inp.text is not None},
        )
        await append_audit(
            conn,
            creator_id=creator_id,
            actor=inp.actor,
            action=f"draft.{kind}",
            subject=inp.draft_id,
            details={"edited": inp.text is not None, "reason": inp.reason},
        )
    _crash_hook_after_commit("decision")
    return ApplyDecisionResult(ok=True, status=DraftStatus(row.status), version=row.version)


def written_source_key(key: str) -> str:
    """The draft source key of a member's message sent with this idempotency key."""
    return f"member:{key}"


@activity.defn(name=COMPOSE_MESSAGE)
async def compose_message(inp: ComposeInput) -> ComposeResult:
    """Store a message a member wrote, approved by its author, after the outbound policy passed it; it supersedes
    the agent's pending draft. Idempotent by the message's key: a retry (of this activity, of the update, of the
    client's POST) finds the message stored and changes nothing; the same key with another text or author is a
    conflict, never a second message."""
    c, f, msg = inp.creator_id, inp.fan_id, inp.compose
    key = written_source_key(msg.key)
    async with db.pool().connection() as conn:
        known = await drafts.get_written(conn, c, key)
    if known is not None:
        if known.text != msg.text or known.written_by != msg.author or known.offer != msg.offer:
            return ComposeResult(
                ok=False,
                draft_id=known.id,
                status=None,
                error_code="idempotency_conflict",
                message="this idempotency key was used for another message",
            )
        return ComposeResult(ok=True, draft_id=known.id, status=DraftStatus(known.status))
    policy = await check_draft_for_creator(c, f, msg.text, msg.offer)
    if policy.outcome != "pass":
        return ComposeResult(
            ok=False,
            draft_id=None,
            status=None,
            error_code="policy_blocked",
            message="the message breaks policy: nothing was stored or sent",
            policy=policy,
        )
    async with db.pool().connection() as conn, conn.transaction():
        undecided = await drafts.undecided_of_fan(conn, c, f)
        row = await drafts.insert_written(
            conn,
            c,
            fan_id=f,
            source_key=key,
            workflow_id=inp.workflow_id,
            author=msg.author,
            text=msg.text,
            offer=msg.offer,
            policy_report=policy.to_json(),
        )
        if row is None:  # written meanwhile by a concurrent retry: the next try reads it
            raise RuntimeError("the message was stored concurrently; retrying reads it")
        await _supersede(conn, c, f, undecided, "a member wrote to the fan")
        await record_action(
            conn,
            creator_id=c,
            fan_id=f,
            draft_id=row.id,
            kind="written",
            summary="a member wrote a message to the fan",
            dedupe_key=f"written:{row.id}",
            details={"author": msg.author, "offer": msg.offer},
        )
        await append_audit(
            conn,
            creator_id=c,
            actor=msg.author,
            action="message.written",
            subject=row.id,
            details={"fan_id": f, "offer": msg.offer, "superseded": [d.id for d in undecided]},
        )
    _crash_hook_after_commit()
    superseded = inp.pending_draft_id if any(d.id == inp.pending_draft_id for d in undecided) else None
    if superseded is None and undecided:
        superseded = undecided[0].id
    return ComposeResult(ok=True, draft_id=row.id, status=DraftStatus(row.status), superseded=superseded)


CONVERSATION_ACTIVITIES: list[Callable[..., Any]] = [
    save_outcome,
    supersede_draft,
    withdraw_unsent,
    expire_draft,
    apply_decision,
    compose_message,
]
