"""The conversation workflow replays a recorded history of its one shape.

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
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from core.settings import Settings
from tests.factories import add_message_event, make_tenant
from tests.workflows.helpers import start_conversation, wait_pending, wait_until
from workflows.conversation import ConversationWorkflow
from workflows.supervisor_graph import graph_plugin
from workflows.types import ConversationInput, Decision
from workflows.worker import build_worker

HISTORY = Path(__file__).parent / "histories" / "conversation_approve.json"
RECORD = os.environ.get("HUNTAZE_RECORD_HISTORY") == "1"


def _recorded() -> WorkflowHistory:
    return WorkflowHistory.from_json("conversation-recorded", HISTORY.read_text())


def _commands(history: WorkflowHistory) -> list[str]:
    out = []
    for e in history.events:
        if e.HasField("marker_recorded_event_attributes"):
            out.append("marker")
        elif e.HasField("activity_task_scheduled_event_attributes"):
            out.append(e.activity_task_scheduled_event_attributes.activity_type.name)
    return out


@pytest.mark.skipif(RECORD, reason="re-recording")
async def test_the_recorded_conversation_replays() -> None:
    history = _recorded()
    # the fixture covers a draft, an approval and its send: local-activity markers and the memory activity
    commands = _commands(history)
    assert commands.count("marker") >= 6 and "remember_messages" in commands, commands
    replayer = Replayer(workflows=[ConversationWorkflow], plugins=[graph_plugin()])
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
    replayer = Replayer(workflows=[ReorderedConversation], plugins=[graph_plugin()])
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
