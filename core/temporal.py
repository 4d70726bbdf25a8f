"""The one way this project connects to Temporal.

Clients share one runtime per process whose Rust core logs go through Python logging (logger
`temporalio.core`, warnings and up, except the expected TMPRL1104) instead of being printed to stdout by the core
itself: they then follow the process's log configuration like every other log line. Metrics stay off (no
exporter is configured).
"""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

CORE_LOGGER = "temporalio.core"

_runtime: Runtime | None = None


class _ExpectedLongTasks(logging.Filter):
    """Drops TMPRL1104 ("workflow task duration exceeded 5 seconds"). By design a draft's LLM call runs as a local
    activity inside its fan's workflow task (one task per message instead of activity round trips), so with a real
    model the warning fires for most drafts, and again at every heartbeat of a task waiting on a busy engine (581
    lines in ten minutes of `huntaze demo`). Slow drafts show in the Temporal UI and the agent actions instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "[TMPRL1104]" not in record.getMessage()


# What the core says when a worker stops with steps in flight (workflows/shutdown.py): results of steps whose
# workflow task was already handed back arrive to nobody. Expected, and the next worker runs those steps again.
_SHUTDOWN_NOTES = (
    "Tried to interact with workflow state after it shut down",
    "Tried to complete untracked local activity",
)


class _ExpectedAtShutdown(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        note = next((n for n in _SHUTDOWN_NOTES if n in record.getMessage()), None)
        if note is not None:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.msg, record.args = note, None
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def runtime() -> Runtime:
    """This process's Temporal runtime (created on first use)."""
    global _runtime
    if _runtime is None:
        core_logger = logging.getLogger(CORE_LOGGER)
        core_logger.addFilter(_ExpectedLongTasks())
        core_logger.addFilter(_ExpectedAtShutdown())
        _runtime = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    # Every record on this one logger (the core's target stays in the message), so one filter
                    # and one level apply to all of them.
                    forwarding=LogForwardingConfig(logger=core_logger, append_target_to_name=False),
                ),
                metrics=None,
            )
        )
    return _runtime


async def connect(address: str, namespace: str = "default") -> Client:
    return await Client.connect(address, namespace=namespace, runtime=runtime())
