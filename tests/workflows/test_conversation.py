"""ConversationWorkflow on Temporal's time-skipping test server, real Postgres, LLM endpoint on loopback."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer

from core import temporal
from core.settings import Settings, configure
from tests.conftest import venv_bin
from tests.factories import add_message_event, make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.webhook import WebhookReceiver
from tests.workflows.helpers import drafted, fetch, skip, start_conversation, wait_pending, wait_until
from workflows.conversation import ConversationWorkflow
from workflows.conversation_activities import apply_decision
from workflows.delivery_activities import send_draft
from workflows.supervisor_graph import graph_plugin
from workflows.types import ApplyDecisionInput, Decision, SendInput
from workflows.worker import build_worker


def _approve(p: Any, actor: str, text: str | None = None) -> Decision:
    return Decision(draft_id=p.draft_id, version=p.version, action="approve", actor=actor, text=text)


async def _sent_messages(creator_id: str) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT text, draft_id::text AS draft_id FROM messages WHERE creator_id = %s AND direction = 'out'",
        [creator_id],
    )


async def test_approve_sends_exactly_once(temporal_env: WorkflowEnvironment, settings: Settings) -> None:
    t = await make_tenant()
    async with build_worker(temporal_env.client, settings.task_queue):
        eid = await add_message_event(t, t.fans[0], "hi! how are you?", "e1")
        h = await start_conversation(temporal_env.client, settings, t.creator_id, t.fans[0], [eid])
        p = await wait_pending(h)
        assert p.status == "pending_review" and p.version == 1
        assert await _sent_messages(t.creator_id) == []  # nothing leaves before approval
        res = await h.execute_update(ConversationWorkflow.decide, _approve(p, t.members["chatter"]))
        assert res.status == "approved" and res.version == 2
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
    sent = await _sent_messages(t.creator_id)
    assert sent == [{"text": "Aww thank you for the message, you made my day 💕", "draft_id": p.draft_id}]
    kinds = [
        r["kind"]
        for r in await fetch(
            "SELECT kind FROM agent_actions WHERE creator_id = %s ORDER BY id", [t.creator_id]
        )
    ]
    assert kinds == ["routed", "drafted", "approved", "sent"]
    audit = await fetch(
        "SELECT action, prev_hash IS NOT NULL AS chained FROM audit_log WHERE creator_id = %s ORDER BY id",
        [t.creator_id],
    )
    assert [a["action"] for a in audit] == ["draft.approved", "draft.sent"] and audit[1]["chained"]


async def test_edit_then_approve_sends_the_edit(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with drafted(temporal_env, settings, "hey you") as (t, h, p):
        with pytest.raises(WorkflowUpdateFailedError) as bad:
            await h.execute_update(
                ConversationWorkflow.decide, _approve(p, t.members["owner"], "dm me on telegram")
            )
        assert isinstance(bad.value.cause, ApplicationError) and bad.value.cause.type == "policy_blocked"
        assert bad.value.cause.details[0]["policy"]["outcome"] == "fix"
        res = await h.execute_update(
            ConversationWorkflow.decide, _approve(p, t.members["owner"], "Hey you 😘")
        )
        assert res.status == "approved"
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
        # the send indexes the (agent's draft, edit) pair; the edit is the example of the creator's voice
        await wait_until("SELECT count(*) > 0 FROM voice_examples WHERE creator_id = %s", [t.creator_id])
    assert [m["text"] for m in await _sent_messages(t.creator_id)] == ["Hey you 😘"]
    pair = await fetch(
        "SELECT source, fan_text, reply_text, draft_text = d.text AS agent_text FROM voice_examples v"
        " JOIN drafts d ON d.id = %s WHERE v.creator_id = %s",
        [p.draft_id, t.creator_id],
    )
    assert pair == [
        {"source": "edited", "fan_text": "hey you", "reply_text": "Hey you 😘", "agent_text": True}
    ]


async def test_reject_sends_nothing(temporal_env: WorkflowEnvironment, settings: Settings) -> None:
    async with drafted(temporal_env, settings) as (t, h, p):
        res = await h.execute_update(
            ConversationWorkflow.decide,
            Decision(
                draft_id=p.draft_id,
                version=p.version,
                action="reject",
                actor=t.members["owner"],
                reason="too generic",
            ),
        )
        assert res.status == "rejected"
        with pytest.raises(WorkflowUpdateFailedError):  # decided: a late approval is refused
            await h.execute_update(ConversationWorkflow.decide, _approve(p, t.members["owner"]))
    rows = await fetch("SELECT status, decision_reason FROM drafts WHERE id = %s", [p.draft_id])
    assert rows == [{"status": "rejected", "decision_reason": "too generic"}]
    assert await _sent_messages(t.creator_id) == []
    assert await fetch("SELECT * FROM outbox", []) == []


async def test_newer_message_supersedes_pending_draft(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with drafted(temporal_env, settings) as (t, h, first):
        await h.signal(
            ConversationWorkflow.new_events, [await add_message_event(t, t.fans[0], "you there?", "e2")]
        )
        second = await wait_pending(h, not_id=first.draft_id)
        with pytest.raises(WorkflowUpdateFailedError) as stale:
            await h.execute_update(ConversationWorkflow.decide, _approve(first, t.members["owner"]))
        assert isinstance(stale.value.cause, ApplicationError) and stale.value.cause.type == "not_pending"
    rows = {r["id"]: r["status"] for r in await fetch("SELECT id::text AS id, status FROM drafts", [])}
    assert rows == {first.draft_id: "superseded", second.draft_id: "pending_review"}


async def test_undecided_draft_expires_and_escalates(settings: Settings) -> None:
    # Its own test server: skipping 25 hours would otherwise fire every other test's timers too.
    t = await make_tenant()
    async with (
        await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=venv_bin("temporal-test-server"), runtime=temporal.runtime()
        ) as env,
        build_worker(env.client, settings.task_queue),
    ):
        h = await start_conversation(
            env.client,
            settings,
            t.creator_id,
            t.fans[0],
            [await add_message_event(t, t.fans[0], "hello", "e1")],
        )
        p = await wait_pending(h)
        await skip(env, timedelta(hours=25))  # skipped instantly by the test server
        await wait_until("SELECT status = 'expired' FROM drafts WHERE id = %s", [p.draft_id])
        assert await h.query(ConversationWorkflow.pending_draft) is None
    kinds = [r["kind"] for r in await fetch("SELECT kind FROM agent_actions ORDER BY id", [])]
    assert kinds[-2:] == ["expired", "escalated"]
    assert await _sent_messages(t.creator_id) == []


async def test_update_validator_refuses_wrong_version_and_blocked_without_edit(
    temporal_env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant()
    fake_llm.script({"text": "venmo me and I'll send it", "offer": None, "rationale": ""})
    async with build_worker(temporal_env.client, settings.task_queue):
        h = await start_conversation(
            temporal_env.client,
            settings,
            t.creator_id,
            t.fans[0],
            [await add_message_event(t, t.fans[0], "can I pay you?", "e1")],
        )
        p = await wait_pending(h)
        assert p.status == "blocked"
        for decision, code in [
            (
                Decision(draft_id=p.draft_id, version=p.version + 5, action="approve", actor="x"),
                "stale_version",
            ),
            (
                Decision(
                    draft_id="00000000-0000-4000-8000-000000000000", version=1, action="approve", actor="x"
                ),
                "not_pending",
            ),
            (
                Decision(draft_id=p.draft_id, version=p.version, action="approve", actor="x"),
                "blocked_requires_edit",
            ),
        ]:
            with pytest.raises(WorkflowUpdateFailedError) as err:
                await h.execute_update(ConversationWorkflow.decide, decision)
            assert isinstance(err.value.cause, ApplicationError) and err.value.cause.type == code
        # an action outside the contract is refused when the Update's argument is decoded
        unknown = Decision(draft_id=p.draft_id, version=p.version, action="send", actor="x")  # type: ignore[arg-type]
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(ConversationWorkflow.decide, unknown)
        assert "decoding" in str(err.value.cause)
        # A blocked draft can go out only with an edit that passes policy.
        res = await h.execute_update(
            ConversationWorkflow.decide,
            _approve(p, t.members["owner"], "I'll unlock it for you right here 💕"),
        )
        assert res.status == "approved"
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
    assert [m["text"] for m in await _sent_messages(t.creator_id)] == ["I'll unlock it for you right here 💕"]


async def test_failed_delivery_is_retried_and_delivered_once(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    receiver = WebhookReceiver(secret="s3cret")
    receiver.server.start()
    receiver.fail_next = 2
    configure(
        settings.model_copy(update={"webhook_url": receiver.url, "webhook_secret": SecretStr("s3cret")})
    )
    try:
        t = await make_tenant()
        async with build_worker(temporal_env.client, settings.task_queue):
            h = await start_conversation(
                temporal_env.client,
                settings,
                t.creator_id,
                t.fans[0],
                [await add_message_event(t, t.fans[0], "hello", "e1")],
            )
            p = await wait_pending(h)
            await h.execute_update(ConversationWorkflow.decide, _approve(p, t.members["owner"]))
            await wait_until("SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [p.draft_id], 60)
    finally:
        receiver.server.stop()
    assert [c["key"] for c in receiver.calls] == [p.draft_id] * 3
    assert all(c["signature_ok"] for c in receiver.calls)
    assert list(receiver.delivered) == [p.draft_id]
    box = await fetch("SELECT attempts, last_error FROM outbox WHERE draft_id = %s", [p.draft_id])
    assert box == [{"attempts": 3, "last_error": None}]
    assert len(await _sent_messages(t.creator_id)) == 1
    # Each retry waited on a durable timer in the workflow (the retry policy's backoffs), not inside the worker,
    # where the SDK core would leave the failed attempt's start-to-close timer to fire after the worker is gone.
    backoffs = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        async for e in h.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
        and e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta() < timedelta(minutes=1)
    ]
    assert backoffs == [timedelta(seconds=1), timedelta(seconds=2)]


async def test_state_survives_a_worker_restart(temporal_env: WorkflowEnvironment, settings: Settings) -> None:
    """Worker A drafts and dies; worker B replays the history and carries the approval through.

    Worker A keeps no workflow cache (no sticky queue), so every task it ran was rebuilt from history:
    the same thing that happens when a worker process dies and another takes over.
    """
    async with drafted(temporal_env, settings, max_cached_workflows=0) as (t, h, p):
        pass  # worker A stops here
    async with build_worker(temporal_env.client, settings.task_queue):
        await h.execute_update(ConversationWorkflow.decide, _approve(p, t.members["owner"]))
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
    assert len(await _sent_messages(t.creator_id)) == 1


async def test_send_activity_refuses_unapproved_and_is_idempotent(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """No path delivers an unapproved draft, even calling the activity directly; a retry sends nothing twice."""
    async with drafted(temporal_env, settings) as (t, h, p):
        env = ActivityEnvironment()
        with pytest.raises(ApplicationError) as refused:
            await env.run(send_draft, SendInput(t.creator_id, t.fans[0], p.draft_id, time.time()))
        assert refused.value.type == "NotApproved" and refused.value.non_retryable
        assert await fetch("SELECT * FROM outbox", []) == []
        await h.execute_update(ConversationWorkflow.decide, _approve(p, t.members["owner"]))
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
        # A crash after commit means the activity runs again: it must not deliver a second message.
        await env.run(send_draft, SendInput(t.creator_id, t.fans[0], p.draft_id, time.time()))
        await env.run(send_draft, SendInput(t.creator_id, t.fans[0], p.draft_id, time.time()))
    assert len(await _sent_messages(t.creator_id)) == 1
    assert len(await fetch("SELECT * FROM outbox", [])) == 1


async def test_a_decision_retried_after_its_commit_still_counts(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A crash between apply_decision's commit and its completion makes Temporal run it again: the same decision
    must report success (so the approved draft is still sent), while another person's or version's must not."""
    async with drafted(temporal_env, settings) as (t, _h, p):
        env = ActivityEnvironment()
        decision = _approve(p, t.members["owner"])
        first = await env.run(apply_decision, ApplyDecisionInput(t.creator_id, t.fans[0], decision))
        again = await env.run(apply_decision, ApplyDecisionInput(t.creator_id, t.fans[0], decision))
        assert (first.ok, first.status) == (True, "approved")
        assert (again.ok, again.status, again.version) == (True, "approved", first.version)
        other = Decision(p.draft_id, p.version, "approve", t.members["chatter"])
        late = await env.run(apply_decision, ApplyDecisionInput(t.creator_id, t.fans[0], other))
        rejected = await env.run(
            apply_decision,
            ApplyDecisionInput(
                t.creator_id, t.fans[0], Decision(p.draft_id, p.version, "reject", t.members["owner"])
            ),
        )
        assert not late.ok and not rejected.ok and late.error_code == rejected.error_code == "conflict"
        [n] = await fetch("SELECT count(*) AS n FROM audit_log WHERE action = 'draft.approved'", [])
        assert n["n"] == 1  # the retry recorded nothing twice


async def test_continue_as_new_carries_the_pending_draft(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    from core.types import conversation_workflow_id
    from workflows.types import ConversationInput

    t = await make_tenant()
    async with build_worker(temporal_env.client, settings.task_queue):
        eid = await add_message_event(t, t.fans[0], "hello", "e1")
        h = await temporal_env.client.start_workflow(
            ConversationWorkflow.run,
            ConversationInput(creator_id=t.creator_id, fan_id=t.fans[0], debounce_s=0, history_limit=10),
            id=conversation_workflow_id(t.creator_id, t.fans[0]),
            task_queue=settings.task_queue,
            start_signal="new_events",
            start_signal_args=[[eid]],
        )
        first_run = (await h.describe()).run_id
        latest = temporal_env.client.get_workflow_handle(h.id)  # always the newest run
        p = await wait_pending(latest)
        for _ in range(200):
            if (await latest.describe()).run_id != first_run:
                break
            await asyncio.sleep(0.05)
        assert (await latest.describe()).run_id != first_run  # a fresh run, small history
        assert await wait_pending(latest) == p
        await latest.execute_update(ConversationWorkflow.decide, _approve(p, t.members["owner"]))
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
    assert len(await _sent_messages(t.creator_id)) == 1


async def test_concurrent_approvals_send_once(temporal_env: WorkflowEnvironment, settings: Settings) -> None:
    """Two reviewers approve the same version at once: one wins, the other gets a conflict, one message."""
    async with drafted(temporal_env, settings) as (t, h, p):
        results = await asyncio.gather(
            h.execute_update(ConversationWorkflow.decide, _approve(p, t.members["owner"])),
            h.execute_update(ConversationWorkflow.decide, _approve(p, t.members["chatter"], "Hi there 💕")),
            return_exceptions=True,
        )
        wins = [r for r in results if not isinstance(r, BaseException)]
        losses = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
        assert len(wins) == 1 and len(losses) == 1, results
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
    assert len(await _sent_messages(t.creator_id)) == 1
    assert len(await fetch("SELECT 1 FROM agent_actions WHERE kind = 'approved'", [])) == 1


async def test_worker_dies_during_delivery_and_another_delivers_once(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Worker A dies while the webhook call is in flight; worker B retries; the receiver sees one delivery."""
    receiver = WebhookReceiver(secret="k")
    receiver.server.start()
    receiver.fail_next = 1_000  # the platform is down while worker A is alive
    configure(settings.model_copy(update={"webhook_url": receiver.url, "webhook_secret": SecretStr("k")}))
    try:
        t = await make_tenant()
        async with build_worker(temporal_env.client, settings.task_queue, max_cached_workflows=0):
            h = await start_conversation(
                temporal_env.client,
                settings,
                t.creator_id,
                t.fans[0],
                [await add_message_event(t, t.fans[0], "hello", "e1")],
            )
            p = await wait_pending(h)
            await h.execute_update(ConversationWorkflow.decide, _approve(p, t.members["owner"]))
            await wait_until("SELECT attempts >= 1 FROM outbox WHERE draft_id = %s", [p.draft_id])
        # Worker A is gone with the delivery unfinished; the platform comes back; worker B takes over.
        receiver.fail_next = 0
        async with build_worker(temporal_env.client, settings.task_queue):
            await wait_until("SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [p.draft_id], 90)
    finally:
        receiver.server.stop()
    assert list(receiver.delivered) == [p.draft_id]
    assert len(await _sent_messages(t.creator_id)) == 1


async def _activity_types(h: Any) -> tuple[list[str], int]:
    history = await h.fetch_history()
    types = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    markers = sum(1 for e in history.events if e.HasField("marker_recorded_event_attributes"))
    return types, markers


async def test_a_message_becomes_a_draft_without_activities(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """The supervisor's steps, the DM agent and the save run as local activities in one workflow task: no
    activity is scheduled through the server before the draft is saved, and the run replays as recorded."""
    t = await make_tenant()
    async with build_worker(temporal_env.client, settings.task_queue):
        eid = await add_message_event(t, t.fans[0], "hi! how are you?", "e1")
        h = await start_conversation(temporal_env.client, settings, t.creator_id, t.fans[0], [eid])
        assert (await wait_pending(h)).status == "pending_review"
    types, markers = await _activity_types(h)
    # only the fan-memory extraction, after the save, is a regular activity
    assert set(types) <= {"remember_messages"} and markers >= 4, (types, markers)
    replayer = Replayer(workflows=[ConversationWorkflow], plugins=[graph_plugin()])
    result = await replayer.replay_workflow(await h.fetch_history(), raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_the_worker_runs_as_many_workflow_tasks_as_configured(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    worker = build_worker(temporal_env.client, settings.task_queue, workflow_task_slots=250)
    assert worker.live.config()["max_concurrent_workflow_tasks"] == 250
    # a draft holds a task slot and a local-activity slot together: the setting raises both
    assert worker.live.config()["max_concurrent_local_activities"] == 250
    # batch drafts have their own queue, slots and rate, whatever the live worker's slots
    batch = worker.batch.config()
    assert batch["task_queue"] == f"{settings.task_queue}-batch-drafts"
    assert batch["max_concurrent_activities"] == settings.batch_draft_slots
    assert batch["max_task_queue_activities_per_second"] == settings.batch_drafts_per_minute / 60
