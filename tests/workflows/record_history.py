"""Re-record tests/workflows/histories/ (conversation_approve.json, conversation_batch_gives_way.json,
conversation_compose.json) on real
Postgres and the time-skipping server.

Usage: .venv/bin/python -m tests.workflows.record_history
"""

from __future__ import annotations

import os
import sys

import pytest

if __name__ == "__main__":
    os.environ["HUNTAZE_RECORD_HISTORY"] = "1"
    sys.exit(
        pytest.main(
            [
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/workflows/test_replay.py::test_record_history",
                "tests/workflows/test_replay.py::test_record_batch_history",
                "tests/workflows/test_replay.py::test_record_compose_history",
            ]
        )
    )
