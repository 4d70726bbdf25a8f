"""The runner: the deterministic suites gate CI; suite files fail with the file and field named; crashed cases
are errors; results.json, junit.xml and report.html agree; runs are stored and served by the API."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from core import db
from core.settings import Settings
from evals.compare import compare, read_results_dir
from evals.report import write_all
from evals.runner import RunOptions, run_suites
from evals.suite import Case, SuiteError, load_suite, resolve_suites
from evals.targets import NOT_BUILT, make_target


@pytest.fixture(scope="module")
def suites_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("suites")


def write_suite(directory: Path, name: str, body: str, cases: str | None = None) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(body)
    if cases is not None:
        (directory / f"{name}.jsonl").write_text(cases)
    return path


ROUTING = """
name: tiny
target: routing
deterministic: true
cases_file: tiny.jsonl
graders: [route]
thresholds: {pass_rate: 0.5, "tag:safety": 1.0}
"""
CASES = (
    '{"id": "a", "input": {"events": [{"kind": "message", "text": "hello there"}]}, "expect": {"route": "reply"}}\n'
    '{"id": "b", "input": {"events": [{"kind": "message", "text": "im 15"}]}, "expect": {"route": "handoff"},'
    ' "tags": ["safety"]}\n'
    '{"id": "c", "input": {"events": [{"kind": "message", "text": "lol"}]}, "expect": {"route": "reply"}}\n'
    '{"id": "d", "input": {}, "expect": {"route": "reply"}}\n'
)


async def test_the_deterministic_suites_meet_their_thresholds(settings: Settings) -> None:
    """The CI gate: routing, policy, memory, segmentation (CDNOW + a seeded business), anomalies, follow-up
    rules and the price suggestion's backtest, as `--suite ci` runs them."""
    suites = resolve_suites("ci")
    assert {s.name for s in suites} == {
        "routing",
        "policy",
        "memory",
        "segmentation",
        "anomalies",
        "followup",
        "pricing",
    }
    assert sum(len(s.cases) for s in suites) >= 600
    result = await run_suites(suites, RunOptions(database_url=settings.database_url, progress=False))
    failed = {
        s["name"]: [t for t in s["thresholds"] if t["passed"] is False]
        for s in result["suites"]
        if not s["passed"]
    }
    assert result["passed"], failed
    assert all(s["counts"]["errors"] == 0 for s in result["suites"])
    seg = next(s for s in result["suites"] if s["name"] == "segmentation")
    cdnow = next(c for c in seg["cases"] if c["id"] == "cdnow-bgnbd-gamma-gamma")
    assert cdnow["output"]["numbers"]["r"] == pytest.approx(0.243, rel=0.01)
    pricing = next(s for s in result["suites"] if s["name"] == "pricing")
    levels = next(c for c in pricing["cases"] if c["id"] == "generated-levels")["output"]["numbers"]
    # the baseline is measured in the same run, on the same held-out purchases
    assert levels["held_out"] > 200 and levels["mae_cents"] < levels["baseline_mae_cents"]
    # the pool is back on the configured database, and the scratch database is gone
    async with db.pool().connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM pg_database WHERE datname LIKE 'huntaze_eval_%'")
        assert (await cur.fetchone()) == {"n": 0}


async def test_thresholds_errors_and_the_three_files(suites_dir: Path, tmp_path: Path) -> None:
    suite = load_suite(write_suite(suites_dir, "tiny", ROUTING, CASES))
    result = await run_suites([suite], RunOptions(progress=False))
    s = result["suites"][0]
    by_id = {c["id"]: c for c in s["cases"]}
    assert by_id["a"]["passed"] and by_id["b"]["passed"]
    assert not by_id["c"]["passed"] and "routed to 'acknowledge'" in by_id["c"]["grades"]["route"]["detail"]
    assert (
        by_id["d"]["error"] and "KeyError" in by_id["d"]["error"]
    )  # a crashing case is an error, not a pass
    assert s["counts"] == {"cases": 4, "passed": 2, "failed": 1, "errors": 1}
    assert s["metrics"]["pass_rate"] == 0.5 and s["metrics"]["grader:route"] == 0.5
    assert {t["key"]: t["passed"] for t in s["thresholds"]} == {"pass_rate": True, "tag:safety": True}
    assert result["passed"]

    paths = write_all(result, tmp_path / "out")
    assert read_results_dir(tmp_path / "out")["run_id"] == result["run_id"]
    root = ET.parse(paths["junit"]).getroot()
    ts = root.find("testsuite")
    assert ts is not None and ts.get("tests") == "6" and ts.get("failures") == "1" and ts.get("errors") == "1"
    html = paths["html"].read_text()
    HTMLParser().feed(html)
    assert "tiny" in html and "<svg" in html and "routed to &#39;acknowledge&#39;" in html
    assert "<script" not in html


async def test_a_failed_threshold_fails_the_run(suites_dir: Path) -> None:
    strict = ROUTING.replace("name: tiny", "name: strict").replace("tiny.jsonl", "strict.jsonl")
    strict = strict.replace("pass_rate: 0.5", "pass_rate: 0.9")
    suite = load_suite(write_suite(suites_dir, "strict", strict, CASES))
    result = await run_suites([suite], RunOptions(progress=False))
    assert not result["passed"]
    assert [t["key"] for t in result["suites"][0]["thresholds"] if t["passed"] is False] == ["pass_rate"]


@pytest.mark.parametrize(
    ("body", "cases", "message"),
    [
        ("name: x\ntarget: routing\n", "", r"x.yaml: graders: Field required"),
        ("name: x\ntarget: routing\ngraders: [route]\nthresholds: {speed: 0.5}\n", "", r"threshold 'speed'"),
        (
            "name: x\ntarget: routing\ngraders: [route]\nthresholds: {pass_rate: 5}\n",
            "",
            r"not between 0 and 1",
        ),
        (
            "name: x\ntarget: routing\ngraders: [route]\ncases_file: x.jsonl\n",
            '{"id": "a"}\nnope\n',
            r"x.jsonl line 2: not JSON",
        ),
        (
            "name: x\ntarget: routing\ngraders: [route]\ncases_file: x.jsonl\n",
            '{"id": "a", "inputs": {}}\n',
            r"x.jsonl line 1: inputs: Extra inputs",
        ),
        (
            "name: x\ntarget: routing\ngraders: [route]\ncases_file: x.jsonl\n",
            '{"id": "a"}\n{"id": "a"}\n',
            r"duplicate case ids \['a'\]",
        ),
        ("name: x\ntarget: routing\ngraders: [route]\n", None, r"x.yaml: no cases"),
        ("name: x\ntarget: routing\ngraders: [route]\nsource: crm:all\n", None, r"source 'crm:all': unknown"),
        ("- a list\n", None, r"x.yaml: a suite is a mapping"),
    ],
)
def test_bad_suite_files_name_the_file_and_field(
    tmp_path: Path, body: str, cases: str | None, message: str
) -> None:
    with pytest.raises(SuiteError, match=message):
        load_suite(write_suite(tmp_path, "x", body, cases))


def test_unbuilt_and_unknown_targets_and_suites_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(NOT_BUILT, "pricing", "the pricing agent is not built yet")
    suite = load_suite(
        write_suite(tmp_path, "f", "name: f\ntarget: pricing\ngraders: [route]\ncases: [{id: a}]\n")
    )
    with pytest.raises(SuiteError, match=r"pricing agent is not built yet"):
        make_target(suite)
    other = load_suite(
        write_suite(tmp_path, "g", "name: g\ntarget: astrology\ngraders: [route]\ncases: [{id: a}]\n")
    )
    with pytest.raises(
        SuiteError, match=r"unknown target 'astrology'; known: anomalies, assistant, drafting, followup"
    ):
        make_target(other)
    with pytest.raises(SuiteError, match=r"unknown suite \['nope'\]; known: all, ci, "):
        resolve_suites("routing,nope")


def _result(run_id: str, passes: dict[str, bool], rate: float) -> dict[str, Any]:
    cases: list[dict[str, Any]] = [
        {
            "id": k,
            "passed": v,
            "tags": [],
            "error": None,
            "duration_ms": 1.0,
            "grades": {},
            "input": {},
            "expect": {},
            "output": {},
        }
        for k, v in passes.items()
    ]
    return {
        "version": 1,
        "run_id": run_id,
        "started_at": "2026-11-22T10:00:00+00:00",
        "finished_at": "2026-11-22T10:00:01+00:00",
        "duration_s": 1.0,
        "model": "m",
        "prompts": "built-in",
        "passed": rate >= 0.5,
        "comparison": None,
        "suites": [
            {
                "name": "s",
                "target": "routing",
                "description": "",
                "deterministic": True,
                "passed": rate >= 0.5,
                "duration_s": 1.0,
                "counts": {"cases": len(cases), "passed": sum(passes.values()), "failed": 0, "errors": 0},
                "metrics": {"pass_rate": rate},
                "thresholds": [{"key": "pass_rate", "min": 0.5, "value": rate, "passed": rate >= 0.5}],
                "cases": cases,
            }
        ],
    }


def test_compare_names_regressions_and_improvements() -> None:
    a = _result("00000000-0000-0000-0000-00000000000a", {"x": True, "y": False, "z": True}, 0.66)
    b = _result("00000000-0000-0000-0000-00000000000b", {"x": False, "y": True, "z": True}, 0.66)
    diff = compare(a, b)
    assert diff["regressed"] == [{"suite": "s", "case": "x"}] and diff["improved"] == [
        {"suite": "s", "case": "y"}
    ]
    assert diff["metrics"] == [{"suite": "s", "metric": "pass_rate", "a": 0.66, "b": 0.66, "delta": 0.0}]


def test_case_model_refuses_unknown_fields() -> None:
    with pytest.raises(ValueError, match="expected"):
        Case.model_validate({"id": "a", "expected": {}})
