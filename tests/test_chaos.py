"""The chaos run, bounded for CI: the worker killed with SIGKILL three times and Postgres restarted once
while 60 fan messages flow and approvals happen (the full run is `python -m tests.chaos`)."""

from __future__ import annotations

from tests.chaos import passed, run


async def test_no_event_lost_no_duplicate_and_no_unapproved_send_under_kills_and_restarts() -> None:
    summary = await run(messages=60, fans=10, kills=3, seed=11, pg_restart=True, spread_s=20, timeout_s=300)
    assert summary["worker_kills"] == 3 and summary["postgres_restarts"] == 1
    assert summary["approvals"] > 0 and summary["sent"] == summary["approvals"]
    assert passed(summary), summary
