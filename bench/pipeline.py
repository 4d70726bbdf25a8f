"""Fan event → draft pending, through the real API, workflow, supervisor graph, DM agent and policy engine, with an
instant LLM behind the same OpenAI-compatible interface and one worker; against a bare Temporal workflow with one
activity and one insert, on the same servers in the same run.

    python -m bench.pipeline [--latency-events 100] [--burst-events 300] [--concurrency 16]

Latency: events one at a time (time from sending the request to the draft's commit time in Postgres).
Throughput: a burst of events to distinct fans with `--concurrency` requests in flight, until the last draft.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx

from bench.stack import BareInput, BareWorkflow, Stack, bare_worker, emit, now, running_stack, summary_ms

POLL_S = 0.005


async def _wait_rows(
    stack: Stack, sql: str, params: list[Any], n: int, timeout_s: float = 120
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        rows = await (await stack.watch.execute(sql, params)).fetchall()
        if len(rows) >= n:
            return rows
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(rows)} of {n} rows after {timeout_s}s: {sql}")
        await asyncio.sleep(POLL_S)


async def _send_event(api: httpx.AsyncClient, stack: Stack, fan_index: int, text: str) -> datetime:
    sent = now()
    r = await api.post(
        "/v1/events",
        headers=stack.auth,
        json={
            "event_id": f"ev-{uuid.uuid4().hex}",
            "kind": "message",
            "fan": {"platform_fan_id": f"f{fan_index + 1}"},
            "occurred_at": sent.isoformat(),
            "text": text,
        },
    )
    if r.status_code != 202:
        raise RuntimeError(f"event refused: {r.status_code} {r.text}")
    return sent


async def _drafts_for(stack: Stack, fan_ids: list[str]) -> dict[str, datetime]:
    rows = await _wait_rows(
        stack,
        "SELECT fan_id::text AS fan_id, min(created_at) AS at FROM drafts WHERE fan_id = ANY(%s::uuid[])"
        " GROUP BY fan_id",
        [fan_ids],
        len(fan_ids),
    )
    return {r["fan_id"]: r["at"] for r in rows}


async def pipeline_latency(stack: Stack, api: httpx.AsyncClient, fans: range) -> list[float]:
    out = []
    for i in fans:
        sent = await _send_event(api, stack, i, "hey, how was your day?")
        done = await _drafts_for(stack, [stack.fans[i]])
        out.append((done[stack.fans[i]] - sent).total_seconds())
    return out


async def pipeline_burst(
    stack: Stack, api: httpx.AsyncClient, fans: range, concurrency: int
) -> dict[str, Any]:
    gate = asyncio.Semaphore(concurrency)
    sent: dict[int, datetime] = {}

    async def one(i: int) -> None:
        async with gate:
            sent[i] = await _send_event(api, stack, i, "what's new this week?")

    await asyncio.gather(*(one(i) for i in fans))
    done = await _drafts_for(stack, [stack.fans[i] for i in fans])
    first, last = min(sent.values()), max(done.values())
    latencies = [(done[stack.fans[i]] - sent[i]).total_seconds() for i in fans]
    return {"events_per_s": round(len(fans) / (last - first).total_seconds(), 2), **summary_ms(latencies)}


async def bare_latency(stack: Stack, queue: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        key = uuid.uuid4().hex
        sent = now()
        await stack.client.start_workflow(
            BareWorkflow.run, BareInput(key), id=f"bare-{key}", task_queue=queue
        )
        rows = await _wait_rows(stack, "SELECT at FROM bench_bare WHERE key = %s", [key], 1)
        out.append((rows[0]["at"] - sent).total_seconds())
    return out


async def bare_burst(stack: Stack, queue: str, n: int, concurrency: int) -> dict[str, Any]:
    gate = asyncio.Semaphore(concurrency)
    sent: dict[str, datetime] = {}

    async def one() -> None:
        key = uuid.uuid4().hex
        async with gate:
            sent[key] = now()
            await stack.client.start_workflow(
                BareWorkflow.run, BareInput(key), id=f"bare-{key}", task_queue=queue
            )

    await asyncio.gather(*(one() for _ in range(n)))
    rows = await _wait_rows(stack, "SELECT key, at FROM bench_bare WHERE key = ANY(%s)", [list(sent)], n)
    done = {r["key"]: r["at"] for r in rows}
    first, last = min(sent.values()), max(done.values())
    latencies = [(done[k] - sent[k]).total_seconds() for k in sent]
    return {"events_per_s": round(n / (last - first).total_seconds(), 2), **summary_ms(latencies)}


async def _warm(fn: Callable[[], Awaitable[Any]], times: int = 5) -> None:
    for _ in range(times):
        await fn()


async def run(latency_events: int, burst_events: int, concurrency: int) -> dict[str, Any]:
    async with running_stack(fans=latency_events + burst_events + 10) as stack, bare_worker(stack) as queue:
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as api:
            warm = range(latency_events + burst_events, latency_events + burst_events + 10)
            await pipeline_latency(stack, api, warm)  # first calls pay for imports, JIT caches, connections
            await bare_latency(stack, queue, 10)
            ours = summary_ms(await pipeline_latency(stack, api, range(latency_events)))
            bare = summary_ms(await bare_latency(stack, queue, latency_events))
            ours_burst = await pipeline_burst(
                stack, api, range(latency_events, latency_events + burst_events), concurrency
            )
            bare_burst_ = await bare_burst(stack, queue, burst_events, concurrency)
    return {
        "figure": {"latency": ours, "burst": ours_burst},
        "baseline": {"latency": bare, "burst": bare_burst_},
        "ratio": {
            "p50": round(ours["p50_ms"] / bare["p50_ms"], 2),
            "p99": round(ours["p99_ms"] / bare["p99_ms"], 2),
            "events_per_s": round(ours_burst["events_per_s"] / bare_burst_["events_per_s"], 2),
        },
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="huntaze bench pipeline", description=__doc__)
    ap.add_argument("--latency-events", type=int, default=100)
    ap.add_argument("--burst-events", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args(argv)
    res = asyncio.run(run(args.latency_events, args.burst_events, args.concurrency))
    print(
        f"pipeline latency p50/p99: {res['figure']['latency']['p50_ms']}/{res['figure']['latency']['p99_ms']} ms"
        f" vs bare {res['baseline']['latency']['p50_ms']}/{res['baseline']['latency']['p99_ms']} ms"
    )
    print(
        f"burst: {res['figure']['burst']['events_per_s']} events/s vs bare {res['baseline']['burst']['events_per_s']}"
    )
    emit(
        "pipeline",
        res["figure"],
        res["baseline"],
        res["ratio"],
        targets={"p99": "<= 2", "events_per_s": ">= 0.5"},
    )


if __name__ == "__main__":
    main()
