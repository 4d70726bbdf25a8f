"""guardrails-ai runs with telemetry and remote inference off, whatever the rc file said before."""

import subprocess
import sys
from pathlib import Path

from core.settings import get_settings
from policies.offline import rc_path, write_offline_rc


def _model_cache() -> Path:
    """The model cache with the encoder and the fitted classifiers in it (built here, outside the child's time
    limit, if this process has not built them yet)."""
    from policies.semantic import semantic_layer

    semantic_layer()
    return get_settings().model_cache.resolve()


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
        # the session's model cache: the encoder and the fitted classifiers are read, not rebuilt, in the child
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HUNTAZE_MODEL_CACHE": str(_model_cache())},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
