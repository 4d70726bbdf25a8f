"""An approval is never lost, doubled or preceded by a send when the worker dies around it. A worker process
(`huntaze up --worker-only`) on the Temporal dev server drafts answers to two fans; the platform's webhook receiver
listens on loopback.

1. The worker ends itself right after the first approval's transaction commits, while the approve call waits for the
   Update (the workflow task that ran the decision never completes: the test hook of workflows/
   conversation_activities.py). A fresh worker takes the conversation over: the approve call answers, and the
   message is delivered once. Meanwhile, the same approval sent again answers 200 at once (the draft says approved)
   and a reject is 409 `already_decided`.
2. The second approve call answers 200 while the platform holds the send; the worker is killed (SIGKILL) right
   then. A fresh worker delivers it again under the same idempotency key: the platform has one delivery.

Before each approval, nothing of that fan's reached the receiver."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from tests.api.conftest import client_for, make_app
from tests.api.crash_helpers import queue_and_env, stop, two_pending_drafts, worker
from tests.factories import Tenant, make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.webhook import WebhookReceiver
from tests.workflows.helpers import fetch, wait_until

SECRET = "approval-crash-secret"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(secret=SECRET)
    r.server.start()
    yield r
    r.release()
    r.server.stop()


def _approve(api: httpx.AsyncClient, t: Tenant, draft_id: str) -> asyncio.Task[httpx.Response]:
    return asyncio.create_task(
        api.post(
            f"/v1/drafts/{draft_id}/approve", json={"version": 1}, headers=t.auth("chatter"), timeout=300
        )
    )


async def test_an_approval_survives_the_worker_dying_around_it(
    temporal_dev_env: WorkflowEnvironment,
    settings: Settings,
    fake_llm: FakeOpenAI,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    t = await make_tenant(fans=0)
    crash = tmp_path / "crash"
    queue, env = queue_and_env(
        "apcrash",
        t,
        settings,
        temporal_dev_env,
        fake_llm,
        tmp_path,
        HUNTAZE_TEST_CRASH_FILE=str(crash),
        HUNTAZE_WEBHOOK_URL=receiver.url,
        HUNTAZE_WEBHOOK_SECRET=SECRET,
        # the held send outlasts the moment the SDK records the approval's workflow task
        HUNTAZE_WEBHOOK_TIMEOUT_S="120",
    )
    app = make_app(temporal_dev_env, settings.model_copy(update={"task_queue": queue}))
    log = tmp_path / "worker.log"
    procs = [await worker(env, log)]
    try:
        async with client_for(app) as api:
            first, second = [d["id"] for d in await two_pending_drafts(api, t)]

            # 1. The worker dies between the decision's commit and the end of its workflow task.
            assert receiver.calls == []
            crash.write_text("decision")
            approve = _approve(api, t, first)
            assert await asyncio.wait_for(procs[0].wait(), 120) == 137, log.read_text()[-3000:]
            assert not crash.exists()  # the hook fired: the approval committed, then the worker died
            assert await fetch("SELECT status FROM drafts WHERE id = %s", [first]) == [{"status": "approved"}]
            assert receiver.calls == [] and not approve.done()
            # No worker, the approval recorded but its Update not completed: the same approval again answers 200
            # with the draft as it is (no second decision); another decision is a conflict.
            again = await _approve(api, t, first)
            assert again.status_code == 200 and again.json()["status"] == "approved", again.text
            r = await api.post(
                f"/v1/drafts/{first}/reject", json={"version": 1, "reason": "no"}, headers=t.auth("chatter")
            )
            assert r.status_code == 409 and r.json()["error"]["code"] == "already_decided", r.text
            procs.append(await worker(env, log))
            r = await asyncio.wait_for(approve, 300)
            assert r.status_code == 200, r.text
            assert r.json()["status"] in ("approved", "sent"), r.text
            await wait_until(
                "SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [first], timeout_s=120
            )

            # 2. The approve call has answered; the worker is killed while the platform holds the send.
            assert [c["key"] for c in receiver.calls] == [first]
            receiver.pause_sends()
            r = await asyncio.wait_for(_approve(api, t, second), 300)
            assert r.status_code == 200, r.text
            procs[1].send_signal(signal.SIGKILL)
            assert await procs[1].wait() == -signal.SIGKILL
            # killed before the send completed
            assert await fetch("SELECT status FROM outbox WHERE draft_id = %s", [second]) != [
                {"status": "delivered"}
            ]
            receiver.release()
            procs.append(await worker(env, log))
            await wait_until(
                "SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [second], timeout_s=180
            )
            for draft_id in (first, second):
                r = await api.get(f"/v1/drafts/{draft_id}", headers=t.auth("viewer"))
                assert r.status_code == 200 and r.json()["status"] == "sent", r.text
    finally:
        await app.state.fresh_cache.close()
        await stop(*procs)

    assert set(receiver.delivered) == {first, second}, receiver.calls
    assert {c["key"] for c in receiver.calls} == {first, second}  # a repeated call carries the same key
    rows = await fetch(
        "SELECT d.status, count(m.*) AS sent FROM drafts d LEFT JOIN messages m ON m.draft_id = d.id"
        " WHERE d.creator_id = %s GROUP BY d.id, d.status",
        [t.creator_id],
    )
    assert rows == [{"status": "sent", "sent": 1}] * 2
    [n] = await fetch("SELECT count(*) AS n FROM outbox WHERE creator_id = %s", [t.creator_id])
    assert n["n"] == 2
