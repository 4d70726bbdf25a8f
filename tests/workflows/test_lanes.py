"""Live replies never wait behind batch drafts: the engine (the fake, with two slots like the local engine) is held
on every campaign draft, so a batch that cannot drain; fans' messages are drafted all the same, and a fan whose
campaign draft is still waiting gets a reply to what they wrote."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from psycopg.types.json import Jsonb
from temporalio.testing import WorkflowEnvironment

from agents import llm
from agents.followup.rules import CAMPAIGN_MESSAGE
from core import db
from core.settings import Settings, configure
from core.types import Lane, conversation_workflow_id
from tests.factories import Tenant, add_message_event, make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch, wait_for, wait_until
from workflows.dispatch import dispatch_events
from workflows.types import RUN_BATCH_GRAPH
from workflows.worker import build_worker

BATCH = 6
HELD = "campaign message;"  # in the prompt of every campaign draft (the reason the DM agent is given)


@pytest.fixture
async def engine(settings: Settings, fake_llm: FakeOpenAI) -> AsyncIterator[Settings]:
    """The fake engine with two slots, the process's calls limited to the same two."""
    s = settings.model_copy(update={"llm_slots": 2})
    configure(s)
    llm.set_chat_model(None)
    fake_llm.slots = 2
    yield s
    fake_llm.release_held()
    fake_llm.slots = None


async def _campaign(env: WorkflowEnvironment, s: Settings, t: Tenant, fans: list[str]) -> list[int]:
    ids = []
    for fan in fans:
        async with db.pool().connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
                " VALUES (%s, %s, %s, %s, %s, now()) RETURNING id",
                [
                    t.creator_id,
                    fan,
                    f"campaign:lanes:{fan}",
                    CAMPAIGN_MESSAGE,
                    Jsonb({"intent": "the beach set"}),
                ],
            )
            row = await cur.fetchone()
            assert row is not None
        await dispatch_events(env.client, s, t.creator_id, fan, [row["id"]], Lane.BATCH)
        ids.append(row["id"])
    return ids


async def _drafts(t: Tenant, fan: str) -> list[dict[str, object]]:
    return await fetch(
        "SELECT status, event_ids FROM drafts WHERE creator_id = %s AND fan_id = %s ORDER BY created_at",
        [t.creator_id, fan],
    )


async def test_a_fan_message_is_drafted_while_a_campaign_holds_the_engine(
    temporal_env: WorkflowEnvironment, engine: Settings, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant("lanes", fans=BATCH + 1)
    batch_fans, live_fan = t.fans[:BATCH], t.fans[BATCH]
    fake_llm.hold(HELD)
    async with build_worker(temporal_env.client, engine.task_queue):
        await _campaign(temporal_env, engine, t, batch_fans)
        # the first campaign draft has reached the engine and holds a slot there
        await wait_until_held(fake_llm)
        eid = await add_message_event(t, live_fan, "are you around tonight?", "lanes-live")
        await dispatch_events(temporal_env.client, engine, t.creator_id, live_fan, [eid])
        await wait_until(
            "SELECT count(*) = 1 FROM drafts WHERE creator_id = %s AND fan_id = %s AND status = 'pending_review'",
            [t.creator_id, live_fan],
        )
        # the live draft came while the batch could not drain: no campaign draft exists yet
        [n] = await fetch(
            "SELECT count(*) AS n FROM drafts WHERE creator_id = %s AND fan_id = ANY(%s::uuid[])",
            [t.creator_id, batch_fans],
        )
        assert n["n"] == 0
        # only one campaign draft reached the engine: the others wait their turn in the batch lane
        assert sum(HELD in str(r.get("messages")) for r in fake_llm.draft_requests()) == 1

        fake_llm.release_held()
        await wait_until(
            "SELECT count(*) = %s FROM drafts WHERE creator_id = %s AND fan_id = ANY(%s::uuid[])"
            " AND status = 'pending_review'",
            [BATCH, t.creator_id, batch_fans],
        )


async def wait_batch_draft_scheduled(env: WorkflowEnvironment, t: Tenant, fan: str) -> None:
    handle = env.client.get_workflow_handle(conversation_workflow_id(t.creator_id, fan))
    for _ in range(1200):
        history = await handle.fetch_history()
        if any(
            e.activity_task_scheduled_event_attributes.activity_type.name == RUN_BATCH_GRAPH
            for e in history.events
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the campaign draft was never scheduled")


async def wait_until_held(fake: FakeOpenAI) -> None:
    await wait_for(
        lambda: any(HELD in str(r.get("messages")) for r in fake.draft_requests()),
        "a campaign draft reached the engine",
    )


async def test_a_campaign_draft_still_waiting_gives_way_to_the_fans_own_message(
    temporal_env: WorkflowEnvironment, engine: Settings, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant("giveway", fans=2)
    fake_llm.hold(HELD)
    async with build_worker(temporal_env.client, engine.task_queue):
        await _campaign(temporal_env, engine, t, t.fans[:1])
        await wait_until_held(fake_llm)
        # the first campaign draft holds the batch lane's one slot; the next fan's waits for its turn, and they write
        fan = t.fans[1]
        [campaign_event] = await _campaign(temporal_env, engine, t, [fan])
        await wait_batch_draft_scheduled(temporal_env, t, fan)
        eid = await add_message_event(t, fan, "hey, did you get my pics?", "giveway-live")
        await dispatch_events(temporal_env.client, engine, t.creator_id, fan, [eid])
        await wait_until(
            "SELECT count(*) = 1 FROM drafts WHERE creator_id = %s AND fan_id = %s AND status = 'pending_review'",
            [t.creator_id, fan],
        )
        [d] = await _drafts(t, fan)
        # one draft answers both: the fan's message, with the campaign event it took over
        assert sorted(d["event_ids"]) == sorted([campaign_event, eid])  # type: ignore[call-overload]
        fake_llm.release_held()
        others = t.fans[:1]
        await wait_until(
            "SELECT count(*) = %s FROM drafts WHERE creator_id = %s AND fan_id = ANY(%s::uuid[])"
            " AND status = 'pending_review'",
            [len(others), t.creator_id, others],
        )
        assert len(await _drafts(t, fan)) == 1  # the campaign's own draft for that fan was never written
