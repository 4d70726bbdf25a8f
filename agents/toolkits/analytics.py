"""The analytics agent's tools: the revenue overview of a period, recent anomalies, campaign results,
subscription-month cohorts."""

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
from core.store import creators, transactions

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


class CohortArgs(Args):
    months: int = Field(6, ge=1, le=24, description="how many months back, this month included")


async def _tz(creator_id: str) -> ZoneInfo:
    async with db.connection() as conn:
        c = await creators.get(conn, creator_id)
    return ZoneInfo(c.timezone if c else "UTC")


async def _today(creator_id: str) -> date:
    return datetime.now(await _tz(creator_id)).date()


def month_starts(this_month: date, months: int) -> list[date]:
    """The first days of the `months` months up to `this_month`'s, then of the month after (the end bound)."""
    out = [this_month.replace(day=1)]
    for _ in range(months - 1):
        out.insert(0, (out[0] - timedelta(days=1)).replace(day=1))
    out.append((out[-1] + timedelta(days=32)).replace(day=1))
    return out


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

    async def cohorts(months: int) -> dict[str, Any]:
        tz = await _tz(creator_id)
        now = datetime.now(tz)
        starts = month_starts(now.date(), months)
        bounds = [datetime.combine(d, datetime.min.time(), tzinfo=tz) for d in starts]
        async with db.connection() as conn:
            found = {c.bucket: c for c in await transactions.cohorts(conn, creator_id, bounds, now)}
        out = []
        for i, start in enumerate(starts[:-1], start=1):
            c = found.get(i)
            fans, retained = (c.fans, c.retained) if c else (0, 0)
            gross, refunds, chargebacks = (
                (c.gross_cents, c.refunds_cents, c.chargebacks_cents) if c else (0, 0, 0)
            )
            out.append(
                {
                    "month": start.strftime("%Y-%m"),
                    "fans": fans,
                    "retained": retained,
                    "retained_share": round(retained / fans, 4) if fans else None,
                    "gross_cents": gross,
                    "refunds_cents": refunds,
                    "chargebacks_cents": chargebacks,
                    "net_cents": gross - refunds - chargebacks,
                }
            )
        return {"timezone": str(tz), "cohorts": out}

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
        make_tool(
            "cohorts",
            "Fans grouped by the month they first subscribed: how many, how many are still subscribed, and what"
            " they paid since (gross, refunds, chargebacks, net), for the last months.",
            CohortArgs,
            cohorts,
        ),
    ]
