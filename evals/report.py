"""The three files of a run: results.json (canonical), junit.xml (for CI), report.html (for people; charts are
server-rendered SVG, no JavaScript)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

HISTOGRAM_BINS = 10


def write_all(result: dict[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "junit": out / "junit.xml", "html": out / "report.html"}
    paths["json"].write_text(
        json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    paths["junit"].write_bytes(junit_xml(result))
    paths["html"].write_text(html_report(result), encoding="utf-8")
    return paths


def _failure_message(case: dict[str, Any]) -> str:
    if case["error"]:
        return str(case["error"])
    bad = [
        f"{name}: {g.get('detail') or 'failed'}"
        for name, g in case["grades"].items()
        if g.get("passed") is False
    ]
    return "; ".join(bad) or "failed"


def junit_xml(result: dict[str, Any]) -> bytes:
    """One <testsuite> per suite with a <testcase> per case, and one per threshold (the gate: a failing
    threshold is what makes the run exit non-zero)."""
    root = ET.Element(
        "testsuites",
        name="huntaze-eval",
        tests=str(sum(s["counts"]["cases"] + len(s["thresholds"]) for s in result["suites"])),
        time=f"{result['duration_s']:.3f}",
    )
    for suite in result["suites"]:
        cases = suite["cases"]
        failures = sum(not c["passed"] and not c["error"] for c in cases)
        failures += sum(t["passed"] is False for t in suite["thresholds"])
        ts = ET.SubElement(
            root,
            "testsuite",
            name=suite["name"],
            tests=str(len(cases) + len(suite["thresholds"])),
            failures=str(failures),
            errors=str(suite["counts"]["errors"]),
            skipped=str(sum(t["passed"] is None for t in suite["thresholds"])),
            time=f"{suite['duration_s']:.3f}",
            timestamp=result["started_at"],
        )
        for t in suite["thresholds"]:
            tc = ET.SubElement(
                ts, "testcase", classname=f"{suite['name']}.thresholds", name=t["key"], time="0"
            )
            if t["passed"] is False:
                ET.SubElement(
                    tc, "failure", message=f"{t['key']} = {t['value']} < {t['min']}", type="threshold"
                )
            elif t["passed"] is None:
                ET.SubElement(tc, "skipped", message=t.get("note", ""))
        for c in cases:
            tc = ET.SubElement(
                ts, "testcase", classname=suite["name"], name=c["id"], time=f"{c['duration_ms'] / 1000:.3f}"
            )
            if c["error"]:
                err = ET.SubElement(tc, "error", message=str(c["error"])[:500], type="error")
                err.text = str(c["output"].get("traceback", ""))
            elif not c["passed"]:
                fail = ET.SubElement(tc, "failure", message=_failure_message(c)[:500], type="grader")
                fail.text = json.dumps(c["output"], ensure_ascii=False, default=str)[:4000]
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def histogram(scores: list[float], bins: int = HISTOGRAM_BINS) -> list[int]:
    counts = [0] * bins
    for s in scores:
        counts[min(int(s * bins), bins - 1)] += 1
    return counts


def _charts(suite: dict[str, Any]) -> list[dict[str, Any]]:
    """Per grader: the distribution of its scores over the cases (bars of a histogram from 0 to 1)."""
    by_grader: dict[str, list[float]] = {}
    for c in suite["cases"]:
        for name, g in c["grades"].items():
            if "score" in g:
                by_grader.setdefault(name, []).append(float(g["score"]))
    charts = []
    for name, scores in sorted(by_grader.items()):
        counts = histogram(scores)
        top = max(counts) or 1
        charts.append(
            {
                "grader": name,
                "n": len(scores),
                "mean": sum(scores) / len(scores),
                "bars": [
                    {
                        "label": f"{i / HISTOGRAM_BINS:.1f}–{(i + 1) / HISTOGRAM_BINS:.1f}",
                        "count": n,
                        "h": 80 * n / top,
                    }
                    for i, n in enumerate(counts)
                ],
            }
        )
    return charts


def html_report(result: dict[str, Any]) -> str:
    env = Environment(
        loader=PackageLoader("evals", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * float(v):.1f} %"
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=1, ensure_ascii=False, default=str)
    suites = []
    for s in result["suites"]:
        ordered = sorted(s["cases"], key=lambda c: (c["passed"], c["id"]))  # failures first
        suites.append({**s, "cases": ordered, "charts": _charts(s)})
    return env.get_template("report.html.j2").render(result=result, suites=suites)
