"""Two seeded businesses (scored, with memories, a follow-up, a campaign and an indexed past reply each) for the
toolkit tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from agents.campaigns.audience import Exclusions
from agents.campaigns.store import create_campaign
from agents.segmentation.refresh import refresh_segments
from core import db
from devstack.seed import seed_business
from memory.embed import embedder
from memory.store import MemoryIn, remember
from memory.voice import index_fan

UNTIL = date.today() - timedelta(days=1)


@dataclass
class Business:
    creator_id: str
    fans: list[str]
    fan_names: list[str]
    catalog: list[str]
    campaign_id: str
    followup_id: str


async def _business(url: str, handle: str, seed: int) -> Business:
    res = seed_business(url, fans=40, days=60, seed=seed, until=UNTIL, handle=handle)
    c = res.creator_id
    async with db.pool().connection() as conn, conn.transaction():
        await refresh_segments(conn, c)
        cur = await conn.execute(
            "SELECT f.id::text AS id, f.display_name FROM fans f JOIN transactions t"
            " ON t.creator_id = f.creator_id AND t.fan_id = f.id AND t.kind = 'ppv'"
            " WHERE f.creator_id = %s GROUP BY f.id ORDER BY f.id LIMIT 3",
            [c],
        )
        rows = await cur.fetchall()
        fans = [r["id"] for r in rows]
        cur = await conn.execute("SELECT id::text AS id FROM catalog WHERE creator_id = %s ORDER BY id", [c])
        catalog = [r["id"] for r in await cur.fetchall()]
        await remember(
            conn, c, fans[0], [MemoryIn("preference", f"{handle} fan loves beach sets", 0.8)], embedder()
        )
        # one past exchange of the creator's, after the seeded history, indexed as a voice example
        for direction, text, minutes in (
            ("in", f"{handle} fan asks: any new beach pics tonight?", 1),
            ("out", f"{handle} replies: yes babe, the sunset beach set drops at 9", 2),
        ):
            await conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, %s, %s, %s)",
                [c, fans[0], direction, text, datetime.now(UTC) + timedelta(minutes=minutes)],
            )
        await index_fan(conn, c, fans[0], embedder())
        cur = await conn.execute("SELECT id::text AS id FROM members WHERE creator_id = %s LIMIT 1", [c])
        member = await cur.fetchone()
        assert member
        campaign, _ = await create_campaign(
            conn,
            creator_id=c,
            created_by=member["id"],
            name=f"{handle} campaign",
            segment="all",
            intent="say hi",
            catalog_id=None,
            exclusions=Exclusions(),
            max_recipients=2,
        )
        cur = await conn.execute(
            "INSERT INTO followups (creator_id, fan_id, kind, workflow_id, steps, started_at)"
            " VALUES (%s, %s, 'win_back', %s, '[]', %s) RETURNING id::text AS id",
            [c, fans[0], f"followup-{c}-x", datetime.now(UTC)],
        )
        fu = await cur.fetchone()
        assert fu
    return Business(
        str(c), fans, [r["display_name"] for r in rows], catalog, str(campaign["id"]), str(fu["id"])
    )


@pytest.fixture
async def two_businesses(database_url: str) -> tuple[Business, Business]:
    return await _business(database_url, "alpha", 5), await _business(database_url, "bravo", 6)
