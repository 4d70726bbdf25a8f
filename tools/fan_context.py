"""Read-only functions over Postgres that ground a reply: fan profile (with segment), recent messages, purchases,
catalog, recalled memories. The DM agent's node calls them to build its context; the model does not choose them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import db
from core.store import messages, notes, transactions


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


async def fan_profile(creator_id: str, fan_id: str) -> dict[str, Any]:
    async with db.connection() as conn:
        cur = await conn.execute(
            "SELECT f.id::text AS fan_id, f.display_name, f.timezone, f.subscription_status, f.subscribed_at,"
            " f.expires_at, f.opted_out_at, f.handoff_at, f.handoff_reason, c.display_name AS creator_name,"
            # the owner's voice notes (PATCH /v1/creator) go into the prompt with the persona
            " concat_ws(' Voice notes: ', nullif(c.persona, ''), nullif(c.voice_notes, '')) AS persona,"
            " c.ppv_min_cents, c.ppv_max_cents, c.policy_config, s.segment, s.p_alive"
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
    """The fan's last `limit` messages, oldest first."""
    async with db.connection() as conn:
        rows = await messages.recent(conn, creator_id, fan_id, limit)
    return [{"direction": r.direction, "text": r.text, "sent_at": _iso(r.sent_at)} for r in reversed(rows)]


async def team_notes(creator_id: str, fan_id: str, limit: int = 5) -> list[dict[str, Any]]:
    """The newest `limit` notes the creator's team wrote about the fan, newest first."""
    async with db.connection() as conn:
        rows = await notes.page(conn, creator_id, fan_id, before=None, limit=limit)
    return [{"text": r.text, "created_at": _iso(r.created_at)} for r in rows]


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
        cur = await conn.execute(
            "SELECT coalesce(sum(amount_cents), 0) AS cents FROM refunds WHERE creator_id = %s AND fan_id = %s",
            [creator_id, fan_id],
        )
        row = await cur.fetchone()
        refunded = int(row["cents"]) if row else 0
    total = sum(v["cents"] for v in by_kind.values())
    # what the fan paid (gross), what went back (refunds and chargebacks) and what the fan spent (net)
    return {
        "total_cents": total,
        "refunded_cents": refunded,
        "net_cents": total - refunded,
        "by_kind": by_kind,
        "owned_catalog_ids": owned,
    }


async def ppv_prices(creator_id: str, fan_id: str) -> dict[str, Any]:
    """What a price suggestion reads: the fan's PPV prices (net of refunds and chargebacks, oldest first) and the
    creator's median PPV price over every fan (None before any sale)."""
    async with db.connection() as conn:
        paid = await transactions.ppv_paid(conn, creator_id, fan_id)
        median = await transactions.ppv_median(conn, creator_id)
    return {
        "paid_cents": [p.net_cents for p in paid],
        "creator_median_cents": median.median_cents,
        "creator_purchases": median.purchases,
    }


async def catalog(creator_id: str) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        cur = await conn.execute(
            "SELECT id::text AS id, title, description, media_kind, price_cents FROM catalog"
            " WHERE creator_id = %s AND active ORDER BY price_cents, title",
            [creator_id],
        )
        return list(await cur.fetchall())


async def recall_memories(
    creator_id: str, fan_id: str, query: str, k: int = 5, query_vec: Any = None
) -> list[dict[str, Any]]:
    """`query_vec`: the query embedded by the configured embedder already (else it is embedded here)."""
    from memory.embed import embedder
    from memory.store import recall

    async with db.connection() as conn:
        found = await recall(conn, creator_id, fan_id, query, embedder(), k=k, query_vec=query_vec)
    return [{"kind": m.kind, "text": m.text, "importance": m.importance} for m in found]


async def voice_examples(creator_id: str, query_vec: Any, k: int) -> list[dict[str, Any]]:
    """The creator's k past exchanges (fan message, her reply) nearest to the fan message embedded as
    `query_vec` by the configured embedder: examples of her voice."""
    from memory.embed import embedder
    from memory.voice import similar

    async with db.connection() as conn:
        found = await similar(conn, creator_id, query_vec, embedder().name, k)
    return [{"fan_text": e.fan_text, "reply_text": e.reply_text, "source": e.source} for e in found]
