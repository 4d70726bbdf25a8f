"""The DM agent's tools: who a fan is, what they said and bought, what we remember, what the catalog offers, a
price for a PPV offer to one fan, and the creator's own past replies most like a fan's message."""

from __future__ import annotations

import asyncio
from typing import Any, Self
from uuid import UUID

from langchain_core.tools import BaseTool
from pydantic import Field, model_validator

from agents.pricing import suggest_for
from agents.toolkits.base import Args, FanArgs, ToolFailed, make_tool
from core import db
from core.store import catalog as catalog_store
from core.store import creators, transactions
from core.store import fans as fan_store
from memory.embed import embedder
from memory.voice import similar
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


class PriceArgs(FanArgs):
    catalog_id: UUID | None = Field(None, description="the catalog item to price (its id), if any")
    platform_item_id: str | None = Field(
        None, min_length=1, max_length=200, description="or the item's id on the platform"
    )

    @model_validator(mode="after")
    def _one_item(self) -> Self:
        if self.catalog_id is not None and self.platform_item_id is not None:
            raise ValueError("name the item by catalog_id or by platform_item_id, not both")
        return self


class SimilarArgs(Args):
    text: str = Field(min_length=1, max_length=2000, description="the fan's message")
    k: int = Field(3, ge=1, le=10, description="how many past replies")


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

    async def suggest_price_tool(
        fan_id: Any, catalog_id: UUID | None, platform_item_id: str | None
    ) -> dict[str, Any]:
        fan = await known(fan_id)
        async with db.connection() as conn:
            creator = await creators.get(conn, creator_id)
            if creator is None:
                raise ToolFailed("no such creator")
            item = None
            if catalog_id is not None or platform_item_id is not None:
                found = await catalog_store.resolve(
                    conn, creator_id, catalog_id=catalog_id, platform_item_id=platform_item_id
                )
                item = None if found is None else await catalog_store.get(conn, creator_id, found)
                if item is None:
                    raise ToolFailed(f"no catalog item {catalog_id or platform_item_id}")
            paid = await transactions.ppv_paid(conn, creator_id, fan)
            median = await transactions.ppv_median(conn, creator_id)
        s = suggest_for(
            [p.net_cents for p in paid],
            item_cents=item.price_cents if item is not None else None,
            creator_median_cents=median.median_cents,
            min_cents=creator.ppv_min_cents,
            max_cents=creator.ppv_max_cents,
        )
        return {
            "fan_id": fan,
            "item": None
            if item is None
            else {"id": item.id, "title": item.title, "price_cents": item.price_cents},
            **s.public(),
            "creator_median_cents": median.median_cents,
            "creator_purchases": median.purchases,
        }

    async def similar_replies(text: str, k: int) -> dict[str, Any]:
        emb = embedder()
        # CPU-bound: off the event loop
        vec = (await asyncio.to_thread(emb.embed, [text]))[0]
        async with db.connection() as conn:
            found = await similar(conn, creator_id, vec, emb.name, k)
        return {
            "replies": [
                {
                    "fan_text": e.fan_text,
                    "reply_text": e.reply_text,
                    "source": e.source,
                    "similarity": e.similarity,
                }
                for e in found
            ]
        }

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
        make_tool(
            "suggest_price",
            "A PPV price for one fan (optionally for one catalog item) from what the fan paid before, shrunk"
            " towards the creator's median (or the item's price) when their history is thin, inside the"
            " creator's price bounds; with the reasoning.",
            PriceArgs,
            suggest_price_tool,
        ),
        make_tool(
            "similar_replies",
            "The creator's own past replies to fan messages most similar to a given fan message (her voice).",
            SimilarArgs,
            similar_replies,
        ),
    ]
