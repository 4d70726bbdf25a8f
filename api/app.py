"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from api.console import pages as console
from api.deps import Runtime
from api.docs import install_docs
from api.errors import install_error_handlers
from api.fresh_cache import FreshCache
from api.limits import BodyLimit, RateLimits, TokenBuckets
from api.routers import (
    actions,
    analytics,
    audit,
    campaigns,
    connections,
    drafts,
    evals,
    events,
    fans,
    followups,
    imports,
    keys,
    plans,
    policies,
    security,
    segments,
)
from api.routers.agency import router as agency_router
from api.routers.alerts import router as alerts_router
from api.routers.assistant import router as assistant_router
from api.routers.bridge import router as bridge_router
from api.routers.catalog import router as catalog_router
from api.routers.compose import router as compose_router
from api.routers.conversations import router as conversations_router
from api.routers.creator import router as creator_router
from api.routers.deliveries import router as deliveries_router
from api.routers.handoffs import router as handoffs_router
from api.routers.instagram import router as instagram_router
from api.routers.notes import router as notes_router
from core import db
from core.settings import Settings
from core.temporal import connect as connect_temporal

# Same-origin files only: the console's pages have no inline script or style (its one script is a static file).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none';"
    " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds the security headers to every response that does not set its own (plain ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, page_csp: dict[str, str] | None = None) -> None:
        self.app = app
        self.with_csp = [*SECURITY_HEADERS, (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())]
        # Pages with a policy of their own (the API docs), by path.
        self.page_headers = {
            path: [*SECURITY_HEADERS, (b"content-security-policy", csp.encode())]
            for path, csp in (page_csp or {}).items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.page_headers.get(scope["path"], self.with_csp)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings, temporal: Client | None = None) -> FastAPI:
    """Build the app. Without a client, one is connected at start-up from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.database_url is None:
            raise RuntimeError("DATABASE_URL is not set (run through `huntaze up`, which provides one)")
        await db.open_pool(settings.database_url, settings.db_pool_max)
        client = temporal
        if client is None:
            if settings.temporal_address is None:
                raise RuntimeError(
                    "TEMPORAL_ADDRESS is not set (run through `huntaze up`, which provides one)"
                )
            client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
        app.state.runtime = Runtime(temporal=client, settings=settings)
        try:
            yield
        finally:
            await app.state.fresh_cache.close()

    app = FastAPI(
        title="Huntaze agents API", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    docs_csp = install_docs(app)  # served from a package: no CDN
    install_error_handlers(app)
    # Connects on first use (so an app served without its lifespan, as in tests, caches too).
    app.state.fresh_cache = FreshCache(settings.database_url, settings.api_cache_entries)
    # a history import streams its JSON lines (api/routers/history.py holds one line at a time)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes, streamed=frozenset({"/v1/imports"}))
    app.add_middleware(
        SecurityHeaders, page_csp=docs_csp
    )  # outside BodyLimit: its refusals carry the headers too
    app.state.rate_limits = RateLimits(
        TokenBuckets(settings.rate_per_key_per_min), TokenBuckets(settings.rate_per_creator_per_min)
    )
    for r in (
        events.router,
        drafts.router,
        actions.router,
        fans.router,
        segments.router,
        policies.router,
        audit.router,
        keys.router,
        security.router,
        connections.router,
        evals.router,
        analytics.router,
        campaigns.router,
        followups.router,
        plans.router,
        imports.router,
    ):
        app.include_router(r)
    app.include_router(catalog_router)
    app.include_router(deliveries_router)
    app.include_router(creator_router)
    app.include_router(handoffs_router)
    app.include_router(conversations_router)
    app.include_router(notes_router)
    app.include_router(compose_router)
    app.include_router(alerts_router)
    app.include_router(agency_router)
    app.include_router(assistant_router)
    app.include_router(instagram_router)
    app.include_router(bridge_router)

    app.include_router(console.router)
    app.mount("/console/static", StaticFiles(directory=console.STATIC_DIR), name="console-static")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
