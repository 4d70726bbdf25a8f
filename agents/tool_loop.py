"""One agent choosing and calling its tools, as a small LangGraph graph: `choose` → `act` → `choose` ... → END.

Two ways to choose, over the same tools:
- **native**: the model is handed the tools (`bind_tools`) and answers with tool calls (any OpenAI-compatible or
  Azure endpoint that supports them);
- **json**: the model answers `{"tool": name, "args": {...}}` under a JSON schema that is the union of the tools'
  argument schemas (an OpenAI `json_schema` response format, as the DM agent's structured output); the local engine turns the schema into
  a grammar, so the answer always parses. The small local model produces no tool calls, hence this path.

With a **plan** (the assistant's semantic router, `agents.router`, in json mode) the choice is made: each `choose`
takes the plan's next tool and the model only fills its arguments, under a schema of that one tool's arguments; a
tool whose arguments are all known (none, or a fan id: the one fan `find_fans` found, or the first of `top_fans`)
needs no model call, and the agent finishes when the plan is done. Each step records how its tool was chosen (`mode`: native, json, router).

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
# How a step's tool was chosen: by the model (native tool calls or a JSON choice) or by the router's plan.
ChoiceMode = Literal["native", "json", "router"]
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
    mode: ChoiceMode = "json"

    def public(self) -> dict[str, Any]:
        """What the assistant's answer shows of the step."""
        return {
            "agent": self.agent,
            "tool": self.tool,
            "args": self.args,
            "summary": self.summary,
            "mode": self.mode,
        }


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


async def _call(tool: BaseTool, agent: str, args: dict[str, Any], mode: ChoiceMode) -> Step:
    step = Step(agent, tool.name, args, mode=mode)
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
    pending: list[dict[str, Any]]  # validated calls to run: {"tool", "args", "mode", "id"?}
    note: str
    invalid: int
    done: bool
    planned: int  # how many of the plan's tools were taken


def found_fan(steps: list[Step]) -> str | None:
    """The fan the latest fan-finding step names: the one fan `find_fans` found (none if it found several), or
    the first of `top_fans` ("my top whale")."""
    for s in reversed(steps):
        if s.result is None:
            continue
        fans = s.result.get("fans") or []
        if s.tool == "find_fans":
            return str(fans[0]["id"]) if len(fans) == 1 else None
        if s.tool == "top_fans":
            return str(fans[0]["fan_id"]) if fans else None
    return None


def args_only_schema(tool: BaseTool, known: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of the tool's arguments that are not known yet."""
    schema = {k: v for k, v in args_schema(tool).items() if k not in ("title", "description")}
    schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in known}
    schema["required"] = [k for k in schema.get("required", []) if k not in known]
    schema["additionalProperties"] = False
    return schema


def fill_prompt(agent: str, role: str, tool: BaseTool, known: dict[str, Any], context: str) -> SystemMessage:
    given = f" Already given: {json.dumps(known)}." if known else ""
    return SystemMessage(
        f"You are the {agent} agent of a creator's business: {role}\n{context}\n"
        f"The tool that answers the creator's request:\n{_tool_list([tool])}\n"
        f"Fill in its arguments from the request.{given} Answer with JSON only: the arguments object."
    )


def build_agent_graph(
    agent: str,
    model: BaseChatModel,
    tools: list[BaseTool],
    mode: ToolMode,
    *,
    max_steps: int = 3,
    attempts: int = 3,
    plan: list[str] | None = None,
    role: str = "",
    context: str = "",
    earlier: list[Step] | None = None,
) -> StateGraph[AgentState, Any, Any, Any]:
    """The agent's graph. Its input is `{"messages": [system, request]}`; its output holds `steps` (dicts of
    `Step`), `note` and `invalid`. With a `plan` (tool names in order) the tools are the plan's, in json mode: the
    model fills arguments only (`role`, `context` and the `earlier` agents' steps serve the filling)."""
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
                    calls.append({"tool": c["name"], "args": c["args"], "id": c["id"], "mode": "native"})
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
                    return {
                        "pending": [{"tool": tool.name, "args": choice["args"], "mode": "json"}],
                        "invalid": invalid,
                    }
            invalid += 1
            log.info("agent %s: invalid choice: %s", agent, problem)
            messages = [
                *messages,
                HumanMessage(f"That choice was rejected: {problem}. Answer again, JSON only."),
            ]
        return {"done": True, "invalid": invalid}

    async def fill(tool: BaseTool, known: dict[str, Any], request: str) -> tuple[dict[str, Any] | None, int]:
        """The tool's arguments filled by the model under a schema of the unknown ones (bounded retries), and the
        number of answers refused."""
        structured = model.bind(
            temperature=0,  # arguments are read from the request, not invented
            extra_body={
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "ToolArgs",
                        "schema": args_only_schema(tool, known),
                        "strict": False,
                    },
                }
            },
        )
        messages: list[BaseMessage] = [fill_prompt(agent, role, tool, known, context), HumanMessage(request)]
        refused = 0
        problem: str | None = None
        for _ in range(attempts):
            try:
                reply = await structured.ainvoke(messages)
                filled: Any = json.loads(str(reply.text))
            except Exception as exc:  # the endpoint failed or the answer did not parse: bounded retry
                problem = f"no valid JSON: {brief(exc, 200)}"
            else:
                args = {**filled, **known} if isinstance(filled, dict) else filled
                problem = _validate(tool, args)
                if problem is None:
                    return args, refused
            refused += 1
            log.info("agent %s: invalid arguments for %s: %s", agent, tool.name, problem)
            messages = [
                *messages,
                HumanMessage(f"Those arguments were rejected: {problem}. Answer again, JSON only."),
            ]
        return None, refused

    async def choose_planned(state: AgentState) -> dict[str, Any]:
        assert plan is not None
        taken, invalid = state.get("planned", 0), state.get("invalid", 0)
        so_far = [*(earlier or []), *[Step(**s) for s in state.get("steps", [])]]
        request = str(state["messages"][-1].content) if state.get("messages") else ""
        while taken < len(plan):
            tool = by_name.get(plan[taken])
            taken += 1
            if tool is None:  # a label of a tool this agent does not have (yet)
                continue
            props = args_schema(tool).get("properties", {})
            fan = found_fan(so_far) if "fan_id" in props else None
            known: dict[str, Any] = {"fan_id": fan} if fan else {}
            if all(k in known for k in props):  # nothing for the model to fill
                args: dict[str, Any] | None = known if _validate(tool, known) is None else None
                refused = 0
            else:
                args, refused = await fill(tool, known, request)
            invalid += refused
            if args is not None:
                return {
                    "pending": [{"tool": tool.name, "args": args, "mode": "router"}],
                    "planned": taken,
                    "invalid": invalid,
                }
        return {"done": True, "planned": taken, "invalid": invalid}

    async def act(state: AgentState) -> dict[str, Any]:
        steps = list(state.get("steps", []))
        messages = list(state["messages"])
        for call in state.get("pending", []):
            step = await _call(by_name[call["tool"]], agent, call["args"], call["mode"])
            steps.append(asdict(step))
            if mode == "native":
                messages.append(ToolMessage(_result_text(step), tool_call_id=call["id"]))
            elif plan is not None:
                pass  # the plan chooses the next tool; the model sees only the request when it fills arguments
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
    choose = choose_native if mode == "native" else choose_json if plan is None else choose_planned
    for name, node in (("choose", choose), ("act", act)):
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
    plan: list[str] | None = None,
    earlier: list[Step] | None = None,
) -> AgentRun:
    """One agent's run on a request. With a `plan` (json mode only: native tool calling keeps the model's own
    choice) the plan's tools run in order and the model fills their arguments."""
    if plan is not None and mode != "json":
        raise ValueError("a tool plan is for json mode only: native tool calling keeps the model's choice")
    graph = build_agent_graph(
        agent,
        model,
        tools,
        mode,
        max_steps=max_steps,
        attempts=attempts,
        plan=plan,
        role=role,
        context=context,
        earlier=earlier,
    ).compile()
    out = await graph.ainvoke(
        {"messages": [agent_prompt(agent, role, tools, context, mode), HumanMessage(request)], "steps": []}
    )
    return AgentRun(
        steps=[Step(**s) for s in out.get("steps", [])],
        note=out.get("note", ""),
        invalid_calls=out.get("invalid", 0),
    )
