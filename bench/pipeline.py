"""Fan event → draft pending, through the real API, workflow, supervisor graph, DM agent and policy engine, with an
instant LLM behind the same OpenAI-compatible interface and one worker; against a bare Temporal workflow with one
activity and one insert, on the same servers in the same run.

    python -m bench.pipeline [--latency-events 200] [--gap 0.25] [--burst-events 300] [--concurrency 16]

Latency: events one at a time (time from sending the request to the draft's commit time in Postgres), ours and
bare alternating, each followed by `--gap` seconds of quiet: what a fan event costs on an idle worker, with
machine drift falling on both sides alike, and the work a pipeline does after the draft is pending (fan memory)
finished before the next event instead of slowing it. That after-draft work is counted in the throughput figure.
Throughput: a burst of events to distinct fans with `--concurrency` requests in flight, until the last draft.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

import httpx

from bench.stack import BareInput, BareWorkflow, Stack, bare_worker, emit, now, running_stack, summary_ms

# How often the bench looks for results. The figures come from the rows' commit times, not from when the bench
# sees them, so a slower poll loses no precision and keeps the bench's own queries off the two cores measured.
POLL_S = 0.02


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


async def pipeline_one(stack: Stack, api: httpx.AsyncClient, fan_index: int) -> float:
    sent = await _send_event(api, stack, fan_index, "hey, how was your day?")
    done = await _drafts_for(stack, [stack.fans[fan_index]])
    return (done[stack.fans[fan_index]] - sent).total_seconds()


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


async def bare_one(stack: Stack, queue: str) -> float:
    key = uuid.uuid4().hex
    sent = now()
    await stack.client.start_workflow(BareWorkflow.run, BareInput(key), id=f"bare-{key}", task_queue=queue)
    rows = await _wait_rows(stack, "SELECT at FROM bench_bare WHERE key = %s", [key], 1)
    done: datetime = rows[0]["at"]
    return (done - sent).total_seconds()


async def latencies(
    stack: Stack, api: httpx.AsyncClient, queue: str, fans: range, gap_s: float
) -> tuple[list[float], list[float]]:
    """One event at a time, ours and bare alternating, each followed by `gap_s` of quiet."""
    ours, bare = [], []
    for i in fans:
        ours.append(await pipeline_one(stack, api, i))
        await asyncio.sleep(gap_s)
        bare.append(await bare_one(stack, queue))
        await asyncio.sleep(gap_s)
    return ours, bare


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


async def run(latency_events: int, gap_s: float, burst_events: int, concurrency: int) -> dict[str, Any]:
    async with running_stack(fans=latency_events + burst_events + 10) as stack, bare_worker(stack) as queue:
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as api:
            warm = range(latency_events + burst_events, latency_events + burst_events + 10)
            # first calls pay for imports, caches, connections
            await latencies(stack, api, queue, warm, gap_s)
            ours_s, bare_s = await latencies(stack, api, queue, range(latency_events), gap_s)
            ours, bare = summary_ms(ours_s), summary_ms(bare_s)
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
    ap.add_argument("--latency-events", type=int, default=200)
    ap.add_argument("--gap", type=float, default=0.25, help="seconds of quiet after each latency event")
    ap.add_argument("--burst-events", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args(argv)
    res = asyncio.run(run(args.latency_events, args.gap, args.burst_events, args.concurrency))
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
