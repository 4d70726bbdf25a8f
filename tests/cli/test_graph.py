"""`huntaze graph` draws the graphs the service builds: the fan-event supervisor, the assistant's supervisor with
its four agents, and each agent's tool loop."""

from __future__ import annotations

import re

from cli.graph import GRAPHS, mermaid


def _edges(text: str) -> set[tuple[str, str]]:
    return set(re.findall(r"^\s*(\w+) -\.?-?> (\w+);", text, re.M))


def test_every_graph_is_drawn_with_its_edges() -> None:
    drawn = {name: mermaid(name) for name in GRAPHS}
    supervisor = _edges(drawn["supervisor"])
    assert {("supervisor", "dm_agent"), ("dm_agent", "outbound_policy")} <= supervisor
    # the delegations after the route, in the order the agents work: scores, sequences, the reply
    assert {
        ("supervisor", "segmentation_agent"),
        ("supervisor", "followup_agent"),
        ("segmentation_agent", "followup_agent"),
        ("segmentation_agent", "dm_agent"),
        ("followup_agent", "dm_agent"),
    } <= supervisor
    assert ("followup_agent", "segmentation_agent") not in supervisor and (
        "dm_agent",
        "followup_agent",
    ) not in supervisor
    assistant = _edges(drawn["assistant"])
    agents = ("dm", "segmentation", "followup", "analytics")
    assert {("__start__", "supervisor")} | {("supervisor", a) for a in agents} <= assistant
    assert all((a, "__end__") in assistant and (a, a) not in assistant for a in agents)
    for a in agents:
        assert {("__start__", "choose"), ("choose", "act"), ("act", "choose")} <= _edges(drawn[a])
