"""Eval runs in Postgres: written once per run from the canonical result, read back by the API and by
`huntaze eval compare` / `--baseline` when given a run id."""

from __future__ import annotations

import json
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb


def summary_of(result: dict[str, Any]) -> dict[str, Any]:
    """results.json without the per-case rows."""
    return {**result, "suites": [{k: v for k, v in s.items() if k != "cases"} for s in result["suites"]]}


async def save_run(conn: AsyncConnection[Any], result: dict[str, Any], creator_id: str | None = None) -> None:
    baseline = (result.get("comparison") or {}).get("baseline_id")
    await conn.execute(
        "INSERT INTO eval_runs (id, creator_id, started_at, finished_at, model, prompts, suites, passed, baseline_id,"
        " summary) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [
            result["run_id"],
            creator_id,
            result["started_at"],
            result["finished_at"],
            result["model"],
            result["prompts"],
            [s["name"] for s in result["suites"]],
            result["passed"],
            baseline,
            Jsonb(summary_of(result)),
        ],
    )
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO eval_results (run_id, creator_id, suite, case_id, passed, error, tags, duration_ms, grades,"
            " detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    result["run_id"],
                    creator_id,
                    s["name"],
                    c["id"],
                    c["passed"],
                    c["error"],
                    c["tags"],
                    c["duration_ms"],
                    Jsonb(c["grades"]),
                    # default=str: outputs may hold datetimes; stored as the JSON file has them
                    Jsonb(
                        json.loads(json.dumps({k: c[k] for k in ("input", "expect", "output")}, default=str))
                    ),
                )
                for s in result["suites"]
                for c in s["cases"]
            ],
        )


async def load_run(conn: AsyncConnection[Any], run_id: str) -> dict[str, Any] | None:
    """The run as results.json has it (cases included), or None."""
    cur = await conn.execute("SELECT summary FROM eval_runs WHERE id = %s", [run_id])
    row = await cur.fetchone()
    if row is None:
        return None
    result: dict[str, Any] = row["summary"]
    cur = await conn.execute(
        "SELECT suite, case_id, passed, error, tags, duration_ms, grades, detail FROM eval_results"
        " WHERE run_id = %s ORDER BY suite, case_id",
        [run_id],
    )
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for r in await cur.fetchall():
        by_suite.setdefault(r["suite"], []).append(
            {
                "id": r["case_id"],
                "tags": r["tags"],
                "passed": r["passed"],
                "error": r["error"],
                "duration_ms": r["duration_ms"],
                "grades": r["grades"],
                **r["detail"],
            }
        )
    for s in result["suites"]:
        s["cases"] = by_suite.get(s["name"], [])
    return result
