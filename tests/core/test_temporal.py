"""The project's Temporal connection: core logs reach Python logging, not the core's own stdout printer."""

from __future__ import annotations

import asyncio
import logging

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core import temporal


@activity.defn
async def noop() -> None:
    return None


async def test_core_warnings_go_through_python_logging(
    temporal_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.WARNING, logger=temporal.CORE_LOGGER)
    address = temporal_env.client.service_client.config.target_host
    client = await temporal.connect(address)
    assert client.service_client.config.runtime is temporal.runtime()
    capfd.readouterr()

    def core_records() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == temporal.CORE_LOGGER]

    # A worker's start makes the core warn against this test server (it does not advertise the heartbeat
    # capability the core asks about); forwarded logs arrive on a short interval.
    async with Worker(client, task_queue="core-log-forwarding", activities=[noop]):
        for _ in range(100):
            if core_records():
                break
            await asyncio.sleep(0.05)
    records = core_records()
    assert records, "no core log record reached Python logging"
    assert any("heartbeat" in r.getMessage() for r in records), [r.getMessage() for r in records]
    assert all(r.levelno >= logging.WARNING for r in records)
    assert "heartbeat details" not in capfd.readouterr().out


def test_the_expected_long_task_warning_is_dropped() -> None:
    temporal.runtime()
    core = logging.getLogger(temporal.CORE_LOGGER)

    def record(msg: str) -> logging.LogRecord:
        return core.makeRecord(core.name, logging.WARNING, __file__, 1, msg, (), None)

    long_task = "[sdk_core::managed_run] [TMPRL1104] wf:75:1 Workflow task duration exceeded 5 seconds. {...}"
    assert core.filter(record(long_task)) is False
    assert core.filter(record("[sdk_core::worker] Temporal Server 1.16.0 or newer is required")) is True
