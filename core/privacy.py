"""Fan messages go nowhere but the configured LLM endpoint: every library's telemetry is switched off."""

from __future__ import annotations

import os

# Set before the libraries read them. setdefault: an operator may still opt in explicitly.
TELEMETRY_OFF = {
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING_V2": "false",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "false",
    "TEMPORAL_TELEMETRY_DISABLED": "1",
}


def disable_telemetry() -> None:
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)
