"""The analytics agent's tools: the revenue overview of a period, recent anomalies, campaign results."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Self
from zoneinfo import ZoneInfo

from langchain_core.tools import BaseTool
from pydantic import Field, model_validator

from agents.analytics.overview import Period, overview, recent_anomalies
from agents.campaigns.store import results
from agents.toolkits.base import Args, make_tool
from core import db
from core.store import creators

# The longest period one overview call reads (the API's own bound is wider; an answer needs no more).
MAX_PERIOD_DAYS = 366


class PeriodArgs(Args):
    start: date = Field(description="first day, inclusive (YYYY-MM-DD)")
    end: date = Field(description="last day, inclusive (YYYY-MM-DD)")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError("end is before start")
        if (self.end - self.start).days >= MAX_PERIOD_DAYS:
            raise ValueError(f"at most {MAX_PERIOD_DAYS} days")
        if self.start < date(2000, 1, 1) or self.end > date(2100, 1, 1):
            raise ValueError("dates out of range")
        return self


class AnomalyArgs(Args):
    days: int = Field(7, ge=1, le=90, description="how many complete days before today to look at")


class CampaignArgs(Args):
    limit: int = Field(5, ge=1, le=50, description="how many of the newest campaigns")


async def _today(creator_id: str) -> date:
    async with db.connection() as conn:
        c = await creators.get(conn, creator_id)
    tz = ZoneInfo(c.timezone if c else "UTC")
    return datetime.now(tz).date()


def tools(creator_id: str) -> list[BaseTool]:
    async def period_overview(start: date, end: date) -> dict[str, Any]:
        o = await overview(creator_id, Period(start, end), "day")
        return {
            "period": o["period"],
            "money": o["money"],
            "by_source": o["by_source"],
            "key_stats": o["key_stats"],
            "by_segment": o["by_segment"],
            "anomalies": o["anomalies"],
        }

    async def anomalies(days: int) -> dict[str, Any]:
        today = await _today(creator_id)
        async with db.connection() as conn:
            found = await recent_anomalies(conn, creator_id, today, days)
        return {"from": today - timedelta(days=days), "to": today - timedelta(days=1), "anomalies": found}

    async def campaign_results(limit: int) -> dict[str, Any]:
        async with db.connection() as conn:
            rows = await results(conn, creator_id, limit)
        keep = ("id", "name", "segment", "intent", "recipients", "status", "created_at")
        counts = ("not_yet_drafted", "no_draft", "pending_review", "blocked", "approved", "sent", "rejected")
        return {
            "campaigns": [{**{k: r[k] for k in keep}, "drafts": {k: int(r[k]) for k in counts}} for r in rows]
        }

    return [
        make_tool(
            "period_overview",
            "Revenue (gross, refunds, net), revenue by source and segment, key stats against the previous"
            " period, and anomalies, for the days from start to end.",
            PeriodArgs,
            period_overview,
        ),
        make_tool(
            "anomalies", "Days whose revenue was unusually high or low, recently.", AnomalyArgs, anomalies
        ),
        make_tool(
            "campaign_results",
            "The newest campaigns with how many drafts were written, approved and sent.",
            CampaignArgs,
            campaign_results,
        ),
    ]
