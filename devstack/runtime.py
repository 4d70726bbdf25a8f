"""Run the worker and the API in this process, against already-running services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
import threading
import warnings
from typing import Any

import psycopg
import uvicorn
from temporalio.client import Client
from temporalio.service import RPCError

from agents import llm
from api.app import create_app
from core import db, temporal
from core.migrate import migrate
from core.settings import Settings, configure
from workflows.schedules import ensure_alert_retry_schedule, ensure_daily_plan_schedules
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


# Workflow runs still cached when the worker stops are garbage-collected outside the workflow event loop, where
# temporalio-langgraph's interceptor (`finally: workflow.info()`) and LangGraph's async generators raise; Python can
# only report that as "Exception ignored in ...". It is the library's teardown, not a fault: logged at DEBUG.
_TEARDOWN_OBJECTS = ("<coroutine object _WorkflowInstanceImpl.", "<async_generator object Pregel")
# The same teardown, reported as "coroutine ... was never awaited" for coroutines LangGraph or the SDK had made.
TEARDOWN_NEVER_AWAITED = (
    "AsyncCallbackManagerForChainRun.on_chain_error",
    "AsyncExitStack.__aexit__",
    "_WorkflowInstanceImpl._process_signal_job.<locals>.run_signal",
)


def _quiet_workflow_teardown() -> None:
    previous = sys.unraisablehook
    if getattr(previous, "huntaze_quiet", False):
        return

    def hook(unraisable: Any) -> None:
        if repr(unraisable.object).startswith(_TEARDOWN_OBJECTS):
            log.debug("workflow teardown: %r: %s", unraisable.object, unraisable.exc_value)
            return
        previous(unraisable)

    hook.huntaze_quiet = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook
    for never_awaited in TEARDOWN_NEVER_AWAITED:
        warnings.filterwarnings(
            "ignore",
            message=f"coroutine '{re.escape(never_awaited)}' was never awaited",
            category=RuntimeWarning,
        )


async def _classifiers_ready(settings: Settings, stop: asyncio.Event) -> bool:
    """Load the policy classifiers and, where it decides (the local engine's json tool mode), the assistant's
    router (fitting each the first time) before the worker takes work, so no activity's time limit includes the
    fitting. A daemon thread, so a stop meanwhile does not wait for it; False then."""
    from agents.router import router_cached, router_for
    from agents.tool_loop import tool_mode
    from policies.semantic import classifiers_cached, semantic_layer

    if settings.policy_semantic and not classifiers_cached(settings):
        print("fitting the policy classifiers on this machine (once; a minute or two)", flush=True)
    routing = tool_mode(settings) == "json"
    if routing and not router_cached(settings):
        print("fitting the assistant's router on this machine (once)", flush=True)
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[Any] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if ready.done():
            return
        if error is None:
            ready.set_result(None)
        else:
            ready.set_exception(error)

    def load() -> None:
        error: BaseException | None = None
        try:
            if settings.policy_semantic:
                semantic_layer()
            if routing:
                router_for("json")
        except BaseException as exc:  # handed to the event loop, which raises it in serve()
            error = exc
        loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=load, name="classifiers", daemon=True).start()
    stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([ready, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if ready.done():
        ready.result()
        return True
    return False


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
    _quiet_workflow_teardown()
    await _migrate_when_reachable(settings.database_url)
    apply_settings(settings)
    await db.open_pool(settings.database_url, settings.db_pool_max)
    client = await connect(settings)
    try:
        await ensure_daily_plan_schedules(client, settings.task_queue)
    except RPCError as exc:  # e.g. a Temporal test server, which has no Schedules: run, but say so
        log.warning(
            "daily plan schedules not created (%s); POST /v1/agents/unified/actions/run still works", exc
        )
    try:
        await ensure_alert_retry_schedule(client, settings.task_queue, settings.alerts_retry_s)
    except RPCError as exc:
        log.warning("alert retry schedule not created (%s); a pending alert waits for the next one", exc)
    if not await _classifiers_ready(settings, stop):
        return
    worker = build_worker(client, settings.task_queue, workflow_task_slots=settings.worker_task_slots)
    running = asyncio.create_task(worker.run())
    try:
        if not with_api:
            if started:
                started.set()
            await _first_done(running, stop)
            return
        app = create_app(settings, temporal=client)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=settings.api_host,
                port=settings.api_port,
                log_level="warning",
                lifespan="on",
                timeout_graceful_shutdown=int(SHUTDOWN_S / 2),
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        if started:
            started.set()
        await _first_done(task, stop)
        server.should_exit = True
        await task
    finally:
        await _stop_worker(worker, running)


# Stopping never waits on in-flight work longer than this: a draft's LLM call abandoned here is retried by
# another worker once its workflow task times out.
SHUTDOWN_S = 8.0


async def _first_done(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()


async def _stop_worker(worker: Any, running: asyncio.Task[None]) -> None:
    """Shut the worker down: its in-flight steps end at once and go to the next worker (workflows/shutdown.py)."""
    if running.done():
        return
    try:
        await asyncio.wait_for(asyncio.shield(worker.shutdown()), SHUTDOWN_S)
    except TimeoutError:
        log.warning("the worker did not stop within %.0f s; cancelling it", SHUTDOWN_S)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(running, SHUTDOWN_S)


# A worker restarted while Postgres restarts waits for it instead of exiting (nothing would restart it).
DATABASE_WAIT_S = 60.0


async def _migrate_when_reachable(url: str) -> None:
    deadline = asyncio.get_running_loop().time() + DATABASE_WAIT_S
    while True:
        try:
            await asyncio.to_thread(migrate, url)
            return
        except psycopg.OperationalError as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("database not reachable yet (%s); retrying", str(exc).splitlines()[0][:200])
            await asyncio.sleep(1.0)


async def serve_until_signalled(settings: Settings, *, with_api: bool = True) -> None:
    """`serve` until SIGINT or SIGTERM: both stop the worker and the API within SHUTDOWN_S."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, with_api=with_api, stop=stop)
