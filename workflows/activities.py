"""Activities: every durable effect of a conversation (drafts, decisions, delivery) happens here.

Each activity is idempotent: a retry after a crash finds the effect already made and does nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agents.followup.rules import INTERNAL_KINDS
from connectors.webhook import post_signed
from core import db
from core.crypto import Sealed, connection_aad, keyring
from core.journal import append_audit, record_action
from core.settings import get_settings
from core.types import DECIDABLE, DraftStatus, Route
from policies.scoped import check_draft_for_creator, load_policy, send_window
from policies.timing import SendWindow
from workflows.campaign_activities import CAMPAIGN_ACTIVITIES
from workflows.daily_plan_activities import DAILY_PLAN_ACTIVITIES
from workflows.followup_activities import FOLLOWUP_ACTIVITIES, ensure_followup
from workflows.types import (
    APPLY_DECISION,
    EXPIRE_DRAFT,
    REFRESH_SEGMENTS,
    REMEMBER_MESSAGES,
    SAVE_OUTCOME,
    SEND_DRAFT,
    SUPERSEDE_DRAFT,
    ApplyDecisionInput,
    ApplyDecisionResult,
    DraftRef,
    RememberInput,
    RememberResult,
    SaveOutcomeInput,
    SaveOutcomeResult,
    SegmentationInput,
    SegmentationResult,
    SendInput,
    SendResult,
)

log = logging.getLogger(__name__)


def _batch_key(inp: SaveOutcomeInput) -> str:
    return f"batch:{inp.fan_id}:{min(inp.event_ids)}-{max(inp.event_ids)}"


# Events that change what a fan is worth or whether they are still subscribed.
_RESCORE_KINDS = ["purchase", "tip", "subscription_started", "subscription_renewed", "subscription_expired"]


async def _rescore_after_money_events(conn: Any, creator_id: str, fan_id: str, event_ids: list[int]) -> None:
    """The supervisor's call to segmentation: a purchase, tip or subscription change re-scores this fan with the
    creator's latest models. In its own transaction after the outcome is committed (re-scoring writes with COPY,
    which pipeline mode does not allow), and never fatal: a scoring fault must not hold up the fan's conversation
    (the next whole refresh covers it). A retried save re-scores again, which changes nothing."""
    from agents.segmentation.refresh import rescore_fans

    cur = await conn.execute(
        "SELECT 1 FROM events WHERE creator_id = %s AND fan_id = %s AND id = ANY(%s) AND kind = ANY(%s) LIMIT 1",
        [creator_id, fan_id, event_ids, _RESCORE_KINDS],
    )
    if await cur.fetchone() is None:
        return
    try:
        async with conn.transaction():
            await rescore_fans(conn, creator_id, [fan_id])
    except Exception:
        log.exception(
            "re-scoring fan %s of creator %s failed; the next refresh will cover it", fan_id, creator_id
        )


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


@activity.defn(name=SAVE_OUTCOME)
async def save_outcome(inp: SaveOutcomeInput) -> SaveOutcomeResult:
    """Persist what the supervisor graph decided, in one transaction, then re-score the fan after money events.
    The transaction runs in pipeline mode: the statements whose results are not read go out without waiting for
    each other (4 round trips to Postgres for a draft, not 8)."""
    async with db.pool().connection() as conn:
        async with conn.pipeline(), conn.transaction():
            saved = await _persist_outcome(conn, inp)
        await _rescore_after_money_events(conn, inp.creator_id, inp.fan_id, inp.event_ids)
    return saved


async def _persist_outcome(conn: Any, inp: SaveOutcomeInput) -> SaveOutcomeResult:
    st: dict[str, Any] = inp.graph_state
    route = st.get("route", Route.IGNORE)
    key = _batch_key(inp)
    c, f = inp.creator_id, inp.fan_id
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
        summary=f"routed to {route}: {st.get('route_reason', '')}",
        details={
            "route": route,
            "reason": st.get("route_reason"),
            "event_ids": inp.event_ids,
            "inbound": st.get("inbound") or {},
        },
    )
    if st.get("opt_out"):
        await conn.execute(
            "UPDATE fans SET opted_out_at = coalesce(opted_out_at, now()) WHERE creator_id = %s AND id = %s",
            [c, f],
        )
        await record_action(
            conn,
            creator_id=c,
            fan_id=f,
            kind="opt_out",
            dedupe_key=f"opt_out:{key}",
            summary="the fan opted out: automated drafting is frozen",
        )
        await append_audit(conn, creator_id=c, actor="system", action="fan.opt_out", subject=f)
    if route == Route.HANDOFF:
        await conn.execute(
            "UPDATE fans SET handoff_at = coalesce(handoff_at, now()), handoff_reason = %s"
            " WHERE creator_id = %s AND id = %s",
            [st.get("route_reason"), c, f],
        )
        await record_action(
            conn,
            creator_id=c,
            fan_id=f,
            kind="handoff",
            dedupe_key=f"handoff:{key}",
            summary=f"a human is needed: {st.get('route_reason')}",
            details={"reason": st.get("route_reason")},
        )
        await append_audit(
            conn,
            creator_id=c,
            actor="system",
            action="fan.handoff",
            subject=f,
            details={"reason": st.get("route_reason")},
        )
    if route != Route.REPLY:
        return SaveOutcomeResult(draft_id=None, version=0, status=None)
    draft = st.get("draft")
    if not draft:
        await record_action(
            conn,
            creator_id=c,
            fan_id=f,
            kind="draft_failed",
            dedupe_key=f"draft_failed:{key}",
            summary="the DM agent could not produce a valid draft",
            details={"failure": st.get("failure")},
        )
        return SaveOutcomeResult(draft_id=None, version=0, status=None)
    policy = st.get("policy") or {
        "outcome": "block",
        "findings": [],
        "rules_checked": [],
        "error": "no policy report",
    }
    status = DraftStatus.PENDING_REVIEW if policy.get("outcome") == "pass" else DraftStatus.BLOCKED
    origin = await _internal_origin(conn, c, f, inp.event_ids)
    cur = await conn.execute(
        "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, offer, rationale,"
        " policy_report, event_ids, expires_at, followup_id, campaign_id, send_after)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, to_timestamp(%s), %s, %s, %s)"
        " ON CONFLICT (creator_id, source_key) DO NOTHING RETURNING id::text AS id, version, status",
        [
            c,
            f,
            key,
            inp.workflow_id,
            status,
            draft["text"],
            Jsonb(draft.get("offer")) if draft.get("offer") else None,
            draft.get("rationale", ""),
            Jsonb(policy),
            inp.event_ids,
            inp.expires_at,
            origin.get("followup_id"),
            origin.get("campaign_id"),
            origin.get("send_after"),
        ],
    )
    row = await cur.fetchone()
    if row is None:  # a retry: the draft exists already
        cur = await conn.execute(
            "SELECT id::text AS id, version, status FROM drafts WHERE creator_id = %s AND source_key = %s",
            [c, key],
        )
        row = await cur.fetchone()
        assert row is not None
        return SaveOutcomeResult(draft_id=row["id"], version=row["version"], status=row["status"])
    kind = "drafted" if status == DraftStatus.PENDING_REVIEW else "blocked"
    reasons = "; ".join(x["reason"] for x in policy.get("findings", []))
    await record_action(
        conn,
        creator_id=c,
        fan_id=f,
        draft_id=row["id"],
        kind=kind,
        dedupe_key=f"{kind}:{key}",
        summary="draft ready for review" if kind == "drafted" else f"draft blocked: {reasons}",
        details={"policy": policy, "attempts": draft.get("attempts")},
    )
    return SaveOutcomeResult(draft_id=row["id"], version=row["version"], status=row["status"])


async def _close_draft(ref: DraftRef, status: DraftStatus, kind: str, summary: str) -> bool:
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE drafts SET status = %s, version = version + 1, updated_at = now(), decision_reason = %s"
            " WHERE creator_id = %s AND id = %s AND status = ANY(%s) RETURNING id",
            [status, ref.reason or None, ref.creator_id, ref.draft_id, list(DECIDABLE)],
        )
        changed = await cur.fetchone() is not None
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


@activity.defn(name=SUPERSEDE_DRAFT)
async def supersede_draft(ref: DraftRef) -> bool:
    return await _close_draft(
        ref, DraftStatus.SUPERSEDED, "superseded", "a newer fan message superseded the draft"
    )


@activity.defn(name=EXPIRE_DRAFT)
async def expire_draft(ref: DraftRef) -> bool:
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
    policy: dict[str, Any] | None = None
    if inp.action == "approve" and inp.text is not None:
        async with db.pool().connection() as conn:
            cur = await conn.execute(
                "SELECT offer FROM drafts WHERE creator_id = %s AND id = %s", [creator_id, inp.draft_id]
            )
            row = await cur.fetchone()
        offer = row["offer"] if row else None
        report = await check_draft_for_creator(creator_id, fan_id, inp.text, offer)
        policy = report.to_json()
        if report.outcome != "pass":
            return ApplyDecisionResult(
                ok=False,
                status="",
                version=inp.version,
                error_code="policy_blocked",
                message="the edited text breaks policy",
                policy=policy,
            )
    new_status = DraftStatus.APPROVED if inp.action == "approve" else DraftStatus.REJECTED
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE drafts SET status = %s, version = version + 1, updated_at = now(), decided_at = now(),"
            " decided_by = %s, decision_reason = %s, final_text = CASE WHEN %s THEN coalesce(%s, text) END,"
            " policy_report = CASE WHEN %s::jsonb IS NULL THEN policy_report ELSE %s::jsonb END"
            " WHERE creator_id = %s AND id = %s AND version = %s AND status = ANY(%s)"
            " RETURNING status, version",
            [
                new_status,
                inp.actor,
                inp.reason,
                inp.action == "approve",
                inp.text,
                Jsonb(policy) if policy else None,
                Jsonb(policy) if policy else None,
                creator_id,
                inp.draft_id,
                inp.version,
                list(DECIDABLE),
            ],
        )
        row = await cur.fetchone()
        if row is None:
            cur = await conn.execute(
                "SELECT status, version, decided_by::text AS decided_by FROM drafts WHERE creator_id = %s AND id = %s",
                [creator_id, inp.draft_id],
            )
            prev = await cur.fetchone()
            if (
                prev is not None
                and prev["status"] == new_status
                and prev["version"] == inp.version + 1
                and prev["decided_by"] == str(inp.actor)
            ):
                # This very decision, retried after a crash between its commit and the activity's completion:
                # report it done, so the workflow still sends an approved draft (the send is idempotent).
                return ApplyDecisionResult(ok=True, status=prev["status"], version=prev["version"])
            return ApplyDecisionResult(
                ok=False,
                status="",
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
    return ApplyDecisionResult(ok=True, status=row["status"], version=row["version"])


async def _delivery_target(creator_id: str, platform: str) -> tuple[str, str] | None:
    """The creator's own connection for the platform (secret unsealed here, only for signing), else the
    service-wide webhook from settings, else None."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT webhook_url, key_id, secret_nonce, secret_sealed FROM connections"
            " WHERE creator_id = %s AND platform = %s",
            [creator_id, platform],
        )
        row = await cur.fetchone()
    settings = get_settings()
    if row is not None:
        sealed = Sealed(row["key_id"], bytes(row["secret_nonce"]), bytes(row["secret_sealed"]))
        secret = keyring(settings).open(sealed, connection_aad(creator_id, platform)).decode()
        return row["webhook_url"], secret
    if settings.webhook_url:
        return (
            settings.webhook_url,
            settings.webhook_secret.get_secret_value() if settings.webhook_secret else "",
        )
    return None


async def _remind_unpurchased(ref: SendInput, offer: dict[str, Any]) -> None:
    """A sent PPV offer starts its reminder sequence (stopped when the fan buys that item or replies). Idempotent:
    keyed by the draft, so every retry of this send finds the same sequence."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT max(id) AS id FROM events WHERE creator_id = %s AND fan_id = %s",
            [ref.creator_id, ref.fan_id],
        )
        last = await cur.fetchone()
    await ensure_followup(
        activity.client(),
        ref.creator_id,
        ref.fan_id,
        "ppv_reminder",
        trigger=f"d{ref.draft_id}",
        trigger_event_id=last["id"] if last else None,
        trigger_draft_id=ref.draft_id,
        catalog_id=offer.get("catalog_id"),
    )


@activity.defn(name=SEND_DRAFT)
async def send_draft(ref: SendInput) -> SendResult:
    """Deliver an approved draft. The draft id is the idempotency key: one outbox row, one message, ever.

    Quiet hours and frequency caps are checked here, at send time, under the draft's row lock and the
    creator's send lock; when they say "not yet" nothing is sent and the workflow waits until `not_before`."""
    now = max(datetime.fromtimestamp(ref.now, UTC), datetime.now(UTC))
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT d.status, d.decided_by, coalesce(d.final_text, d.text) AS body, d.offer, d.send_after, f.platform,"
            " f.platform_fan_id FROM drafts d JOIN fans f ON f.creator_id = d.creator_id AND f.id = d.fan_id"
            " WHERE d.creator_id = %s AND d.id = %s FOR UPDATE OF d",
            [ref.creator_id, ref.draft_id],
        )
        d = await cur.fetchone()
        # The invariant: nothing leaves without a human approval recorded on the draft.
        if (
            d is None
            or d["status"] not in (DraftStatus.APPROVED, DraftStatus.SENT)
            or d["decided_by"] is None
        ):
            raise ApplicationError(
                f"draft {ref.draft_id} has no recorded approval; refusing to send",
                type="NotApproved",
                non_retryable=True,
            )
        if d["status"] == DraftStatus.APPROVED:
            # One sender at a time per creator, so two fans' sends cannot both slip under the hourly cap.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", [ref.creator_id])
            # A follow-up waits for the fan's best time; quiet hours and caps are then checked from there.
            at = max(now, d["send_after"]) if d["send_after"] else now
            window = await send_window(
                conn, ref.creator_id, ref.fan_id, at, await load_policy(ref.creator_id, conn)
            )
            if at > now:
                window = SendWindow(window.not_before, ("the fan's best time to read it", *window.reasons))
            if window.held:
                await record_action(
                    conn,
                    creator_id=ref.creator_id,
                    fan_id=ref.fan_id,
                    draft_id=ref.draft_id,
                    kind="send_held",
                    summary=f"approved message held until {window.not_before.isoformat()}",
                    details={"not_before": window.not_before.isoformat(), "reasons": list(window.reasons)},
                    dedupe_key=f"held:{ref.draft_id}:{window.not_before.isoformat()}",
                )
                return SendResult(ref.draft_id, False, window.not_before.timestamp(), list(window.reasons))
            payload = {
                "draft_id": ref.draft_id,
                "creator_id": ref.creator_id,
                "platform": d["platform"],
                "platform_fan_id": d["platform_fan_id"],
                "text": d["body"],
                "offer": d["offer"],
            }
            await conn.execute(
                "INSERT INTO outbox (creator_id, draft_id, fan_id, platform, payload) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (draft_id) DO NOTHING",
                [ref.creator_id, ref.draft_id, ref.fan_id, d["platform"], Jsonb(payload)],
            )
            await conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, draft_id, sent_at)"
                " VALUES (%s, %s, 'out', %s, %s, %s) ON CONFLICT (draft_id) DO NOTHING",
                [ref.creator_id, ref.fan_id, d["body"], ref.draft_id, now],
            )
            await conn.execute(
                "UPDATE drafts SET status = 'sent', updated_at = now() WHERE id = %s", [ref.draft_id]
            )
            await record_action(
                conn,
                creator_id=ref.creator_id,
                fan_id=ref.fan_id,
                draft_id=ref.draft_id,
                kind="sent",
                summary="approved message handed to the delivery connector",
                dedupe_key=f"sent:{ref.draft_id}",
            )
            # The audit entry names the credential the delivery will use (credential access is audited).
            cur = await conn.execute(
                "SELECT key_id FROM connections WHERE creator_id = %s AND platform = %s",
                [ref.creator_id, d["platform"]],
            )
            credential = await cur.fetchone()
            await append_audit(
                conn,
                creator_id=ref.creator_id,
                actor="system",
                action="draft.sent",
                subject=ref.draft_id,
                details={"credential": f"connection:{d['platform']}", "key_id": credential["key_id"]}
                if credential
                else {},
            )
        cur = await conn.execute("SELECT status, payload FROM outbox WHERE draft_id = %s", [ref.draft_id])
        box = await cur.fetchone()
        assert box is not None
    if d["offer"]:
        await _remind_unpurchased(ref, d["offer"])
    settings = get_settings()
    if box["status"] == "delivered":
        return SendResult(ref.draft_id, True)
    target = await _delivery_target(ref.creator_id, box["payload"]["platform"])
    if target is None:  # no webhook: the outbox row is the hand-off to the platform adapter
        return SendResult(ref.draft_id, True)
    url, secret = target
    try:
        await post_signed(url, secret, box["payload"], ref.draft_id, settings.webhook_timeout_s)
    except Exception as exc:
        async with db.pool().connection() as conn, conn.transaction():
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE draft_id = %s",
                [str(exc)[:500], ref.draft_id],
            )
        raise
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute(
            "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = %s, last_error = NULL"
            " WHERE draft_id = %s",
            [datetime.now(UTC), ref.draft_id],
        )
    return SendResult(ref.draft_id, True)


@activity.defn(name=REFRESH_SEGMENTS)
async def refresh_segments_activity(inp: SegmentationInput) -> SegmentationResult:
    """Recompute every fan score of one creator in one transaction, and say so in the actions feed."""
    from agents.segmentation.refresh import refresh_segments

    async with db.pool().connection() as conn, conn.transaction():
        res = await refresh_segments(conn, inp.creator_id)
        counts = ", ".join(f"{n} {seg}" for seg, n in sorted(res.segments.items(), key=lambda kv: -kv[1]))
        await record_action(
            conn,
            creator_id=inp.creator_id,
            kind="segments_refreshed",
            summary=f"segmented {res.fans} fans: {counts}" if res.fans else "no fans to segment yet",
            details={"run_id": res.run_id, "segments": res.segments, "duration_ms": res.duration_ms},
            dedupe_key=f"segments_refreshed:{res.run_id}",
        )
    return SegmentationResult(res.run_id, res.fans, res.segments, res.duration_ms)


@activity.defn(name=REMEMBER_MESSAGES)
async def remember_messages(inp: RememberInput) -> RememberResult:
    """Extract memories from the fan's messages in a handled batch and store them (merging restatements).
    Idempotent enough for retries: a memory stored by an earlier attempt is merged, not duplicated."""
    from agents import llm
    from memory.embed import embedder
    from memory.extract import extract
    from memory.store import remember

    settings = get_settings()
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT id, text FROM messages WHERE creator_id = %s AND fan_id = %s AND event_id = ANY(%s)"
            " AND direction = 'in' ORDER BY id",
            [inp.creator_id, inp.fan_id, inp.event_ids],
        )
        messages = await cur.fetchall()
    # Rule-found boundaries first, committed at once: they need no model, and a local model queued behind
    # drafts can take minutes. Then the model's proposals, in their own transaction.
    inserted = merged = 0
    for phase in ("rules", "llm"):
        if phase == "llm" and not settings.memory_llm_extraction:
            break
        items = []
        for m in messages:
            items += await extract(
                m["text"],
                source_message_id=m["id"],
                model=llm.chat_model() if phase == "llm" else None,
                use_llm=phase == "llm",
                include_rules=phase == "rules",
            )
        if not items:
            continue
        async with db.pool().connection() as conn, conn.transaction():
            saved = await remember(conn, inp.creator_id, inp.fan_id, items, embedder())
            new = sum(r.outcome == "inserted" for r in saved)
            inserted, merged = inserted + new, merged + len(saved) - new
            await record_action(
                conn,
                creator_id=inp.creator_id,
                fan_id=inp.fan_id,
                kind="remembered",
                summary="remembered: " + "; ".join(f"[{r.kind}] {r.text}" for r in saved)[:300],
                details={
                    "memory_ids": [r.id for r in saved],
                    "inserted": new,
                    "merged": len(saved) - new,
                    "by": phase,
                },
                dedupe_key=f"remembered:{phase}:{inp.fan_id}:{min(inp.event_ids)}-{max(inp.event_ids)}",
            )
    return RememberResult(inserted, merged)


ALL_ACTIVITIES: list[Callable[..., Any]] = [
    save_outcome,
    supersede_draft,
    expire_draft,
    apply_decision,
    send_draft,
    refresh_segments_activity,
    remember_messages,
    *FOLLOWUP_ACTIVITIES,
    *CAMPAIGN_ACTIVITIES,
    *DAILY_PLAN_ACTIVITIES,
]
