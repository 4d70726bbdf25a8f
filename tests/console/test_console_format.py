"""The console's writing of money, numbers and times, its revenue chart's axes and the Daily Action List without
"nothing to do" items: plain functions, checked against values written out by hand."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from api.console.formatting import DEFAULT_CURRENCY, Formatter, negotiate_locale
from api.console.pages import _worth_doing, revenue_chart


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_the_browser_language_is_negotiated_from_accept_language() -> None:
    assert str(negotiate_locale("de-DE,de;q=0.9,en;q=0.8")) == "de_DE"
    assert str(negotiate_locale("en;q=0.2, fr-CA;q=0.8")) == "fr_CA"  # by q-value, not order
    assert str(negotiate_locale("xx-YY, ja")) == "ja"  # one Babel does not know is skipped
    for header in (None, "", "*", "q=;;", "en", "de;q=abc", "x" * 5000):
        assert str(negotiate_locale(header)) == "en_US", header


def test_money_is_written_in_the_currency_and_the_language() -> None:
    us = Formatter(negotiate_locale("en-US"), "UTC")
    assert us.currency == DEFAULT_CURRENCY == "USD"
    assert us.money(2394458) == "$23,944.58"
    assert us.money(91472.1068) == "$914.72"
    assert us.money(None) == "n/a"
    assert us.money_whole(100000) == "$1,000"
    assert _plain(Formatter(negotiate_locale("de-DE"), "UTC").money(2394458)) == "23.944,58 $"
    assert _plain(Formatter(negotiate_locale("fr-FR"), "UTC").money(2394458)) == "23 944,58 $US"
    # a currency without minor units: the stored amount is already whole yen
    assert Formatter(negotiate_locale("ja-JP"), "UTC", "JPY").money(2394) == "￥2,394"
    assert us.change(12.5) == "+12.5%" and us.change(-3.0) == "-3%" and us.change(None) == "n/a"
    assert us.metric("reply_rate", 0.835) == "83.5%" and us.metric("churned", 3.0) == "3"
    assert us.metric("revenue_cents", 150) == "$1.50"


def test_times_are_in_the_creators_timezone() -> None:
    tokyo = Formatter(negotiate_locale("en-US"), "Asia/Tokyo")
    assert _plain(tokyo.when("2026-12-06T06:04:59Z")) == "Dec 6, 2026, 3:04 PM"
    assert _plain(Formatter(negotiate_locale("de-DE"), "Asia/Tokyo").when("2026-12-06T06:04:00+00:00")) == (
        "06.12.2026, 15:04"
    )
    assert _plain(Formatter(negotiate_locale("en-US"), "Not/AZone").when("2026-12-06T06:04:00Z")).endswith(
        " 6:04 AM"
    )
    assert tokyo.day("2026-11-06") == "Nov 6, 2026" and tokyo.day_short(date(2026, 11, 6)) == "Nov 6"
    assert tokyo.day_short("2026-11-01", "month") == "Nov 2026"
    assert tokyo.hours([0, 45]) == "Mon 00:00, Tue 21:00"


def test_the_revenue_chart_has_round_ticks_and_at_most_eight_dates() -> None:
    fmt = Formatter(negotiate_locale("en-US"), "UTC")
    start = date(2026, 11, 1)
    series: list[dict[str, Any]] = [
        {"period_start": (start + timedelta(days=i)).isoformat(), "revenue_cents": c}
        for i, c in enumerate([12_000, 0, 31_000, 8_000] * 8)
    ]
    chart = revenue_chart(series, fmt, "day")
    assert [t["label"] for t in chart["y_ticks"]] == ["$0", "$100", "$200", "$300", "$400"]
    assert chart["y_ticks"][0]["y"] == chart["bottom"] and chart["y_ticks"][-1]["y"] == chart["top"]
    highest = max(chart["bars"], key=lambda b: b["h"])
    assert highest["value"] == "$310.00" and highest["y"] > chart["top"]  # below the top tick ($400)
    assert 2 <= len(chart["x_ticks"]) <= 8 and chart["x_ticks"][0]["label"] == "Nov 1"
    assert (chart["x_title"], chart["y_title"]) == ("Day", "Revenue (USD)")
    empty = revenue_chart([], fmt, "month")
    assert [t["label"] for t in empty["y_ticks"]] == ["$0", "$1"] and empty["x_title"] == "Month"


def test_the_daily_action_list_leaves_out_nothing_to_do_anomalies() -> None:
    def anomaly(metric: str, direction: str) -> dict[str, Any]:
        return {"kind": "anomaly", "data": {"metric": metric, "direction": direction}}

    plan = {
        "plan_date": "2026-12-06",
        "actions": [
            {"kind": "review_drafts", "data": {}},
            anomaly("revenue_cents", "down"),
            anomaly("churned", "down"),
            anomaly("reply_rate", "up"),
        ],
    }
    kept = _worth_doing(plan)
    assert kept is not None
    assert [(a["kind"], a["data"].get("metric")) for a in kept["actions"]] == [
        ("review_drafts", None),
        ("anomaly", "revenue_cents"),
    ]
    assert _worth_doing(None) is None


def test_a_wait_is_written_in_words_in_the_language() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    en = Formatter(negotiate_locale("en-US"), "Asia/Tokyo")
    de = Formatter(negotiate_locale("de-DE"), "Asia/Tokyo")
    assert en.waited(now - timedelta(hours=3, minutes=10), now) == "3 hours"
    assert en.waited((now - timedelta(days=2, hours=5)).isoformat(), now) == "2 days"
    assert de.waited(now - timedelta(hours=3), now) == "3 Stunden"
    assert en.waited(now + timedelta(minutes=5), now) == "0 seconds"  # a clock ahead is no negative wait
    assert en.waited(None) == ""


def test_durations_are_written_in_words_rounded_to_their_largest_unit() -> None:
    us = Formatter(negotiate_locale("en-US"), "UTC")
    assert [us.duration(s) for s in (45, 90, 420, 5400, 30 * 3600)] == [
        "45 seconds",
        "2 minutes",
        "7 minutes",
        "2 hours",
        "1 day",
    ]
    assert us.duration(None) == "n/a" and us.duration(-3) == "0 seconds"
    assert Formatter(negotiate_locale("de-DE"), "UTC").duration(420) == "7 Minuten"
