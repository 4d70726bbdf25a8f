"""`huntaze graph`: the LangGraph graphs as mermaid (the fan-event supervisor, the assistant's supervisor, each
agent's tool loop), drawn from the graphs the service builds (`get_graph().draw_mermaid()`)."""

from __future__ import annotations

import argparse
from typing import Any

GRAPHS = ("supervisor", "assistant", "dm", "segmentation", "followup", "analytics")
# Drawing builds the graphs without running them: no creator's data is read, no model is called.
NO_CREATOR = "00000000-0000-0000-0000-000000000000"


def mermaid(name: str) -> str:
    from agents import llm
    from agents.assistant import ROLES, build_assistant_graph
    from agents.supervisor import build_supervisor_graph
    from agents.tool_loop import build_agent_graph
    from agents.toolkits import tools_for
    from core.settings import read_settings

    model = llm.make_chat_model(read_settings())
    graph: Any
    if name == "supervisor":
        graph = build_supervisor_graph()
    elif name == "assistant":
        graph = build_assistant_graph(NO_CREATOR, model, "json")
    else:
        assert name in ROLES
        graph = build_agent_graph(name, model, tools_for(name, NO_CREATOR), "json")  # type: ignore[arg-type]
    text: str = graph.compile().get_graph().draw_mermaid()
    return text


def cmd_graph(args: argparse.Namespace) -> int:
    for name in [args.name] if args.name else GRAPHS:
        print(f"%% {name}")
        print(mermaid(name).rstrip())
        print()
    return 0


def add_parser(sub: Any) -> None:
    g = sub.add_parser("graph", help="print the supervisor's and agents' LangGraph graphs as mermaid")
    g.add_argument("name", nargs="?", choices=GRAPHS, help="one graph (default: all)")
    g.set_defaults(func=cmd_graph)
