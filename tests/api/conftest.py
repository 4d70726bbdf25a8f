"""The API under test: the real app over ASGI, on the test Postgres and the time-skipping Temporal server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.deps import Runtime
from core.settings import Settings
from workflows.worker import build_worker


def make_app(env: WorkflowEnvironment, settings: Settings) -> FastAPI:
    app = create_app(settings, temporal=env.client)
    app.state.runtime = Runtime(temporal=env.client, settings=settings)  # what the lifespan would set
    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


@pytest.fixture
async def app(temporal_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[FastAPI]:
    app = make_app(temporal_env, settings)
    yield app
    await app.state.fresh_cache.close()  # what the lifespan would do


@pytest.fixture
async def api(
    app: FastAPI, temporal_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app, with a worker running so events become drafts."""
    async with build_worker(temporal_env.client, settings.task_queue), client_for(app) as client:
        yield client
