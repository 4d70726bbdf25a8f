"""The benchmarks' instant LLM in a process of its own: the same OpenAI-compatible double the tests use
(tests/fakes/openai_server.py), answering at once; or, with --delay-s and --slots, a model of one local engine (each
draft takes that long, that many at once, the rest queued first come first served).

A real LLM endpoint is another process on another machine. Served from a thread of the benchmark's own process,
its HTTP handling (~3-5 ms of Python per call) took the GIL from the worker being measured.

    python -m bench.instant_llm --port 8765 [--delay-s 0.5 --slots 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def instant_llm(delay_s: float = 0.0, slots: int | None = None) -> Iterator[str]:
    """Start the double on a free loopback port; yield its OpenAI base URL; stop it."""
    from devstack.services import ServiceError, free_port, wait_for_port

    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    engine = ["--delay-s", str(delay_s)] + (["--slots", str(slots)] if slots else [])
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.instant_llm", "--port", str(port), *engine], cwd=ROOT, env=env
    )
    try:
        try:
            wait_for_port("127.0.0.1", port, 60, "the instant LLM")
        except ServiceError:
            if proc.poll() is not None:
                raise ServiceError(
                    f"the instant LLM exited with {proc.returncode} before it listened"
                ) from None
            raise
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from tests.fakes.openai_server import FakeOpenAI

    ap = argparse.ArgumentParser(prog="python -m bench.instant_llm", description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--delay-s", type=float, default=0.0, help="seconds each draft takes (default: 0)")
    ap.add_argument("--slots", type=int, default=None, help="requests served at once (default: no limit)")
    args = ap.parse_args(argv)
    fake = FakeOpenAI(keep_requests=0)
    fake.delay_s, fake.slots = args.delay_s, args.slots
    uvicorn.run(fake.app, host="127.0.0.1", port=args.port, log_level="error")


if __name__ == "__main__":
    main()
