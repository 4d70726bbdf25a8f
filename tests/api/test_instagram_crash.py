"""A worker killed (SIGKILL) while Instagram's Send API is answering its call: a fresh worker takes the conversation
over and does not call again (Instagram's Send API takes no idempotency key, so the attempt was marked before the
call). Instagram receives exactly one message; the delivery waits for a human, saying its outcome is unknown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Runtime
from core.settings import Settings, configure
from tests.api.conftest import client_for
from tests.api.crash_helpers import kill_during_send, queue_and_env, stop, worker
from tests.api.test_instagram import ACCOUNT, APP_SECRET, HOOK, TOKEN, connect
from tests.factories import make_tenant
from tests.fakes.graph import FakeGraph
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch, wait_until


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    g = FakeGraph(APP_SECRET)
    g.server.start()
    g.connect(ACCOUNT, TOKEN)
    yield g
    g.release()
    g.server.stop()


async def test_a_worker_killed_during_the_send_never_sends_twice(
    temporal_dev_env: WorkflowEnvironment,
    settings: Settings,
    fake_llm: FakeOpenAI,
    graph: FakeGraph,
    tmp_path: Path,
) -> None:
    t = await make_tenant()
    queue, env = queue_and_env(
        "igcrash",
        t,
        settings,
        temporal_dev_env,
        fake_llm,
        tmp_path,
        HUNTAZE_INSTAGRAM_GRAPH_URL=graph.base_url,
    )
    s = settings.model_copy(
        update={
            "task_queue": queue,
            "instagram_app_secret": SecretStr(APP_SECRET),
            "instagram_graph_url": graph.base_url,
        }
    )
    configure(s)
    app = create_app(s, temporal=temporal_dev_env.client)
    app.state.runtime = Runtime(temporal=temporal_dev_env.client, settings=s)
    log = tmp_path / "worker.log"
    first = await worker(env, log)
    second = None
    try:
        async with client_for(app) as api:
            await connect(api, t)
            body, headers = graph.user_writes(ACCOUNT, "igsid-9", "still up?")
            assert (await api.post(HOOK, content=body, headers=headers)).json()["stored"] == 1
            draft, approve = await kill_during_send(api, temporal_dev_env.client, t, graph, first, log)
            second = await worker(env, log)
            try:
                await wait_until(
                    "SELECT status = 'failed' FROM outbox WHERE draft_id = %s", [draft["id"]], timeout_s=300
                )
            except AssertionError as exc:
                rows = await fetch(
                    "SELECT status, attempts, last_error, send_started_at FROM outbox WHERE creator_id = %s",
                    [t.creator_id],
                )
                raise AssertionError(f"{rows} {graph.sends} {log.read_text()[-3000:]}") from exc
            r = await asyncio.wait_for(approve, 400)
            assert r.status_code == 200, r.text
            delivery = (await api.get(f"/v1/deliveries/{draft['id']}", headers=t.auth())).json()
    finally:
        await app.state.fresh_cache.close()
        await stop(first, second)
    assert len(graph.sends) == 1, graph.sends
    assert "interrupted" in delivery["error"] and "may or may not have reached the fan" in delivery["error"]
    assert (
        len(await fetch("SELECT 1 FROM messages WHERE creator_id = %s AND direction = 'out'", [t.creator_id]))
        == 1
    )
