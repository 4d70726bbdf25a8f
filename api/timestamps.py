"""The one bound on client-supplied times: not before 2000-01-01, not more than a day ahead of now.

A year-1 `occurred_at` was once stored and made every later segmentation refresh of its creator overflow; a
far-future one would sort before every real event for years. Every edge model uses these types, so a time out
of the window is a 422 naming the field, never a stored row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)  # clocks of platforms and clients drift; a day covers every timezone


def _window() -> str:
    return f"on or after {EARLIEST.date().isoformat()} and at most {FUTURE_SLACK.days} day ahead of now"


def check_datetime(v: datetime) -> datetime:
    if not EARLIEST <= v <= datetime.now(UTC) + FUTURE_SLACK:
        raise ValueError(f"must be {_window()}")
    return v


def check_date(v: date) -> date:
    if not EARLIEST.date() <= v <= (datetime.now(UTC) + FUTURE_SLACK).date():
        raise ValueError(f"must be {_window()}")
    return v


# A timezone-aware instant within the window.
BoundedDatetime = Annotated[AwareDatetime, AfterValidator(check_datetime)]
# A calendar day within the window (a day ahead of UTC covers today in every timezone).
BoundedDate = Annotated[date, AfterValidator(check_date)]
