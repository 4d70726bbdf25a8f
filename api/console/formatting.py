"""How the console writes money, numbers, dates and times for the person reading it (Babel's CLDR data).

- Money: amounts are stored in the currency's minor unit (`*_cents`), written in the creator's currency. A
  creator has no currency setting yet, so every creator's is `DEFAULT_CURRENCY` (USD).
- Language: the browser's, from its `Accept-Language` header (the first one Babel knows; `en_US` without any).
- Times: in the creator's timezone (`creators.timezone`), the one the analytics cut days in, so a time on the
  inbox and a day on the chart agree. Every time is also in a `<time datetime="...">` element (UTC, ISO 8601).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time, format_timedelta
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_precision

DEFAULT_CURRENCY = "USD"
DEFAULT_LOCALE = Locale("en", "US")
_MAX_HEADER = 256  # an Accept-Language longer than this is read only this far
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


def negotiate_locale(accept_language: str | None) -> Locale:
    """The first language of the header (by q-value, then order) that Babel has data for."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "")[:_MAX_HEADER].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if _TAG.match(tag) and q > 0:
            ranked.append((-q, i, tag))
    for _, _, tag in sorted(ranked):
        try:
            loc = Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
        # "en" alone writes dates the US way already; a bare language gets its own default territory's numbers
        return loc if loc.territory or loc.language != "en" else DEFAULT_LOCALE
    return DEFAULT_LOCALE


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _instant(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value[:10])


@dataclass(frozen=True)
class Formatter:
    locale: Locale
    timezone: str
    currency: str = DEFAULT_CURRENCY

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)

    # --- money and numbers ---

    def _amount(self, minor: float | int) -> Decimal:
        return Decimal(str(minor)).scaleb(-int(get_currency_precision(self.currency)))

    def money(self, minor: float | int | None) -> str:
        """An amount in minor units (cents) in the currency, e.g. 2394458 -> "$23,944.58" (en_US)."""
        if minor is None:
            return "n/a"
        return format_currency(self._amount(round(minor)), self.currency, locale=self.locale)

    def money_whole(self, minor: float | int) -> str:
        """Whole units only, for chart ticks: 100000 -> "$1,000"."""
        pattern = self.locale.currency_formats["standard"].pattern
        whole = re.sub(r"\.0+", "", pattern)
        return format_currency(
            self._amount(minor), self.currency, format=whole, locale=self.locale, currency_digits=False
        )

    def count(self, n: float | int | None) -> str:
        return "n/a" if n is None else format_decimal(round(n), locale=self.locale)

    def rate(self, fraction: float | None) -> str:
        """A share (0.125) as a percentage ("12.5%")."""
        return "n/a" if fraction is None else format_percent(fraction, "#,##0.#%", locale=self.locale)

    def change(self, pct: float | None) -> str:
        """A change in percent (12.5 -> "+12.5%"); n/a when there was nothing to compare with."""
        if pct is None:
            return "n/a"
        sign = "+" if pct > 0 else ""
        return sign + format_percent(pct / 100, "#,##0.#%", locale=self.locale)

    def metric(self, name: str, value: float | None) -> str:
        """A metric's value by its kind: money (`*_cents`), a rate (`*_rate`) or a count."""
        if name.endswith("_cents"):
            return self.money(value)
        if name.endswith("_rate"):
            return self.rate(value)
        return self.count(value)

    # --- dates and times ---

    def when(self, value: datetime | str | None) -> str:
        """A moment in the creator's timezone, to the minute: "Dec 6, 2026, 3:04 PM" (en_US), "06.12.2026, 15:04"
        (de_DE)."""
        if value is None:
            return ""
        local = _instant(value).astimezone(self.tz)
        pattern = str(self.locale.datetime_formats["medium"])
        day = format_date(local.date(), "medium", locale=self.locale)
        return pattern.replace("{1}", day).replace(
            "{0}", format_time(local, "short", tzinfo=self.tz, locale=self.locale)
        )

    def waited(self, since: datetime | str | None, now: datetime | None = None) -> str:
        """How long since a moment, in words and rounded: "3 hours", "2 days" (en_US), "3 Stunden" (de_DE)."""
        if since is None:
            return ""
        delta = (now or datetime.now(UTC)) - _instant(since)
        return format_timedelta(max(int(delta.total_seconds()), 0), threshold=1.0, locale=self.locale)

    def duration(self, seconds: float | None) -> str:
        """A length of time in words, rounded to its largest unit: 420 -> "7 minutes", 5400 -> "2 hours" (en_US)."""
        if seconds is None:
            return "n/a"
        return format_timedelta(max(round(seconds), 0), threshold=1.0, locale=self.locale)

    def iso(self, value: datetime | str) -> str:
        return _instant(value).isoformat()

    def day(self, value: date | str) -> str:
        return format_date(_day(value), "medium", locale=self.locale)

    def day_short(self, value: date | str, granularity: str = "day") -> str:
        """A chart tick: "Nov 6" by day or week, "Nov 2026" by month."""
        return format_skeleton("yMMM" if granularity == "month" else "MMMd", _day(value), locale=self.locale)

    def hours(self, best_hours: list[int]) -> str:
        """Hours of the week (0 = Monday 00:00, the fan's time) as "Mon 21:00"."""
        days = self.locale.days["format"]["abbreviated"]
        return ", ".join(f"{days[h // 24 % 7]} {h % 24:02d}:00" for h in best_hours)
