"""Read-only tools over Postgres that ground a reply: fan profile (with segment), recent messages, purchases,
catalog, recalled memories."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from core import db


class RecentMessagesArgs(BaseModel):
    limit: int = Field(12, ge=1, le=50, description="how many of the latest messages to return")


class NoArgs(BaseModel):
    pass


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


async def fan_profile(creator_id: str, fan_id: str) -> dict[str, Any]:
    async with db.connection() as conn:
        cur = await conn.execute(
            "SELECT f.id::text AS fan_id, f.display_name, f.timezone, f.subscription_status, f.subscribed_at,"
            " f.expires_at, f.opted_out_at, f.handoff_at, f.handoff_reason, c.display_name AS creator_name,"
            " c.persona, c.ppv_min_cents, c.ppv_max_cents, c.policy_config, s.segment, s.p_alive"
            " FROM fans f JOIN creators c ON c.id = f.creator_id"
            " LEFT JOIN fan_scores s ON s.creator_id = f.creator_id AND s.fan_id = f.id"
            " WHERE f.creator_id = %s AND f.id = %s",
            [creator_id, fan_id],
        )
        row = await cur.fetchone()
    if row is None:
        raise LookupError(f"fan {fan_id} not found for creator {creator_id}")
    return {k: _iso(v) for k, v in row.items()}


async def recent_messages(creator_id: str, fan_id: str, limit: int = 12) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        cur = await conn.execute(
            "SELECT direction, text, sent_at FROM messages WHERE creator_id = %s AND fan_id = %s"
            " ORDER BY sent_at DESC, id DESC LIMIT %s",
            [creator_id, fan_id, limit],
        )
        rows = await cur.fetchall()
    return [{k: _iso(v) for k, v in r.items()} for r in reversed(rows)]


async def purchase_summary(creator_id: str, fan_id: str) -> dict[str, Any]:
    async with db.connection() as conn:
        cur = await conn.execute(
            "SELECT kind, count(*) AS n, coalesce(sum(amount_cents), 0) AS cents, max(occurred_at) AS last_at"
            " FROM transactions WHERE creator_id = %s AND fan_id = %s GROUP BY kind",
            [creator_id, fan_id],
        )
        by_kind = {
            r["kind"]: {"count": r["n"], "cents": int(r["cents"]), "last_at": _iso(r["last_at"])}
            for r in await cur.fetchall()
        }
        cur = await conn.execute(
            "SELECT DISTINCT catalog_id::text AS id FROM transactions"
            " WHERE creator_id = %s AND fan_id = %s AND catalog_id IS NOT NULL",
            [creator_id, fan_id],
        )
        owned = [r["id"] for r in await cur.fetchall()]
    total = sum(v["cents"] for v in by_kind.values())
    return {"total_cents": total, "by_kind": by_kind, "owned_catalog_ids": owned}


async def catalog(creator_id: str) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        cur = await conn.execute(
            "SELECT id::text AS id, title, description, media_kind, price_cents FROM catalog"
            " WHERE creator_id = %s AND active ORDER BY price_cents, title",
            [creator_id],
        )
        return list(await cur.fetchall())


class RecallArgs(BaseModel):
    query: str = Field("", max_length=4000, description="what the fan just said (empty: the most important)")
    k: int = Field(5, ge=1, le=20, description="how many memories besides the fan's boundaries")


async def recall_memories(creator_id: str, fan_id: str, query: str, k: int = 5) -> list[dict[str, Any]]:
    from memory.embed import embedder
    from memory.store import recall

    async with db.connection() as conn:
        found = await recall(conn, creator_id, fan_id, query, embedder(), k=k)
    return [{"kind": m.kind, "text": m.text, "importance": m.importance} for m in found]


def make_fan_tools(creator_id: str, fan_id: str) -> list[BaseTool]:
    """The DM agent's tools, bound to one creator and one fan."""

    async def _profile() -> dict[str, Any]:
        return await fan_profile(creator_id, fan_id)

    async def _messages(limit: int = 12) -> list[dict[str, Any]]:
        return await recent_messages(creator_id, fan_id, limit)

    async def _purchases() -> dict[str, Any]:
        return await purchase_summary(creator_id, fan_id)

    async def _catalog() -> list[dict[str, Any]]:
        return await catalog(creator_id)

    async def _recall(query: str = "", k: int = 5) -> list[dict[str, Any]]:
        return await recall_memories(creator_id, fan_id, query, k)

    return [
        StructuredTool.from_function(
            coroutine=_profile,
            name="fan_profile",
            args_schema=NoArgs,
            description="The fan's profile, subscription state and the creator's persona.",
        ),
        StructuredTool.from_function(
            coroutine=_messages,
            name="recent_messages",
            args_schema=RecentMessagesArgs,
            description="The latest messages between the fan and the creator, oldest first.",
        ),
        StructuredTool.from_function(
            coroutine=_purchases,
            name="purchase_summary",
            args_schema=NoArgs,
            description="What the fan has spent, by kind, and which PPV items they own.",
        ),
        StructuredTool.from_function(
            coroutine=_catalog,
            name="catalog",
            args_schema=NoArgs,
            description="The creator's PPV catalog: ids, titles and prices in cents.",
        ),
        StructuredTool.from_function(
            coroutine=_recall,
            name="recall_memories",
            args_schema=RecallArgs,
            description="What we remember about the fan: every boundary, then the memories most relevant to"
            " the query (facts, preferences, life events).",
        ),
    ]
