"""The campaign dispatch activity: wake each recipient's conversation with its campaign event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from temporalio import activity

from core import db
from core.journal import record_action
from core.settings import get_settings
from core.types import Lane
from workflows.dispatch import dispatch_events
from workflows.types import DISPATCH_CAMPAIGN, CampaignInput, CampaignResult

CHUNK = 200
CONCURRENCY = 16  # signal-with-starts in flight at once
# Recipients handed out per second: each starts a conversation (a signal-with-start, a first workflow task) on the
# workers and the Temporal server that live replies use, and the drafts come at the batch lane's rate anyway. 500
# recipients at once cost fans' replies 4-28 s on a 2-core machine (docs/benchmarks.md, live-lane).
DISPATCH_PER_S = 2


@activity.defn(name=DISPATCH_CAMPAIGN)
async def dispatch_campaign(inp: CampaignInput) -> CampaignResult:
    """Dispatch the campaign's events not dispatched yet, a chunk at a time (a retry picks up where a crash
    left off; dispatching an event twice is harmless), then mark the campaign dispatched."""
    client, s = activity.client(), get_settings()
    gate = asyncio.Semaphore(CONCURRENCY)
    done = 0
    next_at = time.monotonic()

    async def one(fan_id: str, event_id: int) -> None:
        async with gate:
            await dispatch_events(client, s, inp.creator_id, fan_id, [event_id], Lane.BATCH)

    while True:
        async with db.pool().connection() as conn:
            cur = await conn.execute(
                "SELECT r.fan_id::text AS fan_id, r.event_id FROM campaign_recipients r"
                " JOIN events e ON e.creator_id = r.creator_id AND e.id = r.event_id"
                " WHERE r.creator_id = %s AND r.campaign_id = %s AND e.dispatched_at IS NULL"
                " ORDER BY r.event_id LIMIT %s",
                [inp.creator_id, inp.campaign_id, CHUNK],
            )
            rows = await cur.fetchall()
        if not rows:
            break
        for i in range(0, len(rows), DISPATCH_PER_S):
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))  # the next second's recipients
            next_at = time.monotonic() + 1.0
            await asyncio.gather(*(one(r["fan_id"], r["event_id"]) for r in rows[i : i + DISPATCH_PER_S]))
            done += len(rows[i : i + DISPATCH_PER_S])
            activity.heartbeat(done)
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE campaigns SET status = 'dispatched' WHERE creator_id = %s AND id = %s"
            " AND status = 'dispatching' RETURNING name, recipients",
            [inp.creator_id, inp.campaign_id],
        )
        row = await cur.fetchone()
        if row is not None:
            await record_action(
                conn,
                creator_id=inp.creator_id,
                kind="campaign_dispatched",
                summary=f"campaign '{row['name']}': {row['recipients']} fan(s) handed to the DM agent for drafts",
                details={"campaign_id": inp.campaign_id},
                dedupe_key=f"campaign_dispatched:{inp.campaign_id}",
            )
    return CampaignResult(dispatched=done)


CAMPAIGN_ACTIVITIES: list[Callable[..., Any]] = [dispatch_campaign]
