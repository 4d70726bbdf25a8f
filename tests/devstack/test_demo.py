"""`huntaze demo --smoke` as `make smoke` runs it (embedded PostgreSQL and Temporal dev server, the LLM double on
loopback): the summary JSON is the last line, the exit is 0, the logs hold no error, warning or traceback, and no
process of its data dir is left, whether it ends by itself or by SIGINT in the middle."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.openai_server import FakeOpenAI

ROOT = Path(__file__).resolve().parents[2]
FANS = "300"
# What normal operation must never print: a traceback, an unraisable exception, an ERROR or WARNING log line.
LOUD = re.compile(r"Traceback|Exception ignored|panicked| ERROR | WARNING |CRITICAL")


def _ports(n: int) -> list[int]:
    """n distinct free ports (held together while chosen, so no two are the same)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


def _demo(data_dir: Path, fake_llm: FakeOpenAI) -> subprocess.Popen[str]:
    api, temporal, ui = _ports(3)
    env = {
        **os.environ,
        "HUNTAZE_DATA_DIR": str(data_dir),
        "LLM_BASE_URL": fake_llm.base_url,
        "LLM_MODEL": "fake",
        "HUNTAZE_API_PORT": str(api),
        "HUNTAZE_TEMPORAL_PORT": str(temporal),
        "HUNTAZE_TEMPORAL_UI_PORT": str(ui),
        "PYTHONUNBUFFERED": "1",
        # the follow-up steps the smoke run waits for come when the welcome DM has been approved, not 90 s later
        "HUNTAZE_DEMO_WELCOME_FIRST_STEP_S": "30",
        "HUNTAZE_DEMO_WIN_BACK_FIRST_STEP_S": "10",
    }
    for own in ("DATABASE_URL", "TEMPORAL_ADDRESS", "HUNTAZE_TASK_QUEUE"):
        env.pop(own, None)
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "demo", "--smoke", "--fans", FANS],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _left_running(data_dir: Path) -> str:
    """Processes whose command line names the data dir (PostgreSQL, the Temporal dev server), as `pgrep -af`."""
    out = subprocess.run(["pgrep", "-af", str(data_dir)], capture_output=True, text=True)
    return out.stdout.strip()


def _read_until(proc: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
        if marker in line:
            return seen
    raise AssertionError(f"{marker!r} never printed; output so far:\n{seen[-3000:]}")


def test_the_smoke_run_ends_with_its_json_and_leaves_nothing_running(
    tmp_path: Path, fake_llm: FakeOpenAI
) -> None:
    data_dir = tmp_path / "data"
    proc = _demo(data_dir, fake_llm)
    try:
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = out.strip().splitlines()
    assert proc.returncode == 0, out[-3000:]
    assert lines[-1].startswith("{"), lines[-5:]
    summary = json.loads(lines[-1])
    assert summary["sent"] >= 1 and summary["unapproved_sends"] == 0, summary
    assert summary["followup_drafts"] == 2 and summary["plan_actions"] > 0, summary
    assert "approved the welcome DM to Noah (edited): 200" in out
    loud = [line for line in lines if LOUD.search(line)]
    assert loud == [], "\n".join(loud[:20])
    assert _left_running(data_dir) == ""


def test_a_signal_in_the_middle_stops_everything_quietly(tmp_path: Path, fake_llm: FakeOpenAI) -> None:
    """Ctrl-C. SIGTERM reaches the same handler (both are the event loop's, devstack/demo.py `_drive`, as in
    `huntaze up`): tests/devstack/test_shutdown.py stops `up` with it."""
    data_dir = tmp_path / "data"
    fake_llm.requests.clear()
    fake_llm.delay_s = 20.0  # drafts are being written when the signal comes
    proc = _demo(data_dir, fake_llm)
    try:
        # the new subscriber's welcome DM is the first draft: the signal comes while its LLM call is in flight
        seen = _read_until(proc, "event subscription_started", 600)
        deadline = time.monotonic() + 120
        while not fake_llm.draft_requests() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert fake_llm.draft_requests(), f"no draft was being written; output so far:\n{seen[-3000:]}"
        assert _left_running(data_dir) != ""  # PostgreSQL and Temporal are up
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        took = time.monotonic() - start
    finally:
        fake_llm.delay_s = 0.0
        if proc.poll() is None:
            proc.kill()
    out = seen + rest
    assert proc.returncode == 130, out[-3000:]
    assert took < 30, f"took {took:.0f} s to stop"
    assert "demo interrupted" in rest
    loud = [line for line in out.splitlines() if LOUD.search(line)]
    assert loud == [], "\n".join(loud[:20])
    assert _left_running(data_dir) == ""
