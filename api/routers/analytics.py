"""GET /v1/analytics/overview: money over time, key stats with % change, segments, cohorts, conversion, anomalies."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from agents.analytics.overview import Granularity, Period, overview
from api.auth import CurrentPrincipal
from api.errors import ApiError
from core import db

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

# Longest period per granularity: enough for a year of days, two of weeks, five of months.
MAX_DAYS = {"day": 366, "week": 731, "month": 1827}


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        "the request is invalid",
        {"fields": [{"field": field, "message": message, "type": "value_error"}]},
    )


@router.get("/overview")
async def analytics_overview(
    who: CurrentPrincipal,
    from_: Annotated[
        date | None, Query(alias="from", description="first day (creator's timezone); default: to - 29 days")
    ] = None,
    to: Annotated[
        date | None, Query(description="last day, inclusive; default: today in the creator's timezone")
    ] = None,
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
