"""The console over ASGI (no browser): ids from the address bar reach the internal API only as UUIDs, every
response carries the security headers, and a form's origin is checked against the configured public origin,
never against the request's own Host header."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from core import db
from core.settings import Settings
from tests.api.conftest import make_app
from tests.factories import Tenant, make_tenant

# What the default public origin is, with the default HUNTAZE_API_HOST and HUNTAZE_API_PORT.
ORIGIN = "http://127.0.0.1:8000"

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class InternalCalls:
    """Records the paths the console asks of the in-process API (its client's host is console.internal)."""

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"host") == b"console.internal":
            query = scope["query_string"].decode()
            self.seen.append(scope["path"] + (f"?{query}" if query else ""))
        await self.app(scope, receive, send)


@pytest.fixture
async def make_console(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[Callable[..., tuple[FastAPI, list[str]]]]:
    apps: list[FastAPI] = []

    def make(**overrides: Any) -> tuple[FastAPI, list[str]]:
        app = make_app(temporal_env, settings.model_copy(update=overrides))
        seen: list[str] = []
        app.add_middleware(InternalCalls, seen=seen)
        apps.append(app)
        return app, seen

    yield make
    for app in apps:
        await app.state.fresh_cache.close()


def browser(app: FastAPI, base: str = ORIGIN) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)


async def sign_in(http: httpx.AsyncClient, t: Tenant, role: str = "owner") -> dict[str, str]:
    """The console cookie and a form's CSRF token (the cookie is Secure, so it is carried by hand over http)."""
    r = await http.post("/console/login", data={"api_key": t.keys[role]}, headers={"Origin": ORIGIN})
    assert r.status_code == 303, r.text
    cookie = {"Cookie": f"hz_console={r.cookies['hz_console']}"}
    page = await http.get("/console/inbox", headers=cookie)
    m = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert m, page.text
    return {**cookie, "csrf": m.group(1)}


async def exports(creator_id: str) -> int:
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM audit_log WHERE creator_id = %s AND action = 'fan.exported'",
            [creator_id],
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def saved_run() -> str:
    from evals.store import save_run
    from tests.evals.test_runner import _result

    run = _result(str(uuid4()), {"x": True}, 1.0)
    async with db.pool().connection() as conn, conn.transaction():
        await save_run(conn, run)
    return str(run["run_id"])


UUID_PATH = re.compile(r"^/v1/[a-z/]+(?:/[0-9a-f-]{36}(?:/[a-z]+)?)?(?:\?.*)?$")


async def test_compare_with_a_path_for_a_run_id_never_calls_the_fan_export(make_console: Any) -> None:
    app, seen = make_console()
    t = await make_tenant()
    fan = t.fans[0]
    run = await saved_run()
    async with browser(app) as http:
        s = await sign_in(http, t)
        cookie = {"Cookie": s["Cookie"]}
        for a, b in (
            (f"../../fans/{fan}/export", run),
            (run, f"../../fans/{fan}/export"),
            (f"../../fans/{fan}/export", f"../../fans/{fan}/export"),
            (f"{run}?x=1", run),
            (f"{run}/../../../fans/{fan}", run),
            ("", run),
        ):
            r = await http.get("/console/evals/compare", params={"a": a, "b": b}, headers=cookie)
            assert 400 <= r.status_code < 500, (a, b, r.status_code)
            assert "text/html" in r.headers["content-type"]
    assert await exports(t.creator_id) == 0
    assert not [p for p in seen if "/fans/" in p], seen


async def test_ids_in_console_paths_are_uuids_before_any_internal_call(make_console: Any) -> None:
    app, seen = make_console()
    t = await make_tenant()
    fan = t.fans[0]
    async with browser(app) as http:
        s = await sign_in(http, t)
        cookie = {"Cookie": s["Cookie"]}
        seen.clear()
        for path in (
            f"/console/fans/{fan}%3Flimit=1",  # a decoded "?" must not become the internal URL's query
            f"/console/fans/{fan}%3Fx%23y",
            "/console/fans/not-a-uuid",
            f"/console/evals/{fan}%3Fx",
        ):
            r = await http.get(path, headers=cookie)
            assert r.status_code == 404, (path, r.status_code)
            assert "text/html" in r.headers["content-type"]
        r = await http.get("/console/actions", params={"fan_id": f"{fan}/export"}, headers=cookie)
        assert r.status_code == 422
        form = {"csrf": s["csrf"], "version": "1"}
        posts: dict[str, dict[str, Any]] = {
            "/console/drafts/not-a-uuid/approve": form,
            "/console/drafts/not-a-uuid/reject": {**form, "reason": "x"},
            f"/console/drafts/{fan}%3Fx/approve": form,
            "/console/drafts/approve": {"csrf": s["csrf"], "draft": ["../../fans:1"]},
            "/console/handoffs/not-a-uuid/assign": {"csrf": s["csrf"], "member_id": ""},
            f"/console/handoffs/{fan}%3Fx/resolve": {"csrf": s["csrf"], "reason": "x", "unfreeze": "yes"},
            f"/console/handoffs/{fan}/assign": {"csrf": s["csrf"], "member_id": "../../keys"},
            "/console/fans/not-a-uuid/notes": {"csrf": s["csrf"], "text": "x"},
            "/console/fans/not-a-uuid/messages": {"csrf": s["csrf"], "text": "x", "key": "k"},
            f"/console/fans/{fan}%3Fx/tags": {"csrf": s["csrf"], "tags": "vip"},
        }
        for path, data in posts.items():
            r = await http.post(path, data=data, headers={**cookie, "Origin": ORIGIN})
            assert r.status_code in (404, 422), (path, r.status_code, r.text)
            assert "text/html" in r.headers["content-type"]
    # Only the inbox and the hand-off queue (shown with the refusals; the inbox with its hand-offs and failures,
    # the queue with the members to assign to) were asked for; no id from the address bar reached a URL.
    fixed = {"/v1/inbox/handoffs", "/v1/inbox/failures", "/v1/members"}
    assert seen and all(p.startswith(("/v1/inbox?", "/v1/handoffs?")) or p in fixed for p in seen), seen
    assert await exports(t.creator_id) == 0
    # A well-formed fan id still opens the fan page, through URLs made only of UUIDs.
    async with browser(app) as http:
        r = await http.get(f"/console/fans/{fan}", headers=cookie)
    assert r.status_code == 200, r.text
    assert all(UUID_PATH.match(p) for p in seen), seen


async def test_every_response_carries_the_security_headers(make_console: Any) -> None:
    app, _ = make_console()
    t = await make_tenant()
    run = await saved_run()
    async with browser(app) as http:
        s = await sign_in(http, t)
        cookie = {"Cookie": s["Cookie"]}
        responses = [
            await http.get("/console/login"),
            await http.get("/console/inbox", headers=cookie),
            await http.get("/console/conversations", headers=cookie),
            await http.get("/console/handoffs", headers=cookie),
            await http.get("/console/team", headers=cookie),
            await http.get("/console/alerts", headers=cookie),
            await http.get("/console/static/console.js"),
            await http.get("/console/nowhere"),
            await http.get("/v1/inbox", headers=t.auth()),
            await http.get("/healthz"),
        ]
        report = await http.get(f"/console/evals/{run}", headers=cookie)
        docs = await http.get("/docs")
    for r in [*responses, report, docs]:
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert r.headers["x-frame-options"] == "DENY", r.url
        assert r.headers["referrer-policy"] == "same-origin", r.url
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, r.url
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp, csp
    # The console's pages need nothing inline: every script is a file of its own.
    page = responses[1].text
    assert "<script" in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+=", page) and "<style" not in page and " style=" not in page
    # The eval report's own stylesheet is allowed by its hash, nothing else inline.
    style = re.search(r"<style>(.*?)</style>", report.text, re.S)
    assert style is not None
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    csp = report.headers["content-security-policy"]
    assert f"style-src 'self' 'sha256-{digest}'" in csp and "script-src 'none'" in csp, csp
    # The interactive API docs: scripts from this origin, and Swagger UI's one inline start-up script by its hash.
    csp = docs.headers["content-security-policy"]
    start = re.search(r"<script>(.*?)</script>", docs.text, re.S)
    assert (
        start is not None and "https://" not in docs.text and "/docs/assets/swagger-ui-bundle.js" in docs.text
    )
    digest = base64.b64encode(hashlib.sha256(start.group(1).encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in csp and "frame-ancestors 'none'" in csp, csp
    assert "unsafe-eval" not in csp and "connect-src 'self'" in csp, csp


async def test_a_forged_host_header_does_not_pass_the_origin_check(make_console: Any) -> None:
    app, _ = make_console()
    t = await make_tenant()
    async with browser(app) as http:
        s = await sign_in(http, t)
        cookie = {"Cookie": s["Cookie"]}
        evil = {"Host": "evil.example", "Origin": "http://evil.example"}
        r = await http.post("/console/login", data={"api_key": t.keys["owner"]}, headers=evil)
        assert r.status_code == 403 and "hz_console" not in r.cookies
        r = await http.post("/console/logout", data={"csrf": s["csrf"]}, headers={**cookie, **evil})
        assert r.status_code == 403
        referer = {"Host": "evil.example", "Referer": "http://evil.example/console/inbox"}
        r = await http.post("/console/logout", data={"csrf": s["csrf"]}, headers={**cookie, **referer})
        assert r.status_code == 403
        for origin in ("null", "http://127.0.0.1:8000.evil.example", "https://127.0.0.1:8000", ""):
            r = await http.post(
                "/console/logout", data={"csrf": s["csrf"]}, headers={**cookie, "Origin": origin}
            )
            assert r.status_code == 403, origin
        # From the public origin (Origin, or a Referer under it without one), the same form works.
        r = await http.post(
            "/console/logout",
            data={"csrf": s["csrf"]},
            headers={**cookie, "Referer": f"{ORIGIN}/console/inbox"},
        )
        assert r.status_code == 303


async def test_the_public_origin_is_a_setting(make_console: Any) -> None:
    public = "https://console.example.com"
    app, _ = make_console(public_origin=public)
    t = await make_tenant()
    async with browser(app, public) as http:
        form = {"api_key": t.keys["owner"]}
        assert (await http.post("/console/login", data=form, headers={"Origin": ORIGIN})).status_code == 403
        r = await http.post("/console/login", data=form, headers={"Origin": public, "Host": "internal:8000"})
        assert r.status_code == 303
    # Unset, it is derived from the bind address; a loopback bind accepts either loopback name.
    app, _ = make_console(api_host="127.0.0.1", api_port=9123)
    async with browser(app, "http://localhost:9123") as http:
        r = await http.post("/console/login", data=form, headers={"Origin": "http://localhost:9123"})
        assert r.status_code == 303
        r = await http.post("/console/login", data=form, headers={"Origin": ORIGIN})
        assert r.status_code == 403
    with pytest.raises(ValueError, match=r"public_origin|HUNTAZE_PUBLIC_ORIGIN"):
        Settings(public_origin="console.example.com/path")
