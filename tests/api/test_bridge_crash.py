"""A worker killed (SIGKILL) while the bridge adapter is sending to the platform: a fresh worker sends the same
request again (same idempotency key, the draft id); the adapter answers the first send's receipt without a second
send. The platform receives exactly one message and the delivery keeps its message id."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Runtime
from connectors.bridge_adapter import Adapter, build_client
from core.settings import Settings, configure
from tests.api.conftest import client_for
from tests.api.crash_helpers import kill_during_send, queue_and_env, stop, worker
from tests.api.test_bridge import SECRET, adapter_config
from tests.factories import make_tenant
from tests.fakes.loopback import LoopbackServer
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.platform import FakePlatform
from tests.workflows.helpers import fetch, wait_until


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    p = FakePlatform("platform-api-key-0123")
    p.server.start()
    yield p
    p.release()
    p.server.stop()


async def test_a_worker_killed_during_a_bridge_send_never_sends_twice(
    temporal_dev_env: WorkflowEnvironment,
    settings: Settings,
    fake_llm: FakeOpenAI,
    platform: FakePlatform,
    tmp_path: Path,
) -> None:
    t = await make_tenant(fans=0)
    queue, env = queue_and_env(
        "brcrash", t, settings, temporal_dev_env, fake_llm, tmp_path, HUNTAZE_ALLOW_LOOPBACK_WEBHOOKS="true"
    )
    s = settings.model_copy(update={"task_queue": queue})
    configure(s)
    app = create_app(s, temporal=temporal_dev_env.client)
    app.state.runtime = Runtime(temporal=temporal_dev_env.client, settings=s)
    config = adapter_config(t, platform, tmp_path / "state.json")
    adapter = Adapter(config, build_client(config.client))
    server = LoopbackServer(adapter.app).start()
    log = tmp_path / "worker.log"
    first = await worker(env, log)
    second = None
    try:
        async with client_for(app) as api:
            r = await api.put(
                "/v1/connections/onlyfans",
                json={"webhook_url": f"{server.url}/send", "secret": SECRET},
                headers=t.auth(),
            )
            assert r.status_code == 200, r.text
            platform.fan_writes("of-fan-9", "still up?")
            assert await adapter.relay_events(api) == 1
            draft, approve = await kill_during_send(api, temporal_dev_env.client, t, platform, first, log)
            second = await worker(env, log)
            try:
                await wait_until(
                    "SELECT platform_message_id IS NOT NULL FROM outbox WHERE draft_id = %s",
                    [draft["id"]],
                    timeout_s=300,
                )
            except AssertionError as exc:
                rows = await fetch(
                    "SELECT status, attempts, last_error, receipt FROM outbox WHERE creator_id = %s",
                    [t.creator_id],
                )
                raise AssertionError(f"{rows} {platform.sends} {log.read_text()[-3000:]}") from exc
            r = await asyncio.wait_for(approve, 400)
            assert r.status_code == 200, r.text
    finally:
        await app.state.fresh_cache.close()
        server.stop()
        await stop(first, second)
    assert len(platform.sends) == 1, platform.sends
    [row] = await fetch("SELECT status, platform_message_id FROM outbox WHERE draft_id = %s", [draft["id"]])
    assert row == {"status": "delivered", "platform_message_id": platform.sends[0]["id"]}
