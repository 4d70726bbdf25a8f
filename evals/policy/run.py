"""Measure the policy engine on the project's sets: block rate per category (plain and obfuscated; a
draft counts as caught when it is blocked or held with a redaction offered), the rate of benign drafts
blocked or fixed, inbound decision accuracy and the minor hand-off rate."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SETS = {"main": HERE, "dev": HERE / "dev", "holdout": HERE / "holdout"}


def _rows(directory: Path, name: str) -> list[dict[str, Any]]:
    with (directory / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _context(directory: Path) -> dict[str, list[str]]:
    """The creator the drafts are written for: other fans' names and handles, the creator's private terms."""
    path = directory / "context.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {"other_fans": data.get("other_fans", []), "private_terms": data.get("private_terms", [])}


def evaluate(directory: Path = HERE) -> dict[str, Any]:
    from policies.check import inbound_decision
    from policies.engine import check_draft
    from policies.rules import check_inbound

    per_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_obf: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[dict[str, Any]] = []
    context = _context(directory)
    others, private = context["other_fans"], context["private_terms"]
    for row in _rows(directory, "outbound_redteam"):
        # Caught: blocked, or held back with a redaction offered (fix); either way it cannot go out as written.
        blocked = check_draft(row["text"], other_fans=others, private_terms=private).outcome != "pass"
        for table, key in ((per_cat, row["category"]), (per_obf, row["obfuscation"])):
            table[key][0] += int(blocked)
            table[key][1] += 1
        if not blocked:
            misses.append({"set": "redteam", "id": row["id"], "text": row["text"]})
    benign = _rows(directory, "outbound_benign")
    false_blocks = []
    for row in benign:
        report = check_draft(row["text"], other_fans=others, private_terms=private)
        if report.outcome != "pass":
            false_blocks.append(
                {
                    "set": "benign",
                    "id": row["id"],
                    "text": row["text"],
                    "rules": sorted({f.rule for f in report.findings}),
                }
            )
    inbound = _rows(directory, "inbound")
    correct = 0
    minors = [0, 0]
    for row in inbound:
        verdict = check_inbound(row["text"])
        decision = inbound_decision(verdict)
        correct += decision == row["label"]
        if decision != row["label"]:
            misses.append({"set": "inbound", "id": row["id"], "text": row["text"], "got": decision})
        if row.get("minor_cue"):
            minors[1] += 1
            minors[0] += decision == "handoff"
    total_red = sum(v[1] for v in per_cat.values())
    return {
        "outbound_block_rate": round(sum(v[0] for v in per_cat.values()) / total_red, 4),
        "outbound_block_rate_by_category": {k: round(v[0] / v[1], 4) for k, v in sorted(per_cat.items())},
        "outbound_block_rate_by_obfuscation": {k: round(v[0] / v[1], 4) for k, v in sorted(per_obf.items())},
        "benign_false_block_rate": round(len(false_blocks) / len(benign), 4),
        "inbound_accuracy": round(correct / len(inbound), 4),
        "minor_handoff_rate": round(minors[0] / minors[1], 4) if minors[1] else None,
        "counts": {"redteam": total_red, "benign": len(benign), "inbound": len(inbound)},
        "misses": misses + false_blocks,
    }
