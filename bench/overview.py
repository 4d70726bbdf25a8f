"""GET /v1/analytics/overview on the 180-day seeded business (2,000 fans), through the whole FastAPI app in
process (ASGI, no sockets), 30 days by day; baseline: a bare FastAPI endpoint on the same app that runs the
single revenue-by-day query of the same period. Same database, same run. The first request (which fills the
caches of past days and cohorts) is reported apart as `cold_first_ms`; p50/p99 are the requests after it.

    python -m bench.overview [--requests 200] [--fans 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date, timedelta
from typing import Any

import httpx

from bench.scratch_db import scratch_database
from bench.stack import emit, summary_ms


async def run(url: str, requests: int, fans: int) -> dict[str, Any]:
    from fastapi import FastAPI

    from api.app import create_app
    from api.deps import Runtime
    from core import db
    from core.settings import Settings, configure
    from devstack.seed import seed_business

    until = date(2026, 6, 1)
    res = seed_business(url, fans=fans, days=180, seed=42, until=until, handle="bench")
    settings = Settings(
        database_url=url, temporal_address="unused", rate_per_key_per_min=0, rate_per_creator_per_min=0
    )
    configure(settings)
    await db.open_pool(url, 4)
    app: FastAPI = create_app(settings, temporal=None)
    app.state.runtime = Runtime(temporal=None, settings=settings)  # type: ignore[arg-type]  # no Temporal needed
    start = until - timedelta(days=29)

    @app.get("/bare")
    async def bare() -> Any:
        async with db.pool().connection() as conn:
            cur = await conn.execute(
                "SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, sum(amount_cents) AS cents FROM transactions"
                " WHERE creator_id = %s AND occurred_at >= %s AND occurred_at < %s GROUP BY 1 ORDER BY 1",
                [res.creator_id, start, until + timedelta(days=1)],
            )
            return [{"day": r["day"].isoformat(), "cents": int(r["cents"])} for r in await cur.fetchall()]

    auth = {"Authorization": f"Bearer {res.api_key}"}
    params = {"from": start.isoformat(), "to": until.isoformat()}

    async def timed(client: httpx.AsyncClient, path: str, **kw: Any) -> list[float]:
        for _ in range(10):
            (await client.get(path, **kw)).raise_for_status()  # warm-up
        out = []
        for _ in range(requests):
            t = time.perf_counter()
            (await client.get(path, **kw)).raise_for_status()
            out.append(time.perf_counter() - t)
        return out

    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            t0 = time.perf_counter()  # the first request fills the caches of past days and cohorts
            (await client.get("/v1/analytics/overview", params=params, headers=auth)).raise_for_status()
            cold_ms = round((time.perf_counter() - t0) * 1000, 2)
            ours = summary_ms(await timed(client, "/v1/analytics/overview", params=params, headers=auth))
            base = summary_ms(await timed(client, "/bare"))
    finally:
        await db.close_pool()
    ours["cold_first_ms"] = cold_ms
    return {"figure": ours, "baseline": base, "ratio": {"p99": round(ours["p99_ms"] / base["p99_ms"], 2)}}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="huntaze bench overview", description=__doc__)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--fans", type=int, default=2000)
    args = ap.parse_args(argv)
    with scratch_database("huntaze-bench-overview-") as url:
        res = asyncio.run(run(url, args.requests, args.fans))
    f, b = res["figure"], res["baseline"]
    print(
        f"overview p50/p99 {f['p50_ms']}/{f['p99_ms']} ms (first, cold: {f['cold_first_ms']} ms);"
        f" bare revenue query {b['p50_ms']}/{b['p99_ms']} ms"
    )
    emit("overview", f, b, res["ratio"], targets={"p99_ms": "<= 50"})


if __name__ == "__main__":
    main()
