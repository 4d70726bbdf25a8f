"""Approve → sent: from the approve request through the API (the workflow's `decide` Update, then the send
activity re-checking the approval under a row lock and writing the outbox and the outbound message) to the
outbound message's commit; against a bare Update round trip on the same Temporal server in the same run.

    python -m bench.approval [--drafts 100]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import httpx

from bench.pipeline import _drafts_for, _send_event, _wait_rows
from bench.stack import BareUpdateWorkflow, Stack, bare_worker, emit, now, running_stack, summary_ms
from core import db


async def _pending(stack: Stack, api: httpx.AsyncClient, n: int) -> list[dict[str, Any]]:
    for i in range(n):
        await _send_event(api, stack, i, "hey you, what's new?")
    await _drafts_for(stack, stack.fans[:n])
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT id::text AS id, version FROM drafts WHERE status = 'pending_review' ORDER BY created_at"
        )
        return list(await cur.fetchall())


async def approve_to_sent(stack: Stack, api: httpx.AsyncClient, drafts: list[dict[str, Any]]) -> list[float]:
    out = []
    for d in drafts:
        sent = now()
        r = await api.post(
            f"/v1/drafts/{d['id']}/approve", headers=stack.auth, json={"version": d["version"]}
        )
        if r.status_code != 200:
            raise RuntimeError(f"approve refused: {r.status_code} {r.text}")
        rows = await _wait_rows(
            stack,
            "SELECT m.sent_at FROM messages m WHERE m.draft_id = %s AND m.direction = 'out'",
            [d["id"]],
            1,
        )
        out.append((rows[0]["sent_at"] - sent).total_seconds())
    return out


async def bare_updates(stack: Stack, queue: str, n: int) -> list[float]:
    handle = await stack.client.start_workflow(
        BareUpdateWorkflow.run, id=f"bare-update-{uuid.uuid4().hex}", task_queue=queue
    )
    out = []
    for i in range(n):
        start = time.perf_counter()
        await handle.execute_update(BareUpdateWorkflow.decide, f"approve-{i}")
        out.append(time.perf_counter() - start)
    await handle.signal(BareUpdateWorkflow.finish)
    return out


async def run(n: int) -> dict[str, Any]:
    async with running_stack(fans=n + 5) as stack, bare_worker(stack) as queue:
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as api:
            drafts = await _pending(stack, api, n + 5)
            await approve_to_sent(stack, api, drafts[:5])  # warm-up
            await bare_updates(stack, queue, 5)
            ours = summary_ms(await approve_to_sent(stack, api, drafts[5 : n + 5]))
            bare = summary_ms(await bare_updates(stack, queue, n))
    return {
        "figure": ours,
        "baseline": bare,
        "ratio": {
            "p50": round(ours["p50_ms"] / bare["p50_ms"], 2),
            "p99": round(ours["p99_ms"] / bare["p99_ms"], 2),
        },
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="huntaze bench approval", description=__doc__)
    ap.add_argument("--drafts", type=int, default=100)
    args = ap.parse_args(argv)
    res = asyncio.run(run(args.drafts))
    print(
        f"approve→sent p50/p99: {res['figure']['p50_ms']}/{res['figure']['p99_ms']} ms"
        f" vs bare Update {res['baseline']['p50_ms']}/{res['baseline']['p99_ms']} ms"
    )
    emit("approval", res["figure"], res["baseline"], res["ratio"], targets={"p99": "<= 1.5"})


if __name__ == "__main__":
    main()
