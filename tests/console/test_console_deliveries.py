"""The console's deliveries page over ASGI (no browser): failed deliveries are listed with their error, and a
manager retries or discards one through the API's own endpoints (CSRF and origin checked like every form)."""

from __future__ import annotations

from typing import Any

from core import db
from tests.api.conftest import client_for
from tests.console.test_console_security import ORIGIN, browser, make_console, sign_in
from tests.factories import Tenant, make_tenant
from tests.workflows.helpers import fetch

__all__ = ["make_console"]  # the fixture, used by name below


async def _failed_delivery(t: Tenant, fan: str, key: str, app: Any) -> str:
    """A sent draft whose delivery the platform reported failed."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, policy_report, expires_at,"
            " decided_by) VALUES (%s, %s, %s, 'w', 'sent', 'hi', '{}', now(), %s) RETURNING id::text AS id",
            [t.creator_id, fan, key, t.members["owner"]],
        )
        draft = str((await cur.fetchone() or {})["id"])
        await conn.execute(
            "INSERT INTO outbox (creator_id, draft_id, fan_id, platform, payload, status)"
            " VALUES (%s, %s, %s, 'onlyfans', '{}', 'delivered')",
            [t.creator_id, draft, fan],
        )
    async with client_for(app) as api:
        r = await api.post(
            f"/v1/deliveries/{draft}",
            json={"status": "failed", "error": f"blocked by {key}"},
            headers=t.auth("manager"),
        )
        assert r.status_code == 200, r.text
    return draft


async def test_a_manager_retries_or_discards_a_failed_delivery_from_the_console(make_console: Any) -> None:
    app, _ = make_console()
    t = await make_tenant()
    retried = await _failed_delivery(t, t.fans[0], "one", app)
    discarded = await _failed_delivery(t, t.fans[1], "two", app)
    async with browser(app) as http:
        viewer = await sign_in(http, t, "viewer")
        page = await http.get("/console/deliveries", headers={"Cookie": viewer["Cookie"]})
        assert page.status_code == 200 and "blocked by one" in page.text and "blocked by two" in page.text
        assert "Retry" not in page.text  # a viewer sees them, and cannot act
        assert ">Fan 0</a>" in page.text and ">Fan 1</a>" in page.text  # by the fans' names
        s = await sign_in(http, t, "manager")
        cookie = {"Cookie": s["Cookie"]}
        page = await http.get("/console/deliveries", headers=cookie)
        assert f"/console/deliveries/{retried}/retry" in page.text
        refused = await http.post(
            f"/console/deliveries/{retried}/retry", data={}, headers={**cookie, "Origin": ORIGIN}
        )
        assert refused.status_code == 403
        r = await http.post(
            f"/console/deliveries/{retried}/retry",
            data={"csrf": s["csrf"]},
            headers={**cookie, "Origin": ORIGIN},
        )
        assert r.status_code == 303, r.text
        r = await http.post(
            f"/console/deliveries/{discarded}/discard",
            data={"csrf": s["csrf"], "reason": "the fan left"},
            headers={**cookie, "Origin": ORIGIN},
        )
        assert r.status_code == 303, r.text
        again = await http.post(
            f"/console/deliveries/{retried}/discard",
            data={"csrf": s["csrf"], "reason": "too late"},
            headers={**cookie, "Origin": ORIGIN},
        )
        assert again.status_code == 409 and "not_failed" in again.text
        left = await http.get("/console/deliveries", headers=cookie)
        assert "blocked by" not in left.text and "No failed deliveries" in left.text
    rows = await fetch("SELECT draft_id::text AS d, status, retries FROM outbox ORDER BY id", [])
    assert rows == [
        {"d": retried, "status": "pending", "retries": 1},
        {"d": discarded, "status": "discarded", "retries": 0},
    ]
