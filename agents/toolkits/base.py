"""What the toolkits share: the agent names, a JSON-ready conversion, a tool constructor, the error a tool
raises when its arguments name something the creator does not have."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal
from uuid import UUID

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

AgentName = Literal["dm", "segmentation", "followup", "analytics"]

# A fan id as the model passes it: validated as a UUID before any query runs.
FanId = UUID


class ToolFailed(LookupError):
    """The arguments name something this creator does not have (a fan, a campaign): reported to the model."""


class Args(BaseModel):
    """Tool arguments: unknown names are refused (a model cannot slip in a creator id)."""

    model_config = ConfigDict(extra="forbid")


class FanArgs(Args):
    fan_id: FanId = Field(description="the fan's id (find_fans gives it from a name)")


class NoArgs(Args):
    pass


def jsonable(value: Any) -> Any:
    return to_jsonable_python(value)


def make_tool(
    name: str, description: str, args: type[BaseModel], fn: Callable[..., Awaitable[dict[str, Any]]]
) -> BaseTool:
    """A structured tool whose coroutine gets the validated arguments as keywords and returns a JSON-ready dict."""

    async def run(**kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = jsonable(await fn(**kwargs))
        return out

    return StructuredTool.from_function(
        coroutine=run, name=name, description=description, args_schema=args, infer_schema=False
    )


def is_proposal(result: Any) -> bool:
    """A tool result that proposes something a human must approve (it carries a `proposal`)."""
    return isinstance(result, dict) and isinstance(result.get("proposal"), dict)
