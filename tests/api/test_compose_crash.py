"""A member's message with the worker killed between its commit and the end of its activity: a worker process
(`huntaze up --worker-only`) ends itself right after the message's transaction commits (the chaos run's hook);
a fresh worker takes the conversation over. The message is sent exactly once and the POST answers."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Runtime
from core.settings import Settings
from tests.api.conftest import client_for
from tests.api.crash_helpers import stop, worker, worker_env
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch


async def test_a_worker_killed_after_the_commit_still_sends_once(
    temporal_dev_env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    t = await make_tenant()
    fan, chatter = t.fans[0], t.members["chatter"]
    crash = tmp_path / "crash"
    crash.touch()
    queue = f"crash-{os.getpid()}-{t.creator_id[:8]}"
    env = worker_env(
        settings,
        temporal_dev_env,
        fake_llm,
        queue,
        tmp_path,
        {"HUNTAZE_TEST_CRASH_FILE": str(crash)},
    )
    log = tmp_path / "worker.log"
    s = settings.model_copy(update={"task_queue": queue})
    app = create_app(s, temporal=temporal_dev_env.client)
    app.state.runtime = Runtime(temporal=temporal_dev_env.client, settings=s)
    first = await worker(env, log)
    second = None
    try:
        async with client_for(app) as api:
            post = asyncio.create_task(
                api.post(
                    f"/v1/fans/{fan}/messages",
                    json={"text": "be right there"},
                    headers=t.auth("chatter") | {"Idempotency-Key": "k-1"},
                    timeout=120,
                )
            )
            assert await asyncio.wait_for(first.wait(), 90) == 137, log.read_text()[-3000:]
            assert not crash.exists()  # the hook fired: the message was committed, then the worker died
            [stored] = await fetch("SELECT status FROM drafts WHERE creator_id = %s", [t.creator_id])
            assert stored["status"] == "approved"  # accepted, not sent
            second = await worker(env, log)
            r = await asyncio.wait_for(post, 120)
            assert r.status_code == 201, r.text
            assert r.json()["state"] in ("sent", "queued")
            again = await api.post(
                f"/v1/fans/{fan}/messages",
                json={"text": "be right there"},
                headers=t.auth("chatter") | {"Idempotency-Key": "k-1"},
                timeout=120,
            )
            assert again.status_code == 201 and again.json()["id"] == r.json()["id"], again.text
            for _ in range(600):
                if await fetch(
                    "SELECT 1 FROM drafts WHERE creator_id = %s AND status = 'sent'", [t.creator_id]
                ):
                    break
                await asyncio.sleep(0.1)
    finally:
        await app.state.fresh_cache.close()
        await stop(first, second)
    sent = await fetch(
        "SELECT sent_by::text AS sent_by FROM messages WHERE creator_id = %s AND direction = 'out'",
        [t.creator_id],
    )
    assert sent == [{"sent_by": chatter}]
    assert len(await fetch("SELECT 1 FROM outbox WHERE creator_id = %s", [t.creator_id])) == 1
    [n] = await fetch(
        "SELECT count(*) AS n FROM audit_log WHERE creator_id = %s AND action = 'message.written'",
        [t.creator_id],
    )
    assert n["n"] == 1
