"""The supervisor graph: inbound policy → route → DM agent → outbound policy.

Nodes are plain async functions over a small typed state. Under Temporal (through temporalio-langgraph) every
node runs in the workflow, calling its function as a local activity: a fan message becomes a draft inside one
workflow task, with no round trip through the server between nodes. Two older shapes are kept for histories
written before: the DM agent as an activity with the quick nodes local, and every node an activity. The same
graph also runs directly for tests. Nodes only read and decide; the workflow's own activities write the outcome,
so retries never duplicate effects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

from agents import llm
from agents.dm import draft_reply
from agents.followup import rules as followup_rules
from core import db
from core.settings import get_settings
from core.types import EventKind, Route
from policies.rules import check_inbound
from policies.scoped import check_draft_for_creator, load_policy, send_window


class ConversationState(TypedDict, total=False):
    creator_id: str
    fan_id: str
    event_ids: list[int]
    route: str
    route_reason: str
    inbound: dict[str, Any]
    opt_out: bool
    fan_text: str
    draft: dict[str, Any] | None
    failure: str | None
    policy: dict[str, Any] | None
    followups: dict[str, Any]


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
    EventKind.TIP: "the fan sent a tip: thank them",
}


async def _load_batch(creator_id: str, fan_id: str, event_ids: list[int]) -> tuple[dict[str, Any], list[Any]]:
    """The fan's routing facts and the batch's events not yet processed, in one statement."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT f.opted_out_at, f.handoff_at, f.handoff_reason,"
            " (c.policy_config ->> 'handoff_spend_cents')::bigint AS handoff_spend_cents,"
            " (SELECT coalesce(sum(amount_cents), 0) FROM transactions t"
            "   WHERE t.creator_id = f.creator_id AND t.fan_id = f.id) AS spent_cents,"
            # Already-processed events (a re-dispatch after an API retry) are not handled twice.
            " (SELECT coalesce(jsonb_agg(jsonb_build_object('id', e.id, 'kind', e.kind, 'payload', e.payload)"
            "   ORDER BY e.id), '[]') FROM events e WHERE e.creator_id = f.creator_id AND e.fan_id = f.id"
            "   AND e.id = ANY(%s) AND e.processed_at IS NULL) AS events"
            " FROM fans f JOIN creators c ON c.id = f.creator_id WHERE f.creator_id = %s AND f.id = %s",
            [event_ids, creator_id, fan_id],
        )
        fan = await cur.fetchone()
    if fan is None:
        raise LookupError(f"fan {fan_id} not found for creator {creator_id}")
    events = fan.pop("events")
    return fan, events


def route_batch(fan: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The routing decision for one batch of a fan's events, without I/O (the eval suites call it directly):
    the route, and which follow-up sequences the batch starts or stops.

    `fan` carries opted_out_at, handoff_at, handoff_reason, spent_cents and the creator's
    handoff_spend_cents; each event carries kind and payload."""
    out = _route(fan, events)
    frozen = fan["opted_out_at"] is not None or fan["handoff_at"] is not None
    if frozen and not (out["opt_out"] or out["route"] == Route.HANDOFF):
        # stopped when the fan opted out or was handed off; nothing starts while a human or the fan said no
        out["followups"] = {"start": [], "stop": {}}
    else:
        out["followups"] = followup_rules.directives(
            [e["kind"] for e in events],
            opted_out=bool(out["opt_out"]),
            handed_off=out["route"] == Route.HANDOFF,
        )
    return out


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


def _route(fan: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    texts = [str(e["payload"].get("text", "")) for e in events if e["kind"] == EventKind.MESSAGE]
    fan_text = "\n".join(t for t in texts if t)
    verdict = check_inbound(fan_text) if fan_text else None
    out: dict[str, Any] = {
        "fan_text": fan_text,
        "inbound": verdict.to_json() if verdict else {},
        "opt_out": False,
    }
    kinds = {EventKind(e["kind"]) for e in events if e["kind"] not in followup_rules.INTERNAL_KINDS}
    if not events:
        return {**out, "route": Route.IGNORE, "route_reason": "these events were already handled"}
    # Safety first: a possible minor, self-harm or a threat goes to a human even when the fan also says
    # "stop" or opted out earlier (the opt-out is still recorded; no draft is written either way).
    if verdict and verdict.handoff_reason:
        return {
            **out,
            "opt_out": verdict.opt_out,
            "route": Route.HANDOFF,
            "route_reason": verdict.handoff_reason,
        }
    if verdict and verdict.opt_out:
        return {**out, "opt_out": True, "route": Route.IGNORE, "route_reason": "the fan opted out"}
    if fan["opted_out_at"] is not None:
        return {**out, "route": Route.IGNORE, "route_reason": "the fan has opted out; drafting is frozen"}
    if fan["handoff_at"] is not None:
        return {
            **out,
            "route": Route.IGNORE,
            "route_reason": f"a human is handling this fan ({fan['handoff_reason']})",
        }
    threshold = fan["handoff_spend_cents"]
    if threshold is not None and fan["spent_cents"] >= threshold and EventKind.MESSAGE in kinds:
        return {**out, "route": Route.HANDOFF, "route_reason": "high_value_fan"}
    if EventKind.MESSAGE in kinds:
        if all(_ACK_ONLY.match(t) for t in texts) and kinds == {EventKind.MESSAGE}:
            return {**out, "route": Route.ACKNOWLEDGE, "route_reason": "nothing to answer"}
        return {**out, "route": Route.REPLY, "route_reason": REPLY_REASONS[EventKind.MESSAGE]}
    for kind in (
        EventKind.PURCHASE,
        EventKind.TIP,
        EventKind.SUBSCRIPTION_STARTED,
        EventKind.SUBSCRIPTION_RENEWED,
    ):
        if kind in kinds:
            return {**out, "route": Route.REPLY, "route_reason": REPLY_REASONS[kind]}
    internal = _internal_reason(events)
    if internal:
        return {**out, "route": Route.REPLY, "route_reason": internal}
    return {**out, "route": Route.IGNORE, "route_reason": "expiry is handled by follow-ups"}


async def supervise(state: ConversationState) -> dict[str, Any]:
    """Deterministic inbound checks first, then the route. No LLM can override a safety decision."""
    fan, events = await _load_batch(state["creator_id"], state["fan_id"], state["event_ids"])
    return route_batch(fan, events)


async def dm_agent(state: ConversationState) -> dict[str, Any]:
    settings = get_settings()
    result = await draft_reply(
        llm.chat_model(),
        state["creator_id"],
        state["fan_id"],
        fan_text=state.get("fan_text", ""),
        reason=state.get("route_reason", ""),
        injection=bool(state.get("inbound", {}).get("injection")),
        attempts=settings.llm_attempts,
    )
    if result.failure:
        return {"draft": None, "failure": result.failure}
    return {"draft": result.model_dump(exclude={"failure"}), "failure": None}


async def outbound_policy(state: ConversationState) -> dict[str, Any]:
    draft = state.get("draft")
    if not draft:
        return {"policy": None}
    creator_id, fan_id = state["creator_id"], state["fan_id"]
    async with db.shared_connection() as conn:
        policy = await load_policy(creator_id, conn)
        checked = await check_draft_for_creator(creator_id, fan_id, draft["text"], draft.get("offer"), policy)
        # Quiet hours and caps do not block words; they hold the send. Say so now, so the human knows when an
        # approval would go out (the send step checks again at send time and decides).
        window = await send_window(conn, creator_id, fan_id, datetime.now(UTC), policy)
    report = checked.to_json()
    report["send_window"] = (
        {"not_before": window.not_before.isoformat(), "reasons": list(window.reasons)}
        if window.held
        else None
    )
    return {"policy": report}


async def _after_supervisor(state: ConversationState) -> str:
    return "dm_agent" if state.get("route") == Route.REPLY else END


async def _after_dm(state: ConversationState) -> str:
    return "outbound_policy" if state.get("draft") else END


# Local activities for the nodes of the local graphs (registered on the worker).
SUPERVISE_LOCAL = "supervisor.supervise_local"
DM_AGENT_LOCAL = "supervisor.dm_agent_local"
OUTBOUND_POLICY_LOCAL = "supervisor.outbound_policy_local"
_LOCAL_TIMEOUT = timedelta(seconds=30)
_LOCAL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@activity.defn(name=SUPERVISE_LOCAL)
async def supervise_local(state: dict[str, Any]) -> dict[str, Any]:
    return await supervise(ConversationState(**state))  # type: ignore[typeddict-item]


@activity.defn(name=DM_AGENT_LOCAL)
async def dm_agent_local(state: dict[str, Any]) -> dict[str, Any]:
    return await dm_agent(ConversationState(**state))  # type: ignore[typeddict-item]


@activity.defn(name=OUTBOUND_POLICY_LOCAL)
async def outbound_policy_local(state: dict[str, Any]) -> dict[str, Any]:
    return await outbound_policy(ConversationState(**state))  # type: ignore[typeddict-item]


LOCAL_NODE_ACTIVITIES = [supervise_local, dm_agent_local, outbound_policy_local]


def _llm_node_timeout() -> timedelta:
    """Every attempt the DM agent may make, plus one for its context reads and validation."""
    settings = get_settings()
    return timedelta(seconds=settings.llm_timeout_s * (settings.llm_attempts + 1))


def _in_workflow_calling(
    name: str,
    func: Callable[[ConversationState], Coroutine[Any, Any, dict[str, Any]]],
    timeout: timedelta = _LOCAL_TIMEOUT,
) -> Callable[[ConversationState], Coroutine[Any, Any, dict[str, Any]]]:
    """A workflow-side node that runs `func` as the local activity `name` (directly outside a workflow)."""

    async def node(state: ConversationState) -> dict[str, Any]:
        if not workflow.in_workflow():
            return await func(state)
        out: dict[str, Any] = await workflow.execute_local_activity(
            name,
            dict(state),
            result_type=dict,
            start_to_close_timeout=timeout,
            retry_policy=_LOCAL_RETRY,
        )
        return out

    node.__name__ = func.__name__
    return node


def build_supervisor_graph(
    *, local_nodes: bool = False, local_dm: bool = False
) -> StateGraph[ConversationState, Any, Any, Any]:
    """A fresh graph (the Temporal plugin rewrites node runnables, so never share one instance).

    local_nodes: the supervisor and outbound policy run in the workflow as local activities; local_dm (with
    local_nodes): so does the DM agent, and the whole graph runs inside one workflow task (what new histories
    use). Otherwise the DM agent, or every node, is an activity (histories written before)."""
    if local_dm and not local_nodes:
        raise ValueError("local_dm needs local_nodes: there is no graph with only the DM agent local")
    fast: dict[str, Any] = {"execute_in": "activity", "start_to_close_timeout": timedelta(seconds=30)}
    slow: dict[str, Any] = {"execute_in": "activity", "start_to_close_timeout": _llm_node_timeout()}
    supervisor_node: Any = supervise  # LangGraph's node typing infers its input from plain functions only
    dm_node: Any = dm_agent
    policy_node: Any = outbound_policy
    if local_nodes:
        fast = {"execute_in": "workflow"}
        supervisor_node = _in_workflow_calling(SUPERVISE_LOCAL, supervise)
        policy_node = _in_workflow_calling(OUTBOUND_POLICY_LOCAL, outbound_policy)
    if local_dm:
        slow = {"execute_in": "workflow"}
        dm_node = _in_workflow_calling(DM_AGENT_LOCAL, dm_agent, _llm_node_timeout())
    g: StateGraph[ConversationState, Any, Any, Any] = StateGraph(ConversationState)
    g.add_node("supervisor", supervisor_node, metadata=fast)
    g.add_node("dm_agent", dm_node, metadata=slow)
    g.add_node("outbound_policy", policy_node, metadata=fast)
    g.add_edge(START, "supervisor")
    g.add_conditional_edges("supervisor", _after_supervisor, ["dm_agent", END])
    g.add_conditional_edges("dm_agent", _after_dm, ["outbound_policy", END])
    g.add_edge("outbound_policy", END)
    return g
