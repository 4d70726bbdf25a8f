"""The demo's wait for drafts: done when every event it sent is handled, and not before."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from devstack.demo import _wait_for_drafts
from tests.api.conftest import client_for, make_app
from tests.api.test_api import msg
from tests.factories import make_tenant
from workflows.worker import build_worker


async def test_the_wait_ends_when_every_event_is_handled(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = await make_tenant("demo-wait")
    app = make_app(temporal_env, settings)
    async with build_worker(temporal_env.client, settings.task_queue), client_for(app) as api:
        for i in range(2):
            r = await api.post("/v1/events", json=msg(f"w-{i}", fan=f"of-w{i}"), headers=t.auth())
            assert r.status_code == 202, r.text
        assert await _wait_for_drafts(t.creator_id, ["w-0", "w-1"], timeout_s=120)
        # an event that never arrived keeps it waiting until the deadline
        assert not await _wait_for_drafts(t.creator_id, ["w-0", "w-1", "w-never"], timeout_s=1)
    await app.state.fresh_cache.close()
