"""Run against run: which metrics moved and which cases flipped between pass and fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """`a` is the baseline, `b` the candidate. Suites present in only one run are listed, not compared."""
    suites_a = {s["name"]: s for s in a["suites"]}
    suites_b = {s["name"]: s for s in b["suites"]}
    metrics, regressed, improved = [], [], []
    for name in sorted(suites_a.keys() & suites_b.keys()):
        sa, sb = suites_a[name], suites_b[name]
        for key in sorted(sa["metrics"].keys() | sb["metrics"].keys()):
            va, vb = sa["metrics"].get(key), sb["metrics"].get(key)
            delta = None if va is None or vb is None else round(vb - va, 4)
            metrics.append({"suite": name, "metric": key, "a": va, "b": vb, "delta": delta})
        cases_a = {c["id"]: c["passed"] for c in sa.get("cases", [])}
        for c in sb.get("cases", []):
            before = cases_a.get(c["id"])
            if before is True and not c["passed"]:
                regressed.append({"suite": name, "case": c["id"]})
            elif before is False and c["passed"]:
                improved.append({"suite": name, "case": c["id"]})
    return {
        "baseline": a["run_id"],
        "baseline_id": a["run_id"],
        "candidate": b["run_id"],
        "metrics": metrics,
        "regressed": regressed,
        "improved": improved,
        "only_in_baseline": sorted(suites_a.keys() - suites_b.keys()),
        "only_in_candidate": sorted(suites_b.keys() - suites_a.keys()),
    }


def read_results_dir(path: Path) -> dict[str, Any]:
    file = path / "results.json" if path.is_dir() else path
    try:
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{file}: no such results file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or "suites" not in data or "run_id" not in data:
        raise ValueError(f"{file}: not an eval results file (no run_id/suites)")
    return data


def render_text(diff: dict[str, Any]) -> str:
    lines = [f"baseline {diff['baseline']} -> candidate {diff['candidate']}"]
    for m in diff["metrics"]:
        if m["delta"]:
            sign = "improved" if m["delta"] > 0 else "REGRESSED"
            lines.append(
                f"  {m['suite']:<14} {m['metric']:<40} {m['a']} -> {m['b']} ({m['delta']:+.4f}) {sign}"
            )
    lines.append(f"  cases regressed: {len(diff['regressed'])}, improved: {len(diff['improved'])}")
    for r in diff["regressed"][:50]:
        lines.append(f"    regressed: {r['suite']}/{r['case']}")
    for r in diff["improved"][:50]:
        lines.append(f"    improved:  {r['suite']}/{r['case']}")
    return "\n".join(lines)
