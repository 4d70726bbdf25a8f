"""guardrails-ai runs with telemetry and remote inference off, whatever the rc file said before."""

import subprocess
import sys
from pathlib import Path

from policies.offline import rc_path, write_offline_rc


def test_rc_is_rewritten_keeping_other_lines(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".guardrailsrc").write_text("id=abc\nenable_metrics=true\nuse_remote_inferencing=true\n")
    write_offline_rc()
    lines = rc_path().read_text().splitlines()
    assert lines == ["id=abc", "enable_metrics=false", "use_remote_inferencing=false"]


def test_engine_in_a_fresh_process_with_metrics_on_before(tmp_path: Path) -> None:
    """A fresh interpreter (so guardrails is imported after our rc), a hostile rc, and a network guard."""
    (tmp_path / ".guardrailsrc").write_text("enable_metrics=true\n")
    code = (
        "import socket\n"
        "def deny(self, addr):\n"
        "    raise SystemExit(f'network attempt to {addr!r}')\n"
        "socket.socket.connect = deny\n"
        "from policies.engine import check_draft\n"
        "from guardrails.settings import settings\n"
        "assert check_draft('venmo me').outcome == 'fix'\n"
        "assert check_draft('see you soon').outcome == 'pass'\n"
        "assert settings.rc.enable_metrics is False and settings.rc.use_remote_inferencing is False\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
