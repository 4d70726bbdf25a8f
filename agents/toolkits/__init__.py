"""The agents' LangChain tools, made per creator.

Each factory closes over one creator id: no tool takes a creator id as an argument, and every read goes
through a function that filters on that creator, so a model handed these tools cannot reach another tenant's
rows. Arguments are typed pydantic models (the same schemas serve `bind_tools` and the local engine's
grammar-constrained tool choice, see `agents.tool_loop`). Results are JSON-ready dicts.

The tools live under agents/ rather than tools/ because most of what they wrap (segmentation, analytics,
campaigns, follow-up configuration) is agent logic, and tools/ sits below agents in the import layers.
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.tools import BaseTool

from agents.toolkits import analytics, dm, followup, segmentation
from agents.toolkits.base import AgentName, ToolFailed, is_proposal

FACTORIES: dict[AgentName, Callable[[str], list[BaseTool]]] = {
    "dm": dm.tools,
    "segmentation": segmentation.tools,
    "followup": followup.tools,
    "analytics": analytics.tools,
}

AGENTS: tuple[AgentName, ...] = tuple(FACTORIES)


def tools_for(agent: AgentName, creator_id: str) -> list[BaseTool]:
    """The tools of one agent, bound to one creator."""
    return FACTORIES[agent](creator_id)


__all__ = ["AGENTS", "FACTORIES", "AgentName", "ToolFailed", "is_proposal", "tools_for"]
