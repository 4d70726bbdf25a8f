"""The DM agent's tools: who a fan is, what they said and bought, what we remember, what the catalog offers."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from pydantic import Field

from agents.toolkits.base import Args, FanArgs, ToolFailed, make_tool
from core import db
from core.store import fans as fan_store
from tools import fan_context


class FindFansArgs(Args):
    name: str = Field(min_length=1, max_length=100, description="a fan's display name, or part of it")


class RecentArgs(FanArgs):
    limit: int = Field(12, ge=1, le=50, description="how many of the newest messages")


class RecallArgs(FanArgs):
    query: str = Field("", max_length=300, description="what to remember about (empty: the most important)")


class CatalogArgs(Args):
    query: str = Field("", max_length=100, description="words of the title or description (empty: all items)")
    max_price_cents: int | None = Field(
        None, ge=0, le=10_000_000, description="only items at most this price"
    )


def tools(creator_id: str) -> list[BaseTool]:
    async def known(fan_id: Any) -> str:
        async with db.connection() as conn:
            if not await fan_store.exists(conn, creator_id, fan_id):
                raise ToolFailed(f"no fan {fan_id}")
        return str(fan_id)

    async def find_fans(name: str) -> dict[str, Any]:
        async with db.connection() as conn:
            found = await fan_store.find_by_name(conn, creator_id, name)
        return {"fans": found}

    async def fan_profile(fan_id: Any) -> dict[str, Any]:
        try:
            p = await fan_context.fan_profile(creator_id, str(fan_id))
        except LookupError as exc:
            raise ToolFailed(f"no fan {fan_id}") from exc
        keep = ("fan_id", "display_name", "timezone", "subscription_status", "subscribed_at", "expires_at")
        return {
            **{k: p[k] for k in keep},
            "opted_out": p["opted_out_at"] is not None,
            "handed_off": p["handoff_at"] is not None,
            "segment": p["segment"],
            "p_alive": p["p_alive"],
        }

    async def recent_messages(fan_id: Any, limit: int) -> dict[str, Any]:
        return {"messages": await fan_context.recent_messages(creator_id, await known(fan_id), limit)}

    async def purchases(fan_id: Any) -> dict[str, Any]:
        return await fan_context.purchase_summary(creator_id, await known(fan_id))

    async def recall_memories(fan_id: Any, query: str) -> dict[str, Any]:
        return {"memories": await fan_context.recall_memories(creator_id, await known(fan_id), query)}

    async def search_catalog(query: str, max_price_cents: int | None) -> dict[str, Any]:
        words = [w for w in query.lower().split() if w]
        items = [
            {k: c[k] for k in ("id", "title", "media_kind", "price_cents")}
            for c in await fan_context.catalog(creator_id)
            if (max_price_cents is None or c["price_cents"] <= max_price_cents)
            and all(w in f"{c['title']} {c['description'] or ''}".lower() for w in words)
        ]
        return {"items": items}

    return [
        make_tool("find_fans", "Find fans by display name; gives their ids.", FindFansArgs, find_fans),
        make_tool(
            "fan_profile",
            "One fan's profile: subscription, segment, opt-out and hand-off state.",
            FanArgs,
            fan_profile,
        ),
        make_tool("recent_messages", "A fan's newest messages, oldest first.", RecentArgs, recent_messages),
        make_tool(
            "purchases", "What a fan paid, by kind, and the catalog items they own.", FanArgs, purchases
        ),
        make_tool(
            "recall_memories",
            "What the agent remembers about a fan (boundaries, preferences, facts).",
            RecallArgs,
            recall_memories,
        ),
        make_tool(
            "search_catalog",
            "The creator's active PPV items matching words, with prices.",
            CatalogArgs,
            search_catalog,
        ),
    ]
