"""Quiet hours and frequency caps hold an approved message (never drop it) and release it on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb
from temporalio.testing import WorkflowEnvironment

from core import db, temporal
from core.settings import Settings
from tests.conftest import venv_bin
from tests.factories import add_message_event, make_tenant
from tests.workflows.helpers import drafted, fetch, skip, start_conversation, wait_pending, wait_until
from workflows.conversation import ConversationWorkflow
from workflows.types import Decision
from workflows.worker import build_worker


async def _set_policy(creator_id: str, **changes: Any) -> None:
    async with db.pool().connection() as conn:
        await conn.execute(
            "UPDATE creators SET policy_config = policy_config || %s WHERE id = %s",
            [Jsonb(changes), creator_id],
        )


async def _outbound(creator_id: str) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT draft_id::text AS draft_id, sent_at FROM messages WHERE creator_id = %s AND direction = 'out'"
        " ORDER BY sent_at",
        [creator_id],
    )


async def test_fan_cap_holds_an_approved_send(temporal_env: WorkflowEnvironment, settings: Settings) -> None:
    async with drafted(temporal_env, settings) as (t, h, p):
        await _set_policy(t.creator_id, max_per_fan_per_day=1)
        earlier = datetime.now(UTC) - timedelta(hours=1)
        async with db.pool().connection() as conn:
            await conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, 'out', %s, %s)",
                [t.creator_id, t.fans[0], "sent by the creator an hour ago", earlier],
            )
        decision = Decision(p.draft_id, p.version, "approve", t.members["owner"])
        assert (await h.execute_update(ConversationWorkflow.decide, decision)).status == "approved"
        await wait_until(
            "SELECT count(*) = 1 FROM agent_actions WHERE kind = 'send_held' AND draft_id = %s", [p.draft_id]
        )
    [held] = await fetch("SELECT details FROM agent_actions WHERE kind = 'send_held'", [])
    assert held["details"]["reasons"] == ["at most 1 messages to this fan in 24 hours"]
    assert datetime.fromisoformat(held["details"]["not_before"]) == earlier + timedelta(hours=24)
    assert [m["draft_id"] for m in await _outbound(t.creator_id)] == [None]  # only the creator's own message
    assert (await fetch("SELECT status FROM drafts WHERE id = %s", [p.draft_id])) == [{"status": "approved"}]


async def test_the_creators_own_message_withdraws_a_held_approved_draft(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A cap holds the approved draft; then the creator writes to the fan herself on the platform: the draft is
    superseded and never sent, and the fan's next message is drafted as usual."""
    async with drafted(temporal_env, settings) as (t, h, p):
        await _set_policy(t.creator_id, max_per_fan_per_day=1)
        async with db.pool().connection() as conn:
            await conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, 'out', %s, %s)",
                [
                    t.creator_id,
                    t.fans[0],
                    "sent by the creator an hour ago",
                    datetime.now(UTC) - timedelta(hours=1),
                ],
            )
        decision = Decision(p.draft_id, p.version, "approve", t.members["owner"])
        assert (await h.execute_update(ConversationWorkflow.decide, decision)).status == "approved"
        await wait_until(
            "SELECT count(*) = 1 FROM agent_actions WHERE kind = 'send_held' AND draft_id = %s", [p.draft_id]
        )
        async with db.pool().connection() as conn:
            cur = await conn.execute(
                "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
                " VALUES (%s, %s, 'c1', 'creator_message', %s, now()) RETURNING id",
                [
                    t.creator_id,
                    t.fans[0],
                    Jsonb({"event_id": "c1", "kind": "creator_message", "text": "hey!"}),
                ],
            )
            row = await cur.fetchone()
            assert row
        await h.signal(ConversationWorkflow.new_events, [row["id"]])
        await wait_until("SELECT status = 'superseded' FROM drafts WHERE id = %s", [p.draft_id])
        eid = await add_message_event(t, t.fans[0], "and now?", "e2")
        await h.signal(ConversationWorkflow.new_events, [eid])
        nxt = await wait_pending(h, not_id=p.draft_id)
        assert nxt.draft_id != p.draft_id
    [d] = await fetch("SELECT status, decision_reason FROM drafts WHERE id = %s", [p.draft_id])
    assert d == {"status": "superseded", "decision_reason": "the creator answered on the platform"}
    assert await fetch("SELECT 1 FROM outbox WHERE draft_id = %s", [p.draft_id]) == []
    [a] = await fetch(
        "SELECT summary FROM agent_actions WHERE kind = 'superseded' AND draft_id = %s", [p.draft_id]
    )
    assert "withdrawn before it was sent" in a["summary"]
    assert [m["draft_id"] for m in await _outbound(t.creator_id)] == [None]  # only the creator's own message


async def test_quiet_hours_hold_the_send_until_they_end(settings: Settings) -> None:
    # Its own test server: skipping hours would otherwise fire every other test's timers too.
    t = await make_tenant()
    now = datetime.now(UTC)
    end = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    await _set_policy(
        t.creator_id, quiet_hours={"start": f"{now - timedelta(hours=1):%H:%M}", "end": f"{end:%H:%M}"}
    )
    async with (
        await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=venv_bin("temporal-test-server"), runtime=temporal.runtime()
        ) as env,
        build_worker(env.client, settings.task_queue),
    ):
        eid = await add_message_event(t, t.fans[0], "good night!", "e1")
        h = await start_conversation(env.client, settings, t.creator_id, t.fans[0], [eid])
        p = await wait_pending(h)
        [draft] = await fetch("SELECT policy_report FROM drafts WHERE id = %s", [p.draft_id])
        assert "quiet hours" in draft["policy_report"]["send_window"]["reasons"][0]  # told before approving
        decision = Decision(p.draft_id, p.version, "approve", t.members["owner"])
        assert (await h.execute_update(ConversationWorkflow.decide, decision)).status == "approved"
        await wait_until(
            "SELECT count(*) = 1 FROM agent_actions WHERE kind = 'send_held' AND draft_id = %s", [p.draft_id]
        )
        assert await _outbound(t.creator_id) == []  # held, not sent and not dropped
        await skip(env, timedelta(hours=3))  # skipped by the test server: the workflow's timer fires
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [p.draft_id])
    [sent] = await _outbound(t.creator_id)
    assert sent["draft_id"] == p.draft_id and sent["sent_at"] >= end


async def test_a_creators_connection_overrides_the_service_webhook(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Delivery signs with the creator's own sealed secret and goes to the creator's own URL."""
    from core.crypto import connection_aad, keyring
    from tests.fakes.webhook import WebhookReceiver

    own = WebhookReceiver(secret="creator-own-secret-0123456789")
    own.server.start()
    try:
        async with drafted(temporal_env, settings) as (t, h, p):
            sealed = keyring(settings).seal(own.secret.encode(), connection_aad(t.creator_id, "onlyfans"))
            async with db.pool().connection() as conn:
                await conn.execute(
                    "INSERT INTO connections (creator_id, platform, webhook_url, key_id, secret_nonce, secret_sealed)"
                    " VALUES (%s, 'onlyfans', %s, %s, %s, %s)",
                    [t.creator_id, own.url, sealed.key_id, sealed.nonce, sealed.ciphertext],
                )
            decision = Decision(p.draft_id, p.version, "approve", t.members["owner"])
            await h.execute_update(ConversationWorkflow.decide, decision)
            await wait_until("SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [p.draft_id])
    finally:
        own.server.stop()
    assert own.calls == [{"key": p.draft_id, "signature_ok": True}]
    [sent] = await fetch("SELECT details FROM audit_log WHERE action = 'draft.sent'", [])
    assert sent["details"] == {"credential": "connection:onlyfans", "key_id": "test-a"}
