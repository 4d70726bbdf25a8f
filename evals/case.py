"""One case of an eval suite, and the error for a suite or case file that cannot be used."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SuiteError(ValueError):
    """A suite or case file that cannot be used; the message names the file and the field."""


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=120)
    input: dict[str, Any] = Field(default_factory=dict)
    expect: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
