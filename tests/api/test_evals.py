"""GET /v1/evals/runs and /v1/evals/runs/{id}: stored runs, newest first, keyset pages, one run as its
results.json, and clear errors."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from core import db
from evals.store import load_run, save_run
from tests.api.conftest import client_for
from tests.evals.test_runner import _result
from tests.factories import make_tenant


async def test_stored_runs_are_served_by_the_api(app: FastAPI) -> None:
    api: httpx.AsyncClient
    async with client_for(app) as api:
        await _check(api)


async def _check(api: httpx.AsyncClient) -> None:
    t = await make_tenant("evals")
    runs = [
        _result(f"00000000-0000-0000-0000-00000000000{i}", {"x": i % 2 == 0}, 1.0 if i % 2 == 0 else 0.0)
        for i in range(1, 6)
    ]
    for i, r in enumerate(runs):
        r["started_at"] = f"2026-11-22T10:0{i}:00+00:00"
        async with db.pool().connection() as conn, conn.transaction():
            await save_run(conn, r)
    async with db.pool().connection() as conn:
        assert await load_run(conn, runs[0]["run_id"]) == runs[0]

    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/evals/runs", params=params, headers=t.auth("viewer"))).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r["run_id"] for r in reversed(runs)]  # newest first, every run once
    one = (await api.get(f"/v1/evals/runs/{runs[0]['run_id']}", headers=t.auth("viewer"))).json()
    assert one["suites"][0]["cases"][0] == runs[0]["suites"][0]["cases"][0] and one["passed"] is False
    failed = (
        await api.get(f"/v1/evals/runs/{runs[1]['run_id']}", params={"failed_only": True}, headers=t.auth())
    ).json()
    assert failed["suites"][0]["cases"] == []
    missing = await api.get("/v1/evals/runs/00000000-0000-0000-0000-0000000000ff", headers=t.auth())
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = await api.get("/v1/evals/runs", params={"cursor": "%%%"}, headers=t.auth())
    assert bad.status_code == 422 and bad.json()["error"]["details"]["fields"][0]["field"] == "cursor"
    assert (await api.get("/v1/evals/runs")).status_code == 401
