"""Crash leftovers and an overloaded model: a draft saved just before a worker died is decided, never stranded;
drafts no conversation waits for are expired by the daily plan's janitor; a model that never answers ends in
draft_failed within the deadline, and the fan's next message is handled."""

from __future__ import annotations

import time

from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from core.settings import Settings, configure
from core.types import (
    DraftAttempt,
    DraftProposal,
)
from tests.factories import add_message_event, make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch, reply_outcome, start_conversation, wait_pending, wait_until
from workflows.conversation import ConversationWorkflow
from workflows.conversation_activities import save_outcome
from workflows.daily_plan_activities import expire_overdue_drafts
from workflows.types import Decision, PlanStepInput, SaveOutcomeInput
from workflows.worker import build_worker


def _saved_reply(creator_id: str, fan_id: str, event_ids: list[int], expires_at: float) -> SaveOutcomeInput:
    return reply_outcome(
        creator_id,
        fan_id,
        event_ids,
        DraftAttempt(DraftProposal("hey you, so glad you wrote 💕")),
        expires_at,
    )


async def test_a_draft_saved_before_a_crash_is_the_one_awaiting_a_decision(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """The save commits, the worker dies before its workflow task completes, and the replay routes the batch
    again: its events are already handled, so the graph drafts nothing. The saved draft must still be the one
    the conversation waits on, so it can be approved and sent."""
    t = await make_tenant()
    eid = await add_message_event(t, t.fans[0], "hi! how are you?", "e1")
    first = await ActivityEnvironment().run(
        save_outcome, _saved_reply(t.creator_id, t.fans[0], [eid], time.time() + 3600)
    )
    assert first.draft_id and first.status == "pending_review"
    async with build_worker(temporal_env.client, settings.task_queue):
        h = await start_conversation(temporal_env.client, settings, t.creator_id, t.fans[0], [eid])
        pending = await wait_pending(h, timeout_s=30)
        assert pending.draft_id == first.draft_id
        await h.execute_update(
            ConversationWorkflow.decide,
            Decision(pending.draft_id, pending.version, "approve", t.members["owner"]),
        )
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [first.draft_id])
    assert len(await fetch("SELECT id FROM drafts", [])) == 1
    assert len(await fetch("SELECT id FROM messages WHERE direction = 'out'", [])) == 1


async def test_the_janitor_expires_drafts_no_conversation_waits_for(settings: Settings) -> None:
    t = await make_tenant()
    env = ActivityEnvironment()
    stale = await env.run(
        save_outcome,
        _saved_reply(
            t.creator_id, t.fans[0], [await add_message_event(t, t.fans[0], "hey", "e1")], time.time() - 7200
        ),
    )
    fresh = await env.run(
        save_outcome,
        _saved_reply(
            t.creator_id, t.fans[1], [await add_message_event(t, t.fans[1], "yo", "e2")], time.time() + 3600
        ),
    )
    res = await env.run(expire_overdue_drafts, PlanStepInput(t.creator_id, time.time()))
    again = await env.run(expire_overdue_drafts, PlanStepInput(t.creator_id, time.time()))
    assert (res.expired, again.expired) == (1, 0)
    rows = {r["id"]: r["status"] for r in await fetch("SELECT id::text AS id, status FROM drafts", [])}
    assert rows == {stale.draft_id: "expired", fresh.draft_id: "pending_review"}
    kinds = [
        r["kind"] for r in await fetch("SELECT kind FROM agent_actions WHERE draft_id = %s", [stale.draft_id])
    ]
    assert "expired" in kinds and "escalated" in kinds


async def test_a_model_that_never_answers_ends_in_draft_failed_and_the_fan_is_still_answered(
    temporal_env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI
) -> None:
    configure(settings.model_copy(update={"llm_timeout_s": 0.5, "llm_attempts": 1, "draft_deadline_s": 3.0}))
    fake_llm.delay_s = 30.0
    t = await make_tenant()
    async with build_worker(temporal_env.client, settings.task_queue):
        eid = await add_message_event(t, t.fans[0], "are you there?", "e1")
        h = await start_conversation(temporal_env.client, settings, t.creator_id, t.fans[0], [eid])
        await wait_until(
            "SELECT count(*) = 1 FROM agent_actions WHERE kind = 'draft_failed' AND creator_id = %s",
            [t.creator_id],
            timeout_s=30,
        )
        [failed] = await fetch("SELECT details FROM agent_actions WHERE kind = 'draft_failed'", [])
        assert "no draft within 3 s" in failed["details"]["failure"]
        fake_llm.delay_s = 0.0
        eid2 = await add_message_event(t, t.fans[0], "hello again", "e2")
        await h.signal(ConversationWorkflow.new_events, [eid2])
        assert (await wait_pending(h, timeout_s=30)).status == "pending_review"


async def test_a_replay_whose_batch_grew_adopts_or_supersedes_the_stranded_draft(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Replayed after the crash, the batch holds more events than the attempt that saved: a new message drafts
    afresh and supersedes the stranded draft; a mere "lol" leaves the stranded draft as the one to decide."""
    t = await make_tenant()
    env = ActivityEnvironment()
    e1 = await add_message_event(t, t.fans[0], "hi! how are you?", "e1")
    stranded_a = await env.run(save_outcome, _saved_reply(t.creator_id, t.fans[0], [e1], time.time() + 3600))
    e2 = await add_message_event(t, t.fans[0], "also, any new sets?", "e2")
    f1 = await add_message_event(t, t.fans[1], "good morning", "f1")
    stranded_b = await env.run(save_outcome, _saved_reply(t.creator_id, t.fans[1], [f1], time.time() + 3600))
    f2 = await add_message_event(t, t.fans[1], "lol", "f2")
    async with build_worker(temporal_env.client, settings.task_queue):
        ha = await start_conversation(temporal_env.client, settings, t.creator_id, t.fans[0], [e1, e2])
        hb = await start_conversation(temporal_env.client, settings, t.creator_id, t.fans[1], [f1, f2])
        fresh = await wait_pending(ha, not_id=stranded_a.draft_id, timeout_s=30)
        adopted = await wait_pending(hb, timeout_s=30)
    status = {r["id"]: r["status"] for r in await fetch("SELECT id::text AS id, status FROM drafts", [])}
    assert status[stranded_a.draft_id] == "superseded" and status[fresh.draft_id] == "pending_review"
    assert adopted.draft_id == stranded_b.draft_id and status[stranded_b.draft_id] == "pending_review"
    undecided = [d for d, s in status.items() if s in ("pending_review", "blocked")]
    assert sorted(undecided) == sorted([fresh.draft_id, adopted.draft_id])
