"""Rate limits per API key and per creator (429 with Retry-After) and the request body cap (413)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from temporalio.testing import WorkflowEnvironment

from api.limits import TokenBuckets
from core.settings import Settings
from tests.api.conftest import client_for, make_app
from tests.factories import make_tenant
from tests.workflows.helpers import fetch


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    b = TokenBuckets(per_minute=3, clock=lambda: now[0])
    assert [b.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take("k") == 20.0  # one token every 20 s
    assert b.take("other") == 0.0  # buckets are per key
    now[0] = 20.0
    assert b.take("k") == 0.0 and b.take("k") > 0
    assert TokenBuckets(per_minute=0).take("k") == 0.0  # 0 turns the limit off


@asynccontextmanager
async def _client(env: WorkflowEnvironment, s: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(env, s)
    async with client_for(app) as client:
        yield client
    await app.state.fresh_cache.close()


async def test_rate_limits_per_key_then_per_creator(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    s = settings.model_copy(update={"rate_per_key_per_min": 3, "rate_per_creator_per_min": 5})
    t = await make_tenant()
    async with _client(temporal_env, s) as api:
        codes = [(await api.get("/v1/inbox", headers=t.auth("viewer"))).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = await api.get("/v1/inbox", headers=t.auth("viewer"))
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert (
            r.json()["error"]["code"] == "rate_limited" and r.json()["error"]["details"]["limit"] == "api key"
        )
        # Another key of the same creator has its own bucket, but the creator's is nearly spent too.
        codes = [(await api.get("/v1/inbox", headers=t.auth("chatter"))).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = await api.get("/v1/inbox", headers=t.auth("owner"))
        assert r.status_code == 429 and r.json()["error"]["details"]["limit"] == "creator"
        other = await make_tenant("other")
        assert (
            await api.get("/v1/inbox", headers=other.auth())
        ).status_code == 200  # other creators unaffected


async def test_oversized_bodies_are_refused_and_store_nothing(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    s = settings.model_copy(update={"api_max_body_bytes": 2048})
    t = await make_tenant()
    event = {"event_id": "big", "kind": "message", "text": "x" * 3000, "fan": {"platform_fan_id": "f"}}
    async with _client(temporal_env, s) as api:
        r = await api.post("/v1/events", json=event, headers=t.auth())
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

        async def chunks():  # no Content-Length: counted as it arrives
            for _ in range(3):
                yield b'{"padding": "' + b"y" * 1000 + b'"}'

        r = await api.post(
            "/v1/events", content=chunks(), headers=t.auth() | {"content-type": "application/json"}
        )
        assert r.status_code == 413
    assert await fetch("SELECT * FROM events", []) == []
