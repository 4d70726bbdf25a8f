"""GET /v1/evals/runs and /v1/evals/runs/{id}: stored eval runs (`huntaze eval run`), newest first.

Runs on the suites' own fixtures (no creator) are visible to every member; a run made for one creator only to
that creator's members."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.auth import CurrentPrincipal
from api.errors import ApiError, malformed_cursor
from core import db
from evals.store import load_run

router = APIRouter(prefix="/v1/evals", tags=["evals"])


class SuiteSummary(BaseModel):
    name: str
    target: str
    passed: bool
    counts: dict[str, int]
    metrics: dict[str, float]
    thresholds: list[dict[str, Any]]


class EvalRunOut(BaseModel):
    id: str
    started_at: datetime
    finished_at: datetime
    model: str
    prompts: str
    passed: bool
    baseline_id: str | None
    suites: list[SuiteSummary]


class EvalRunPage(BaseModel):
    items: list[EvalRunOut]
    next_cursor: str | None


def _cursor(started_at: datetime, run_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([started_at.isoformat(), run_id]).encode()).decode()


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, run_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), str(UUID(run_id))
    except (ValueError, TypeError) as exc:
        raise malformed_cursor() from exc


def _run_out(row: dict[str, Any]) -> EvalRunOut:
    summary = row["summary"]
    return EvalRunOut(
        id=str(row["id"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        model=row["model"],
        prompts=row["prompts"],
        passed=row["passed"],
        baseline_id=str(row["baseline_id"]) if row["baseline_id"] else None,
        suites=[SuiteSummary(**{k: s[k] for k in SuiteSummary.model_fields}) for s in summary["suites"]],
    )


@router.get("/runs", response_model=EvalRunPage)
async def list_runs(
    who: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    suite: Annotated[
        str | None, Query(max_length=64, description="only runs that include this suite")
    ] = None,
) -> Any:
    after = _decode(cursor) if cursor else None
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT id, started_at, finished_at, model, prompts, passed, baseline_id, summary FROM eval_runs"
            " WHERE (creator_id IS NULL OR creator_id = %s) AND (%s::text IS NULL OR %s = ANY(suites))"
            " AND (%s::timestamptz IS NULL OR (started_at, id) < (%s, %s::uuid))"
            " ORDER BY started_at DESC, id DESC LIMIT %s",
            [
                who.creator_id,
                suite,
                suite,
                after[0] if after else None,
                after[0] if after else None,
                after[1] if after else None,
                limit + 1,
            ],
        )
        rows = await cur.fetchall()
    items = [_run_out(r) for r in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return EvalRunPage(items=items, next_cursor=_cursor(last.started_at, last.id) if last else None)


@router.get("/runs/{run_id}")
async def get_run(
    who: CurrentPrincipal,
    run_id: UUID,
    failed_only: Annotated[bool, Query(description="only the cases that failed")] = False,
) -> Any:
    """The run as its results.json has it: suites with metrics, thresholds and every case's grades."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT 1 FROM eval_runs WHERE id = %s AND (creator_id IS NULL OR creator_id = %s)",
            [run_id, who.creator_id],
        )
        if await cur.fetchone() is None:
            raise ApiError(404, "not_found", "no such eval run")
        result = await load_run(conn, str(run_id))
    assert result is not None
    if failed_only:
        for s in result["suites"]:
            s["cases"] = [c for c in s["cases"] if not c["passed"]]
    return result
