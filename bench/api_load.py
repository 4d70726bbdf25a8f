"""Inbox listing under load from a real HTTP load generator (Locust, headless, a separate process) against the API
on uvicorn on loopback; baseline: a bare FastAPI endpoint on uvicorn returning the same JSON document, measured
the same way in the same run.

    python -m bench.api_load [--users 32] [--seconds 20] [--drafts 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from bench.approval import _pending
from bench.stack import emit, running_stack
from devstack.services import free_port

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def _locust(host: str, path: str, auth: str | None, users: int, seconds: int) -> dict[str, Any]:
    env = {**os.environ, "BENCH_PATH": path, "BENCH_AUTH": auth or ""}
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "run")
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(LOCUSTFILE),
                "--headless",
                "--host",
                host,
                "-u",
                str(users),
                "-r",
                str(users),
                "-t",
                f"{seconds}s",
                "--csv",
                prefix,
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--skip-log-setup",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
        stats = Path(prefix + "_stats.csv")
        if not stats.exists():
            raise RuntimeError(f"locust produced no stats (exit {proc.returncode}): {proc.stderr[-2000:]}")
        import csv

        rows = {r["Name"]: r for r in csv.DictReader(stats.open())}
    row = rows["read"]
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": round(float(row["Requests/s"]), 1),
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
    }


async def _serve(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    return server, task


async def run(users: int, seconds: int, drafts: int) -> dict[str, Any]:
    async with running_stack(fans=drafts) as stack:
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as api:
            await _pending(stack, api, drafts)
            page: dict[str, Any] = (await api.get("/v1/inbox", headers=stack.auth)).json()
        assert len(page["items"]) == 50, len(page["items"])
        bare = FastAPI()

        @bare.get("/bare")
        async def bare_endpoint() -> dict[str, Any]:
            return page  # the same document, no auth, no database

        port = free_port()
        server, task = await _serve(bare, port)
        try:
            ours = await asyncio.to_thread(
                _locust, stack.api_url, "/v1/inbox", stack.auth["Authorization"], users, seconds
            )
            base = await asyncio.to_thread(_locust, f"http://127.0.0.1:{port}", "/bare", None, users, seconds)
        finally:
            server.should_exit = True
            await task
    return {
        "figure": ours,
        "baseline": base,
        "ratio": {
            "rps": round(ours["rps"] / base["rps"], 2),
            "p99": round(ours["p99_ms"] / max(base["p99_ms"], 1), 2),
        },
        "inbox_bytes": len(json.dumps(page)),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="huntaze bench api", description=__doc__)
    ap.add_argument("--users", type=int, default=32)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--drafts", type=int, default=120)
    args = ap.parse_args(argv)
    res = asyncio.run(run(args.users, args.seconds, args.drafts))
    print(
        f"inbox: {res['figure']['rps']} req/s p99 {res['figure']['p99_ms']} ms;"
        f" bare FastAPI: {res['baseline']['rps']} req/s p99 {res['baseline']['p99_ms']} ms"
    )
    emit("api", res["figure"], res["baseline"], res["ratio"], targets={"rps": ">= 0.5"}, users=args.users)


if __name__ == "__main__":
    main()
