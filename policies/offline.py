"""guardrails-ai with telemetry and remote inference off by construction.

guardrails-ai 0.11 sends metrics by default and each Guard re-reads ~/.guardrailsrc, ignoring in-code
settings. So before guardrails is imported we make that file say `enable_metrics=false` and
`use_remote_inferencing=false` (keeping any other lines, such as a hub token), and after import we
check that the loaded settings agree; if they do not, we refuse to run rather than leak fan text.
"""

from __future__ import annotations

import os
from pathlib import Path

OFF = {"enable_metrics": "false", "use_remote_inferencing": "false"}


def rc_path() -> Path:
    return Path(os.path.expanduser("~")) / ".guardrailsrc"


def write_offline_rc() -> Path:
    # Our validators are pure CPU work: run them in sequence rather than as asyncio tasks on a fresh
    # event loop per draft (that loop cost more than the rules themselves, and it cannot start inside
    # the worker's or the API's running loop anyway).
    os.environ["GUARDRAILS_RUN_SYNC"] = "true"
    path = rc_path()
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [ln for ln in lines if ln.split("=", 1)[0].strip() not in OFF and ln.strip()]
    wanted = [*kept, *(f"{k}={v}" for k, v in OFF.items())]
    if lines != wanted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(wanted) + "\n", encoding="utf-8")
    return path


def assert_offline() -> None:
    from guardrails.settings import settings

    # Local OpenTelemetry spans for every step and validator: nothing exports them here, they only cost
    # time (about a third of a check).
    settings.disable_tracing = True
    rc = settings.rc
    if rc.enable_metrics is not False or rc.use_remote_inferencing is not False:
        raise RuntimeError(
            f"guardrails-ai telemetry or remote inference is on ({rc_path()}); refusing to run"
        )
