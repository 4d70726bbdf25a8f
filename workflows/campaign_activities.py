"""The campaign dispatch activity: wake each recipient's conversation with its campaign event."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity

from core import db
from core.journal import record_action
from core.settings import get_settings
from workflows.dispatch import dispatch_events
from workflows.types import DISPATCH_CAMPAIGN, CampaignInput, CampaignResult

CHUNK = 200
CONCURRENCY = 16  # signal-with-starts in flight at once


@activity.defn(name=DISPATCH_CAMPAIGN)
async def dispatch_campaign(inp: CampaignInput) -> CampaignResult:
    """Dispatch the campaign's events not dispatched yet, a chunk at a time (a retry picks up where a crash
    left off; dispatching an event twice is harmless), then mark the campaign dispatched."""
    client, s = activity.client(), get_settings()
    gate = asyncio.Semaphore(CONCURRENCY)
    done = 0

    async def one(fan_id: str, event_id: int) -> None:
        async with gate:
            await dispatch_events(client, s, inp.creator_id, fan_id, [event_id])

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
        await asyncio.gather(*(one(r["fan_id"], r["event_id"]) for r in rows))
        done += len(rows)
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
