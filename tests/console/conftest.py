"""One headless Chromium (Debian's package, driven by Playwright) for all the console's browser tests: starting
Playwright's driver and the browser took 2-3 s per test. Each page a test opens has its own browser context
(`Browser.new_page`), so no cookie or storage is shared between tests, and every context a test opened is closed
when it ends."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = os.environ.get("HUNTAZE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()


@pytest.fixture(scope="package")
async def chromium() -> AsyncIterator[Browser]:
    assert HAVE_CHROMIUM, f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium"
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        await b.close()


async def close_pages(browser: Browser) -> None:
    """Close every context (and its pages) opened on the shared browser."""
    for context in list(browser.contexts):
        await context.close()


@pytest.fixture
async def browser(chromium: Browser) -> AsyncIterator[Browser]:
    assert chromium.contexts == []  # nothing left by an earlier test
    yield chromium
    await close_pages(chromium)
