"""The segmentation agent's tools: how many fans each segment holds, its most valuable fans, one fan's scores
with the reasons behind them (all read the latest refresh, `fan_scores`), and a refresh now."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import Field

from agents.segmentation.explain import explain
from agents.segmentation.refresh import SEGMENTS, refresh_and_announce
from agents.toolkits.base import Args, FanArgs, NoArgs, ToolFailed, make_tool
from core import db
from core.store import fans as fan_store
from core.store import scores

Segment = Literal[SEGMENTS]  # type: ignore[valid-type]

SCORE_FIELDS = (
    "segment",
    "value_tier",
    "r_score",
    "f_score",
    "m_score",
    "days_since_purchase",
    "days_since_active",
    "purchase_days",
    "spend_cents",
    "discretionary_cents",
    "p_alive",
    "ltv_cents",
    "best_hours",
    "computed_at",
)


class TopArgs(Args):
    segment: Segment = Field(description="the segment")
    limit: int = Field(5, ge=1, le=50, description="how many fans")


def tools(creator_id: str) -> list[BaseTool]:
    async def segment_sizes() -> dict[str, Any]:
        async with db.connection() as conn:
            run = await scores.latest_run(conn, creator_id)
            sizes = await scores.segment_sizes(conn, creator_id)
        if run is None:
            return {"scored": False, "segments": [], "note": "no segmentation yet"}
        return {
            "scored": True,
            "as_of": run.as_of,
            "total_fans": sum(s.fans for s in sizes),
            "segments": sizes,
        }

    async def top_fans(segment: str, limit: int) -> dict[str, Any]:
        async with db.connection() as conn:
            rows = await scores.top_fans(conn, creator_id, limit, segment)
        return {
            "segment": segment,
            "fans": [
                {k: getattr(r, k) for k in ("fan_id", "display_name", "spend_cents", "ltv_cents", "p_alive")}
                for r in rows
            ],
        }

    async def fan_scores(fan_id: Any) -> dict[str, Any]:
        async with db.connection() as conn:
            fan = await fan_store.get(conn, creator_id, fan_id)
            if fan is None:
                raise ToolFailed(f"no fan {fan_id}")
            score = await scores.fan_score(conn, creator_id, fan_id)
        if score is None:
            return {"fan_id": str(fan_id), "scored": False}
        model = score.pop("model")
        return {
            "fan_id": str(fan_id),
            "display_name": fan.display_name,
            "scored": True,
            **{k: score[k] for k in SCORE_FIELDS},
            "explanation": explain(score, model, fan.timezone),
        }

    async def refresh_segments() -> dict[str, Any]:
        async with db.connection() as conn:
            before = {s.segment: s.fans for s in await scores.segment_sizes(conn, creator_id)}
            # the daily plan's refresh: every fan re-scored in one transaction, said in the actions feed
            async with conn.transaction():
                res = await refresh_and_announce(conn, creator_id)
        return {
            "run_id": res.run_id,
            "fans": res.fans,
            "before": before,
            "after": res.segments,
            "duration_ms": res.duration_ms,
        }

    return [
        make_tool(
            "segment_sizes",
            "How many fans each segment holds, with their total spend and expected lifetime value.",
            NoArgs,
            segment_sizes,
        ),
        make_tool(
            "top_fans",
            "The most valuable fans of one segment (by expected lifetime value).",
            TopArgs,
            top_fans,
        ),
        make_tool(
            "fan_scores",
            "One fan's segment, RFM scores, churn probability and lifetime value, with the reasons.",
            FanArgs,
            fan_scores,
        ),
        make_tool(
            "refresh_segments",
            "Recompute every fan's scores and segments now (the daily refresh), giving the fans per segment"
            " before and after.",
            NoArgs,
            refresh_segments,
        ),
    ]
