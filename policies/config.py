"""A creator's policy configuration: the one model for what `PUT /v1/policies` accepts, what is stored in
`creators.policy_config` (plus the PPV bounds columns) and what the engine, the supervisor and the send
step read. Keys missing from an older stored config take the defaults below."""

from __future__ import annotations

from datetime import time
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from policies.timing import SendLimits

# Defaults for a creator who never changed them. Quiet hours are off until the creator sets them (their
# fans' habits differ); the caps are on, because platforms flag accounts that message too much.
DEFAULT_MAX_PER_FAN_PER_DAY = 6
DEFAULT_MAX_PER_CREATOR_PER_HOUR = 300


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: time = Field(description="local time in the fan's timezone, e.g. 22:00")
    end: time = Field(description="local time in the fan's timezone, e.g. 08:00 (may be before start)")

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end times")
        return self


def _terms(words: list[str], what: str) -> list[str]:
    cleaned = [w.strip() for w in words]
    if any(not w or len(w) > 100 for w in cleaned):
        raise ValueError(f"each {what} must have 1 to 100 characters")
    return sorted(set(cleaned), key=cleaned.index)


class PolicyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    forbidden_words: list[str] = Field(default_factory=list, max_length=500)
    private_terms: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="the creator's private data no draft may reveal: legal name, home city, other accounts",
    )
    ppv_min_cents: int = Field(ge=1, le=10_000_000)
    ppv_max_cents: int = Field(ge=1, le=10_000_000)
    handoff_spend_cents: int | None = Field(
        None, ge=1, description="fans whose lifetime spend reaches this always go to a human"
    )
    quiet_hours: QuietHours | None = Field(None, description="no message goes out in these fan-local hours")
    max_per_fan_per_day: int | None = Field(
        DEFAULT_MAX_PER_FAN_PER_DAY,
        ge=1,
        le=100,
        description="messages to one fan in any 24 hours; null: no cap",
    )
    max_per_creator_per_hour: int | None = Field(
        DEFAULT_MAX_PER_CREATOR_PER_HOUR,
        ge=1,
        le=100_000,
        description="messages from the creator in any hour, all fans together; null: no cap",
    )

    @field_validator("forbidden_words")
    @classmethod
    def _forbidden(cls, words: list[str]) -> list[str]:
        return _terms(words, "forbidden word")

    @field_validator("private_terms")
    @classmethod
    def _private(cls, words: list[str]) -> list[str]:
        return _terms(words, "private term")

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.ppv_max_cents < self.ppv_min_cents:
            raise ValueError("ppv_max_cents must be at least ppv_min_cents")
        return self

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PolicyConfig:
        """From a creators row (ppv_min_cents, ppv_max_cents, policy_config)."""
        stored = row.get("policy_config") or {}
        return cls.model_validate(
            {**stored, "ppv_min_cents": row["ppv_min_cents"], "ppv_max_cents": row["ppv_max_cents"]}
        )

    def stored(self) -> dict[str, Any]:
        """What goes into creators.policy_config (the bounds live in their own columns)."""
        return self.model_dump(mode="json", exclude={"ppv_min_cents", "ppv_max_cents"})

    def send_limits(self) -> SendLimits:
        q = self.quiet_hours
        return SendLimits(
            quiet_start=q.start if q else None,
            quiet_end=q.end if q else None,
            max_per_fan_per_day=self.max_per_fan_per_day,
            max_per_creator_per_hour=self.max_per_creator_per_hour,
        )
