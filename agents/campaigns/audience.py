"""Who a campaign reaches: the fans of one segment, minus the exclusions, counted rule by rule. One SQL query:
the audience of a 100k-fan creator is chosen in the database, not in a Python loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from agents.segmentation.refresh import SEGMENTS

ALL_FANS = "all"
TARGETS = (ALL_FANS, *SEGMENTS)


class Exclusions(BaseModel):
    """Rules that take fans out of a campaign. Opted-out and handed-off fans, and fans with a draft still
    awaiting review, are always excluded (no rule can put them back)."""

    model_config = ConfigDict(extra="forbid")
    messaged_within_hours: int | None = Field(
        48,
        ge=1,
        le=24 * 90,
        description="skip fans the creator sent a message to in the last N hours; null: off",
    )
    bought_item: bool = Field(True, description="skip fans who already bought the campaign's catalog item")
    expired: bool = Field(False, description="skip fans whose subscription has ended")


# Why each fan is out, in order: a fan excluded by several rules counts under the first.
RULES = ("opted_out", "handed_off", "awaiting_review", "messaged_recently", "bought_item", "expired")


@dataclass
class Audience:
    fan_ids: list[str]
    excluded: dict[str, int] = field(default_factory=dict)
    segment_size: int = 0


async def select_audience(
    conn: AsyncConnection[dict[str, Any]],
    creator_id: str,
    segment: str,
    exclusions: Exclusions,
    catalog_id: str | None,
    limit: int,
    tag: str | None = None,
) -> Audience:
    """The segment's fans (the latest segmentation; `all` = every fan), only those with `tag` when one is given,
    highest LTV first, the first `limit` of those no rule excludes, and how many fans each rule excluded."""
    if segment not in TARGETS:
        raise ValueError(f"unknown segment {segment!r}")
    cur = await conn.execute(
        """
        WITH target AS (
            SELECT f.id, f.opted_out_at, f.handoff_at, f.subscription_status, s.ltv_cents
            FROM fans f LEFT JOIN fan_scores s ON s.creator_id = f.creator_id AND s.fan_id = f.id
            WHERE f.creator_id = %(c)s AND (%(seg)s = 'all' OR s.segment = %(seg)s)
              AND (%(tag)s::text IS NULL OR f.tags @> ARRAY[%(tag)s::text])
        ), judged AS (
            SELECT t.id, t.ltv_cents, CASE
                WHEN t.opted_out_at IS NOT NULL THEN 'opted_out'
                WHEN t.handoff_at IS NOT NULL THEN 'handed_off'
                WHEN EXISTS (SELECT 1 FROM drafts d WHERE d.creator_id = %(c)s AND d.fan_id = t.id
                             AND d.status IN ('pending_review', 'blocked')) THEN 'awaiting_review'
                WHEN %(hours)s::int IS NOT NULL AND EXISTS (
                    SELECT 1 FROM messages m WHERE m.creator_id = %(c)s AND m.fan_id = t.id AND m.direction = 'out'
                    AND m.sent_at > now() - make_interval(hours => %(hours)s::int)) THEN 'messaged_recently'
                WHEN %(item)s::uuid IS NOT NULL AND %(bought)s AND EXISTS (
                    SELECT 1 FROM transactions x WHERE x.creator_id = %(c)s AND x.fan_id = t.id
                    AND x.catalog_id = %(item)s::uuid) THEN 'bought_item'
                WHEN %(expired)s AND t.subscription_status = 'expired' THEN 'expired'
            END AS excluded_by
            FROM target t
        )
        SELECT id::text AS id, excluded_by FROM judged
        ORDER BY excluded_by NULLS FIRST, ltv_cents DESC NULLS LAST, id
        """,
        {
            "c": creator_id,
            "seg": segment,
            "tag": tag,
            "hours": exclusions.messaged_within_hours,
            "item": catalog_id,
            "bought": exclusions.bought_item,
            "expired": exclusions.expired,
        },
    )
    rows = await cur.fetchall()
    excluded = dict.fromkeys(RULES, 0)
    fans: list[str] = []
    for r in rows:
        if r["excluded_by"] is None:
            fans.append(r["id"])
        else:
            excluded[r["excluded_by"]] += 1
    over = max(0, len(fans) - limit)
    if over:
        excluded["over_limit"] = over
    return Audience(fan_ids=fans[:limit], excluded=excluded, segment_size=len(rows))
