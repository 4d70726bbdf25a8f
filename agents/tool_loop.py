"""One agent choosing and calling its tools, as a small LangGraph graph: `choose` → `act` → `choose` ... → END.

Two ways to choose, over the same tools:
- **native**: the model is handed the tools (`bind_tools`) and answers with tool calls (any OpenAI-compatible or
  Azure endpoint that supports them);
- **json**: the model answers `{"tool": name, "args": {...}}` under a JSON schema that is the union of the tools'
  argument schemas (an OpenAI `json_schema` response format, as the DM agent's structured output); the local engine turns the schema into
  a grammar, so the answer always parses. The small local model produces no tool calls, hence this path.

Either way the arguments are validated by the tool's own pydantic schema before it runs; a call that does not
validate is sent back to the model with the problem named, a bounded number of times. A tool's failure (a fan
of another creator, a bad period) is a step with an error, not a crash.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict

import psycopg
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ValidationError

from agents.toolkits import ToolFailed, is_proposal
from core.failures import brief
from core.settings import Settings

log = logging.getLogger(__name__)

ToolMode = Literal["native", "json"]
FINISH = "finish"
# Characters of a tool's result the model sees (the whole result stays in the step).
RESULT_CHARS = 1500


def tool_mode(settings: Settings) -> ToolMode:
    """native with an endpoint that supports tool calling, json with the local engine (HUNTAZE_TOOL_CALLING)."""
    if settings.tool_calling != "auto":
        return settings.tool_calling
    # `huntaze up` and the evals point LLM_BASE_URL at the local engine they start: still the local engine
    local = settings.llm_is_local or settings.llm_base_url == settings.local_llm_base_url
    return "json" if local else "native"


@dataclass
class Step:
    agent: str
    tool: str
    args: dict[str, Any]
    result: dict[str, Any] | None = None
    error: str | None = None
    summary: str = ""

    def public(self) -> dict[str, Any]:
        """What the assistant's answer shows of the step."""
        return {"agent": self.agent, "tool": self.tool, "args": self.args, "summary": self.summary}


@dataclass
class AgentRun:
    steps: list[Step] = field(default_factory=list)
    note: str = ""  # the model's own closing words (native path), if any
    invalid_calls: int = 0  # calls whose arguments failed validation (retried)


def summarise(tool: str, result: dict[str, Any] | None, error: str | None) -> str:
    """One line for the step: the proposal's summary, the error, or the result in short."""
    if error is not None:
        return f"{tool} failed: {error}"
    assert result is not None
    if is_proposal(result):
        return f"proposal: {result['proposal']['summary']}"
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False, default=str)
    if len(text) <= 400:
        return text
    # cut between two values, never inside a number (a cut number would be a figure no tool returned)
    return text[: max(text.rfind(",", 0, 397), 0)] + ",..."


def args_schema(tool: BaseTool) -> dict[str, Any]:
    """The JSON schema of a tool's arguments."""
    s = tool.args_schema
    if isinstance(s, type) and issubclass(s, BaseModel):
        return s.model_json_schema()
    return {"type": "object", "properties": {}}


def choice_schema(tools: list[BaseTool], allow_finish: bool) -> dict[str, Any]:
    """The JSON schema of one choice: `{"tool": <name>, "args": <that tool's arguments>}` for any of the tools,
    or `{"tool": "finish", "args": {}}` when finishing is allowed."""
    options: list[dict[str, Any]] = []
    for t in tools:
        args = {k: v for k, v in args_schema(t).items() if k not in ("title", "description")}
        args.setdefault("properties", {})
        args["additionalProperties"] = False
        options.append(
            {
                "type": "object",
                "properties": {"tool": {"type": "string", "const": t.name}, "args": args},
                "required": ["tool", "args"],
                "additionalProperties": False,
            }
        )
    if allow_finish:
        options.append(
            {
                "type": "object",
                "properties": {
                    "tool": {"type": "string", "const": FINISH},
                    "args": {"type": "object", "properties": {}, "additionalProperties": False},
                },
                "required": ["tool", "args"],
                "additionalProperties": False,
            }
        )
    return {"title": "ToolChoice", "anyOf": options}


def _tool_list(tools: list[BaseTool]) -> str:
    lines = []
    for t in tools:
        props = args_schema(t).get("properties", {})
        params = ", ".join(f"{k}: {v.get('description', v.get('type', ''))}" for k, v in props.items())
        lines.append(f"- {t.name}({params}): {t.description}")
    return "\n".join(lines)


def _result_text(step: Step) -> str:
    if step.error is not None:
        return json.dumps({"error": step.error})
    text = json.dumps(step.result, ensure_ascii=False, default=str)
    return text[:RESULT_CHARS]


async def _call(tool: BaseTool, agent: str, args: dict[str, Any]) -> Step:
    step = Step(agent, tool.name, args)
    try:
        step.result = await tool.ainvoke(args)
    except ToolFailed as exc:
        step.error = str(exc)[:200]
    except (ValueError, psycopg.DataError) as exc:  # bad values, text the database cannot take (NUL)
        step.error = brief(exc, 200)
    step.summary = summarise(tool.name, step.result, step.error)
    return step


def _validate(tool: BaseTool, args: Any) -> str | None:
    """The problem with these arguments, or None."""
    if not isinstance(args, dict):
        return "args must be an object"
    s = tool.args_schema
    if not (isinstance(s, type) and issubclass(s, BaseModel)):
        return None
    try:
        s.model_validate(args)
    except ValidationError as err:
        return brief(err, 240)
    return None


class AgentState(TypedDict, total=False):
    messages: list[BaseMessage]
    steps: list[dict[str, Any]]
    pending: list[dict[str, Any]]  # validated calls to run: {"tool", "args", "id"?}
    note: str
    invalid: int
    done: bool


def build_agent_graph(
    agent: str,
    model: BaseChatModel,
    tools: list[BaseTool],
    mode: ToolMode,
    *,
    max_steps: int = 3,
    attempts: int = 3,
) -> StateGraph[AgentState, Any, Any, Any]:
    """The agent's graph. Its input is `{"messages": [system, request]}`; its output holds `steps` (dicts of
    `Step`), `note` and `invalid`."""
    by_name = {t.name: t for t in tools}
    bound: Any = model.bind_tools(tools) if mode == "native" else None

    async def choose_native(state: AgentState) -> dict[str, Any]:
        messages = list(state["messages"])
        invalid = state.get("invalid", 0)
        for _ in range(attempts):
            reply: AIMessage = await bound.ainvoke(messages)
            if not reply.tool_calls:
                return {
                    "messages": [*messages, reply],
                    "note": str(reply.text or ""),
                    "done": True,
                    "invalid": invalid,
                }
            problems, calls = [], []
            for c in reply.tool_calls:
                tool = by_name.get(c["name"])
                problem = f"no tool {c['name']!r}" if tool is None else _validate(tool, c["args"])
                if problem:
                    problems.append((c, problem))
                else:
                    calls.append({"tool": c["name"], "args": c["args"], "id": c["id"]})
            if not problems:
                return {"messages": [*messages, reply], "pending": calls, "invalid": invalid}
            invalid += len(problems)
            messages = [
                *messages,
                reply,
                *[ToolMessage(f"invalid call: {p}", tool_call_id=c["id"] or c["name"]) for c, p in problems],
                *[ToolMessage("not run: call again", tool_call_id=c["id"]) for c in calls],
            ]
        return {"messages": messages, "done": True, "invalid": invalid}

    async def choose_json(state: AgentState) -> dict[str, Any]:
        messages = list(state["messages"])
        allow_finish = bool(state.get("steps"))
        # The union's top level is an anyOf, which `with_structured_output` cannot take from a dict; the request is
        # the same: the schema goes as the response format, the reply is parsed and validated here.
        schema = choice_schema(tools, allow_finish)
        structured = model.bind(
            extra_body={
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "ToolChoice", "schema": schema, "strict": False},
                }
            }
        )
        invalid = state.get("invalid", 0)
        problem: str | None = None
        for _ in range(attempts):
            try:
                reply = await structured.ainvoke(messages)
                choice: Any = json.loads(str(reply.text))
            except Exception as exc:  # the endpoint failed or the answer did not parse: bounded retry
                problem = f"no valid JSON: {brief(exc, 200)}"
            else:
                name = choice.get("tool") if isinstance(choice, dict) else None
                if name == FINISH and allow_finish:
                    return {"done": True, "invalid": invalid}
                tool = by_name.get(str(name))
                problem = f"no tool {name!r}" if tool is None else _validate(tool, choice.get("args"))
                if tool is not None and problem is None:
                    return {"pending": [{"tool": tool.name, "args": choice["args"]}], "invalid": invalid}
            invalid += 1
            log.info("agent %s: invalid choice: %s", agent, problem)
            messages = [
                *messages,
                HumanMessage(f"That choice was rejected: {problem}. Answer again, JSON only."),
            ]
        return {"done": True, "invalid": invalid}

    async def act(state: AgentState) -> dict[str, Any]:
        steps = list(state.get("steps", []))
        messages = list(state["messages"])
        for call in state.get("pending", []):
            step = await _call(by_name[call["tool"]], agent, call["args"])
            steps.append(asdict(step))
            if mode == "native":
                messages.append(ToolMessage(_result_text(step), tool_call_id=call["id"]))
            else:
                messages.append(
                    HumanMessage(
                        f"Result of {step.tool}: {_result_text(step)}\nCall another tool if the request needs"
                        f' more, or answer {{"tool": "{FINISH}", "args": {{}}}}.'
                    )
                )
        return {"steps": steps, "messages": messages, "pending": [], "done": len(steps) >= max_steps}

    def after_choose(state: AgentState) -> str:
        return END if state.get("done") or not state.get("pending") else "act"

    def after_act(state: AgentState) -> str:
        return END if state.get("done") else "choose"

    g: StateGraph[AgentState, Any, Any, Any] = StateGraph(AgentState)
    node: Any
    for name, node in (("choose", choose_native if mode == "native" else choose_json), ("act", act)):
        g.add_node(name, node)
    g.add_edge(START, "choose")
    g.add_conditional_edges("choose", after_choose, ["act", END])
    g.add_conditional_edges("act", after_act, ["choose", END])
    return g


def agent_prompt(agent: str, role: str, tools: list[BaseTool], context: str, mode: ToolMode) -> SystemMessage:
    how = (
        'Answer with JSON only: {"tool": <one tool name>, "args": {<its arguments>}}.'
        if mode == "json"
        else "Call the tools you need; when you have what the request needs, answer in one sentence."
    )
    return SystemMessage(
        f"You are the {agent} agent of a creator's business: {role}\n{context}\n"
        f"Your tools:\n{_tool_list(tools)}\nChoose the tool that answers the creator's request. {how}"
    )


async def run_agent(
    agent: str,
    role: str,
    model: BaseChatModel,
    tools: list[BaseTool],
    request: str,
    context: str,
    mode: ToolMode,
    *,
    max_steps: int = 3,
    attempts: int = 3,
) -> AgentRun:
    graph = build_agent_graph(agent, model, tools, mode, max_steps=max_steps, attempts=attempts).compile()
    out = await graph.ainvoke(
        {"messages": [agent_prompt(agent, role, tools, context, mode), HumanMessage(request)], "steps": []}
    )
    return AgentRun(
        steps=[Step(**s) for s in out.get("steps", [])],
        note=out.get("note", ""),
        invalid_calls=out.get("invalid", 0),
    )
