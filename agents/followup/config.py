"""Per-creator follow-up settings with sane defaults (stored in creators.followup_config; '{}' = defaults)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

SequenceKind = Literal["welcome", "win_back", "ppv_reminder", "inactive"]
HourOfDay = Annotated[int, Field(ge=0, le=23)]
SEQUENCE_KINDS: tuple[SequenceKind, ...] = ("welcome", "win_back", "ppv_reminder", "inactive")


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after_hours: float = Field(ge=0, le=24 * 60, description="hours after the sequence started")
    intent: str = Field(
        min_length=1, max_length=300, description="what this message should do, for the DM agent"
    )


class Sequence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    steps: list[Step] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        hours = [s.after_hours for s in self.steps]
        if hours != sorted(hours):
            raise ValueError("steps must be in the order of their after_hours")
        return self


class WinBack(Sequence):
    # Tuned by segment: a lapsing whale is worth a quick, personal note and more tries than a fan who never
    # bought anything. Segments not named here use `steps`.
    by_segment: dict[str, list[Step]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _segments_ordered(self) -> Self:
        for segment, steps in self.by_segment.items():
            if not 1 <= len(steps) <= 10:
                raise ValueError(f"by_segment.{segment}: between 1 and 10 steps")
            if [s.after_hours for s in steps] != sorted(s.after_hours for s in steps):
                raise ValueError(f"by_segment.{segment}: steps must be in the order of their after_hours")
        return self


def _s(hours: float, intent: str) -> Step:
    return Step(after_hours=hours, intent=intent)


def _default_win_back() -> WinBack:
    personal = [
        _s(6, "win-back: a warm personal note, you miss them and remember what they liked; no hard sell"),
        _s(48, "win-back: invite them back with something made for them; a PPV offer from the catalog fits"),
        _s(120, "win-back: a last friendly check-in; no pressure"),
    ]
    return WinBack(
        steps=[
            _s(24, "win-back: their subscription ended; a friendly note inviting them back"),
            _s(96, "win-back: remind them what is new since they left"),
        ],
        by_segment={
            "whale": personal,
            "big_spender": personal,
            "loyal": [*personal[:1], _s(72, "win-back: tell them what is new since they left")],
            "never_spent": [_s(72, "win-back: a short friendly note inviting them back")],
            "dormant": [_s(72, "win-back: a short friendly note inviting them back")],
        },
    )


class FollowupConfig(BaseModel):
    """Sequences and their timings. Every step becomes a draft a human approves; nothing is sent by itself."""

    model_config = ConfigDict(extra="forbid")
    welcome: Sequence = Field(
        default_factory=lambda: Sequence(
            steps=[
                _s(24, "welcome follow-up: ask what kind of content they enjoy most"),
                _s(72, "welcome follow-up: point them to a popular set from the catalog"),
            ]
        )
    )
    win_back: WinBack = Field(default_factory=_default_win_back)
    ppv_reminder: Sequence = Field(
        default_factory=lambda: Sequence(
            steps=[_s(24, "PPV reminder: they have not unlocked the offer yet; a light, friendly nudge")]
        )
    )
    inactive: Sequence = Field(
        default_factory=lambda: Sequence(
            steps=[
                _s(0, "re-engagement: they have been quiet; a casual check-in with a question"),
                _s(96, "re-engagement: share something new and ask what they would like to see"),
            ]
        )
    )
    inactive_days: int = Field(
        14, ge=1, le=365, description="no fan activity for this many days starts re-engagement"
    )
    max_per_fan_per_week: int = Field(
        3, ge=1, le=50, description="follow-up messages drafted for one fan in any 7 days; later steps wait"
    )
    inactive_per_day: int = Field(
        50,
        ge=0,
        le=5000,
        description="re-engagement sequences the daily plan starts per day, highest LTV first",
    )
    daily_plan_hour: int = Field(
        7, ge=0, le=23, description="creator-local hour at which the daily plan runs (its Temporal Schedule)"
    )
    default_best_hours: list[HourOfDay] = Field(
        default_factory=lambda: [19, 20, 21],
        min_length=1,
        max_length=24,
        description="fan-local hours of day to send at when the fan has no best hours computed yet",
    )

    def inactive_window(self) -> timedelta:
        return timedelta(days=self.inactive_days)

    @classmethod
    def from_stored(cls, stored: dict[str, Any] | None) -> FollowupConfig:
        return cls.model_validate(stored or {})

    def sequence(self, kind: SequenceKind) -> Sequence:
        seq: Sequence = getattr(self, kind)
        return seq

    def tuning_key(self, kind: SequenceKind, segment: str, value_tier: str) -> str:
        """The segment a sequence is tuned for. An expiry re-scores the fan first, so a lapsed whale is labelled
        'expired' by then: when the label itself has no tuning, the fan's spend tier (whale, big_spender) does."""
        if (
            kind == "win_back"
            and segment not in self.win_back.by_segment
            and value_tier in self.win_back.by_segment
        ):
            return value_tier
        return segment

    def steps_for(self, kind: SequenceKind, segment: str | None) -> list[Step]:
        if kind == "win_back" and segment and segment in self.win_back.by_segment:
            return self.win_back.by_segment[segment]
        return self.sequence(kind).steps
