"""The supervisor graph: inbound policy → route → DM agent → outbound policy.

A small typed state and three nodes. Each node hands its work to a step (`SupervisorSteps`): run directly, the
steps are the plain functions below; under Temporal, `workflows/` supplies steps that run the same functions as
local activities inside the fan's workflow task. Steps only read and decide; the workflow's own activities write
the outcome, so retries never duplicate effects.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from agents import llm
from agents.dm import draft_reply
from agents.followup import rules as followup_rules
from agents.prompts import dm_templates
from core import db
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

POSSIBLE_MINOR = "possible_minor"
CHARGEBACK = "chargeback"
CREATOR_ANSWERED = "the creator answered on the platform"


class ConversationState(TypedDict, total=False):
    creator_id: str
    fan_id: str
    event_ids: list[int]
    routing: RouteDecision
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

REPLY_REASONS = {
    EventKind.MESSAGE: "the fan sent a message",
    EventKind.SUBSCRIPTION_STARTED: "the fan just subscribed: welcome them",
    EventKind.SUBSCRIPTION_RENEWED: "the fan renewed: thank them",
    EventKind.PURCHASE: "the fan bought a PPV item: thank them",
    EventKind.PPV_UNLOCK: "the fan unlocked a PPV item: thank them",
    EventKind.TIP: "the fan sent a tip: thank them",
}


async def _load_batch(creator_id: str, fan_id: str, event_ids: list[int]) -> tuple[dict[str, Any], list[Any]]:
    """The fan's routing facts and the batch's events not yet processed, in one statement."""
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
    return fan, facts.events


def route_batch(fan: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> RouteDecision:
    """The routing decision for one batch of a fan's events, without I/O (the eval suites call it directly):
    the route, and which follow-up sequences the batch starts or stops.

    `fan` carries opted_out_at, handoff_at, handoff_reason, spent_cents and the creator's
    handoff_spend_cents; each event carries kind and payload."""
    out = _route(fan, events)
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
    """Deterministic inbound checks first, then the route. No LLM can override a safety decision."""
    fan, events = await _load_batch(batch.creator_id, batch.fan_id, batch.event_ids)
    return route_batch(fan, events)


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
    offer = Offer(result.offer.catalog_id, result.offer.price_cents) if result.offer else None
    return DraftAttempt(DraftProposal(result.text, offer, result.rationale, result.attempts))


async def check_outbound(req: PolicyRequest) -> PolicyReport:
    offer = asdict(req.draft.offer) if req.draft.offer else None
    async with db.shared_connection() as conn:
        policy = await load_policy(req.creator_id, conn)
        checked = await check_draft_for_creator(
            req.creator_id, req.fan_id, req.draft.text, offer, policy, prompt="\n".join(dm_templates())
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
        return "dm_agent" if state["routing"].route == Route.REPLY else END

    async def after_dm(state: ConversationState) -> str:
        return "outbound_policy" if state["drafting"].draft is not None else END

    meta = node_metadata or {}
    g: StateGraph[ConversationState, Any, Any, Any] = StateGraph(ConversationState)
    node: Any  # LangGraph's node typing infers its input from plain functions only
    for name, node in (
        ("supervisor", supervisor),
        ("dm_agent", dm_agent),
        ("outbound_policy", outbound_policy),
    ):
        g.add_node(name, node, metadata=meta)
    g.add_edge(START, "supervisor")
    g.add_conditional_edges("supervisor", after_supervisor, ["dm_agent", END])
    g.add_conditional_edges("dm_agent", after_dm, ["outbound_policy", END])
    g.add_edge("outbound_policy", END)
    return g
