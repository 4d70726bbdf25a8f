"""fan_scores (with segmentation_runs): the latest segmentation of a creator's fans, read by the segments API,
the fan page and the segmentation agent's tools."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.store import Conn, Id, fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class Run:
    run_id: int
    as_of: datetime
    computed_at: datetime
    fans: int
    duration_ms: int
    model: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SegmentSize:
    segment: str
    fans: int
    spend_cents: int
    ltv_cents: int | None


@dataclass(frozen=True, slots=True)
class TopFan:
    segment: str
    fan_id: str
    display_name: str
    spend_cents: int
    ltv_cents: int | None
    p_alive: float | None


async def latest_run(conn: Conn, creator_id: Id) -> Run | None:
    return await fetch_one(
        conn,
        Run,
        "SELECT id AS run_id, as_of, computed_at, fans, duration_ms, model FROM segmentation_runs"
        " WHERE creator_id = %s ORDER BY id DESC LIMIT 1",
        [creator_id],
    )


async def segment_sizes(conn: Conn, creator_id: Id) -> list[SegmentSize]:
    """Each segment's fans, all-time spend and summed LTV (segments without fans are absent)."""
    return await fetch_all(
        conn,
        SegmentSize,
        "SELECT segment, count(*)::int AS fans, sum(spend_cents)::bigint AS spend_cents,"
        " sum(ltv_cents)::bigint AS ltv_cents FROM fan_scores WHERE creator_id = %s GROUP BY segment"
        " ORDER BY segment",
        [creator_id],
    )


async def top_fans(conn: Conn, creator_id: Id, top: int, segment: str | None = None) -> list[TopFan]:
    """The `top` most valuable fans (by LTV, then spend) of each segment, or of `segment` only."""
    return await fetch_all(
        conn,
        TopFan,
        "SELECT t.segment, t.fan_id::text AS fan_id, f.display_name, t.spend_cents, t.ltv_cents, t.p_alive"
        " FROM (SELECT s.*, row_number() OVER (PARTITION BY segment"
        "       ORDER BY ltv_cents DESC NULLS LAST, spend_cents DESC, fan_id) AS rank"
        "       FROM fan_scores s WHERE creator_id = %s AND (%s::text IS NULL OR segment = %s)) t"
        " JOIN fans f ON f.creator_id = t.creator_id AND f.id = t.fan_id"
        " WHERE t.rank <= %s ORDER BY t.segment, t.rank",
        [creator_id, segment, segment, top],
    )


async def fan_score(conn: Conn, creator_id: Id, fan_id: Id) -> dict[str, Any] | None:
    """The fan's score row with the model of the run that computed it (`model`), or None if not scored."""
    cur = await conn.execute(
        "SELECT s.*, r.model FROM fan_scores s JOIN segmentation_runs r ON r.id = s.run_id"
        " WHERE s.creator_id = %s AND s.fan_id = %s",
        [creator_id, fan_id],
    )
    row: dict[str, Any] | None = await cur.fetchone()
    return row
