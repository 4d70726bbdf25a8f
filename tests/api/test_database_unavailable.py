"""A request while Postgres is down (a restart, a failover) answers a JSON 503 that says to retry, with
Retry-After, never a plain-text 500; once the server is back, the same request succeeds. On a Postgres of its
own, so stopping it touches no other test."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from core import db
from core.migrate import migrate
from core.settings import Settings
from devstack.services import restart_postgres, start_postgres, stop_postgres
from tests.api.conftest import client_for, make_app
from tests.factories import make_tenant


@pytest.fixture
def own_postgres() -> Iterator[tuple[Path, str]]:
    root = Path(tempfile.mkdtemp(prefix="hz-pg-down-"))
    url = start_postgres(root, database="down")
    migrate(url)
    yield root, url
    stop_postgres(root)
    shutil.rmtree(root, ignore_errors=True)


def _event(n: int) -> dict[str, object]:
    return {"event_id": f"e-{n}", "kind": "message", "text": "hi", "fan": {"platform_fan_id": "f-1"}}


async def test_a_stopped_database_is_a_json_503_with_retry_after(
    own_postgres: tuple[Path, str],
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, url = own_postgres
    app = make_app(temporal_env, settings)
    # this test's own server behind the pool every request uses (the settings fixture closes it afterwards)
    pool = await db.open_pool(url, 2)
    monkeypatch.setattr(pool, "timeout", 1.0)  # a request waits this long for a connection, then gives up
    try:
        t = await make_tenant("down")
        async with client_for(app) as api:
            ok = await api.post("/v1/events", json=_event(1), headers=t.auth("manager"))
            assert ok.status_code == 202, ok.text

            await asyncio.to_thread(stop_postgres, root)
            for method, path, body in (
                ("POST", "/v1/events", _event(2)),
                ("GET", "/v1/fans", None),
            ):
                r = await api.request(method, path, json=body, headers=t.auth("manager"))
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert r.headers["content-type"].startswith("application/json")
                assert int(r.headers["Retry-After"]) >= 1
                err = r.json()["error"]
                assert err["code"] == "database_unavailable" and "retry" in err["message"], err

            await asyncio.to_thread(restart_postgres, root)
            # a client that honours Retry-After gets through once the pool has reconnected
            for _ in range(30):
                again = await api.post("/v1/events", json=_event(2), headers=t.auth("manager"))
                if again.status_code != 503:
                    break
                await asyncio.sleep(1)
            assert again.status_code == 202, again.text
    finally:
        await app.state.fresh_cache.close()
