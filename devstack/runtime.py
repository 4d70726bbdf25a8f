"""Run the worker and the API in this process, against already-running services."""

from __future__ import annotations

import asyncio
import logging

import uvicorn
from temporalio.client import Client
from temporalio.service import RPCError

from agents import llm
from api.app import create_app
from core import db, temporal
from core.migrate import migrate
from core.settings import Settings, configure
from workflows.schedules import ensure_daily_plan_schedules
from workflows.worker import build_worker

log = logging.getLogger(__name__)


async def connect(settings: Settings) -> Client:
    if settings.temporal_address is None:
        raise RuntimeError("TEMPORAL_ADDRESS is not set")
    return await temporal.connect(settings.temporal_address, settings.temporal_namespace)


def apply_settings(settings: Settings) -> None:
    """Make this process's settings and LLM factory use these settings."""
    configure(settings)
    llm.set_chat_model(None)


async def serve(
    settings: Settings,
    *,
    with_api: bool = True,
    started: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """The worker (and the API) until `stop` is set, or Ctrl-C."""
    stop = stop or asyncio.Event()
    assert settings.database_url is not None
    migrate(settings.database_url)
    apply_settings(settings)
    await db.open_pool(settings.database_url, settings.db_pool_max)
    client = await connect(settings)
    try:
        await ensure_daily_plan_schedules(client, settings.task_queue)
    except RPCError as exc:  # e.g. a Temporal test server, which has no Schedules: run, but say so
        log.warning(
            "daily plan schedules not created (%s); POST /v1/agents/unified/actions/run still works", exc
        )
    worker = build_worker(client, settings.task_queue, workflow_task_slots=settings.worker_task_slots)
    async with worker:
        if not with_api:
            if started:
                started.set()
            await stop.wait()
            return
        app = create_app(settings, temporal=client)
        server = uvicorn.Server(
            uvicorn.Config(
                app, host=settings.api_host, port=settings.api_port, log_level="warning", lifespan="on"
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        if started:
            started.set()
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await task
        stopper.cancel()
