"""The API docs, /docs (Swagger UI) and /redoc (ReDoc), with their scripts and styles served from the
fastapi-offline package's copies: the pages work with no network, and no CDN learns who reads them.

The pages are FastAPI's own; their one inline script each is allowed by its SHA-256 in a strict
Content-Security-Policy (scripts from this origin and those hashes only)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets"
DOCS_URL, OAUTH2_REDIRECT_URL, REDOC_URL = "/docs", "/docs/oauth2-redirect", "/redoc"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _csp(html: str) -> str:
    """The page's policy: its inline scripts by hash. Styles may be inline: Swagger UI and ReDoc set them from
    script (ReDoc writes <style> elements), which a hash cannot cover. ReDoc searches in a worker it starts
    from a blob: URL."""
    scripts = ["'self'"] + [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(html)
    ]
    return (
        f"default-src 'self'; script-src {' '.join(scripts)}; style-src 'self' 'unsafe-inline';"
        " img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none';"
        " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def install_docs(app: FastAPI) -> dict[str, str]:
    """Serve the docs pages and their assets on `app` (built with docs_url=None, redoc_url=None); returns
    the Content-Security-Policy of each page, by path."""
    assert app.openapi_url is not None
    pages = {
        DOCS_URL: get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        ),
        OAUTH2_REDIRECT_URL: get_swagger_ui_oauth2_redirect_html(),
        REDOC_URL: get_redoc_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        ),
    }
    for path, page in pages.items():
        app.add_api_route(path, _serve(page), methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    return {path: _csp(bytes(page.body).decode()) for path, page in pages.items()}


def _serve(page: HTMLResponse) -> Callable[[], Awaitable[HTMLResponse]]:
    body = bytes(page.body)

    async def docs_page() -> HTMLResponse:
        return HTMLResponse(body)

    return docs_page
