"""The whole service for benchmarks, in a throwaway directory: embedded PostgreSQL, a Temporal dev server on free
ports, an instant OpenAI-compatible LLM on loopback (in its own process, as a real endpoint is), the worker and the
API on uvicorn; plus the bare baselines (a workflow with one activity and one insert, one with an Update handler,
a bare FastAPI endpoint).

Nothing here touches `.data/` or the configured services."""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from core.settings import Settings
from core.temporal import connect as connect_temporal


@dataclass
class Stack:
    settings: Settings
    client: Client
    api_url: str
    creator_id: str
    owner_key: str
    fans: list[str]
    # The benchmark's own connection for watching results land: polling through the service's pool would take its
    # connections (and a liveness check per checkout) from the service being measured.
    watch: AsyncConnection[dict[str, Any]]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.owner_key}"}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def emit(
    name: str, figure: dict[str, Any], baseline: dict[str, Any], ratios: dict[str, float], **extra: Any
) -> None:
    """The one JSON line each benchmark prints last: the figure, the in-run baseline and the ratios."""
    print(json.dumps({"bench": name, "figure": figure, "baseline": baseline, "ratio": ratios, **extra}))


@asynccontextmanager
async def running_stack(
    fans: int,
    *,
    with_api: bool = True,
    engine_delay_s: float = 0.0,
    engine_slots: int | None = None,
    **settings_over: Any,
) -> AsyncIterator[Stack]:
    """engine_delay_s and engine_slots make the LLM double a model of one local engine; settings_over overrides
    Settings fields."""
    from api.auth import issue_key
    from bench.instant_llm import instant_llm
    from core import db
    from devstack.runtime import serve
    from devstack.services import free_port, start_postgres, start_temporal, stop_postgres

    root = Path(tempfile.mkdtemp(prefix="huntaze-bench-"))
    llm = ExitStack()
    temporal = None
    try:
        llm_base_url = llm.enter_context(instant_llm(engine_delay_s, engine_slots))
        url = start_postgres(root)
        port = free_port()
        temporal = await asyncio.to_thread(start_temporal, root, port, free_port())
        settings = Settings(
            database_url=url,
            temporal_address=f"127.0.0.1:{port}",
            llm_base_url=llm_base_url,
            llm_model="instant",
            data_dir=root,
            debounce_s=0,
            api_port=free_port(),
            task_queue=f"bench-{uuid.uuid4().hex[:6]}",
            rate_per_key_per_min=0,
            rate_per_creator_per_min=0,
            # the extraction call would go to the instant fake too; boundaries are still found by rules
            memory_llm_extraction=False,
            db_pool_max=20,
            **settings_over,
        )
        started, stop = asyncio.Event(), asyncio.Event()
        server = asyncio.create_task(serve(settings, with_api=with_api, started=started, stop=stop))
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait([server, waiter], return_when=asyncio.FIRST_COMPLETED)
        if server.done():
            server.result()  # raises what stopped it
        async with db.pool().connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO creators (handle, display_name, persona) VALUES ('bench', 'Bench', 'warm')"
                " RETURNING id::text AS id"
            )
            creator = (await cur.fetchone() or {})["id"]
            cur = await conn.execute(
                "INSERT INTO members (creator_id, email, role) VALUES (%s, 'owner@bench', 'owner')"
                " RETURNING id::text AS id",
                [creator],
            )
            member = (await cur.fetchone() or {})["id"]
            key = await issue_key(conn, creator, member)
            await conn.execute(
                "INSERT INTO catalog (creator_id, title, price_cents) VALUES (%s, 'Beach set', 1500)",
                [creator],
            )
            cur = await conn.execute(
                "INSERT INTO fans (creator_id, platform_fan_id, display_name, subscription_status)"
                " SELECT %s, 'f' || g, 'Fan ' || g, 'active' FROM generate_series(1, %s) g RETURNING id::text AS id",
                [creator, fans],
            )
            fan_ids = [r["id"] for r in await cur.fetchall()]
        client = await connect_temporal(settings.temporal_address or "")
        watch = await AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
        try:
            yield Stack(
                settings, client, f"http://127.0.0.1:{settings.api_port}", creator, key, fan_ids, watch
            )
        finally:
            await watch.close()
            stop.set()
            await server
    finally:
        llm.close()
        if temporal is not None:
            temporal.terminate()
            temporal.wait(timeout=30)
        stop_postgres(root)
        shutil.rmtree(root, ignore_errors=True)


# --- bare baselines ------------------------------------------------------------------------------


@dataclass
class BareInput:
    key: str


@activity.defn(name="bare_insert")
async def bare_insert(inp: BareInput) -> None:
    from core import db

    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute("INSERT INTO bench_bare (key) VALUES (%s)", [inp.key])


@workflow.defn(name="BareWorkflow", sandboxed=False)
class BareWorkflow:
    """The smallest Temporal shape of our pipeline: one activity that inserts one row."""

    @workflow.run
    async def run(self, inp: BareInput) -> None:
        await workflow.execute_activity(bare_insert, inp, start_to_close_timeout=timedelta(seconds=30))


@workflow.defn(name="BareUpdateWorkflow", sandboxed=False)
class BareUpdateWorkflow:
    """A workflow that answers Updates and does nothing else: the floor of an approval round trip."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.update
    async def decide(self, value: str) -> str:
        return value

    @workflow.signal
    def finish(self) -> None:
        self.done = True


@asynccontextmanager
async def bare_worker(stack: Stack) -> AsyncIterator[str]:
    from core import db

    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_bare (key text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())"
        )
    queue = f"bare-{uuid.uuid4().hex[:6]}"
    async with Worker(
        stack.client,
        task_queue=queue,
        workflows=[BareWorkflow, BareUpdateWorkflow],
        activities=[bare_insert],
    ):
        yield queue


def now() -> datetime:
    return datetime.now(UTC)
