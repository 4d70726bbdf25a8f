"""GET /v1/analytics/overview: money over time, key stats with % change, segments, cohorts, conversion, anomalies.
GET /v1/analytics/team: per member decisions, time to decision and offer revenue; the automation rate."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from agents.analytics.overview import Granularity, Period, overview
from agents.analytics.team import team_on
from api.auth import CurrentPrincipal
from api.errors import ApiError
from api.timestamps import BoundedDate
from core import db
from core.types import Role

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

# Longest period per granularity: enough for a year of days, two of weeks, five of months.
MAX_DAYS = {"day": 366, "week": 731, "month": 1827}


# A field named `date` would shadow the type `date` in its own class body.
Day = date


class OverviewPeriod(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: Day = Field(alias="from", description="first day, inclusive")
    to: Day = Field(description="last day, inclusive")
    granularity: Granularity
    timezone: str = Field(description="the creator's IANA timezone: every day is a calendar day there")


class BySource(BaseModel):
    """Revenue in cents by transaction kind."""

    subscription: int
    renewal: int
    ppv: int
    tip: int
    unlock: int


class MoneyBack(BaseModel):
    """Gross, what went back, and net, in cents."""

    gross_cents: int = Field(description="what fans paid (transactions), by when they paid")
    refunds_cents: int = Field(description="refunds, by when the money went back")
    chargebacks_cents: int = Field(description="chargebacks, by when the money went back")
    net_cents: int = Field(description="gross - refunds - chargebacks")


class TodayRevenue(MoneyBack):
    date: Day = Field(description="today in the creator's timezone")
    revenue_cents: int = Field(description="gross (the same as gross_cents; kept for older clients)")
    by_source: BySource = Field(description="gross by source")
    same_day_last_week: int = Field(description="gross in cents on the same weekday a week ago")
    change_pct: float | None = Field(description="against the same day last week; null when that was 0")


class SeriesPoint(MoneyBack):
    period_start: Day = Field(description="first day of the bucket (a Monday for weeks, the 1st for months)")
    revenue_cents: int = Field(description="gross (the same as gross_cents; kept for older clients)")
    by_source: BySource = Field(description="gross by source")


class StatChange(BaseModel):
    value: int = Field(description="in the period")
    previous: int = Field(description="in the period of the same length just before it")
    change_pct: float | None = Field(description="null when the previous value was 0")


class KeyStats(BaseModel):
    revenue_cents: StatChange = Field(description="gross: what fans paid")
    refunds_cents: StatChange
    chargebacks_cents: StatChange
    net_cents: StatChange = Field(description="gross - refunds - chargebacks")
    paying_fans: StatChange = Field(description="fans with a transaction in the period")
    arppu_cents: StatChange = Field(description="gross / paying fans")
    new_subscribers: StatChange = Field(description="first subscriptions")
    churned: StatChange = Field(description="subscriptions that expired in the period and were not renewed")


class SegmentRevenue(BaseModel):
    segment: str = Field(description="the fan's segment at the latest refresh, or `not_scored`")
    paying_fans: int
    revenue_cents: int
    share: float = Field(description="of the period's revenue, 0 to 1")


class Cohort(BaseModel):
    cohort: Day = Field(description="the month of the fans' first subscription (its 1st)")
    size: int
    retention: list[float] = Field(
        description="share of the cohort paying a subscription or renewal in month cohort + k, k = 0, 1, ..."
    )


class ConversionRate(BaseModel):
    rate: float | None = Field(description="0 to 1; null when there was nothing to measure")
    of: int = Field(description="how many cases the rate is measured on")


class Conversion(BaseModel):
    message_to_purchase: ConversionRate = Field(
        description="fans who received a creator message and bought within 48 hours after one"
    )
    ppv_offer_to_purchase: ConversionRate = Field(
        description="sent PPV offers followed by the fan buying that item within 72 hours"
    )
    reply_rate: ConversionRate = Field(description="fan messages answered by the creator within 24 hours")


class Anomaly(BaseModel):
    metric: Literal["revenue_cents", "new_subscribers", "churned", "reply_rate"]
    date: Day
    direction: Literal["up", "down"]
    observed: float
    expected: float
    score: float = Field(description="robust z-score, signed")
    recommendation: str
    actionable: bool = Field(
        description="false for good news that asks nothing (fewer expiries, more replies): kept off the Daily"
        " Action List"
    )


class AnalyticsOverview(BaseModel):
    period: OverviewPeriod
    today: TodayRevenue
    series: list[SeriesPoint] = Field(description="one point per bucket of the granularity, oldest first")
    money: MoneyBack = Field(description="the period's gross, refunds, chargebacks and net")
    by_source: BySource = Field(description="the period's gross revenue by source")
    key_stats: KeyStats
    by_segment: list[SegmentRevenue] = Field(description="highest revenue first")
    cohorts: list[Cohort]
    conversion: Conversion
    anomalies: list[Anomaly] = Field(description="on the period's complete days, newest first")


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        "the request is invalid",
        {"fields": [{"field": field, "message": message, "type": "value_error"}]},
    )


# The period of a report, in the creator's days (the overview and team metrics read it alike).
FirstDay = Annotated[
    BoundedDate | None,
    Query(alias="from", description="first day (creator's timezone); default: to - 29 days"),
]
LastDay = Annotated[
    BoundedDate | None, Query(description="last day, inclusive; default: today in the creator's timezone")
]


@router.get("/overview", response_model=AnalyticsOverview)
async def analytics_overview(
    who: CurrentPrincipal,
    from_: FirstDay = None,
    to: LastDay = None,
    granularity: Annotated[Granularity, Query()] = "day",
) -> Any:
    async with db.pool().connection() as conn:
        cur = await conn.execute("SELECT timezone FROM creators WHERE id = %s", [who.creator_id])
        row = await cur.fetchone()
        assert row is not None
        today = datetime.now(ZoneInfo(row["timezone"])).date()
        end = to or today
        start = from_ or end - timedelta(days=29)
        if start > end:
            raise _invalid("query.from", "must not be after 'to'")
        if (end - start).days + 1 > MAX_DAYS[granularity]:
            raise _invalid(
                "query.from", f"at most {MAX_DAYS[granularity]} days with granularity={granularity}"
            )
    return await overview(who.creator_id, Period(start, end), granularity, today=today)


# Longest period of the team metrics.
TEAM_MAX_DAYS = 366


class MemberMetrics(BaseModel):
    member_id: str
    email: str | None = Field(description="null for a member removed since")
    role: str | None = Field(description="null for a member removed since")
    approved: int = Field(description="drafts the member approved in the period, edited or not")
    edited: int = Field(
        description="of those, the ones approved with an edit (a text other than the agent's)"
    )
    rejected: int = Field(description="drafts the member rejected in the period")
    median_decision_seconds: float | None = Field(
        description="median time from a draft's creation to the member's decision; null without decisions"
    )
    p90_decision_seconds: float | None = Field(
        description="90th percentile of the same; null without decisions"
    )
    offer_revenue_cents: int = Field(
        description="what fans paid for the items of offers the member approved in the period, bought within 72 h"
        " of the send (each payment once, for the latest such send)"
    )
    own_messages_sent: int = Field(
        description="messages the member wrote (POST /v1/fans/{id}/messages) sent in the period; not decisions"
    )


class TeamPeriod(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: Day = Field(alias="from", description="first day, inclusive")
    to: Day = Field(description="last day, inclusive")
    timezone: str = Field(description="the creator's IANA timezone: every day is a calendar day there")


class TeamMetrics(BaseModel):
    period: TeamPeriod
    members: list[MemberMetrics] = Field(description="every member, most decisions first")
    messages_sent: int = Field(description="outbound messages sent in the period")
    agent_messages_sent: int = Field(
        description="of those, sent drafts the agent wrote (approved by a member; members' own messages are not)"
    )
    automation_rate: float | None = Field(
        description="agent_messages_sent / messages_sent, 0 to 1; null when nothing was sent"
    )


@router.get("/team", response_model=TeamMetrics)
async def analytics_team(
    who: CurrentPrincipal,
    from_: FirstDay = None,
    to: LastDay = None,
) -> Any:
    """Per member: drafts approved, edited and rejected, time to decision, revenue of approved offers; the
    share of sent messages the agent wrote. Manager or owner."""
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn:
        cur = await conn.execute("SELECT timezone FROM creators WHERE id = %s", [who.creator_id])
        row = await cur.fetchone()
        assert row is not None
        end = to or datetime.now(ZoneInfo(row["timezone"])).date()
        start = from_ or end - timedelta(days=29)
        if start > end:
            raise _invalid("query.from", "must not be after 'to'")
        if (end - start).days + 1 > TEAM_MAX_DAYS:
            raise _invalid("query.from", f"at most {TEAM_MAX_DAYS} days")
        stats = await team_on(conn, who.creator_id, start, end)
    return {
        "period": {"from": start, "to": end, "timezone": row["timezone"]},
        "members": [asdict(m) for m in stats.members],
        "messages_sent": stats.messages_sent,
        "agent_messages_sent": stats.agent_messages_sent,
        "automation_rate": stats.automation_rate,
    }
