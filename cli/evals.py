"""`huntaze eval run|compare|list`: run suites, write results.json/junit.xml/report.html, store the run, diff runs."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

from core.settings import Settings, read_settings
from devstack.services import embedded_services

EXIT_THRESHOLD_FAILED = 1


def _install_prompts(path: str | None) -> str:
    """A candidate DM prompt file (YAML with `system` and/or `user` templates); returns its label."""
    if not path:
        return "built-in"
    from agents.prompts import set_dm_templates

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"--prompts: {path!r} does not exist") from None
    except yaml.YAMLError as exc:
        raise SystemExit(f"--prompts: {path}: not YAML ({exc})") from None
    if not isinstance(data, dict) or not data.keys() & {"system", "user"} or data.keys() - {"system", "user"}:
        raise SystemExit(f"--prompts: {path}: a mapping with `system` and/or `user` templates, nothing else")
    for key in ("system", "user"):
        if key in data and not isinstance(data[key], str):
            raise SystemExit(f"--prompts: {path}: `{key}` must be a string")
    try:
        set_dm_templates(system=data.get("system"), user=data.get("user"))
    except ValueError as exc:
        raise SystemExit(f"--prompts: {path}: {exc}") from None
    return file.name


async def _baseline(ref: str, database_url: str | None) -> dict[str, Any]:
    """A run id stored in Postgres, or a directory (or file) holding results.json."""
    from evals.compare import read_results_dir

    try:
        run_id = str(uuid.UUID(ref))
    except ValueError:
        try:
            return read_results_dir(Path(ref))
        except ValueError as exc:
            raise SystemExit(f"baseline: {exc}") from None
    if not database_url:
        raise SystemExit(f"baseline: {ref} is a run id, but no database is available (--no-store)")
    from core import db
    from evals.store import load_run

    async with db.pool().connection() as conn:
        found = await load_run(conn, run_id)
    if found is None:
        raise SystemExit(f"baseline: no stored eval run {run_id}")
    return found


def cmd_eval_run(args: argparse.Namespace) -> int:
    from devstack.runtime import apply_settings
    from evals.suite import SuiteError, resolve_suites
    from evals.targets import make_target

    try:
        suites = resolve_suites(args.suite)
        targets = [make_target(s) for s in suites]
    except SuiteError as exc:
        raise SystemExit(f"eval: {exc}") from None
    if not suites:
        raise SystemExit(f"eval: --suite {args.suite!r} selects no suite")
    if args.tag:
        # a documented subset: only the cases with this tag (thresholds are then read on the subset)
        suites = [s.model_copy(update={"cases": [c for c in s.cases if args.tag in c.tags]}) for s in suites]
        suites = [s for s in suites if s.cases]
        if not suites:
            raise SystemExit(f"--tag: no case of --suite {args.suite!r} has the tag {args.tag!r}")
    if args.concurrency < 1:
        raise SystemExit("--concurrency: must be at least 1")
    if args.sample is not None:
        if args.sample < 1:
            raise SystemExit("--sample: must be at least 1")
        for suite in suites:  # every k-th case, so the sample spreads over the file's groups
            step = max(1, len(suite.cases) // args.sample)
            suite.cases = suite.cases[::step][: args.sample]
    if not 0 <= args.temperature <= 2:
        raise SystemExit("--temperature: must be between 0 and 2")
    prompts = _install_prompts(args.prompts)
    settings = read_settings()
    updates: dict[str, Any] = {}
    if args.model:
        updates["llm_model"] = args.model
    if "LLM_TEMPERATURE" not in os.environ:  # an explicit setting wins over the eval default
        updates["llm_temperature"] = args.temperature
    settings = settings.model_copy(update=updates)
    needs_llm = any(t.needs_llm for t in targets)
    needs_db = not args.no_store or any(t.needs_database for t in targets) or _is_run_id(args.baseline)
    with embedded_services(settings, need_llm=needs_llm, need_temporal=False) as svc:
        s = svc.settings
        apply_settings(s)  # this process's settings and a chat model built from them
        if needs_db:
            from core.migrate import migrate

            assert s.database_url
            migrate(s.database_url)
        result = asyncio.run(_run(args, suites, s, prompts, needs_db))
    _print_summary(result, Path(result["_out"]))
    return 0 if result["passed"] else EXIT_THRESHOLD_FAILED


def _is_run_id(ref: str | None) -> bool:
    if not ref:
        return False
    try:
        uuid.UUID(ref)
    except ValueError:
        return False
    return True


async def _run(
    args: argparse.Namespace, suites: list[Any], settings: Settings, prompts: str, needs_db: bool
) -> dict[str, Any]:
    from core import db
    from evals.compare import compare
    from evals.report import write_all
    from evals.runner import RunOptions, run_suites
    from evals.store import save_run

    if needs_db:
        assert settings.database_url
        await db.open_pool(settings.database_url, 4)
    try:
        baseline = (
            await _baseline(args.baseline, settings.database_url if needs_db else None)
            if args.baseline
            else None
        )
        opts = RunOptions(
            concurrency=args.concurrency,
            model=settings.llm_model if any(s.target == "drafting" for s in suites) else "",
            prompts=prompts,
            database_url=settings.database_url,
            progress=not args.quiet,
        )
        result = await run_suites(suites, opts)
        if baseline is not None:
            result["comparison"] = compare(baseline, result)
        out = Path(args.out) if args.out else settings.data_dir / "evals" / result["run_id"]
        write_all(result, out)
        if not args.no_store:
            async with db.pool().connection() as conn, conn.transaction():
                await save_run(conn, result)
    finally:
        if needs_db:
            await db.close_pool()
    return {**result, "_out": str(out)}


def _print_summary(result: dict[str, Any], out: Path) -> None:
    for s in result["suites"]:
        verdict = "ok  " if s["passed"] else "FAIL"
        c = s["counts"]
        print(f"{verdict} {s['name']:<14} {c['passed']}/{c['cases']} cases passed, {s['duration_s']:.1f} s")
        for t in s["thresholds"]:
            if t["passed"] is False:
                print(f"       threshold {t['key']}: {t['value']} < {t['min']}")
    if result.get("comparison"):
        from evals.compare import render_text

        print(render_text(result["comparison"]))
    print(f"files: {out / 'results.json'}, {out / 'junit.xml'}, {out / 'report.html'}")
    line = {
        "run_id": result["run_id"],
        "passed": result["passed"],
        "suites": {s["name"]: {"passed": s["passed"], **s["metrics"]} for s in result["suites"]},
        "out": str(out),
    }
    # the last stdout line is JSON, like every other huntaze command meant for scripts
    print(json.dumps({**line, "suites": {k: _headline(v) for k, v in line["suites"].items()}}))


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k in ("passed", "pass_rate") or k.startswith("grader:")}


def cmd_eval_compare(args: argparse.Namespace) -> int:
    from evals.compare import compare, render_text

    refs = [args.a, args.b]
    needs_db = any(_is_run_id(r) for r in refs)

    async def load(database_url: str | None) -> list[dict[str, Any]]:
        from core import db

        if database_url:
            await db.open_pool(database_url, 2)
        try:
            return [await _baseline(r, database_url) for r in refs]
        finally:
            if database_url:
                await db.close_pool()

    if needs_db:
        with embedded_services(read_settings(), need_llm=False, need_temporal=False) as svc:
            runs = asyncio.run(load(svc.settings.database_url))
    else:
        runs = asyncio.run(load(None))
    diff = compare(runs[0], runs[1])
    print(render_text(diff))
    print(json.dumps(diff))
    return 0


def cmd_eval_list(_: argparse.Namespace) -> int:
    from evals.suite import SUITES_DIR, SuiteError, load_suite
    from evals.targets import NOT_BUILT

    for path in sorted(SUITES_DIR.glob("*.yaml")):
        try:
            s = load_suite(path)
        except SuiteError as exc:
            print(f"{path.stem:<14} unusable: {exc}", file=sys.stderr)
            continue
        kind = "deterministic (CI)" if s.deterministic else "needs the LLM"
        print(f"{s.name:<14} {len(s.cases):>4} cases  target={s.target:<13} {kind}")
    for name, why in NOT_BUILT.items():
        print(f"{'(' + name + ')':<14}    -          not available: {why}")
    return 0


def add_parser(sub: Any) -> None:
    ev = sub.add_parser("eval", help="eval suites: run, compare, list")
    evsub = ev.add_subparsers(dest="eval_cmd", required=True)
    run = evsub.add_parser("run", help="run suites; exit 1 exactly when a threshold fails")
    run.add_argument("--suite", default="all", help="all, ci (the deterministic ones), a name, or names a,b")
    run.add_argument("--model", help="LLM model name sent to the endpoint (default: LLM_MODEL)")
    run.add_argument(
        "--prompts", help="YAML file with candidate DM `system`/`user` templates (default: the built-in ones)"
    )
    run.add_argument(
        "--temperature", type=float, default=0.0, help="LLM temperature, unless LLM_TEMPERATURE is set"
    )
    run.add_argument(
        "--out", help="directory for results.json, junit.xml, report.html (default: .data/evals/RUN_ID)"
    )
    run.add_argument(
        "--baseline",
        help="a stored run id or a directory with results.json to compare against (default: no comparison)",
    )
    run.add_argument("--concurrency", type=int, default=4, help="cases run at once")
    run.add_argument(
        "--sample",
        type=int,
        default=None,
        metavar="N",
        help="run N cases of each suite, spread evenly over its file (default: every case)",
    )
    run.add_argument("--tag", help="run only the cases with this tag, e.g. voice (default: every case)")
    run.add_argument("--no-store", action="store_true", help="do not store the run in Postgres")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_eval_run)
    cmp = evsub.add_parser("compare", help="what improved and regressed from run A (baseline) to run B")
    cmp.add_argument("a", help="baseline: run id or directory with results.json")
    cmp.add_argument("b", help="candidate: run id or directory with results.json")
    cmp.set_defaults(func=cmd_eval_compare)
    evsub.add_parser("list", help="the suites and their targets").set_defaults(func=cmd_eval_list)
