"""Follow-up sequences on a time-skipping server: timers fire, a reply or purchase cancels, an opt-out stops,
caps and quiet hours are respected, and every step is a draft a human approves before anything is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from psycopg.types.json import Jsonb
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core import db, temporal
from core.settings import Settings, configure
from core.types import conversation_workflow_id
from tests.conftest import venv_bin
from tests.factories import Tenant, add_event, add_message_event, make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch, skip, wait_pending, wait_until
from workflows.conversation import ConversationWorkflow
from workflows.dispatch import dispatch_events
from workflows.types import Decision, PendingDraft
from workflows.worker import build_worker

# A conversation here idles out after 50 minutes, off every follow-up step (whole hours). Its first task starts the
# sequence, so with a one-hour idle close (the suite's) a one-hour step fell due milliseconds before that idle timer:
# the step's signal woke the conversation, whose workflow task then cancelled the idle timer, which the test server had
# fired meanwhile (it keeps running in real time while a task holds the skip). A real server drops the buffered fire;
# the test server refuses the completion ("invalid history builder state for action") and the skip never ends.
IDLE_CLOSE_S = 50 * 60


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    s = settings.model_copy(update={"idle_close_s": IDLE_CLOSE_S})
    configure(s)  # the follow-up step's dispatch reads the process's settings
    yield s
    configure(settings)


@pytest.fixture
async def env(settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """Its own test server per test: skipping days must not fire other tests' timers."""
    async with (
        await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=venv_bin("temporal-test-server"), runtime=temporal.runtime()
        ) as e,
        build_worker(e.client, settings.task_queue),
    ):
        yield e


async def _set(creator_id: str, column: str, value: dict[str, Any]) -> None:
    async with db.pool().connection() as conn:
        await conn.execute(
            f"UPDATE creators SET {column} = {column} || %s WHERE id = %s", [Jsonb(value), creator_id]
        )


async def _event(
    env: WorkflowEnvironment, s: Settings, t: Tenant, fan: str, kind: str, key: str, **kw: Any
) -> int:
    eid = (
        await add_message_event(t, fan, kw.pop("text"), key)
        if kind == "message"
        else await add_event(t, fan, kind, key, **kw)
    )
    await dispatch_events(env.client, s, t.creator_id, fan, [eid])
    # Handled before the test skips time: the time-skipping server does not see the local activities of the
    # workflow task handling it, so a skip must not start during them.
    await wait_until("SELECT processed_at IS NOT NULL FROM events WHERE id = %s", [eid])
    return eid


def _conversation(env: WorkflowEnvironment, t: Tenant, fan: str) -> WorkflowHandle[Any, Any]:
    return env.client.get_workflow_handle(conversation_workflow_id(t.creator_id, fan))


async def _approve(h: WorkflowHandle[Any, Any], t: Tenant, p: PendingDraft) -> None:
    res = await h.execute_update(
        ConversationWorkflow.decide, Decision(p.draft_id, p.version, "approve", t.members["owner"])
    )
    assert res.status == "approved"


async def _followups(fan: str) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT id::text AS id, kind, status, stop_reason, steps_done, segment, jsonb_array_length(steps) AS n"
        " FROM followups WHERE fan_id = %s ORDER BY started_at",
        [fan],
    )


async def _step_drafts(fan: str) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT id::text AS id, status, followup_id::text AS followup_id, send_after, decided_by FROM drafts"
        " WHERE fan_id = %s AND followup_id IS NOT NULL ORDER BY created_at",
        [fan],
    )


async def _due_events(fan: str) -> list[dict[str, Any]]:
    return await fetch(
        "SELECT payload FROM events WHERE fan_id = %s AND kind = 'followup_due' ORDER BY id", [fan]
    )


async def _subscribed(env: WorkflowEnvironment, s: Settings, t: Tenant, fan: str) -> WorkflowHandle[Any, Any]:
    """A new subscriber: the welcome DM is approved and sent; the welcome sequence is running."""
    await _event(env, s, t, fan, "subscription_started", "sub-1", amount_cents=999)
    h = _conversation(env, t, fan)
    await _approve(h, t, await wait_pending(h))
    await wait_until("SELECT count(*) = 1 FROM followups WHERE fan_id = %s AND status = 'active'", [fan])
    return h


async def test_welcome_steps_are_drafted_on_time_and_sent_only_after_approval(
    env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant()
    fan = t.fans[0]
    h = await _subscribed(env, settings, t, fan)
    [welcome] = await _followups(fan)
    assert (welcome["kind"], welcome["n"]) == ("welcome", 2)
    await skip(env, timedelta(hours=23))
    assert await _due_events(fan) == []  # not before its time
    await skip(env, timedelta(hours=2))
    await wait_until("SELECT count(*) = 1 FROM drafts WHERE fan_id = %s AND followup_id IS NOT NULL", [fan])
    [step] = await _step_drafts(fan)
    assert step["status"] == "pending_review" and step["decided_by"] is None
    # at one of the fan's best hours of the week, which the creator's first refresh (started by the subscription)
    # computed from the fan's one event: that event's hour is among them. Within the week ahead.
    [score] = await fetch(
        "SELECT s.best_hours, f.timezone, e.occurred_at FROM fan_scores s JOIN fans f ON f.id = s.fan_id"
        " JOIN events e ON e.fan_id = s.fan_id AND e.kind = 'subscription_started' WHERE s.fan_id = %s",
        [fan],
    )
    event_local = score["occurred_at"].astimezone(ZoneInfo(score["timezone"]))
    assert event_local.weekday() * 24 + event_local.hour in score["best_hours"]
    assert step["send_after"] is not None
    send_local = step["send_after"].astimezone(ZoneInfo(score["timezone"]))
    assert send_local.weekday() * 24 + send_local.hour in score["best_hours"]
    assert step["send_after"] - await env.get_current_time() < timedelta(days=7)
    assert "welcome follow-up" in str(fake_llm.draft_requests()[-1]["messages"])
    # Not approved: nothing goes out, however long we wait, and the next step waits for the review.
    await skip(env, timedelta(hours=6))
    [n] = await fetch("SELECT count(*) AS n FROM outbox WHERE draft_id = %s", [step["id"]])
    assert n["n"] == 0
    p = await wait_pending(h)
    assert p.draft_id == step["id"]
    await _approve(h, t, p)
    # past the best hour (which may have begun already when the step was drafted)
    await skip(env, max(step["send_after"] - await env.get_current_time(), timedelta(0)) + timedelta(hours=1))
    await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [step["id"]])
    [sent] = await fetch("SELECT sent_at FROM messages WHERE draft_id = %s", [step["id"]])
    assert sent["sent_at"] >= step["send_after"]
    await skip(env, timedelta(days=3))
    await wait_until("SELECT count(*) = 2 FROM drafts WHERE fan_id = %s AND followup_id IS NOT NULL", [fan])
    await wait_until("SELECT status = 'completed' FROM followups WHERE id = %s", [welcome["id"]])


async def test_a_reply_cancels_the_sequence(env: WorkflowEnvironment, settings: Settings) -> None:
    t = await make_tenant()
    fan = t.fans[0]
    h = await _subscribed(env, settings, t, fan)
    await _event(env, settings, t, fan, "message", "m-1", text="hey! loved the welcome")
    await wait_pending(h)
    await wait_until("SELECT status = 'cancelled' FROM followups WHERE fan_id = %s", [fan])
    [fu] = await _followups(fan)
    assert fu["stop_reason"] == "the fan replied"
    await skip(env, timedelta(days=5))
    assert await _due_events(fan) == [] and await _step_drafts(fan) == []


async def test_expiry_starts_a_win_back_tuned_by_segment_and_a_new_subscription_stops_it(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    t = await make_tenant(fans=2)
    whale, regular = t.fans
    async with db.pool().connection() as conn:
        # a top spender (the only buyer beyond subscriptions: spend tier 'whale') and a subscriber
        await conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, platform_txn_id, occurred_at)"
            " VALUES (%(c)s, %(w)s, 'tip', 80000, 'old-tip', now() - interval '40 days'),"
            " (%(c)s, %(r)s, 'subscription', 999, 'old-sub', now() - interval '40 days')",
            {"c": t.creator_id, "w": whale, "r": regular},
        )
    # the creator has no segmentation run: the first expiry starts its first refresh, which labels the lapsed top
    # spender 'expired' with spend tier 'whale' before the follow-up agent tunes the win-back
    await _event(env, settings, t, whale, "subscription_expired", "x-1")
    await _event(env, settings, t, regular, "subscription_expired", "x-2")
    for fan in (whale, regular):
        await wait_until("SELECT count(*) = 1 FROM followups WHERE fan_id = %s AND kind = 'win_back'", [fan])
    [w], [r] = await _followups(whale), await _followups(regular)
    assert (w["segment"], w["n"]) == ("whale", 3) and (r["segment"], r["n"]) == ("expired", 2)
    await skip(env, timedelta(hours=7))  # the whale's first step is at 6 h, the regular fan's at 24 h
    await wait_until("SELECT count(*) = 1 FROM drafts WHERE fan_id = %s AND followup_id IS NOT NULL", [whale])
    assert await _due_events(regular) == []
    await _event(env, settings, t, regular, "subscription_started", "s-2", amount_cents=999)
    await wait_until(
        "SELECT status = 'cancelled' FROM followups WHERE fan_id = %s AND kind = 'win_back'", [regular]
    )
    [r] = [x for x in await _followups(regular) if x["kind"] == "win_back"]
    assert r["stop_reason"] == "the fan subscribed again"


async def test_opt_out_stops_every_sequence(env: WorkflowEnvironment, settings: Settings) -> None:
    t = await make_tenant()
    fan = t.fans[0]
    await _event(env, settings, t, fan, "subscription_expired", "x-1")
    await wait_until("SELECT count(*) = 1 FROM followups WHERE fan_id = %s AND status = 'active'", [fan])
    await _event(env, settings, t, fan, "message", "m-1", text="stop messaging me")
    await wait_until("SELECT status = 'cancelled' FROM followups WHERE fan_id = %s", [fan])
    [fu] = await _followups(fan)
    assert fu["stop_reason"] == "the fan opted out"
    await skip(env, timedelta(days=8))
    assert await _due_events(fan) == []
    [n] = await fetch("SELECT count(*) AS n FROM drafts WHERE fan_id = %s", [fan])
    assert n["n"] == 0


async def test_a_purchase_of_the_offered_item_cancels_the_ppv_reminder(
    env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant(fans=2)
    item, other_item = t.catalog
    # The model names the item by its prompt reference (item1: the cheapest); the draft stores its id.
    offer = {"text": "I made a beach set just for you", "offer": {"catalog_id": "item1", "price_cents": 1500}}
    fake_llm.script(offer, offer)
    for fan, key in zip(t.fans, ("m-1", "m-2"), strict=True):
        await _event(env, settings, t, fan, "message", key, text="what's new?")
        h = _conversation(env, t, fan)
        await _approve(h, t, await wait_pending(h))
        await wait_until(
            "SELECT count(*) = 1 FROM followups WHERE fan_id = %s AND kind = 'ppv_reminder'", [fan]
        )
    buyer, other = t.fans
    await _event(env, settings, t, buyer, "purchase", "p-1", amount_cents=1500, catalog_id=item)
    await _event(env, settings, t, other, "purchase", "p-2", amount_cents=2500, catalog_id=other_item)
    for fan in t.fans:  # the thank-you for each purchase waits for a human; decide it so the reminder can run
        h = _conversation(env, t, fan)
        await h.execute_update(
            ConversationWorkflow.decide,
            Decision(
                *(lambda p: (p.draft_id, p.version))(await wait_pending(h)), "reject", t.members["owner"]
            ),
        )
    await skip(env, timedelta(hours=25))
    await wait_until("SELECT count(*) = 1 FROM events WHERE fan_id = %s AND kind = 'followup_due'", [other])
    [fu] = await _followups(buyer)
    assert (fu["status"], fu["stop_reason"]) == ("cancelled", "the fan bought")
    assert await _due_events(buyer) == []
    [due] = await _due_events(other)  # buying a different item does not count
    assert due["payload"]["sequence"] == "ppv_reminder" and due["payload"]["catalog_id"] == item


async def test_the_weekly_cap_defers_a_step(env: WorkflowEnvironment, settings: Settings) -> None:
    t = await make_tenant()
    fan = t.fans[0]
    await _set(
        t.creator_id,
        "followup_config",
        {
            "max_per_fan_per_week": 1,
            "win_back": {
                "steps": [{"after_hours": 1, "intent": "first"}, {"after_hours": 2, "intent": "second"}]
            },
        },
    )
    await _event(env, settings, t, fan, "subscription_expired", "x-1")
    await skip(env, timedelta(hours=1, minutes=30))
    await wait_until("SELECT count(*) = 1 FROM drafts WHERE fan_id = %s AND followup_id IS NOT NULL", [fan])
    h = _conversation(env, t, fan)
    p = await wait_pending(h)
    await h.execute_update(
        ConversationWorkflow.decide, Decision(p.draft_id, p.version, "reject", t.members["owner"])
    )
    await skip(env, timedelta(hours=2))
    await wait_until(
        "SELECT count(*) >= 1 FROM agent_actions WHERE fan_id = %s AND kind = 'followup_deferred'", [fan]
    )
    [deferred] = await fetch(
        "SELECT details FROM agent_actions WHERE fan_id = %s AND kind = 'followup_deferred' ORDER BY id LIMIT 1",
        [fan],
    )
    assert deferred["details"]["reason"] == "at most 1 follow-ups to this fan in 7 days"
    [first] = await _due_events(fan)
    await skip(env, timedelta(days=3))
    assert len(await _due_events(fan)) == 1  # still one within the week
    await skip(env, timedelta(days=4))
    await wait_until("SELECT count(*) = 2 FROM events WHERE fan_id = %s AND kind = 'followup_due'", [fan])
    assert first["payload"]["intent"] == "first"


async def test_quiet_hours_hold_an_approved_step(env: WorkflowEnvironment, settings: Settings) -> None:
    """The step's draft may be approved at any hour; the send waits for the end of the fan's quiet hours."""
    t = await make_tenant()
    fan = t.fans[0]
    await _set(
        t.creator_id,
        "followup_config",
        {
            "default_best_hours": list(range(24)),  # any hour is a good one: only quiet hours hold it
            "win_back": {"steps": [{"after_hours": 1, "intent": "come back"}]},
        },
    )
    await _event(env, settings, t, fan, "subscription_expired", "x-1")
    await skip(env, timedelta(hours=1, minutes=5))
    await wait_until("SELECT count(*) = 1 FROM drafts WHERE fan_id = %s AND followup_id IS NOT NULL", [fan])
    [step] = await _step_drafts(fan)
    # quiet hours from now until two hours from now, in the fan's timezone (UTC)
    now = (await fetch("SELECT send_after FROM drafts WHERE id = %s", [step["id"]]))[0]["send_after"]
    end = now + timedelta(hours=2)
    await _set(
        t.creator_id,
        "policy_config",
        {"quiet_hours": {"start": f"{now - timedelta(hours=1):%H:%M}", "end": f"{end:%H:%M}"}},
    )
    h = _conversation(env, t, fan)
    await _approve(h, t, await wait_pending(h))
    await wait_until(
        "SELECT count(*) = 1 FROM agent_actions WHERE kind = 'send_held' AND draft_id = %s", [step["id"]]
    )
    [n] = await fetch("SELECT count(*) AS n FROM outbox WHERE draft_id = %s", [step["id"]])
    assert n["n"] == 0
    await skip(env, timedelta(hours=3))
    await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [step["id"]])
    [sent] = await fetch("SELECT sent_at FROM messages WHERE draft_id = %s", [step["id"]])
    assert sent["sent_at"] >= end.replace(second=0, microsecond=0)
