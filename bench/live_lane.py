"""Live replies while a campaign is drafting: fan message event → draft pending, through the real API, workflow,
supervisor graph, DM agent and policy engine, quiet and then with a campaign of `--campaign` drafts in flight, in
the same run on the same services. The LLM double models one local engine: every draft takes `--llm-delay-s` and
at most `--llm-slots` are served at once (the rest queue first come first served, as llama.cpp's server does), so
the figure is about scheduling (the lanes), not the model.

    python -m bench.live_lane [--campaign 500] [--live 20] [--llm-delay-s 0.5] [--llm-slots 2]

Quiet: `--live` messages from distinct fans, one at a time, each timed from the request to its draft's commit. Then
the campaign is created through the API (its drafts take the batch lane, at a rate that keeps one engine slot busy
all the time: 60 / llm-delay-s per minute unless --batch-per-minute says otherwise), and once its first drafts are
written, `--live` messages from other fans, timed the same way. The ratio is the loaded median over the quiet one
(target ≤ 1.5); the figure also says how many campaign drafts were written while the live replies were measured
and how many were still to come, so the campaign was in flight throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from typing import Any

import httpx

from bench.pipeline import _wait_rows, pipeline_one
from bench.stack import Stack, emit, running_stack, summary_ms


async def _live(stack: Stack, api: httpx.AsyncClient, fans: range) -> list[float]:
    return [await pipeline_one(stack, api, i) for i in fans]


async def _campaign_drafts(stack: Stack, campaign_id: str) -> int:
    cur = await stack.watch.execute("SELECT count(*) AS n FROM drafts WHERE campaign_id = %s", [campaign_id])
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def _start_campaign(stack: Stack, api: httpx.AsyncClient, fans: list[str]) -> str:
    """Score the campaign's fans into one segment and create the campaign for it through the API."""
    from core import db

    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO fan_scores (creator_id, fan_id, run_id, segment, value_tier, purchase_days, spend_cents,"
            " discretionary_cents, ltv_cents, best_hours, computed_at)"
            " SELECT %s, f, 0, 'whale', 'whale', 5, 50000, 40000, 100000, '{}', now() FROM unnest(%s::uuid[]) f",
            [stack.creator_id, fans],
        )
    r = await api.post(
        "/v1/campaigns",
        headers=stack.auth,
        json={
            "name": "Bench weekend",
            "segment": "whale",
            "intent": "tell them the beach set is out this weekend",
            "max_recipients": len(fans),
        },
    )
    if r.status_code != 202:
        raise RuntimeError(f"campaign refused: {r.status_code} {r.text}")
    body = r.json()
    if body["recipients"] != len(fans):
        raise RuntimeError(
            f"the campaign reached {body['recipients']} of {len(fans)} fans: {body['excluded']}"
        )
    return str(body["id"])


async def run(args: argparse.Namespace) -> None:
    batch_rate = args.batch_per_minute if args.batch_per_minute is not None else 60 / args.llm_delay_s
    fans = 2 + 2 * args.live + args.campaign  # warm-up, quiet, loaded, then the campaign's
    async with (
        running_stack(
            fans,
            engine_delay_s=args.llm_delay_s,
            engine_slots=args.llm_slots,
            llm_slots=args.llm_slots,  # the worker's gate knows the engine's slots, as with the local engine
            batch_drafts_per_minute=batch_rate,
        ) as stack,
        httpx.AsyncClient(base_url=stack.api_url, timeout=120) as api,
    ):
        await _live(stack, api, range(2))  # warm-up: first connections, first workflow of each kind
        quiet = await _live(stack, api, range(2, 2 + args.live))
        campaign_fans = stack.fans[fans - args.campaign :]
        campaign = await _start_campaign(stack, api, campaign_fans)
        await _wait_rows(stack, "SELECT 1 FROM drafts WHERE campaign_id = %s LIMIT 2", [campaign], 2, 300)
        before = await _campaign_drafts(stack, campaign)
        loaded = await _live(stack, api, range(2 + args.live, 2 + 2 * args.live))
        during = await _campaign_drafts(stack, campaign) - before
        left = args.campaign - before - during
        if left <= 0:
            raise RuntimeError("the campaign drained before the live replies were measured: raise --campaign")
        q, lo = statistics.median(quiet), statistics.median(loaded)
        figure: dict[str, Any] = {
            **summary_ms(loaded),
            "campaign": args.campaign,
            "campaign_drafts_during": during,
            "campaign_drafts_left": left,
        }
        emit(
            "live_lane",
            figure,
            summary_ms(quiet),
            {"p50": round(lo / q, 2), "p99": round(max(loaded) / max(quiet), 2)},
            engine={"delay_s": args.llm_delay_s, "slots": args.llm_slots},
            batch_per_minute=round(batch_rate, 1),
            target="p50 ratio <= 1.5",
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.live_lane", description=__doc__)
    ap.add_argument("--campaign", type=int, default=500, help="campaign recipients (default: 500)")
    ap.add_argument("--live", type=int, default=20, help="live replies timed quiet and loaded (default: 20)")
    ap.add_argument("--llm-delay-s", type=float, default=0.5, help="seconds each draft takes (default: 0.5)")
    ap.add_argument("--llm-slots", type=int, default=2, help="drafts the engine serves at once (default: 2)")
    ap.add_argument(
        "--batch-per-minute",
        type=float,
        default=None,
        help="batch drafts started per minute (default: 60 / llm-delay-s, one engine slot kept busy)",
    )
    asyncio.run(run(ap.parse_args(argv)))


if __name__ == "__main__":
    main()
