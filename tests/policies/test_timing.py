"""Quiet hours in the fan's timezone and frequency caps decide when an approved message may go out."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from policies.timing import SendLimits, next_send_time

NOON_UTC = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_no_limits_sends_now() -> None:
    w = next_send_time(NOON_UTC, SendLimits(), fan_timezone="UTC")
    assert w.not_before == NOON_UTC and not w.held


def test_quiet_hours_wrapping_midnight_in_the_fans_timezone() -> None:
    limits = SendLimits(quiet_start=time(22, 0), quiet_end=time(8, 0))
    assert not next_send_time(NOON_UTC, limits, fan_timezone="Asia/Tokyo").held  # 21:00 local
    w = next_send_time(NOON_UTC, limits, fan_timezone="Asia/Kolkata")  # 17:30 local: not quiet
    assert not w.held
    late = NOON_UTC + timedelta(hours=2)  # 23:00 in Tokyo
    w = next_send_time(late, limits, fan_timezone="Asia/Tokyo")
    assert w.held and "quiet hours 22:00-08:00" in w.reasons[0] and "Asia/Tokyo" in w.reasons[0]
    assert w.not_before == datetime(2026, 3, 11, 8, 0, tzinfo=UTC) - timedelta(
        hours=9
    )  # 08:00 Tokyo next day
    early = datetime(
        2026, 3, 10, 20, 0, tzinfo=UTC
    )  # 05:00 the next day in Tokyo: quiet until 08:00 that day
    assert next_send_time(early, limits, fan_timezone="Asia/Tokyo").not_before == datetime(
        2026, 3, 10, 23, 0, tzinfo=UTC
    )


def test_quiet_hours_within_one_day_and_an_unknown_zone_reads_utc() -> None:
    limits = SendLimits(quiet_start=time(11, 0), quiet_end=time(14, 30))
    w = next_send_time(NOON_UTC, limits, fan_timezone="Mars/Olympus_Mons")
    assert w.not_before == datetime(2026, 3, 10, 14, 30, tzinfo=UTC) and "(UTC)" in w.reasons[0]
    assert not next_send_time(NOON_UTC, limits, fan_timezone="America/New_York").held  # 08:00 there


def test_fan_cap_waits_for_the_oldest_message_to_leave_the_day() -> None:
    sent = [NOON_UTC - timedelta(hours=h) for h in (20, 5, 1)]
    limits = SendLimits(max_per_fan_per_day=3)
    w = next_send_time(NOON_UTC, limits, fan_timezone="UTC", fan_sent=sent)
    assert w.not_before == NOON_UTC + timedelta(hours=4) and "3 messages to this fan" in w.reasons[0]
    assert not next_send_time(
        NOON_UTC, SendLimits(max_per_fan_per_day=4), fan_timezone="UTC", fan_sent=sent
    ).held
    old = [NOON_UTC - timedelta(hours=30)] * 10  # outside the window: they do not count
    assert not next_send_time(NOON_UTC, limits, fan_timezone="UTC", fan_sent=old).held


def test_creator_cap_per_hour() -> None:
    sent = [NOON_UTC - timedelta(minutes=m) for m in (50, 40, 10)]
    w = next_send_time(
        NOON_UTC, SendLimits(max_per_creator_per_hour=2), fan_timezone="UTC", creator_sent=sent
    )
    assert w.not_before == NOON_UTC + timedelta(
        minutes=20
    )  # two must leave: the 40-minute-old one goes at +20


def test_limits_combine_a_cap_can_push_into_quiet_hours() -> None:
    limits = SendLimits(quiet_start=time(13, 0), quiet_end=time(15, 0), max_per_fan_per_day=1)
    sent = [NOON_UTC - timedelta(hours=23, minutes=30)]  # the cap frees at 12:30 ...
    w = next_send_time(NOON_UTC, limits, fan_timezone="UTC", fan_sent=sent)
    assert w.not_before == NOON_UTC + timedelta(minutes=30) and len(w.reasons) == 1
    sent = [NOON_UTC - timedelta(hours=22, minutes=30)]  # ... now at 13:30, inside quiet hours: 15:00
    w = next_send_time(NOON_UTC, limits, fan_timezone="UTC", fan_sent=sent)
    assert w.not_before == datetime(2026, 3, 10, 15, 0, tzinfo=UTC) and len(w.reasons) == 2
