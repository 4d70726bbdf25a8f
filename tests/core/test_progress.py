"""Progress bars draw on a terminal and nowhere else: the same seeding step, run with its output on a pseudo-terminal
and then on pipes, shows its steps in the first case and not one extra byte in the second."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from core.progress import terminal_progress
with terminal_progress() as p:
    t = p.add_task("generating the fans' history", total=3)
    for _ in range(3):
        p.advance(t)
print("done")
"""


def _run(on_terminal: bool) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    if not on_terminal:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout + done.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=follower, stderr=follower)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    return out.decode(errors="replace")


def test_progress_shows_on_a_terminal_only() -> None:
    shown = _run(on_terminal=True)
    assert "generating the fans' history" in shown and "3/3" in shown, shown
    assert _run(on_terminal=False) == "done\n"
