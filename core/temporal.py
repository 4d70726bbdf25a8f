"""The one way this project connects to Temporal.

Clients share one runtime per process whose Rust core logs go through Python logging (logger
`temporalio.core`, warnings and up) instead of being printed to stdout by the core itself: they then follow
the process's log configuration like every other log line. Metrics stay off (no exporter is configured).
"""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

CORE_LOGGER = "temporalio.core"

_runtime: Runtime | None = None


def runtime() -> Runtime:
    """This process's Temporal runtime (created on first use)."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
                ),
                metrics=None,
            )
        )
    return _runtime


async def connect(address: str, namespace: str = "default") -> Client:
    return await Client.connect(address, namespace=namespace, runtime=runtime())
