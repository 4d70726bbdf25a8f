"""The conversation workflow replays recorded histories of its one shape: a fan message drafted, approved and sent;
and a campaign message whose batch-lane draft gives way to the fan's own message, which is drafted, approved and
sent.

A change that makes the workflow issue different commands for the same history fails here: such a change needs
`workflow.patched` once there are deployments (docs/workflows.md). Re-record the fixture after an intended change
that no deployment depends on: `.venv/bin/python -m tests.workflows.record_history`.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from psycopg.types.json import Jsonb
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from agents import llm
from agents.followup.rules import CAMPAIGN_MESSAGE
from core import db
from core.settings import Settings, configure
from core.types import Lane, conversation_workflow_id
from tests.factories import add_message_event, make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import start_conversation, wait_for, wait_pending, wait_until
from workflows.conversation import ConversationWorkflow
from workflows.dispatch import dispatch_events
from workflows.supervisor_graph import graph_plugin
from workflows.types import RUN_BATCH_GRAPH, Compose, ConversationInput, Decision
from workflows.worker import build_worker

HISTORY = Path(__file__).parent / "histories" / "conversation_approve.json"
GAVE_WAY = Path(__file__).parent / "histories" / "conversation_batch_gives_way.json"
COMPOSED = Path(__file__).parent / "histories" / "conversation_compose.json"
RECORD = os.environ.get("HUNTAZE_RECORD_HISTORY") == "1"


def _recorded(path: Path = HISTORY) -> WorkflowHistory:
    return WorkflowHistory.from_json("conversation-recorded", path.read_text())


def _commands(history: WorkflowHistory) -> list[str]:
    out = []
    for e in history.events:
        if e.HasField("marker_recorded_event_attributes"):
            out.append("marker")
        elif e.HasField("activity_task_scheduled_event_attributes"):
            out.append(e.activity_task_scheduled_event_attributes.activity_type.name)
    return out


def _replayer(workflow_class: type) -> Replayer:
    # replay checks determinism, not speed: debug mode turns off the SDK's deadlock detector, which a loaded core
    # can trip while the graph compiles
    return Replayer(workflows=[workflow_class], plugins=[graph_plugin()], debug_mode=True)


@pytest.mark.skipif(RECORD, reason="re-recording")
async def test_the_recorded_conversation_replays() -> None:
    history = _recorded()
    # the fixture covers a draft, an approval and its send: local-activity markers and the memory activity
    commands = _commands(history)
    assert commands.count("marker") >= 6 and "remember_messages" in commands, commands
    replayer = _replayer(ConversationWorkflow)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


@pytest.mark.skipif(RECORD, reason="re-recording")
async def test_the_recorded_batch_draft_that_gave_way_replays() -> None:
    history = _recorded(GAVE_WAY)
    # the campaign message's graph is a regular activity on the batch-drafts queue, cancelled when the fan wrote;
    # the fan's own draft then runs as local activities
    drafts = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == RUN_BATCH_GRAPH
    ]
    assert [d.task_queue.name.endswith("-batch-drafts") for d in drafts] == [True]
    assert any(e.HasField("activity_task_cancel_requested_event_attributes") for e in history.events)
    assert _commands(history).count("marker") >= 6
    replayer = _replayer(ConversationWorkflow)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


@pytest.mark.skipif(RECORD, reason="re-recording")
async def test_the_recorded_member_message_replays() -> None:
    history = _recorded(COMPOSED)
    # a draft left pending, then a member's own message: its compose Update, a local activity, and its send
    updates = [e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")]
    assert len(updates) == 1 and _commands(history).count("marker") >= 5
    accepted = updates[0].workflow_execution_update_accepted_event_attributes
    assert accepted.accepted_request.input.name == "compose"
    replayer = _replayer(ConversationWorkflow)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


@workflow.defn(name="ConversationWorkflow", sandboxed=False)
class ReorderedConversation:
    """Stands for a careless change: the same workflow type, another first command."""

    @workflow.run
    async def run(self, inp: ConversationInput) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return "idle"


@pytest.mark.skipif(RECORD, reason="re-recording")
async def test_a_changed_shape_fails_the_replay() -> None:
    replayer = _replayer(ReorderedConversation)
    result = await replayer.replay_workflow(_recorded(), raise_on_replay_failure=False)
    assert result.replay_failure is not None


@pytest.mark.skipif(not RECORD, reason="writes the fixture: python -m tests.workflows.record_history")
async def test_record_history(temporal_env: WorkflowEnvironment, settings: Settings) -> None:
    t = await make_tenant()
    async with build_worker(temporal_env.client, settings.task_queue):
        eid = await add_message_event(t, t.fans[0], "hi! how are you?", "e1")
        h = await start_conversation(temporal_env.client, settings, t.creator_id, t.fans[0], [eid])
        p = await wait_pending(h)
        decision = Decision(p.draft_id, p.version, "approve", t.members["chatter"])
        await h.execute_update(ConversationWorkflow.decide, decision)
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
        assert await h.result() == "idle"  # the idle timeout passes at once on the time-skipping server
    history = await h.fetch_history()
    HISTORY.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")


@pytest.mark.skipif(not RECORD, reason="writes the fixture: python -m tests.workflows.record_history")
async def test_record_batch_history(
    temporal_env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI
) -> None:
    s = settings.model_copy(update={"llm_slots": 2})
    configure(s)
    llm.set_chat_model(None)
    t = await make_tenant()
    fan = t.fans[0]
    fake_llm.hold("campaign message;")
    try:
        async with build_worker(temporal_env.client, s.task_queue):
            async with db.pool().connection() as conn, conn.transaction():
                cur = await conn.execute(
                    "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
                    " VALUES (%s, %s, 'campaign:rec', %s, %s, now()) RETURNING id",
                    [t.creator_id, fan, CAMPAIGN_MESSAGE, Jsonb({"intent": "the beach set"})],
                )
                row = await cur.fetchone()
                assert row is not None
            await dispatch_events(temporal_env.client, s, t.creator_id, fan, [row["id"]], Lane.BATCH)
            wid = conversation_workflow_id(t.creator_id, fan)
            run_id = (await temporal_env.client.get_workflow_handle(wid).describe()).run_id
            h = temporal_env.client.get_workflow_handle(wid, run_id=run_id)
            await wait_for(
                lambda: any("campaign message;" in str(r.get("messages")) for r in fake_llm.draft_requests()),
                "the campaign draft reached the engine",
            )
            eid = await add_message_event(t, fan, "hi! are you there?", "e1")
            await h.signal(ConversationWorkflow.new_events, [eid])
            p = await wait_pending(h)
            fake_llm.release_held()
            decision = Decision(p.draft_id, p.version, "approve", t.members["chatter"])
            await h.execute_update(ConversationWorkflow.decide, decision)
            await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
            # past the idle close (the time-skipping server does not skip on its own after a cancelled activity)
            await temporal_env.sleep(s.idle_close_s + 60)
            assert await h.result() == "idle"
    finally:
        fake_llm.release_held()
    history = await h.fetch_history()
    GAVE_WAY.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")


@pytest.mark.skipif(not RECORD, reason="writes the fixture: python -m tests.workflows.record_history")
async def test_record_compose_history(temporal_env: WorkflowEnvironment, settings: Settings) -> None:
    t = await make_tenant()
    async with build_worker(temporal_env.client, settings.task_queue):
        eid = await add_message_event(t, t.fans[0], "hi! how are you?", "e1")
        h = await start_conversation(temporal_env.client, settings, t.creator_id, t.fans[0], [eid])
        p = await wait_pending(h)
        chatter = t.members["chatter"]
        out = await h.execute_update(
            ConversationWorkflow.compose, Compose(f"{chatter}:rec", chatter, "all good, you?")
        )
        assert out.state == "sent" and out.superseded == p.draft_id
        assert await h.result() == "idle"
    history = await h.fetch_history()
    COMPOSED.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
