"""Run suites: cases concurrently, graders on each output, metrics and thresholds per suite, one canonical
result (`results.json`), from which JUnit and HTML are rendered and the Postgres rows are written."""

from __future__ import annotations

import asyncio
import time
import traceback
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.progress import terminal_progress
from evals.grade import Grade, Skipped
from evals.graders import apply
from evals.suite import Case, Suite
from evals.targets import RunContext, Target, make_target
from evals.voice import skipped_note as voice_skipped_note
from evals.voice import summary as voice_summary

RESULTS_VERSION = 1


@dataclass
class RunOptions:
    concurrency: int = 4
    model: str = ""  # what the run is labelled with (the configured LLM model name)
    prompts: str = "built-in"  # which DM prompt templates were used
    database_url: str | None = None  # the server on which a scratch database is created for database suites
    progress: bool = True


async def _run_case(target: Target, suite: Suite, case: Case, ctx: RunContext) -> dict[str, Any]:
    started = time.perf_counter()
    grades: dict[str, Any] = {}
    output: dict[str, Any] = {}
    error = None
    try:
        output = await target.run(case, ctx)
        for spec in suite.graders:
            g = await apply(spec.name, output, case, spec.params, suite)
            if isinstance(g, Grade):
                grades[spec.name] = g.to_json()
            elif isinstance(g, Skipped):
                grades[spec.name] = {"skipped": g.reason}
    except Exception as exc:  # a case that crashes fails; the run goes on and the report says why
        error = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc(limit=4)
        output = {"traceback": tb[-2000:]}
    applicable = [g for g in grades.values() if "passed" in g]
    passed = error is None and bool(applicable) and all(g["passed"] for g in applicable)
    if error is None and not applicable:
        error = "no grader applied to this case (its expectations name no grader of the suite)"
    return {
        "id": case.id,
        "tags": case.tags,
        "passed": passed,
        "error": error,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "grades": grades,
        "input": case.input,
        "expect": case.expect,
        "output": output,
    }


def suite_metrics(cases: list[dict[str, Any]]) -> dict[str, float]:
    metrics: dict[str, float] = {"pass_rate": sum(c["passed"] for c in cases) / len(cases)}
    scores: dict[str, list[float]] = defaultdict(list)
    tagged: dict[str, list[bool]] = defaultdict(list)
    for c in cases:
        for name, g in c["grades"].items():
            if "score" in g:
                scores[name].append(float(g["score"]))
        if c["error"]:  # a crashed case scores 0 on every grader of the suite it never reached
            for name in c.get("_graders", []):
                scores[name].append(0.0)
        for tag in c["tags"]:
            tagged[tag].append(c["passed"])
    for name, vals in sorted(scores.items()):
        metrics[f"grader:{name}"] = sum(vals) / len(vals)
    for tag, flags in sorted(tagged.items()):
        metrics[f"tag:{tag}"] = sum(flags) / len(flags)
    return {k: round(v, 4) for k, v in metrics.items()}


def check_thresholds(thresholds: dict[str, float], metrics: dict[str, float]) -> list[dict[str, Any]]:
    out = []
    for key, floor in thresholds.items():
        value = metrics.get(key)
        if value is None:
            # e.g. an llm_judge threshold with no judge configured: reported, not counted either way
            note = voice_skipped_note(key, metrics) or "no applicable cases"
            out.append({"key": key, "min": floor, "value": None, "passed": None, "note": note})
        else:
            out.append({"key": key, "min": floor, "value": value, "passed": value >= floor})
    return out


async def run_suite(
    suite: Suite, ctx: RunContext, opts: RunOptions, tick: Callable[[], None]
) -> dict[str, Any]:
    target = make_target(suite)
    started = time.perf_counter()
    await target.setup(suite, ctx)
    gate = asyncio.Semaphore(max(1, opts.concurrency))

    async def one(case: Case) -> dict[str, Any]:
        async with gate:
            result = await _run_case(target, suite, case, ctx)
        tick()
        return result

    cases = await asyncio.gather(*(one(c) for c in suite.cases))
    for c in cases:
        if c["error"]:
            c["_graders"] = [g.name for g in suite.graders]
    metrics = suite_metrics(cases)
    for c in cases:
        c.pop("_graders", None)
    metrics |= voice_summary(cases)
    thresholds = check_thresholds(suite.thresholds, metrics)
    return {
        "name": suite.name,
        "description": suite.description,
        "target": suite.target,
        "deterministic": suite.deterministic,
        "passed": all(t["passed"] is not False for t in thresholds),
        "duration_s": round(time.perf_counter() - started, 3),
        "counts": {
            "cases": len(cases),
            "passed": sum(c["passed"] for c in cases),
            "failed": sum(not c["passed"] and not c["error"] for c in cases),
            "errors": sum(bool(c["error"]) for c in cases),
        },
        "metrics": metrics,
        "thresholds": thresholds,
        "cases": cases,
    }


@asynccontextmanager
async def scratch_database(server_url: str, run_id: str) -> AsyncIterator[str]:
    """A fresh, migrated database on the configured server for the run's fixtures (fans, drafts, seeded
    businesses), dropped afterwards: eval fixtures never mix with a creator's real data."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from core.migrate import migrate

    name = f"huntaze_eval_{run_id.replace('-', '')[:16]}"
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as admin:
        try:
            await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege as exc:
            raise RuntimeError(
                "suites that need a database create a scratch database for their fixtures: "
                "the configured DATABASE_URL's role needs CREATEDB"
            ) from exc
    url = make_conninfo(server_url, dbname=name)
    try:
        await asyncio.to_thread(migrate, url)
        yield url
    finally:
        async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as admin:
            await admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


async def run_suites(suites: list[Suite], opts: RunOptions) -> dict[str, Any]:
    """Run every suite and return the canonical result. The caller's database pool (if any) is restored."""
    from core import db

    run_id = str(uuid.uuid4())
    started_at = datetime.now(UTC)
    total = sum(len(s.cases) for s in suites)
    progress, tick = _progress(total, opts.progress)
    results: list[dict[str, Any]] = []
    needs_db = any(make_target(s).needs_database for s in suites)
    ctx = RunContext()
    with progress:
        if needs_db:
            if not opts.database_url:
                raise RuntimeError("these suites need a database: no database URL was given")
            async with scratch_database(opts.database_url, run_id) as url:
                ctx.database_url = url
                await db.open_pool(url, 4)
                try:
                    for suite in suites:
                        results.append(await run_suite(suite, ctx, opts, tick))
                finally:
                    await db.close_pool()
            await db.open_pool(opts.database_url)
        else:
            for suite in suites:
                results.append(await run_suite(suite, ctx, opts, tick))
    finished_at = datetime.now(UTC)
    return {
        "version": RESULTS_VERSION,
        "run_id": run_id,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "duration_s": round((finished_at - started_at).total_seconds(), 3),
        "model": opts.model,
        "prompts": opts.prompts,
        "passed": all(s["passed"] for s in results),
        "suites": results,
        "comparison": None,
    }


def _progress(total: int, enabled: bool) -> tuple[Any, Callable[[], None]]:
    """A progress bar on a terminal; nothing otherwise, so logs stay clean (core/progress.py)."""
    progress = terminal_progress(transient=True, enabled=enabled)
    task = progress.add_task("eval", total=total)
    return progress, lambda: progress.advance(task)
