"""When an approved message may go out: quiet hours in the fan's timezone and frequency caps.

These are send-time policies. A draft that is fine to say but would go out at 3 a.m. for the fan, or
past the creator's caps, is not blocked (the human would only re-approve the same words later): it is
held, and the conversation workflow waits durably until `next_send_time` says it may go. The check runs
again inside the send activity, under the draft's row lock, so what decides is the state at send time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FAN_WINDOW = timedelta(hours=24)
CREATOR_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class SendLimits:
    quiet_start: time | None = None  # quiet from this local time ...
    quiet_end: time | None = None  # ... until this local time (may wrap past midnight)
    max_per_fan_per_day: int | None = None  # messages to one fan in any 24 hours
    max_per_creator_per_hour: int | None = None  # messages from the creator in any hour, all fans


@dataclass(frozen=True)
class SendWindow:
    not_before: datetime
    reasons: tuple[str, ...] = ()

    @property
    def held(self) -> bool:
        return bool(self.reasons)


def fan_zone(name: str | None) -> ZoneInfo:
    """The fan's timezone; an unknown name falls back to UTC rather than sending at a random hour."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _quiet_until(at: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """The end of the quiet period containing `at` (in the fan's local time), or None if not quiet."""
    local = at.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    if start == end:
        return None
    wraps = start > end  # e.g. 22:00 -> 08:00
    quiet = (t >= start or t < end) if wraps else (start <= t < end)
    if not quiet:
        return None
    day = local.date() if (not wraps or t < end) else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


def _cap_until(at: datetime, sent: Sequence[datetime], window: timedelta, cap: int) -> datetime | None:
    """When the oldest of the messages that fill the cap leaves the window, or None if under the cap."""
    recent = sorted(s for s in sent if at - window < s <= at)
    if len(recent) < cap:
        return None
    return recent[len(recent) - cap] + window


def next_send_time(
    now: datetime,
    limits: SendLimits,
    *,
    fan_timezone: str | None,
    fan_sent: Sequence[datetime] = (),
    creator_sent: Sequence[datetime] = (),
) -> SendWindow:
    """The earliest time at or after `now` at which every limit allows one more message to this fan.

    fan_sent: when messages went to this fan (at least the last 24 h); creator_sent: when the creator's
    messages went out to anyone (at least the last hour)."""
    zone = fan_zone(fan_timezone)
    at = now
    reasons: list[str] = []
    for _ in range(16):  # each limit can only push later; a few rounds settle it
        moved = False
        if limits.quiet_start is not None and limits.quiet_end is not None:
            until = _quiet_until(at, zone, limits.quiet_start, limits.quiet_end)
            if until is not None and until > at:
                reasons.append(
                    f"quiet hours {limits.quiet_start:%H:%M}-{limits.quiet_end:%H:%M} in the fan's timezone"
                    f" ({zone.key}); held until {until.astimezone(zone):%Y-%m-%d %H:%M}"
                )
                at, moved = until, True
        if limits.max_per_fan_per_day is not None:
            until = _cap_until(at, fan_sent, FAN_WINDOW, limits.max_per_fan_per_day)
            if until is not None and until > at:
                reasons.append(f"at most {limits.max_per_fan_per_day} messages to this fan in 24 hours")
                at, moved = until, True
        if limits.max_per_creator_per_hour is not None:
            until = _cap_until(at, creator_sent, CREATOR_WINDOW, limits.max_per_creator_per_hour)
            if until is not None and until > at:
                reasons.append(
                    f"at most {limits.max_per_creator_per_hour} messages from the creator per hour"
                )
                at, moved = until, True
        if not moved:
            break
    return SendWindow(at, tuple(dict.fromkeys(reasons)))
