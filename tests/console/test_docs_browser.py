"""The API docs in a real browser with no network: headless Chromium may reach the app on loopback and
nothing else (every other request is refused and fails the test), and the pages' Content-Security-Policy
refuses nothing they need."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, Route, expect
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from devstack.services import free_port
from tests.api.conftest import make_app
from tests.console.conftest import close_pages


@pytest.fixture
async def served(temporal_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[str]:
    port = free_port()
    app = make_app(temporal_env, settings.model_copy(update={"api_port": port}))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    await app.state.fresh_cache.close()


# ReDoc's side menu always shows its maker's logo from the maker's CDN: the page's policy refuses it, so no request
# leaves the browser (the image hides itself when it cannot load). The one refusal expected.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def _expected(text: str) -> bool:
    return REDOC_LOGO in text and "violates the following Content Security Policy directive" in text


class Offline:
    """A browser page that may only talk to loopback; what it tried elsewhere, and what it complained of."""

    def __init__(self) -> None:
        self.refused: list[str] = []
        self.complaints: list[str] = []

    async def page(self, browser: Browser) -> Page:
        page = await browser.new_page()
        await page.route("**/*", self._guard)
        page.on(
            "console",
            lambda m: self.complaints.append(m.text) if m.type == "error" and not _expected(m.text) else None,
        )
        page.on("pageerror", lambda e: self.complaints.append(str(e)))
        return page

    async def _guard(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or parts.hostname in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            self.refused.append(url)
            await route.abort("internetdisconnected")


@pytest.fixture
async def offline_browser(browser: Browser) -> AsyncIterator[tuple[Browser, Offline]]:
    watch = Offline()
    yield browser, watch
    await close_pages(browser)  # what the pages still had to report comes in before they close
    assert watch.refused == [], watch.refused
    assert watch.complaints == [], watch.complaints


async def _operations(base: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        spec = (await http.get("/openapi.json")).json()
    return [
        {"method": method, "path": path, **op}
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


async def test_swagger_ui_renders_every_operation_offline(
    served: str, offline_browser: tuple[Browser, Offline]
) -> None:
    browser, watch = offline_browser
    ops = await _operations(served)
    assert len(ops) > 30
    page = await watch.page(browser)
    await page.goto(f"{served}/docs")
    await expect(page.get_by_role("heading", name="Huntaze agents API")).to_be_visible()
    await expect(page.locator(".opblock")).to_have_count(len(ops))
    # One operation, opened: its parameters and responses come from the schema.
    block = page.locator(".opblock", has=page.locator("[data-path='/v1/drafts/{draft_id}/approve']"))
    await block.locator(".opblock-summary").click()
    await expect(block.locator(".parameters").get_by_text("draft_id").first).to_be_visible()
    await expect(block.locator(".responses-table").first).to_be_visible()


async def test_redoc_renders_every_operation_offline(
    served: str, offline_browser: tuple[Browser, Offline]
) -> None:
    browser, watch = offline_browser
    ops = await _operations(served)
    page = await watch.page(browser)
    await page.goto(f"{served}/redoc")
    await expect(page.get_by_role("heading", name="Huntaze agents API").first).to_be_visible(timeout=30_000)
    await expect(page.locator("[data-section-id^='operation/']")).to_have_count(len(ops), timeout=30_000)
    first = ops[0]
    await expect(page.locator(f"[data-section-id='operation/{first['operationId']}']")).to_be_attached()
