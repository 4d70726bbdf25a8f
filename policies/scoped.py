"""Policy checks with the creator's own configuration (price bounds, forbidden words) from Postgres."""

from __future__ import annotations

from typing import Any

from core import db
from policies.engine import PolicyReport, check_draft


async def check_draft_for_creator(creator_id: str, text: str, offer: dict[str, Any] | None) -> PolicyReport:
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT ppv_min_cents, ppv_max_cents, policy_config FROM creators WHERE id = %s", [creator_id]
        )
        row = await cur.fetchone()
    if row is None:
        raise LookupError(f"creator {creator_id} not found")
    config = row["policy_config"] or {}
    words = config.get("forbidden_words", []) if isinstance(config, dict) else []
    return check_draft(
        text,
        offer=offer,
        price_bounds=(int(row["ppv_min_cents"]), int(row["ppv_max_cents"])),
        forbidden_words=[str(w) for w in words],
    )
