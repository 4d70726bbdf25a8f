"""The creator's assistant: a supervisor graph that picks the agent(s) for a creator's request, lets each choose
and call its tools in turn, and answers from what the tools returned.

    START → supervisor → <agent> → <agent> ... → answer → END

- **supervisor**: with a router (`agents.router`, the local engine's json mode) the router's agents, no model
  call; otherwise one grammar-constrained JSON answer `{"agents": [...]}` (one to three of dm, segmentation,
  followup, analytics, in the order they should work); the agents' tools are listed in its prompt.
- **agent nodes**: each runs its tool loop (`agents.tool_loop`) with the request and the earlier agents' step
  summaries as context; with a router, on the router's tool plan for that agent (the model fills arguments).
- **answer**: the step summaries, and the agents' own closing words (native tool calling), kept only where
  every number in them appears in a tool's result or the request (`faithful`); a sentence with any other
  number is removed and counted.

Nothing here writes or sends: proposals (a campaign, a follow-up setting) are requests for existing endpoints
that a human sends with their own role, and every message such a request causes is a draft that waits for
approval.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph

from agents.router import AssistantRouter, Route
from agents.tool_loop import AgentRun, Step, ToolMode, run_agent
from agents.toolkits import AGENTS, AgentName, is_proposal, tools_for
from core.failures import brief

MAX_AGENTS = 3

ROLES: dict[str, str] = {
    "dm": "looks up one fan: who they are, their messages, purchases, memories; searches the PPV catalog;"
    " suggests a PPV price for a fan; finds the creator's own past replies like a fan's message",
    "segmentation": "segments of fans (whales, big spenders, loyal, at risk, dormant, expired, new ...), their"
    " sizes and top fans, one fan's scores and churn risk; refreshes the segments now",
    "followup": "follow-up sequences (welcome, win-back, PPV reminder, re-engagement): lists them, proposes"
    " messaging a segment or stopping a sequence (a human approves)",
    "analytics": "revenue and sales over a period, by source and segment, unusual days (anomalies), campaign"
    " results, subscription-month cohorts (retention, revenue)",
}


class RequestTurn(TypedDict):
    text: str
    answer: str


class AssistantState(TypedDict, total=False):
    request: str
    context: str
    agents: list[str]
    done: list[str]
    steps: list[dict[str, Any]]
    notes: list[str]
    invalid: int
    supervisor_error: str | None
    plans: dict[str, list[str]]  # the router's tool plan per agent (json mode with a router)


@dataclass
class Answer:
    answer: str
    agents: list[str]
    steps: list[Step]
    proposals: list[dict[str, Any]]
    removed_numbers: list[str] = field(default_factory=list)
    invalid_calls: int = 0
    supervisor_error: str | None = None
    routed_by: str = "model"  # who chose the agents: "router" or "model"

    def public(self, thread_id: str) -> dict[str, Any]:
        return {
            "thread_id": thread_id,
            "answer": self.answer,
            "agents": self.agents,
            "steps": [s.public() for s in self.steps],
            "proposals": self.proposals,
        }


def supervisor_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "agents": {
                "type": "array",
                "items": {"type": "string", "enum": list(AGENTS)},
                "minItems": 1,
                "maxItems": MAX_AGENTS,
            }
        },
        "required": ["agents"],
        "additionalProperties": False,
    }


def supervisor_prompt(context: str) -> SystemMessage:
    agents = "\n".join(f"- {a}: {ROLES[a]}" for a in AGENTS)
    return SystemMessage(
        "You are the supervisor of a creator's business assistant. Pick the agent or agents that can answer the"
        f" creator's request, in the order they should work.\nAgents:\n{agents}\n{context}\n"
        'Answer with JSON only: {"agents": [...]}.'
    )


async def choose_agents(
    model: BaseChatModel, request: str, context: str, attempts: int
) -> tuple[list[str], str | None]:
    """The agents for the request, in order (duplicates dropped), or ([], the problem) when no valid answer came."""
    bound = model.bind(
        extra_body={
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "Delegation", "schema": supervisor_schema(), "strict": True},
            }
        }
    )
    messages = [supervisor_prompt(context), HumanMessage(request)]
    problem = "no attempt made"
    for _ in range(attempts):
        try:
            reply = await bound.ainvoke(messages)
            picked = json.loads(str(reply.text)).get("agents")
        except Exception as exc:  # the endpoint failed or the answer did not parse: bounded retry
            problem = f"no valid JSON: {brief(exc, 200)}"
            continue
        if isinstance(picked, list):
            agents = list(dict.fromkeys(a for a in picked if a in AGENTS))[:MAX_AGENTS]
            if agents:
                return agents, None
        problem = f"not a list of agents: {picked!r}"
        messages = [*messages, HumanMessage(f"That answer was rejected: {problem}. Answer again, JSON only.")]
    return [], problem


# --- faithfulness ----------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _norm(token: str) -> str:
    t = token.replace(",", "")
    if "." in t:
        t = t.rstrip("0").rstrip(".")
    return t.lstrip("0") or "0"


def _walk(value: Any, out: set[str]) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, int | float) and not isinstance(v, bool) and str(k).endswith("_cents"):
                out.add(_norm(f"{v / 100:.2f}"))  # money in the answer is in units, not cents
                out.add(_norm(f"{v / 100:.0f}"))
            _walk(v, out)
        return
    if isinstance(value, list | tuple):
        for v in value:
            _walk(v, out)
        return
    if isinstance(value, float):
        out.add(_norm(f"{value:.4f}"))
        for digits in (0, 1, 2):  # a share or probability said as a percentage
            out.add(_norm(f"{value * 100:.{digits}f}"))
            out.add(_norm(f"{value:.{digits}f}"))
    if isinstance(value, str) and _UUID.fullmatch(value):
        return  # an id's digits are no figure ("c7d1" would support a "7" in the answer)
    out.update(_norm(m) for m in _NUMBER.findall(str(value)))


def supported_numbers(steps: list[Step], request: str) -> set[str]:
    """Every number a tool returned (with money in units beside cents, shares as percentages), and the
    request's own numbers."""
    out: set[str] = set()
    for s in steps:
        _walk(s.result, out)
        _walk(s.args, out)
    out.update(_norm(m) for m in _NUMBER.findall(request))
    return out


def figures(text: str) -> list[str]:
    """The numbers a text states: an id quoted in it (a catalog item's UUID) states none."""
    return _NUMBER.findall(_UUID.sub(" ", text))


def faithful(text: str, supported: set[str]) -> tuple[str, list[str]]:
    """The text without the sentences that state a number no tool returned, and those numbers."""
    kept, removed = [], []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        bad = [m for m in figures(sentence) if _norm(m) not in supported]
        if bad:
            removed.extend(bad)
        elif sentence.strip():
            kept.append(sentence.strip())
    return " ".join(kept), removed


def compose(request: str, steps: list[Step], notes: list[str]) -> tuple[str, list[str]]:
    """The answer: the agents' notes (checked) then one line per step (built from its result)."""
    supported = supported_numbers(steps, request)
    removed: list[str] = []
    parts = []
    for note in notes:
        kept, bad = faithful(note, supported)
        removed += bad
        if kept:
            parts.append(kept)
    for s in steps:
        kept, bad = faithful(s.summary, supported)
        removed += bad
        parts.append(f"{s.agent}/{s.tool}: {kept}" if kept else f"{s.agent}/{s.tool}: (no figure to show)")
    if not steps and not parts:
        parts.append(
            "No agent could answer this request; try naming what to look at (a fan, a segment, a period)."
        )
    return "\n".join(parts), removed


# --- the graph -------------------------------------------------------------------------------------------------


def context_line(today: date, timezone: str, history: list[RequestTurn]) -> str:
    lines = [f"Today is {today.isoformat()} ({timezone})."]
    for turn in history[-2:]:
        lines.append(f"Earlier the creator asked: {turn['text'][:200]!r}")
    return "\n".join(lines)


def build_assistant_graph(
    creator_id: str,
    model: BaseChatModel,
    mode: ToolMode,
    *,
    max_steps: int = 3,
    attempts: int = 3,
    router: AssistantRouter | None = None,
) -> StateGraph[AssistantState, Any, Any, Any]:
    """The assistant's graph. A `router` (json mode only: native tool calling keeps the model's own choice) picks
    the agents and each agent's tools; the model then only fills arguments."""
    if router is not None and mode != "json":
        raise ValueError("the router decides in json mode only: native tool calling keeps the model's choice")

    async def supervisor(state: AssistantState) -> dict[str, Any]:
        fresh: dict[str, Any] = {"done": [], "steps": [], "notes": [], "invalid": 0}
        if router is not None:
            route: Route = await asyncio.to_thread(router.route, state["request"])
            return {**fresh, "agents": route.agents, "plans": route.plans, "supervisor_error": None}
        agents, problem = await choose_agents(model, state["request"], state.get("context", ""), attempts)
        return {**fresh, "agents": agents, "supervisor_error": problem}

    def agent_node(name: AgentName) -> Any:
        async def node(state: AssistantState) -> dict[str, Any]:
            earlier = [Step(**s) for s in state.get("steps", [])]
            context = state.get("context", "")
            if earlier:
                context += "\nWhat the other agents found:\n" + "\n".join(f"- {s.summary}" for s in earlier)
            run: AgentRun = await run_agent(
                name,
                ROLES[name],
                model,
                tools_for(name, creator_id),
                state["request"],
                context,
                mode,
                max_steps=max_steps,
                attempts=attempts,
                plan=state["plans"].get(name, []) if router is not None else None,
                earlier=earlier,
            )
            return {
                "done": [*state.get("done", []), name],
                "steps": [*state.get("steps", []), *[s.__dict__ for s in run.steps]],
                "notes": [*state.get("notes", []), *([run.note] if run.note else [])],
                "invalid": state.get("invalid", 0) + run.invalid_calls,
            }

        return node

    def next_agent(state: AssistantState) -> str:
        waiting = [a for a in state.get("agents", []) if a not in state.get("done", [])]
        return waiting[0] if waiting else END

    g: StateGraph[AssistantState, Any, Any, Any] = StateGraph(AssistantState)
    g.add_node("supervisor", supervisor)
    for a in AGENTS:
        g.add_node(a, agent_node(a))
    g.add_edge(START, "supervisor")
    for n in ("supervisor", *AGENTS):
        g.add_conditional_edges(n, next_agent, [*(a for a in AGENTS if a != n), END])
    return g


Progress = Callable[[dict[str, Any]], Awaitable[None]]


async def _streamed(graph: Any, state: dict[str, Any], request: str, on_progress: Progress) -> dict[str, Any]:
    """Run the graph, telling `on_progress` of the supervisor's choice and of each step as it happens: the
    agents' own graphs run inside the agent nodes, so their updates arrive as subgraph values (one per tool
    call); a step an agent graph did not report is told when its node ends."""
    out: dict[str, Any] = {}
    told: dict[str, int] = {}  # steps told, per agent (each agent runs once per request)
    chose = False

    async def tell(found: list[dict[str, Any]]) -> None:
        by_agent: dict[str, list[dict[str, Any]]] = {}
        for s in found:
            by_agent.setdefault(str(s["agent"]), []).append(s)
        for agent, agent_steps in by_agent.items():
            for s in agent_steps[told.get(agent, 0) :]:
                step = Step(**s)
                kept, _ = faithful(step.summary, supported_numbers([step], request))
                await on_progress({"event": "step", **step.public(), "summary": kept})
            told[agent] = max(told.get(agent, 0), len(agent_steps))

    async for namespace, chunk in graph.astream(state, stream_mode="values", subgraphs=True):
        if not isinstance(chunk, dict):
            continue
        if namespace:  # an agent's own graph: its steps so far
            await tell(list(chunk.get("steps") or []))
            continue
        out = chunk
        if not chose and "agents" in chunk:
            chose = True
            await on_progress({"event": "agents", "agents": list(chunk["agents"])})
        await tell(list(chunk.get("steps") or []))
    return out


async def ask(
    creator_id: str,
    model: BaseChatModel,
    mode: ToolMode,
    request: str,
    *,
    today: date,
    timezone: str,
    history: list[RequestTurn] | None = None,
    max_steps: int = 3,
    attempts: int = 3,
    on_progress: Progress | None = None,
    router: AssistantRouter | None = None,
) -> Answer:
    """The answer to one request. `on_progress` is awaited with each event as it happens: `{"event": "agents",
    "agents": [...]}` once the supervisor has chosen, then `{"event": "step", ...}` per tool call (the step's
    public fields, its summary checked like the answer's). A `router` (json mode) picks the agents and tools."""
    graph = build_assistant_graph(
        creator_id, model, mode, max_steps=max_steps, attempts=attempts, router=router
    ).compile()
    state = {"request": request, "context": context_line(today, timezone, history or [])}
    if on_progress is None:
        out = await graph.ainvoke(state)
    else:
        out = await _streamed(graph, state, request, on_progress)
    steps = [Step(**s) for s in out.get("steps", [])]
    text, removed = compose(request, steps, out.get("notes", []))
    proposals = [s.result["proposal"] for s in steps if s.result is not None and is_proposal(s.result)]
    return Answer(
        answer=text,
        agents=list(out.get("done", [])),
        steps=steps,
        proposals=proposals,
        removed_numbers=removed,
        invalid_calls=out.get("invalid", 0),
        supervisor_error=out.get("supervisor_error"),
        routed_by="router" if router is not None else "model",
    )
