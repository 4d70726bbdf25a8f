"""What a grader returns: a Grade, or Skipped when it applies but cannot run here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Grade:
    score: float
    passed: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"score": round(self.score, 4), "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Skipped:
    """The grader applies but cannot run here (e.g. no judge configured); it counts neither way."""

    reason: str
