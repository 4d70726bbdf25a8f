"""Which fan events start or stop which sequences, and when a step's message should go out. Pure functions:
the supervisor, the step activity and the eval suites call them directly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agents.followup.config import SEQUENCE_KINDS, SequenceKind
from core.types import FollowupDirectives

# Internal event kinds: written by follow-ups and campaigns, never accepted from the platform API.
FOLLOWUP_DUE = "followup_due"
CAMPAIGN_MESSAGE = "campaign_message"
INTERNAL_KINDS = (FOLLOWUP_DUE, CAMPAIGN_MESSAGE)

STARTS: dict[str, SequenceKind] = {"subscription_started": "welcome", "subscription_expired": "win_back"}

# event kind -> {sequence kind: why it stops}. A reply (or the creator's own message) hands the fan back to the conversation; a purchase is
# what a reminder wanted; a renewal or new subscription is what a win-back wanted.
STOPS: dict[str, dict[SequenceKind, str]] = {
    "message": {k: "the fan replied" for k in SEQUENCE_KINDS},
    # the creator wrote to the fan herself on the platform: the conversation is hers again, as after a reply
    "creator_message": {k: "the creator wrote to the fan" for k in SEQUENCE_KINDS},
    "purchase": {
        "ppv_reminder": "the fan bought",
        "welcome": "the fan bought",
        "inactive": "the fan is active again",
    },
    "ppv_unlock": {
        "ppv_reminder": "the fan bought",
        "welcome": "the fan bought",
        "inactive": "the fan is active again",
    },
    "tip": {"inactive": "the fan is active again"},
    "subscription_started": {"win_back": "the fan subscribed again", "inactive": "the fan is active again"},
    "subscription_renewed": {"win_back": "the fan subscribed again"},
    "subscription_expired": {
        "welcome": "the subscription ended",
        "inactive": "the subscription ended",
        "ppv_reminder": "the subscription ended",
    },
}
OPTED_OUT = "the fan opted out"
HANDED_OFF = "a human is handling this fan"


def directives(
    kinds: Iterable[str], *, opted_out: bool = False, handed_off: bool = False
) -> FollowupDirectives:
    """What one batch of a fan's events means for their follow-ups: sequences to start and to stop (with why).
    An opt-out or a hand-off stops everything and starts nothing."""
    kinds = [k for k in kinds if k not in INTERNAL_KINDS]
    stop: dict[str, str] = {}
    if opted_out or handed_off:
        reason = OPTED_OUT if opted_out else HANDED_OFF
        return FollowupDirectives([], dict.fromkeys(SEQUENCE_KINDS, reason))
    for kind in kinds:
        for seq, why in STOPS.get(kind, {}).items():
            stop.setdefault(seq, why)
    # A sequence this batch starts is not also stopped by it (an expiry starts win-back and stops welcome).
    start = [STARTS[k] for k in dict.fromkeys(kinds) if k in STARTS]
    for seq in start:
        stop.pop(seq, None)
    return FollowupDirectives([str(seq) for seq in start], stop)


def stop_reason_since(kind: SequenceKind, later_event_kinds: Iterable[str]) -> str | None:
    """Why a running sequence must stop, given the kinds of the fan's events since it started (the caller
    leaves out purchases of other items for a PPV reminder: buying something else does not count)."""
    for ev in later_event_kinds:
        why = STOPS.get(ev, {}).get(kind)
        if why:
            return why
    return None


def next_best_time(
    now: datetime,
    timezone: str,
    best_hours_of_week: Sequence[int] | None,
    default_hours_of_day: Sequence[int],
) -> datetime:
    """The start of the first of the fan's best hours at or after `now` (or `now` when inside one).

    best_hours_of_week: 0 = Monday 00:00 in the fan's timezone (as fan_scores.best_hours); when the fan has none
    yet, the creator's default hours of day apply on every day."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    start = local.replace(minute=0, second=0, microsecond=0)
    for h in range(0, 24 * 7 + 1):
        slot = start + timedelta(hours=h)
        if best_hours_of_week:
            ok = slot.weekday() * 24 + slot.hour in best_hours_of_week
        else:
            ok = slot.hour in default_hours_of_day
        if ok:
            return max(slot, local).astimezone(now.tzinfo)
    return now
