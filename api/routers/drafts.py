"""The approval inbox: list drafts awaiting a human, approve (optionally edited) or reject them.

Decisions are Temporal Updates on the fan's workflow; the workflow's validator checks the draft and
its version, and only the workflow records an approval, so the API has no path to a send.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from datetime import datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError, malformed_cursor
from api.fresh_cache import FreshCache, request_ticket
from api.updates import NotTakenYet, bounded
from core import db
from core.store import drafts, handoffs
from core.types import DECIDABLE, OUTCOME_MEANINGS, DraftStatus, Role
from workflows.types import Decision, DecisionResult

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["drafts"])

# Bulk approval: drafts per request, and decisions in flight at once (each is one workflow Update) until the
# request's deadline (HUNTAZE_DECISION_WAIT_S); the decisions still waiting for their turn then are handed over at
# once, each given HAND_OVER_S to be applied before it reports `decision_pending`.
BULK_MAX = 200
BULK_CONCURRENCY = 8
HAND_OVER_S = 1.0
# Seconds a client waits before sending a decision again that no worker has applied yet.
DECISION_RETRY_AFTER_S = 5


class Offer(BaseModel):
    catalog_id: str
    price_cents: int
    title: str | None = Field(None, description="the catalog item's title (null once the item is gone)")
    suggested_price_cents: int | None = Field(
        None,
        description="the DM agent's suggested price for this fan and item (null: a human-written offer, or a"
        " draft written before suggestions); the draft's price_cents may differ, inside the creator's bounds",
    )


class RecentMessage(BaseModel):
    direction: Literal["in", "out"] = Field(description="in: from the fan; out: sent to the fan")
    text: str
    # Parsed, not passed through: Postgres writes timestamps in JSON as `+00:00`, pydantic as `Z`, and the
    # inbox should use one style throughout.
    sent_at: datetime


class FanContext(BaseModel):
    id: str
    platform: str = Field(description="the fan's platform (onlyfans, instagram, ...)")
    platform_fan_id: str
    display_name: str
    segment: str | None = Field(None, description="the fan's segment at the latest refresh (null before it)")
    subscription_status: str
    total_spent_cents: int
    last_messages: list[RecentMessage] = Field(description="the fan's last five messages, oldest first")


class DraftOut(BaseModel):
    id: str
    fan_id: str
    status: DraftStatus
    version: int
    text: str
    final_text: str | None
    offer: Offer | None
    rationale: str
    policy_report: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decision_reason: str | None
    followup_id: str | None = Field(None, description="the follow-up sequence this draft is a step of")
    campaign_id: str | None = Field(None, description="the campaign this draft was written for")
    send_after: datetime | None = Field(
        None, description="the fan's best time: once approved, the message is not sent before it"
    )


class InboundFinding(BaseModel):
    rule: str
    reason: str


class InboundFlags(BaseModel):
    """What the deterministic inbound checks found in the fan's messages this draft answers."""

    injection: bool = Field(
        description="a message tried to instruct the agent (prompt injection): the draft was written knowing it"
    )
    handoff_reason: str | None = Field(
        None, description="a reason to hand the fan to a human, if one was seen"
    )
    findings: list[InboundFinding] = Field(default_factory=list)


class InboxItem(DraftOut):
    fan: FanContext
    inbound: InboundFlags | None = Field(
        None,
        description="the inbound checks of the messages this draft answers (null for follow-up and campaign"
        " drafts, which answer no message)",
    )


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: str | None


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, description="the draft version you reviewed")
    text: str | None = Field(
        None, min_length=1, max_length=1000, description="edited text (re-checked by policy)"
    )


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=500)


# The title of a draft's offered catalog item, for queries that read drafts as `d` (text comparison: an id that is
# not a UUID finds nothing rather than failing the page).
OFFER_TITLE = (
    "(SELECT c.title FROM catalog c WHERE c.creator_id = d.creator_id AND c.id::text = d.offer ->> 'catalog_id')"
    " AS offer_title"
)


def encode_cursor(created_at: datetime, draft_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), draft_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        ts, did = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(ts), str(UUID(did))
    except (ValueError, TypeError) as exc:
        raise malformed_cursor() from exc


@router.get("/inbox", response_model=InboxPage)
async def inbox(
    request: Request,
    who: CurrentPrincipal,
    status: Annotated[list[DraftStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Any:
    """Drafts awaiting review (pending_review and blocked by default), oldest first, with fan context."""
    statuses = sorted({s.value for s in (status or list(DECIDABLE))})
    after = decode_cursor(cursor) if cursor else None
    cache: FreshCache = request.app.state.fresh_cache
    ticket = await request_ticket(request)
    key = ("inbox", who.creator_id, tuple(statuses), limit, cursor)
    page: bytes | None = cache.get(key, ticket)
    if page is None:
        page = await _inbox_page(who.creator_id, statuses, limit, after)
        cache.put(key, f"inbox:{who.creator_id}", ticket, page)
    return Response(page, media_type="application/json")


class FailedDraft(BaseModel):
    fan_id: str
    display_name: str
    failed_at: datetime
    reason: str | None = Field(description="why no draft was written (model timeout, invalid output, ...)")


class InboxFailures(BaseModel):
    items: list[FailedDraft]


@router.get("/inbox/failures", response_model=InboxFailures)
async def inbox_failures(
    who: CurrentPrincipal, since_hours: Annotated[int, Query(ge=1, le=24 * 30)] = 72
) -> Any:
    """Fans whose messages got no draft (the model failed or timed out) and nothing since: a human should
    answer them. Newest first, at most 100."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT a.fan_id::text AS fan_id, f.display_name, a.created_at AS failed_at,"
            " a.details ->> 'failure' AS reason FROM agent_actions a"
            " JOIN fans f ON f.creator_id = a.creator_id AND f.id = a.fan_id"
            " WHERE a.creator_id = %s AND a.kind = 'draft_failed' AND a.created_at > now() - make_interval(hours => %s)"
            " AND NOT EXISTS (SELECT 1 FROM drafts d WHERE d.creator_id = a.creator_id AND d.fan_id = a.fan_id"
            "   AND d.created_at > a.created_at)"
            " ORDER BY a.created_at DESC LIMIT 100",
            [who.creator_id, since_hours],
        )
        rows = await cur.fetchall()
    return InboxFailures(items=[FailedDraft(**r) for r in rows])


class HandedOff(BaseModel):
    handoff_id: str = Field(description="the open hand-off (act on it under /v1/handoffs/{id})")
    fan_id: str
    platform_fan_id: str
    display_name: str
    handed_off_at: datetime | None = Field(description="when the fan was handed to a human")
    reason: str | None = Field(description="why a human is needed (e.g. possible_minor, high_spender)")
    age_signal_at: datetime | None = Field(description="when a message first read as a possible minor")
    age_signal_text: str | None = Field(description="the message that did")
    assignee: str | None = Field(description="the member it is assigned to (null: nobody yet)")


class InboxHandoffs(BaseModel):
    items: list[HandedOff]


@router.get("/inbox/handoffs", response_model=InboxHandoffs)
async def inbox_handoffs(who: CurrentPrincipal) -> Any:
    """Open hand-offs: fans handed to a human (no draft is written for them until a human resolves the hand-off
    with `unfreeze` or resumes the fan), with any age signal. Newest first, at most 100 (all of them, with
    filters and pages: GET /v1/handoffs)."""
    async with db.pool().connection() as conn:
        rows = await handoffs.queue(
            conn,
            who.creator_id,
            status=handoffs.Status.OPEN,
            assignee=None,
            unassigned=False,
            after=None,
            limit=100,
        )
    return InboxHandoffs(
        items=[
            HandedOff(
                handoff_id=r.id,
                fan_id=r.fan_id,
                platform_fan_id=r.platform_fan_id,
                display_name=r.display_name,
                handed_off_at=r.opened_at,
                reason=r.reason,
                age_signal_at=r.age_signal_at,
                age_signal_text=r.age_signal_text,
                assignee=r.assignee,
            )
            for r in rows
        ]
    )


async def _inbox_page(
    creator_id: str, statuses: list[str], limit: int, after: tuple[datetime, str] | None
) -> bytes:
    rows, nxt = await inbox_rows([creator_id], statuses, limit, after)
    return InboxPage(items=[item for _, item in rows], next_cursor=nxt).model_dump_json().encode()


async def inbox_rows(
    creator_ids: list[str], statuses: list[str], limit: int, after: tuple[datetime, str] | None
) -> tuple[list[tuple[str, InboxItem]], str | None]:
    """A page of the inbox of these creators (one for `GET /v1/inbox`, the key's creators for the combined inbox):
    (creator id, item) oldest first, and the next page's cursor. Each joined row belongs to its draft's creator."""
    async with db.pool().connection() as conn:
        # The page of drafts first, then fan context (spend, last five messages) for those rows only.
        cur = await conn.execute(
            "WITH page AS MATERIALIZED ("
            f"  SELECT {drafts.COLUMNS}, d.source_key, d.creator_id AS cid, {OFFER_TITLE} FROM drafts d"
            "   WHERE d.creator_id = ANY(%s::uuid[]) AND d.status = ANY(%s)"
            "   AND (%s::timestamptz IS NULL OR (d.created_at, d.id) > (%s::timestamptz, %s::uuid))"
            "   ORDER BY d.created_at, d.id LIMIT %s)"
            " SELECT p.*, p.cid::text AS creator_id, f.platform, f.platform_fan_id, f.display_name, f.subscription_status,"
            " sc.segment, coalesce(spent.cents, 0) AS spent, coalesce(recent.items, '[]'::json) AS last_messages,"
            " routed.details -> 'inbound' AS inbound"
            " FROM page p JOIN fans f ON f.creator_id = p.cid AND f.id = p.fan_id::uuid"
            # the routing of the batch this draft answers (same transaction as the draft: one notification)
            " LEFT JOIN agent_actions routed ON routed.creator_id = p.cid AND routed.dedupe_key = 'routed:' || p.source_key"
            " LEFT JOIN fan_scores sc ON sc.creator_id = p.cid AND sc.fan_id = p.fan_id::uuid"
            " LEFT JOIN LATERAL (SELECT sum(t.amount_cents) AS cents FROM transactions t"
            "   WHERE t.creator_id = p.cid AND t.fan_id = p.fan_id::uuid) spent ON true"
            " LEFT JOIN LATERAL (SELECT json_agg(m ORDER BY m.sent_at, m.id) AS items FROM ("
            "   SELECT id, direction, text, sent_at FROM messages"
            "   WHERE creator_id = p.cid AND fan_id = p.fan_id::uuid ORDER BY sent_at DESC, id DESC LIMIT 5) m"
            " ) recent ON true"
            " ORDER BY p.created_at, p.id",
            [
                creator_ids,
                statuses,
                after[0] if after else None,
                after[0] if after else None,
                after[1] if after else None,
                limit + 1,
            ],
        )
        rows = await cur.fetchall()
    items = []
    for r in rows[:limit]:
        last = [
            RecentMessage(direction=m["direction"], text=m["text"], sent_at=m["sent_at"])
            for m in r["last_messages"]
        ]
        fan = FanContext(
            id=r["fan_id"],
            platform=r["platform"],
            platform_fan_id=r["platform_fan_id"],
            display_name=r["display_name"],
            segment=r["segment"],
            subscription_status=r["subscription_status"],
            total_spent_cents=int(r["spent"]),
            last_messages=last,
        )
        fields = {k: r[k] for k in DraftOut.model_fields if k != "offer"}
        item = InboxItem(
            fan=fan, offer=_offer(r["offer"], r["offer_title"]), inbound=_inbound(r["inbound"]), **fields
        )
        items.append((r["creator_id"], item))
    nxt = encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return items, nxt


def _offer(offer: dict[str, Any] | None, title: str | None) -> Offer | None:
    return None if offer is None else Offer(**{**offer, "title": title})


def _inbound(verdict: dict[str, Any] | None) -> InboundFlags | None:
    """The stored inbound verdict (core.types.InboundVerdict) as the inbox shows it; {} when none was made."""
    if not verdict:
        return None
    findings = [InboundFinding(rule=f["rule"], reason=f["reason"]) for f in verdict.get("findings", [])]
    return InboundFlags(
        injection=bool(verdict.get("injection")),
        handoff_reason=verdict.get("handoff_reason"),
        findings=findings,
    )


async def _load_draft(creator_id: str, draft_id: UUID) -> drafts.Draft:
    async with db.pool().connection() as conn:
        draft = await drafts.get(conn, creator_id, draft_id)
    if draft is None:
        raise ApiError(404, "not_found", "no such draft")
    return draft


async def _draft_out(creator_id: str, draft: drafts.Draft) -> DraftOut:
    title = None
    if draft.offer is not None:
        async with db.pool().connection() as conn:
            cur = await conn.execute(
                "SELECT title FROM catalog WHERE creator_id = %s AND id::text = %s",
                [creator_id, str(draft.offer.get("catalog_id"))],
            )
            row = await cur.fetchone()
        title = row["title"] if row else None
    fields = {k: getattr(draft, k) for k in DraftOut.model_fields if k != "offer"}
    return DraftOut(offer=_offer(draft.offer, title), **fields)


@router.get("/drafts/{draft_id}", response_model=DraftOut)
async def get_draft(draft_id: UUID, who: CurrentPrincipal) -> Any:
    return await _draft_out(who.creator_id, await _load_draft(who.creator_id, draft_id))


def _explained(details: Any) -> Any:
    """A refusal that carries a policy report says, in words, what its outcome means."""
    policy = details.get("policy") if isinstance(details, dict) else None
    if isinstance(policy, dict) and policy.get("outcome") in OUTCOME_MEANINGS:
        return {
            **details,
            "explanation": f"policy outcome {policy['outcome']!r}: {OUTCOME_MEANINGS[policy['outcome']]}",
        }
    return details


def decision_update_id(decision: Decision) -> str:
    """The decide Update's id: the decision itself (draft, version, action, edit or reason, member). The same decision
    sent again while the first is in flight waits for that one, and after it completed gets its outcome; another
    decision is another Update, which the workflow refuses once the draft is decided."""
    content = json.dumps([decision.action, decision.text, decision.reason, decision.actor])
    return (
        f"decide:{decision.draft_id}:{decision.version}:{hashlib.sha256(content.encode()).hexdigest()[:16]}"
    )


async def _recorded(creator_id: str, draft: drafts.Draft, decision: Decision) -> bool:
    """Whether the draft's recorded decision is this very one (a retry of a decision already applied)."""
    if decision.action == "approve":
        decided = draft.status in (DraftStatus.APPROVED, DraftStatus.SENT) and draft.final_text == (
            decision.text if decision.text is not None else draft.text
        )
    else:
        decided = draft.status == DraftStatus.REJECTED and draft.decision_reason == decision.reason
    if not decided or draft.version != decision.version + 1:
        return False
    async with db.pool().connection() as conn:
        who = await drafts.decision(conn, creator_id, draft.id)
    return who is not None and who.decided_by == decision.actor


def _decision_pending(draft: drafts.Draft) -> ApiError:
    return ApiError(
        503,
        "decision_pending",
        "the decision was handed to the draft's conversation but not applied yet (no worker has taken it): it"
        " stays queued and is applied once; send the same decision again to wait for it",
        {"status": draft.status, "retry_after_s": DECISION_RETRY_AFTER_S},
        headers={"Retry-After": str(DECISION_RETRY_AFTER_S)},
    )


async def _queue_decision(handle: WorkflowHandle[Any, Any], decision: Decision) -> None:
    """The decision again as a signal (`decide_again`), for when no worker took its Update in time: the server
    writes a signal to the workflow's history when it accepts it, where an Update no worker has taken can be dropped
    (a failed workflow task, a restart). The conversation applies it once, unless the draft was decided since."""
    try:
        await handle.signal("decide_again", decision)
    except RPCError:
        log.warning("could not queue the decision on draft %s as a signal", decision.draft_id, exc_info=True)


async def _decide(
    rt: Runtime, creator_id: str, draft_id: UUID, decision: Decision, deadline: float | None = None
) -> DraftOut:
    """Hand the decision to the draft's conversation and wait until `deadline` (the event loop's clock; default:
    HUNTAZE_DECISION_WAIT_S from now) for it to be applied: then 503 `decision_pending`."""
    if deadline is None:
        deadline = asyncio.get_running_loop().time() + rt.settings.decision_wait_s
    draft = await _load_draft(creator_id, draft_id)
    if draft.status not in DECIDABLE:
        if await _recorded(creator_id, draft, decision):
            return await _draft_out(creator_id, draft)  # the same decision again: the same answer
        raise ApiError(409, "already_decided", f"the draft is {draft.status}", {"status": draft.status})
    handle = rt.temporal.get_workflow_handle(draft.workflow_id)
    try:
        try:
            async with bounded(deadline):
                await handle.execute_update(
                    "decide", decision, id=decision_update_id(decision), result_type=DecisionResult
                )
        except asyncio.CancelledError:
            # The client went away: the decision is queued as a signal all the same, off the cancelled task.
            await asyncio.shield(_queue_decision(handle, decision))
            raise
    except NotTakenYet as exc:
        await _queue_decision(handle, decision)
        draft = await _load_draft(creator_id, draft_id)
        if await _recorded(creator_id, draft, decision):
            return await _draft_out(creator_id, draft)  # applied; its workflow task has not completed yet
        raise _decision_pending(draft) from exc
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            if cause.type in ("not_pending", "conflict"):
                draft = await _load_draft(creator_id, draft_id)
                if await _recorded(creator_id, draft, decision):
                    return await _draft_out(creator_id, draft)  # this decision, applied by an earlier call
            details = _explained(cause.details[0] if cause.details else None)
            raise ApiError(409, cause.type or "conflict", cause.message, details) from exc
        raise ApiError(409, "conflict", str(cause)) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            draft = await _load_draft(creator_id, draft_id)
            if await _recorded(creator_id, draft, decision):
                return await _draft_out(creator_id, draft)  # applied, sent, and the conversation closed since
            raise ApiError(
                409, "not_pending", "the draft's conversation is no longer waiting for a decision"
            ) from exc
        raise ApiError(503, "workflow_unavailable", "the workflow service is unreachable; retry") from exc
    return await _draft_out(creator_id, await _load_draft(creator_id, draft_id))


@router.post("/drafts/{draft_id}/approve", response_model=DraftOut, responses={404: {}, 409: {}, 422: {}})
async def approve(
    draft_id: UUID, body: ApproveIn, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]
) -> Any:
    who.require(Role.CHATTER)
    return await _decide(
        rt,
        who.creator_id,
        draft_id,
        Decision(
            draft_id=str(draft_id),
            version=body.version,
            action="approve",
            actor=who.member_id,
            text=body.text,
        ),
    )


@router.post("/drafts/{draft_id}/reject", response_model=DraftOut, responses={404: {}, 409: {}, 422: {}})
async def reject(
    draft_id: UUID, body: RejectIn, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]
) -> Any:
    who.require(Role.CHATTER)
    return await _decide(
        rt,
        who.creator_id,
        draft_id,
        Decision(
            draft_id=str(draft_id),
            version=body.version,
            action="reject",
            actor=who.member_id,
            reason=body.reason,
        ),
    )


class BulkItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: UUID
    version: int = Field(ge=1, description="the draft version you reviewed")


class BulkApproveIn(BaseModel):
    """Either a list of drafts (each with the version you reviewed) or a campaign: every draft of that
    campaign that awaits review, at its current version."""

    model_config = ConfigDict(extra="forbid")
    drafts: list[BulkItem] | None = Field(None, min_length=1, max_length=BULK_MAX)
    campaign_id: UUID | None = None

    @field_validator("drafts")
    @classmethod
    def _unique(cls, items: list[BulkItem] | None) -> list[BulkItem] | None:
        seen: set[UUID] = set()
        for item in items or []:
            if item.id in seen:
                raise ValueError(f"draft {item.id} is listed twice")
            seen.add(item.id)
        return items

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.drafts is None) == (self.campaign_id is None):
            raise ValueError("give either 'drafts' or 'campaign_id'")
        return self


class BulkResult(BaseModel):
    id: str
    ok: bool
    draft: DraftOut | None = None
    error: dict[str, Any] | None = None  # {code, message, details}, as a single decision would answer


class BulkApproveOut(BaseModel):
    approved: int
    failed: int
    results: list[BulkResult]


async def _campaign_items(creator_id: str, campaign_id: UUID | None) -> list[BulkItem]:
    """The campaign's undecided drafts: pending ones are approved at their current version; blocked ones are
    listed too, so each fails alone with `blocked_requires_edit` and nobody thinks they went out."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT EXISTS (SELECT 1 FROM campaigns WHERE creator_id = %s AND id = %s) AS found",
            [creator_id, campaign_id],
        )
        if not (await cur.fetchone() or {}).get("found"):
            raise ApiError(404, "not_found", "no such campaign")
        assert campaign_id is not None  # BulkApproveIn names drafts or a campaign
        rows = await drafts.undecided_in_campaign(conn, creator_id, campaign_id)
    return [BulkItem(id=UUID(r.id), version=r.version) for r in rows]


@router.post("/drafts/approve", response_model=BulkApproveOut, responses={404: {}, 422: {}})
async def approve_many(
    body: BulkApproveIn,
    who: CurrentPrincipal,
    rt: Annotated[Runtime, Depends(runtime)],
    response: Response,
) -> Any:
    """Approve several drafts as reviewed (each with its version). Every draft is decided on its own, exactly as
    `POST /v1/drafts/{id}/approve` would: one stale, blocked or foreign draft fails alone and is reported with
    its error; the others are approved. The answer lists every draft in the order given. The request waits for
    the decisions at most HUNTAZE_DECISION_WAIT_S in all (plus HAND_OVER_S for those handed over last): a
    decision not applied by then reports `decision_pending`, and the answer carries Retry-After."""
    who.require(Role.CHATTER)
    gate = asyncio.Semaphore(BULK_CONCURRENCY)
    items = body.drafts or await _campaign_items(who.creator_id, body.campaign_id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + rt.settings.decision_wait_s

    async def one(item: BulkItem) -> BulkResult:
        decision = Decision(
            draft_id=str(item.id), version=item.version, action="approve", actor=who.member_id
        )
        try:  # BULK_CONCURRENCY at a time until the deadline; then every decision left is handed over at once
            async with asyncio.timeout_at(deadline):
                await gate.acquire()
            held = True
        except TimeoutError:
            held = False
        try:
            draft = await _decide(
                rt, who.creator_id, item.id, decision, max(deadline, loop.time() + HAND_OVER_S)
            )
        except ApiError as exc:
            return BulkResult(
                id=str(item.id),
                ok=False,
                error={"code": exc.code, "message": exc.message, "details": exc.details},
            )
        finally:
            if held:
                gate.release()
        return BulkResult(id=str(item.id), ok=True, draft=draft)

    results = await asyncio.gather(*(one(i) for i in items))
    ok = sum(r.ok for r in results)
    if any(r.error is not None and r.error["code"] == "decision_pending" for r in results):
        response.headers["Retry-After"] = str(DECISION_RETRY_AFTER_S)
    return BulkApproveOut(approved=ok, failed=len(results) - ok, results=list(results))
