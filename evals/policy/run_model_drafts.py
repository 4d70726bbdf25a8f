"""Measure the internal-leakage rule and the whole engine on the local model's own drafts
(`evals/policy/v2/model_drafts/`): each draft is checked with the prompt the product passes (the DM templates) and
with the rendered prompt it was drafted from.

    python -m evals.policy.run_model_drafts [--rules-only] [--show-misses] [--batch a|b]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

DIR = Path(__file__).parent / "v2" / "model_drafts"


def _jsonl(name: str) -> list[dict[str, Any]]:
    with (DIR / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def rendered_prompts() -> dict[str, str]:
    """Each draft's rendered prompt (system, then user message), by `prompt_id`."""
    return {p["prompt_id"]: f"{p['system']}\n{p['user']}" for p in _jsonl("prompts.jsonl")}


def evaluate_model_drafts(
    *, semantic: bool = True, show_misses: bool = False, batch: str | None = None
) -> dict[str, Any]:
    """Rates over the leaking and the benign drafts (of one `batch` when given: `a`, read to write the rule's
    shapes; `b`, labelled afterwards and measured once as unseen)."""
    from agents.prompts import leakage_reference
    from policies.engine import check_draft
    from policies.leakage import check_leakage

    templates = leakage_reference()  # what the supervisor and `huntaze policy check` pass
    prompts = rendered_prompts()
    rows = [r for r in _jsonl("outbound.jsonl") if batch is None or r["batch"] == batch]
    tally: Counter[str] = Counter()
    misses: list[dict[str, Any]] = []
    for row in rows:
        leak = row["category"] == "internal_leakage"
        benign = row["label"] == "benign"
        if not (leak or benign):
            continue
        kind = "leak" if leak else "benign"
        tally[kind] += 1
        for view, prompt in (("templates", templates), ("rendered", prompts[row["prompt_id"]])):
            rule = bool(check_leakage(row["text"], prompt))
            engine = check_draft(row["text"], prompt=prompt, semantic=semantic)
            flagged = engine.outcome != "pass"
            tally[f"{kind}:{view}:rule"] += int(rule)
            tally[f"{kind}:{view}:engine"] += int(flagged)
            tally[f"{kind}:{view}:engine_leak"] += int(
                any(f.rule == "internal_leakage" for f in engine.findings)
            )
            if view == "rendered" and rule != leak:
                misses.append({"id": row["id"], "label": kind, "text": row["text"]})

    def rate(key: str, kind: str) -> float | None:
        return round(tally[key] / tally[kind], 4) if tally[kind] else None

    out: dict[str, Any] = {
        "semantic": semantic,
        "batch": batch or "all",
        "leaking_drafts": tally["leak"],
        "benign_drafts": tally["benign"],
    }
    for view in ("templates", "rendered"):
        out[view] = {
            "leakage_rule_blocks": rate(f"leak:{view}:rule", "leak"),
            "leakage_rule_flags_benign": rate(f"benign:{view}:rule", "benign"),
            "engine_leakage_finding_on_leaks": rate(f"leak:{view}:engine_leak", "leak"),
            "engine_stops_leaks": rate(f"leak:{view}:engine", "leak"),
            "engine_flags_benign": rate(f"benign:{view}:engine", "benign"),
            "engine_leakage_finding_on_benign": rate(f"benign:{view}:engine_leak", "benign"),
        }
    if show_misses:
        out["misses"] = misses
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules-only", action="store_true", help="the engine without its semantic layer")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--batch", choices=("a", "b"), help="one batch only")
    args = ap.parse_args()
    print(
        json.dumps(
            evaluate_model_drafts(
                semantic=not args.rules_only, show_misses=args.show_misses, batch=args.batch
            ),
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
