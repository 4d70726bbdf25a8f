"""Suites that reuse sets kept elsewhere under evals/: the policy sets and the fan-memory retrieval set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.case import Case, SuiteError

EVALS = Path(__file__).parent


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def policy_cases(set_name: str) -> list[Case]:
    from evals.policy.run import SETS

    if set_name not in SETS:
        raise SuiteError(f"source policy:{set_name}: unknown set; known: {', '.join(SETS)}")
    directory = SETS[set_name]
    context_path = directory / "context.json"
    context = json.loads(context_path.read_text(encoding="utf-8")) if context_path.exists() else {}
    ctx = {"other_fans": context.get("other_fans", []), "private_terms": context.get("private_terms", [])}
    cases: list[Case] = []
    for row in _jsonl(directory / "outbound_redteam.jsonl"):
        cases.append(
            Case(
                id=f"redteam-{row['id']}",
                input={"direction": "outbound", "text": row["text"], **ctx},
                # caught = blocked, or held with a redaction offered: it cannot go out as written
                expect={"policy_decision": ["block", "fix"]},
                tags=["redteam", f"category:{row['category']}", f"obfuscation:{row['obfuscation']}"],
            )
        )
    for row in _jsonl(directory / "outbound_benign.jsonl"):
        cases.append(
            Case(
                id=f"benign-{row['id']}",
                input={"direction": "outbound", "text": row["text"], **ctx},
                expect={"policy_decision": "pass"},
                tags=["benign"],
            )
        )
    for row in _jsonl(directory / "inbound.jsonl"):
        tags = ["inbound", f"label:{row['label']}"] + (["minor_cue"] if row.get("minor_cue") else [])
        cases.append(
            Case(
                id=f"inbound-{row['id']}",
                input={"direction": "inbound", "text": row["text"]},
                expect={"policy_decision": row["label"]},
                tags=tags,
            )
        )
    return cases


def memory_cases() -> list[Case]:
    from evals.memory.run import load

    _, queries = load()
    return [
        Case(
            id=f"query-{q['id']}",
            input={"text": q["text"], "fan": q["fan"]},
            expect={"relevant": q["relevant"]},
        )
        for q in queries
    ]


def anomaly_cases(first_seed: int, per_kind: int) -> list[Case]:
    """Labelled synthetic series (the seeds differ from the ones the detector was tuned and tested on)."""
    from agents.analytics.anomalies import synthetic_series

    cases = []
    for kind in ("amount", "count"):
        for seed in range(first_seed, first_seed + per_kind):
            s = synthetic_series(seed, kind=kind)
            cases.append(
                Case(
                    id=f"{kind}-{seed}",
                    input={"kind": kind, "seed": seed},
                    expect={"anomaly_windows": [list(w) for w in s.windows]},
                    tags=[kind],
                )
            )
    return cases


def expand_source(source: str) -> list[Case]:
    kind, _, arg = source.partition(":")
    if kind == "policy":
        return policy_cases(arg or "main")
    if kind == "memory":
        return memory_cases()
    if kind == "anomalies":
        return anomaly_cases(1000, int(arg or 50))
    raise SuiteError(f"source {source!r}: unknown; known: policy:<main|dev|holdout>, memory, anomalies[:N]")
