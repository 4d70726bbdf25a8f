"""The chaos run, bounded for CI: the worker killed with SIGKILL three times and Postgres restarted once
while 60 fan messages flow and approvals happen (the full run is `python -m tests.chaos`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chaos import passed, run


async def test_no_event_lost_no_duplicate_and_no_unapproved_send_under_kills_and_restarts() -> None:
    summary = await run(
        messages=60, fans=10, kills=3, seed=11, pg_restart=True, spread_s=20, timeout_s=300, save_kills=2
    )
    assert summary["worker_kills"] == 3 and summary["postgres_restarts"] == 1
    assert summary["kills_at_save"] == 2 and summary["undecidable_drafts"] == 0
    # Liveness, not speed: the run settles inside its own deadline (timeout_s); how fast is the full run's figure.
    assert summary["events_unprocessed"] == 0 and summary["approved_not_sent"] == 0, summary
    assert summary["approvals"] > 0 and summary["sent"] == summary["approvals"]
    assert passed(summary), summary


def test_the_whole_stack_runs_with_loopback_only() -> None:
    """Postgres, Temporal, the worker process, the API and guardrails in a network namespace whose only
    interface is loopback: the chaos run still passes, so nothing needs the outside world."""
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare --net needs root (CI runs as root)")
    args = ["--messages", "20", "--fans", "4", "--kills", "1", "--spread", "6", "--no-pg-restart"]
    out = subprocess.run(
        ["unshare", "--net", "--", sys.executable, "-m", "tests.offline_run", "tests.chaos", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[1],
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["passed"] and summary["sent"] > 0, summary
