"""Eval suites as data: `evals/suites/<name>.yaml` with its cases inline, in a JSONL file beside it, or from a
named source (the policy and memory sets that already live under evals/).

A suite names the target that runs its cases (which agent or component), the graders applied to every
case, and thresholds. A case has inputs, expectations and tags; a grader whose expectation a case does not
carry is not applicable to that case.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# Case and SuiteError live in evals.case (the sources build cases too) and are part of this module's API.
from evals.case import Case as Case
from evals.case import SuiteError as SuiteError

SUITES_DIR = Path(__file__).parent / "suites"


class GraderSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    target: str
    # Deterministic suites need no LLM; they make the CI gate (`make test`).
    deterministic: bool = False
    graders: list[GraderSpec] = Field(min_length=1)
    # "pass_rate" (share of cases passing every applicable grader), "grader:<name>" (mean score of one
    # grader where applicable), "tag:<tag>" (pass rate of the cases with that tag); all are minimums.
    thresholds: dict[str, float] = Field(default_factory=dict)
    # An LLM-as-judge rubric, used by the llm_judge grader when a judge endpoint is configured.
    rubric: str = ""
    cases: list[Case] = Field(default_factory=list)
    cases_file: str | None = None
    source: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("graders", mode="before")
    @classmethod
    def _grader_shorthand(cls, value: Any) -> Any:
        # `- route` is shorthand for `- {name: route}`
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("thresholds")
    @classmethod
    def _threshold_keys(cls, value: dict[str, float]) -> dict[str, float]:
        for key, v in value.items():
            if key != "pass_rate" and not key.startswith(("grader:", "tag:", "voice:")):
                raise ValueError(
                    f"threshold {key!r}: use pass_rate, grader:<name>, tag:<tag> or voice:<metric>"
                )
            if not 0 <= v <= 1:
                raise ValueError(f"threshold {key!r}: {v} is not between 0 and 1")
        return value


def _fmt(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())


def read_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(Case.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path.name} line {n}: not JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise SuiteError(f"{path.name} line {n}: {_fmt(exc)}") from None
    return cases


def load_suite(path: Path) -> Suite:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path.name}: not YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{path.name}: a suite is a mapping with name, target, graders")
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as exc:
        raise SuiteError(f"{path.name}: {_fmt(exc)}") from None
    if suite.cases_file:
        suite.cases = [*suite.cases, *read_cases(path.parent / suite.cases_file)]
    if suite.source:
        from evals.sources import expand_source

        suite.cases = [*suite.cases, *expand_source(suite.source)]
    ids = [c.id for c in suite.cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SuiteError(f"{path.name}: duplicate case ids {dupes[:5]}")
    if not suite.cases:
        raise SuiteError(f"{path.name}: no cases")
    return suite


def available_suites(directory: Path = SUITES_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def resolve_suites(selector: str, directory: Path = SUITES_DIR) -> list[Suite]:
    """`all`, `ci` (the deterministic suites), one name, or a comma-separated list of names."""
    names = available_suites(directory)
    if selector in ("all", "ci"):
        suites = [load_suite(directory / f"{n}.yaml") for n in names]
        return [s for s in suites if s.deterministic] if selector == "ci" else suites
    chosen = [s.strip() for s in selector.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in names]
    if unknown or not chosen:
        raise SuiteError(
            f"--suite: unknown suite {unknown or selector!r}; known: all, ci, {', '.join(names)}"
        )
    return [load_suite(directory / f"{n}.yaml") for n in chosen]
