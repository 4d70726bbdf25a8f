"""API keys and inbox pages come from memory, yet a write committed before a request is always seen by it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from psycopg import Notify
from psycopg.types.json import Jsonb

from agents.segmentation.refresh import refresh_segments
from api.fresh_cache import CHANNEL, FreshCache
from tests.api.conftest import client_for
from tests.factories import Tenant, make_tenant


async def _exec(sql: str, params: list[Any]) -> None:
    from core import db

    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute(sql, params)


async def _draft(t: Tenant, fan: str, text: str) -> str:
    draft_id = str(uuid.uuid4())
    await _exec(
        "INSERT INTO drafts (id, creator_id, fan_id, source_key, workflow_id, status, text, policy_report,"
        " expires_at) VALUES (%s, %s, %s, %s, 'wf', 'pending_review', %s, %s, now() + interval '1 day')",
        [draft_id, t.creator_id, fan, f"k-{draft_id}", text, Jsonb({"verdict": "pass", "findings": []})],
    )
    return draft_id


def _fan(page: dict[str, Any], draft_id: str) -> dict[str, Any]:
    fan: dict[str, Any] = next(i["fan"] for i in page["items"] if i["id"] == draft_id)
    return fan


async def test_inbox_pages_are_served_from_memory_and_never_stale(app: FastAPI) -> None:
    t = await make_tenant()
    cache: FreshCache = app.state.fresh_cache
    d0 = await _draft(t, t.fans[0], "hello there")
    async with client_for(app) as api:

        async def inbox() -> dict[str, Any]:
            r = await api.get("/v1/inbox", headers=t.auth("viewer"))
            assert r.status_code == 200, r.text
            page: dict[str, Any] = r.json()
            return page

        first = await inbox()
        hits = cache.hits
        assert await inbox() == first and cache.hits >= hits + 2  # the key and the page
        assert [i["id"] for i in first["items"]] == [d0]

        # every table the page shows, written behind the API's back, is seen by the very next request
        await _exec("UPDATE fans SET display_name = 'Renamed' WHERE id = %s", [t.fans[0]])
        assert _fan(await inbox(), d0)["display_name"] == "Renamed"
        await _exec(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, occurred_at)"
            " VALUES (%s, %s, 'tip', 700, now())",
            [t.creator_id, t.fans[0]],
        )
        assert _fan(await inbox(), d0)["total_spent_cents"] == 700
        from core import db

        async with db.pool().connection() as conn, conn.transaction():
            await refresh_segments(conn, t.creator_id)
        assert _fan(await inbox(), d0)["segment"] is not None
        for i in range(25):  # a write and a read back to back, many times: no window where the old page shows
            await _exec(
                "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, 'in', %s, %s)",
                [t.creator_id, t.fans[0], f"message {i}", datetime.now(UTC) + timedelta(seconds=i)],
            )
            assert _fan(await inbox(), d0)["last_messages"][-1]["text"] == f"message {i}"
        d1 = await _draft(t, t.fans[1], "second")
        assert [i["id"] for i in (await inbox())["items"]] == [d0, d1]
        await _exec("UPDATE drafts SET status = 'rejected' WHERE id = %s", [d0])
        assert [i["id"] for i in (await inbox())["items"]] == [d1]
        await _exec("DELETE FROM drafts WHERE id = %s", [d1])
        assert (await inbox())["items"] == []


async def test_a_revoked_key_or_changed_role_counts_from_the_next_request(app: FastAPI) -> None:
    t = await make_tenant()
    other = await make_tenant("other")
    async with client_for(app) as api:
        assert (await api.get("/v1/inbox", headers=t.auth("viewer"))).status_code == 200
        assert (await api.get("/v1/inbox", headers=other.auth("viewer"))).status_code == 200
        await _exec("UPDATE api_keys SET revoked_at = now() WHERE member_id = %s", [t.members["viewer"]])
        r = await api.get("/v1/inbox", headers=t.auth("viewer"))
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        # the manager may read the follow-up configuration, then is made a viewer, which may not change it
        cfg = await api.get("/v1/followups/config", headers=t.auth("manager"))
        assert cfg.status_code == 200
        await _exec("UPDATE members SET role = 'viewer' WHERE id = %s", [t.members["manager"]])
        r = await api.put("/v1/followups/config", json=cfg.json(), headers=t.auth("manager"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        # the other creator's cached key is untouched and still works
        assert (await api.get("/v1/inbox", headers=other.auth("viewer"))).status_code == 200


async def test_a_lost_listen_connection_means_reading_the_database_until_it_is_back(app: FastAPI) -> None:
    t = await make_tenant()
    d0 = await _draft(t, t.fans[0], "hello")
    cache: FreshCache = app.state.fresh_cache
    cache.retry_s = 3600.0  # stays blind until we allow a reconnection below
    async with client_for(app) as api:
        assert (await api.get("/v1/inbox", headers=t.auth())).status_code == 200
        assert cache._conn is not None
        pid = cache._conn.pgconn.backend_pid
        await _exec("SELECT pg_terminate_backend(%s)", [pid])
        await _exec("UPDATE fans SET display_name = 'While blind' WHERE id = %s", [t.fans[0]])
        for _ in range(3):  # the first request finds the connection gone; none serves a stale page
            r = await api.get("/v1/inbox", headers=t.auth())
            assert r.status_code == 200 and _fan(r.json(), d0)["display_name"] == "While blind"
        assert cache._conn is None and await cache.catch_up() is None
        cache.retry_s, cache._retry_at = 0.0, 0.0
        assert await cache.catch_up() is not None and cache._conn.pgconn.backend_pid != pid
        await _exec("UPDATE fans SET display_name = 'Back' WHERE id = %s", [t.fans[0]])
        r = await api.get("/v1/inbox", headers=t.auth())
        assert _fan(r.json(), d0)["display_name"] == "Back"


async def test_an_answer_computed_while_its_scope_changed_is_not_kept() -> None:
    cache = FreshCache("postgresql://unused", 2)
    ticket = cache._ticket()
    cache._notified(Notify(CHANNEL, "inbox:a", 1))  # a write committed while the page was computed
    cache.put("k", "inbox:a", ticket, b"stale")
    assert cache.get("k", cache._ticket()) is None
    cache.put("k", "inbox:a", cache._ticket(), b"fresh")
    cache.put("j", "inbox:b", ticket, b"other scope")  # changes of other scopes do not matter
    assert cache.get("k", cache._ticket()) == b"fresh" and cache.get("j", ticket) == b"other scope"
    cache._notified(Notify(CHANNEL, "inbox:b", 1))
    assert cache.get("j", cache._ticket()) is None and cache.get("k", ticket) == b"fresh"
    cache.put("x", "inbox:c", cache._ticket(), b"x")
    cache.put("y", "inbox:c", cache._ticket(), b"y")  # over max_entries: the least recently used goes
    assert cache.get("k", cache._ticket()) is None and cache.get("y", cache._ticket()) == b"y"


async def test_api_without_cache_reads_the_database(app: FastAPI, settings: Any) -> None:
    t = await make_tenant()
    off = FreshCache(settings.database_url, 0)
    app.state.fresh_cache = off
    d0 = await _draft(t, t.fans[0], "hello")
    async with client_for(app) as api:
        r: httpx.Response = await api.get("/v1/inbox", headers=t.auth())
        assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [d0]
    assert off.hits == off.misses == 0 and off._conn is None
