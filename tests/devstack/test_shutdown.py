"""`huntaze up` stops on SIGTERM (SIGINT: tests/devstack/test_demo.py) within seconds and leaves nothing running,
the embedded PostgreSQL included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.fakes.openai_server import FakeOpenAI

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(proc: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} never printed; output so far:\n{seen}")


def test_up_stops_on_a_signal_and_leaves_nothing_running(
    tmp_path: Path, temporal_dev_env: WorkflowEnvironment, fake_llm: FakeOpenAI
) -> None:
    """SIGTERM, as a service manager stops it. SIGINT reaches the same handler (both are the event loop's,
    devstack/runtime.py `serve_until_signalled`, as in `huntaze demo`): tests/devstack/test_demo.py stops the demo
    with it."""
    sig = signal.SIGTERM
    env = {
        **os.environ,
        "HUNTAZE_DATA_DIR": str(tmp_path / "data"),
        "TEMPORAL_ADDRESS": temporal_dev_env.client.service_client.config.target_host,
        "LLM_BASE_URL": fake_llm.base_url,
        "HUNTAZE_TASK_QUEUE": f"shutdown-{sig.name}",
        "HUNTAZE_API_PORT": "0",
    }
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up", "--worker-only"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(proc, "stops everything", 120)
        time.sleep(2)  # the worker is polling by now
        pidfile = tmp_path / "data" / "postgres" / "postmaster.pid"
        assert pidfile.exists()
        start = time.monotonic()
        proc.send_signal(sig)
        rc = proc.wait(timeout=20)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 0 and took < 10, (rc, took)
    assert not pidfile.exists()  # the embedded PostgreSQL was stopped, not orphaned
