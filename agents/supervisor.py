"""The fan-event supervisor graph: deterministic route first, then delegation to the agents that own the work.

The supervisor node routes the batch (hand-off, opt-out, injection: never decided by a model), then hands each piece
of work to its agent, as graph nodes: the segmentation agent re-scores the fan after a purchase, tip, refund,
chargeback or subscription change; the follow-up agent starts or stops the fan's sequences; the DM agent drafts a
reply, which the outbound policy checks. No node sends anything: a draft waits for a human.

Each node hands its work to a step (`SupervisorSteps`): run directly, the steps are the plain functions below;
under Temporal, `workflows/` supplies steps that run as local activities inside the fan's workflow task. The route,
draft and policy steps only read and decide (the workflow's own activities save the outcome); the delegated steps
make their agent's change and record it as a `delegated` action, each idempotent (keyed by the batch), so a retried
step changes nothing twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from agents import llm
from agents.dm import draft_reply
from agents.followup import rules as followup_rules
from agents.prompts import leakage_reference
from core import db
from core.journal import record_action
from core.settings import get_settings
from core.store import fans
from core.types import (
    DraftAttempt,
    DraftProposal,
    EventKind,
    Lane,
    Offer,
    PolicyReport,
    Route,
    RouteDecision,
    SendWindowNote,
)
from policies.rules import check_inbound
from policies.scoped import check_draft_for_creator, load_policy, send_window

log = logging.getLogger(__name__)

POSSIBLE_MINOR = "possible_minor"
CHARGEBACK = "chargeback"
CREATOR_ANSWERED = "the creator answered on the platform"


SEGMENTATION_AGENT = "segmentation"
FOLLOWUP_AGENT = "followup"


@dataclass(frozen=True)
class ScoringRequest:
    """The segmentation agent's work for one batch: re-score this fan now (`kinds`: the events that call for it)."""

    creator_id: str
    fan_id: str
    event_ids: list[int]
    kinds: list[str]


@dataclass(frozen=True)
class ScoringResult:
    """The fan's segment before and after (None: not scored yet); `failure` when scoring failed (the next whole
    refresh covers the fan)."""

    rescored: bool
    segment_before: str | None = None
    segment: str | None = None
    failure: str | None = None
    # the creator had no segmentation run: the id of the whole refresh started for it (None: none started here)
    refresh_started: str | None = None


@dataclass(frozen=True)
class FollowupRequest:
    """The follow-up agent's work for one batch: sequences to start, running ones to stop (kind -> why)."""

    creator_id: str
    fan_id: str
    event_ids: list[int]
    start: list[str]
    stop: dict[str, str]


@dataclass(frozen=True)
class FollowupOutcome:
    started: list[str]
    stopped: list[str]


class ConversationState(TypedDict, total=False):
    creator_id: str
    fan_id: str
    event_ids: list[int]
    routing: RouteDecision
    scoring: ScoringResult
    sequencing: FollowupOutcome
    drafting: DraftAttempt
    policy: PolicyReport


@dataclass(frozen=True)
class BatchRef:
    creator_id: str
    fan_id: str
    event_ids: list[int]


@dataclass(frozen=True)
class DraftRequest:
    creator_id: str
    fan_id: str
    fan_text: str
    reason: str
    injection: bool = False
    lane: Lane = Lane.LIVE


@dataclass(frozen=True)
class PolicyRequest:
    creator_id: str
    fan_id: str
    draft: DraftProposal


_ACK_ONLY = re.compile(
    r"^\s*(?:ok(?:ay)?|k+|lol+|haha+|ha|thx|thanks?|ty|cool|nice|yes|yep|no|nope|"
    r"[\U0001F300-\U0001FAFF\u2600-\u27BF❤♥️\s!.?]+)\s*[!.?]*\s*$",
    re.I,
)

# Events that change what a fan is worth or whether they are still subscribed: the segmentation agent re-scores.
SCORE_KINDS = (
    EventKind.PURCHASE,
    EventKind.PPV_UNLOCK,
    EventKind.TIP,
    EventKind.REFUND,
    EventKind.CHARGEBACK,
    EventKind.SUBSCRIPTION_STARTED,
    EventKind.SUBSCRIPTION_RENEWED,
    EventKind.SUBSCRIPTION_EXPIRED,
)

REPLY_REASONS = {
    EventKind.MESSAGE: "the fan sent a message",
    EventKind.SUBSCRIPTION_STARTED: "the fan just subscribed: welcome them",
    EventKind.SUBSCRIPTION_RENEWED: "the fan renewed: thank them",
    EventKind.PURCHASE: "the fan bought a PPV item: thank them",
    EventKind.PPV_UNLOCK: "the fan unlocked a PPV item: thank them",
    EventKind.TIP: "the fan sent a tip: thank them",
}


async def _load_batch(
    creator_id: str, fan_id: str, event_ids: list[int]
) -> tuple[dict[str, Any], list[Any], set[str]]:
    """The fan's routing facts, the batch's events not yet processed and the kinds of the fan's running follow-up
    sequences, in one statement."""
    async with db.pool().connection() as conn:
        facts = await fans.routing_facts(conn, creator_id, fan_id, event_ids)
    if facts is None:
        raise LookupError(f"fan {fan_id} not found for creator {creator_id}")
    # route_batch reads the facts as a mapping (the eval suites build it as a dict), the events apart.
    fan = {
        "opted_out_at": facts.opted_out_at,
        "handoff_at": facts.handoff_at,
        "handoff_reason": facts.handoff_reason,
        "age_signal_at": facts.age_signal_at,
        "handoff_spend_cents": facts.handoff_spend_cents,
        "spent_cents": facts.spent_cents,
    }
    return fan, facts.events, set(facts.active_followups)


def route_batch(fan: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> RouteDecision:
    """The routing decision for one batch of a fan's events, without I/O (the eval suites call it directly):
    the route, and which follow-up sequences the batch starts or stops.

    `fan` carries opted_out_at, handoff_at, handoff_reason, spent_cents and the creator's
    handoff_spend_cents; each event carries kind and payload."""
    out = _route(fan, events)
    # What a fan is worth is a fact whatever the route: a frozen or handed-off fan is re-scored all the same.
    present = {str(e["kind"]) for e in events}
    out = replace(out, rescore=[str(k) for k in SCORE_KINDS if k in present])
    if events and all(e["kind"] in followup_rules.INTERNAL_KINDS for e in events):
        # only follow-up steps or campaign messages: nobody is waiting, the draft takes the batch lane
        out = replace(out, lane=Lane.BATCH)
    frozen = fan["opted_out_at"] is not None or fan["handoff_at"] is not None
    if frozen and not (out.opt_out or out.route == Route.HANDOFF):
        # stopped when the fan opted out or was handed off; nothing starts while a human or the fan said no
        return out
    followups = followup_rules.directives(
        [e["kind"] for e in events], opted_out=out.opt_out, handed_off=out.route == Route.HANDOFF
    )
    return replace(out, followups=followups)


def _internal_reason(events: Sequence[Mapping[str, Any]]) -> str | None:
    """Why to write to a fan who has not written: the newest follow-up step or campaign in the batch."""
    for e in reversed(events):
        if e["kind"] == followup_rules.FOLLOWUP_DUE:
            p = e["payload"]
            return (
                f"follow-up ({p.get('sequence', '').replace('_', '-')} step {int(p.get('step', 0)) + 1}); the fan has"
                f" not written: {p.get('intent', '')}"
            )
        if e["kind"] == followup_rules.CAMPAIGN_MESSAGE:
            return f"campaign message; the fan has not written: {e['payload'].get('intent', '')}"
    return None


def _route(fan: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> RouteDecision:
    # Every fan message of the batch goes through the safety checks; only those after the creator's own last
    # message on the platform are still waiting for an answer.
    all_texts = [str(e["payload"].get("text", "")) for e in events if e["kind"] == EventKind.MESSAGE]
    all_text = "\n".join(t for t in all_texts if t)
    verdict = check_inbound(all_text) if all_text else None
    answered = max((i + 1 for i, e in enumerate(events) if e["kind"] == EventKind.CREATOR_MESSAGE), default=0)
    open_events = events[answered:]
    texts = [str(e["payload"].get("text", "")) for e in open_events if e["kind"] == EventKind.MESSAGE]
    fan_text = "\n".join(t for t in texts if t)

    def decide(route: Route, reason: str, opt_out: bool = False) -> RouteDecision:
        text = fan_text if route in (Route.REPLY, Route.ACKNOWLEDGE) else all_text
        return RouteDecision(route, reason, fan_text=text, inbound=verdict, opt_out=opt_out)

    all_kinds = {EventKind(e["kind"]) for e in events if e["kind"] not in followup_rules.INTERNAL_KINDS}
    kinds = {EventKind(e["kind"]) for e in open_events if e["kind"] not in followup_rules.INTERNAL_KINDS}
    if not events:
        return decide(Route.IGNORE, "these events were already handled")
    # Safety first: a possible minor, self-harm or a threat goes to a human even when the fan also says
    # "stop" or opted out earlier (the opt-out is still recorded; no draft is written either way).
    if verdict and verdict.handoff_reason:
        return decide(Route.HANDOFF, verdict.handoff_reason, opt_out=verdict.opt_out)
    if fan.get("age_signal_at") is not None:
        # An earlier message read as a possible minor: handed off until a human clears it, whatever comes now.
        return decide(Route.HANDOFF, POSSIBLE_MINOR, opt_out=bool(verdict and verdict.opt_out))
    if EventKind.CHARGEBACK in all_kinds:
        # The fan's bank took a payment back: a human looks at this fan, whatever else the batch holds.
        return decide(Route.HANDOFF, CHARGEBACK, opt_out=bool(verdict and verdict.opt_out))
    if verdict and verdict.opt_out:
        return decide(Route.IGNORE, "the fan opted out", opt_out=True)
    if fan["opted_out_at"] is not None:
        return decide(Route.IGNORE, "the fan has opted out; drafting is frozen")
    if fan["handoff_at"] is not None:
        return decide(Route.IGNORE, f"a human is handling this fan ({fan['handoff_reason']})")
    threshold = fan["handoff_spend_cents"]
    if threshold is not None and fan["spent_cents"] >= threshold and EventKind.MESSAGE in kinds:
        return decide(Route.HANDOFF, "high_value_fan")
    if EventKind.MESSAGE in kinds:
        if all(_ACK_ONLY.match(t) for t in texts) and kinds == {EventKind.MESSAGE}:
            return decide(Route.ACKNOWLEDGE, "nothing to answer")
        return decide(Route.REPLY, REPLY_REASONS[EventKind.MESSAGE])
    for kind in (
        EventKind.PURCHASE,
        EventKind.PPV_UNLOCK,
        EventKind.TIP,
        EventKind.SUBSCRIPTION_STARTED,
        EventKind.SUBSCRIPTION_RENEWED,
    ):
        if kind in kinds:
            return decide(Route.REPLY, REPLY_REASONS[kind])
    if answered:
        return decide(Route.IGNORE, CREATOR_ANSWERED)
    internal = _internal_reason(events)
    if internal:
        return decide(Route.REPLY, internal)
    if kinds & {EventKind.REFUND}:
        return decide(Route.IGNORE, "money went back to the fan: nothing to say")
    return decide(Route.IGNORE, "expiry is handled by follow-ups")


async def route(batch: BatchRef) -> RouteDecision:
    """Deterministic inbound checks first, then the route. No LLM can override a safety decision. Stopping
    follow-ups is delegated only for sequences that are running."""
    fan, events, running = await _load_batch(batch.creator_id, batch.fan_id, batch.event_ids)
    out = route_batch(fan, events)
    stop = {k: why for k, why in out.followups.stop.items() if k in running}
    return replace(out, followups=replace(out.followups, stop=stop))


def batch_key(fan_id: str, event_ids: Sequence[int]) -> str:
    """What keys one batch's effects (its draft, its actions): a retried step finds them made."""
    return f"batch:{fan_id}:{min(event_ids)}-{max(event_ids)}"


async def record_delegation(
    conn: Any,
    agent: str,
    creator_id: str,
    fan_id: str,
    event_ids: list[int],
    summary: str,
    details: dict[str, Any],
) -> None:
    """The feed entry of one delegation (actor: the agent), once per batch and agent."""
    await record_action(
        conn,
        creator_id=creator_id,
        fan_id=fan_id,
        kind="delegated",
        summary=f"{agent} agent: {summary}",
        details={"agent": agent, "event_ids": event_ids, **details},
        dedupe_key=f"delegated:{agent}:{batch_key(fan_id, event_ids)}",
    )


async def _segment(conn: Any, creator_id: str, fan_id: str) -> str | None:
    cur = await conn.execute(
        "SELECT segment FROM fan_scores WHERE creator_id = %s AND fan_id = %s", [creator_id, fan_id]
    )
    row = await cur.fetchone()
    return None if row is None else str(row["segment"])


# Starts (or joins) the creator's first whole refresh, once per creator, and gives it a short while to finish (the
# workflow layer supplies it): the refresh's workflow id, or None when that first refresh had already finished.
FirstRefresh = Callable[[str], Awaitable[str | None]]


async def rescore(req: ScoringRequest, first_refresh: FirstRefresh | None = None) -> ScoringResult:
    """The segmentation agent re-scores the fan with the creator's latest models, so the inbox and the fan's page
    show the current segment. A creator without a segmentation run yet has nothing to re-score with: with
    `first_refresh` (the worker's steps) the creator's first whole refresh is started, once per creator, and scores
    every fan; without it the next whole refresh does. A scoring fault is recorded, not raised: it must not hold up
    the fan's conversation, and the next whole refresh covers the fan."""
    from agents.segmentation.refresh import (
        rescore_fans,  # numpy and the BTYD models: only when a batch needs them
    )

    c, f = req.creator_id, req.fan_id
    reason = f"{', '.join(k.replace('_', ' ') for k in req.kinds)} changed what the fan is worth"
    async with db.pool().connection() as conn:
        before = await _segment(conn, c, f)
        try:
            # its own transaction (re-scoring writes with COPY); the action is recorded with it
            async with conn.transaction():
                done = await rescore_fans(conn, c, [f])
                started, first = None, ""
                if done is None and first_refresh is not None:
                    started = await first_refresh(c)
                    first = "no segmentation run yet: started the creator's first whole refresh; "
                    # score with its run (it may have read the store before this fan's event)
                    done = await rescore_fans(conn, c, [f])
                after = await _segment(conn, c, f)
                if done is None and started is not None:
                    result = ScoringResult(False, before, after, refresh_started=started)
                    summary = first + "it scores this fan"
                elif done is None:
                    result = ScoringResult(False, before, after)
                    summary = "no segmentation run yet: the next whole refresh scores this fan"
                else:
                    result = ScoringResult(True, before, after, refresh_started=started)
                    summary = (
                        first
                        + f"re-scored the fan: {after}"
                        + (f" (was {before})" if before != after else "")
                    )
                await record_delegation(
                    conn,
                    SEGMENTATION_AGENT,
                    c,
                    f,
                    req.event_ids,
                    summary,
                    {"reason": reason, **asdict(result)},
                )
            return result
        except Exception as exc:
            log.exception("re-scoring fan %s of creator %s failed; the next refresh will cover it", f, c)
            result = ScoringResult(False, before, before, failure=str(exc)[:500])
            async with conn.transaction():
                await record_delegation(
                    conn,
                    SEGMENTATION_AGENT,
                    c,
                    f,
                    req.event_ids,
                    f"re-scoring failed ({exc.__class__.__name__}); the next whole refresh covers the fan",
                    {"reason": reason, **asdict(result)},
                )
            return result


async def followups_need_the_worker(req: FollowupRequest) -> FollowupOutcome:
    """Follow-up sequences are Temporal workflows: only the worker's steps (workflows/supervisor_graph.py) start and
    stop them."""
    raise NotImplementedError(
        "the follow-up agent starts and stops sequences through the Temporal worker: build the graph with the"
        " worker's steps (workflows/supervisor_graph.py)"
    )


async def write_draft(req: DraftRequest) -> DraftAttempt:
    settings = get_settings()
    with llm.lane(llm.CallLane.BATCH if req.lane == Lane.BATCH else llm.CallLane.LIVE):
        result = await draft_reply(
            llm.chat_model(),
            req.creator_id,
            req.fan_id,
            fan_text=req.fan_text,
            reason=req.reason,
            injection=req.injection,
            attempts=settings.llm_attempts,
        )
    if result.failure or result.text is None:
        return DraftAttempt(failure=result.failure or "no text")
    offer = (
        Offer(result.offer.catalog_id, result.offer.price_cents, result.offer.suggested_price_cents)
        if result.offer
        else None
    )
    return DraftAttempt(DraftProposal(result.text, offer, result.rationale, result.attempts))


async def check_outbound(req: PolicyRequest) -> PolicyReport:
    offer = asdict(req.draft.offer) if req.draft.offer else None
    async with db.shared_connection() as conn:
        policy = await load_policy(req.creator_id, conn)
        checked = await check_draft_for_creator(
            req.creator_id, req.fan_id, req.draft.text, offer, policy, prompt=leakage_reference()
        )
        # Quiet hours and caps do not block words; they hold the send. Say so now, so the human knows when an
        # approval would go out (the send step checks again at send time and decides).
        window = await send_window(conn, req.creator_id, req.fan_id, datetime.now(UTC), policy)
    note = SendWindowNote(window.not_before.isoformat(), list(window.reasons)) if window.held else None
    return replace(checked, send_window=note)


@dataclass(frozen=True)
class SupervisorSteps:
    """The work behind each node; `workflows/` swaps in steps that run as Temporal local activities."""

    route: Callable[[BatchRef], Awaitable[RouteDecision]] = route
    rescore: Callable[[ScoringRequest], Awaitable[ScoringResult]] = rescore
    sync_followups: Callable[[FollowupRequest], Awaitable[FollowupOutcome]] = followups_need_the_worker
    write_draft: Callable[[DraftRequest], Awaitable[DraftAttempt]] = write_draft
    check_outbound: Callable[[PolicyRequest], Awaitable[PolicyReport]] = check_outbound


def build_supervisor_graph(
    steps: SupervisorSteps | None = None, node_metadata: dict[str, Any] | None = None
) -> StateGraph[ConversationState, Any, Any, Any]:
    """A fresh graph (the Temporal plugin rewrites node runnables, so never share one instance).

    node_metadata goes on every node (the Temporal plugin reads where to run it from there)."""
    s = steps or SupervisorSteps()

    async def supervisor(state: ConversationState) -> dict[str, Any]:
        return {"routing": await s.route(BatchRef(state["creator_id"], state["fan_id"], state["event_ids"]))}

    async def segmentation_agent(state: ConversationState) -> dict[str, Any]:
        req = ScoringRequest(
            state["creator_id"], state["fan_id"], state["event_ids"], state["routing"].rescore
        )
        return {"scoring": await s.rescore(req)}

    async def followup_agent(state: ConversationState) -> dict[str, Any]:
        d = state["routing"].followups
        req = FollowupRequest(
            state["creator_id"], state["fan_id"], state["event_ids"], list(d.start), dict(d.stop)
        )
        return {"sequencing": await s.sync_followups(req)}

    async def dm_agent(state: ConversationState) -> dict[str, Any]:
        r = state["routing"]
        injection = bool(r.inbound and r.inbound.injection)
        req = DraftRequest(state["creator_id"], state["fan_id"], r.fan_text, r.reason, injection, r.lane)
        return {"drafting": await s.write_draft(req)}

    async def outbound_policy(state: ConversationState) -> dict[str, Any]:
        draft = state["drafting"].draft
        assert draft is not None  # the edge only comes here with a draft
        return {"policy": await s.check_outbound(PolicyRequest(state["creator_id"], state["fan_id"], draft))}

    async def after_supervisor(state: ConversationState) -> str:
        return _next_agent(state["routing"], SUPERVISOR)

    async def after_segmentation(state: ConversationState) -> str:
        return _next_agent(state["routing"], SEGMENTATION_NODE)

    async def after_followup(state: ConversationState) -> str:
        return _next_agent(state["routing"], FOLLOWUP_NODE)

    async def after_dm(state: ConversationState) -> str:
        return "outbound_policy" if state["drafting"].draft is not None else END

    meta = node_metadata or {}
    g: StateGraph[ConversationState, Any, Any, Any] = StateGraph(ConversationState)
    node: Any  # LangGraph's node typing infers its input from plain functions only
    for name, node in (
        (SUPERVISOR, supervisor),
        (SEGMENTATION_NODE, segmentation_agent),
        (FOLLOWUP_NODE, followup_agent),
        (DM_NODE, dm_agent),
        ("outbound_policy", outbound_policy),
    ):
        g.add_node(name, node, metadata=meta)
    g.add_edge(START, SUPERVISOR)
    g.add_conditional_edges(SUPERVISOR, after_supervisor, [SEGMENTATION_NODE, FOLLOWUP_NODE, DM_NODE, END])
    g.add_conditional_edges(SEGMENTATION_NODE, after_segmentation, [FOLLOWUP_NODE, DM_NODE, END])
    g.add_conditional_edges(FOLLOWUP_NODE, after_followup, [DM_NODE, END])
    g.add_conditional_edges(DM_NODE, after_dm, ["outbound_policy", END])
    g.add_edge("outbound_policy", END)
    return g


SUPERVISOR = "supervisor"
SEGMENTATION_NODE = "segmentation_agent"
FOLLOWUP_NODE = "followup_agent"
DM_NODE = "dm_agent"
# The agents a batch may be delegated to, in the order they work: scores first (a follow-up started now is tuned by
# the fan's current segment), then sequences, then the reply.
_DELEGATES = (SEGMENTATION_NODE, FOLLOWUP_NODE, DM_NODE)


def _next_agent(routing: RouteDecision, after: str) -> str:
    """The next agent that owns part of this batch, after `after` (END when none)."""
    wanted = {
        SEGMENTATION_NODE: bool(routing.rescore),
        FOLLOWUP_NODE: bool(routing.followups.start or routing.followups.stop),
        DM_NODE: routing.route == Route.REPLY,
    }
    rest = _DELEGATES[_DELEGATES.index(after) + 1 :] if after in _DELEGATES else _DELEGATES
    return next((n for n in rest if wanted[n]), END)
