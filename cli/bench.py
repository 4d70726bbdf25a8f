"""`huntaze bench NAME [ARGS...]`: run one benchmark of bench/ (a source checkout) and pass its arguments on."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCHES = {
    "pipeline": "pipeline",
    "approval": "approval",
    "api": "api_load",
    "llm-cost": "llm_cost",
    "policy": "policy_check",
    "segmentation": "segmentation",
    "memory": "memory",
    "overview": "overview",
    "import": "history_import",
    "live-lane": "live_lane",
    "local-models": "local_models",
}


def cmd_bench(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parent.parent
    module = BENCHES[args.name]
    if not (root / "bench" / f"{module}.py").exists():
        raise SystemExit(f"bench: {root / 'bench'} not found; benchmarks run from a source checkout")
    # A child process: each benchmark starts its own services and owns its event loop and signal handling.
    return subprocess.call([sys.executable, "-m", f"bench.{module}", *args.rest], cwd=root)


def add_parser(sub: Any) -> None:
    b = sub.add_parser(
        "bench",
        help="run a benchmark (prints a JSON line: figure, in-run baseline, ratio)",
        description="Benchmarks: "
        + ", ".join(BENCHES)
        + ". Arguments after NAME go to the benchmark (--help).",
    )
    b.add_argument("name", choices=sorted(BENCHES))
    b.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for the benchmark")
    b.set_defaults(func=cmd_bench)
