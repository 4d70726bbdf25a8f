"""Chaos run: fan messages flow and humans approve while the worker is killed with SIGKILL at random moments
(and Postgres is restarted once); then every promise is counted.

    .venv/bin/python -m tests.chaos [--messages 500] [--fans 50] [--kills 8] [--spread 60] [--seed 7]

Real parts: embedded PostgreSQL, the Temporal dev server, `huntaze up --worker-only` as a separate process
(the one that gets killed), the API in this process. Only the LLM is the loopback fake (this run is about
durability, not drafting). The last line printed is a JSON summary; it passes when events_lost,
events_unprocessed, duplicate_sends and sends_without_approval are all 0 and nothing is left undelivered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from api.app import create_app
from api.deps import Runtime
from core import db
from core.crypto import new_key_line
from core.migrate import migrate
from core.settings import Settings, configure
from devstack.services import free_port, restart_postgres, start_postgres, start_temporal, stop_postgres
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI


@dataclass
class Tally:
    accepted: set[str] = field(default_factory=set)  # event ids the API answered 202 for
    approvals: int = 0
    kills: int = 0
    pg_restarts: int = 0
    api_retries: int = 0
    save_kills: int = 0
    last_restart: float = 0.0


async def _worker(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "up",
        "--worker-only",
        env=env,
        stdout=log.open("ab"),
        stderr=asyncio.subprocess.STDOUT,
    )


async def _request(api: httpx.AsyncClient, tally: Tally, method: str, url: str, **kw: Any) -> httpx.Response:
    """A client that retries what the service asks it to (5xx, including 503 "stored, retry")."""
    for attempt in range(200):
        try:
            r = await api.request(method, url, **kw)
        except Exception:  # the database restarting under the in-process API
            r = None
        if r is not None and r.status_code < 500:
            return r
        tally.api_retries += 1
        await asyncio.sleep(min(2.0, 0.05 * (attempt + 1)))
    raise RuntimeError(f"{method} {url} kept failing")


async def _send_messages(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    n: int,
    fans: int,
    spread_s: float,
    rng: random.Random,
    tally: Tally,
) -> None:
    for i in range(n):
        event_id = f"chaos-{i}"
        body = {
            "event_id": event_id,
            "kind": "message",
            "text": rng.choice(["hey you", "how was your day?", "any new sets?", "miss you", "lol"]),
            "fan": {"platform_fan_id": f"chaos-fan-{rng.randrange(fans)}"},
        }
        r = await _request(api, tally, "POST", "/v1/events", json=body, headers=auth)
        if r.status_code == 202:
            tally.accepted.add(event_id)
        await asyncio.sleep(rng.uniform(0, 2 * spread_s / n))  # about spread_s in all


async def _approve_loop(
    api: httpx.AsyncClient, auth: dict[str, str], stop: asyncio.Event, tally: Tally
) -> None:
    while not stop.is_set():
        r = await _request(
            api, tally, "GET", "/v1/inbox", params={"status": "pending_review", "limit": 50}, headers=auth
        )
        for d in r.json()["items"]:
            res = await _request(
                api,
                tally,
                "POST",
                f"/v1/drafts/{d['id']}/approve",
                json={"version": d["version"]},
                headers=auth,
            )
            tally.approvals += res.status_code == 200
        await asyncio.sleep(0.2)


async def _killer(
    env: dict[str, str],
    log: Path,
    holder: list[asyncio.subprocess.Process],
    kills: int,
    rng: random.Random,
    stop: asyncio.Event,
    tally: Tally,
    save_kills: int = 0,
) -> None:
    """The first `save_kills` kills happen exactly at a draft's save (the worker's test hook ends it right after
    the commit); the others are SIGKILLs at random moments."""
    crash_file = Path(env["HUNTAZE_TEST_CRASH_FILE"])
    for n in range(kills):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(1.0, 4.0))
        if stop.is_set():
            return
        proc = holder[0]
        if n < save_kills:
            await asyncio.to_thread(crash_file.touch)
            try:
                await asyncio.wait_for(proc.wait(), 60)
                tally.save_kills += 1
            except TimeoutError:  # no draft was saved meanwhile: kill it anyway
                await asyncio.to_thread(crash_file.unlink, missing_ok=True)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)  # no clean-up, no graceful shutdown
        await proc.wait()
        tally.kills += 1
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        holder[0] = await _worker(env, log)
        tally.last_restart = time.monotonic()


async def _scalar(sql: str, params: list[Any]) -> Any:
    for _ in range(50):
        try:
            async with db.pool().connection() as conn:
                row = await (await conn.execute(sql, params)).fetchone()
            return next(iter(row.values())) if row else None
        except Exception:
            await asyncio.sleep(0.2)
    raise RuntimeError(f"query kept failing: {sql}")


@contextlib.asynccontextmanager
async def _stack(root: Path) -> AsyncIterator[tuple[str, str, FakeOpenAI]]:
    url = start_postgres(root)
    migrate(url)
    temporal_port = free_port()
    temporal = await asyncio.to_thread(start_temporal, root / "temporal", temporal_port, free_port())
    llm = FakeOpenAI().start()
    try:
        yield url, f"127.0.0.1:{temporal_port}", llm
    finally:
        llm.stop()
        temporal.terminate()
        temporal.wait(30)
        stop_postgres(root)


async def run(
    messages: int = 500,
    fans: int = 50,
    kills: int = 8,
    seed: int = 7,
    pg_restart: bool = True,
    spread_s: float = 60,
    timeout_s: float = 600,
    save_kills: int = 0,
) -> dict[str, Any]:
    rng = random.Random(seed)
    root = Path(tempfile.mkdtemp(prefix="hz-chaos-"))
    started = time.monotonic()
    tally = Tally()
    try:
        async with _stack(root) as (url, temporal_address, llm):
            keys = f"{new_key_line('chaos')}"
            settings = Settings(
                database_url=url,
                temporal_address=temporal_address,
                llm_base_url=llm.base_url,
                llm_model="fake",
                debounce_s=0.3,
                task_queue="chaos",
                data_dir=root / "data",
                rate_per_key_per_min=0,
                rate_per_creator_per_min=0,
                encryption_keys=SecretStr(keys),
            )
            configure(settings)
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "TEMPORAL_ADDRESS": temporal_address,
                "LLM_BASE_URL": llm.base_url,
                "LLM_MODEL": "fake",
                "HUNTAZE_DEBOUNCE_S": "0.3",
                "HUNTAZE_TASK_QUEUE": "chaos",
                "HUNTAZE_DATA_DIR": str(root / "data"),
                "HUNTAZE_ENCRYPTION_KEYS": keys,
                "HUNTAZE_TEST_CRASH_FILE": str(root / "crash-after-save"),
            }
            await db.open_pool(url, 10)
            tenant = await make_tenant("chaos", fans=0)
            # Frequency caps would (rightly) hold the 7th message to a fan until tomorrow; this run is
            # about durability, so they are off for the chaos creator.
            async with db.pool().connection() as conn:
                await conn.execute(
                    "UPDATE creators SET policy_config = policy_config"
                    ' || \'{"max_per_fan_per_day": null, "max_per_creator_per_hour": null}\' WHERE id = %s',
                    [tenant.creator_id],
                )
            auth = tenant.auth("manager")
            from temporalio.client import Client

            client = await Client.connect(temporal_address)
            app = create_app(settings, temporal=client)
            app.state.runtime = Runtime(temporal=client, settings=settings)
            log = root / "worker.log"
            holder = [await _worker(env, log)]
            stop = asyncio.Event()
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=60
            ) as api:
                approver = asyncio.create_task(_approve_loop(api, auth, stop, tally))
                killer = asyncio.create_task(
                    _killer(env, log, holder, kills, rng, stop, tally, save_kills=save_kills)
                )
                sender = asyncio.create_task(_send_messages(api, auth, messages, fans, spread_s, rng, tally))
                if pg_restart:
                    await asyncio.sleep(spread_s / 2)  # mid-run
                    await asyncio.to_thread(restart_postgres, root)
                    tally.pg_restarts += 1
                await sender
                all_sent = time.monotonic()
                await killer  # every planned kill happens, then the worker is left alone
                # Quiescence: every event handled, nothing waiting for a human, every approval sent.
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline:
                    open_work = await _scalar(
                        "SELECT (SELECT count(*) FROM events WHERE processed_at IS NULL)"
                        " + (SELECT count(*) FROM drafts WHERE status IN ('pending_review', 'approved'))",
                        [],
                    )
                    if open_work == 0:
                        break
                    await asyncio.sleep(0.5)
                # from the later of the worker's last return and the last message: the backlog it came back to
                quiet_after_restart = time.monotonic() - max(tally.last_restart, all_sent)
                stop.set()
                await approver
            await app.state.fresh_cache.close()
            holder[0].send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(holder[0].wait(), 20)
            except TimeoutError:
                holder[0].kill()
            stored = {r["platform_event_id"] for r in await _rows("SELECT platform_event_id FROM events")}
            summary = {
                "messages": messages,
                "fans": fans,
                "accepted": len(tally.accepted),
                "worker_kills": tally.kills,
                "kills_at_save": tally.save_kills,
                # every draft was approved by the loop once quiet: one still awaiting a decision has nobody
                # who can decide it
                "undecidable_drafts": await _scalar(
                    "SELECT count(*) FROM drafts WHERE status IN ('pending_review', 'blocked')", []
                ),
                "seconds_to_quiet_after_last_restart": round(quiet_after_restart, 1),
                "postgres_restarts": tally.pg_restarts,
                "api_retries": tally.api_retries,
                "approvals": tally.approvals,
                "events_lost": len(tally.accepted - stored),
                "events_unprocessed": await _scalar(
                    "SELECT count(*) FROM events WHERE processed_at IS NULL", []
                ),
                "drafts": await _scalar("SELECT count(*) FROM drafts", []),
                "sent": await _scalar("SELECT count(*) FROM messages WHERE direction = 'out'", []),
                "duplicate_sends": await _scalar(
                    "SELECT count(*) - count(DISTINCT draft_id) FROM messages WHERE direction = 'out'", []
                ),
                "sends_without_approval": await _scalar(
                    "SELECT count(*) FROM messages m JOIN drafts d ON d.id = m.draft_id"
                    " WHERE m.direction = 'out' AND (d.decided_by IS NULL OR d.status <> 'sent')",
                    [],
                ),
                "approved_not_sent": await _scalar(
                    "SELECT count(*) FROM drafts WHERE status = 'approved'", []
                ),
                "held": await _scalar("SELECT count(*) FROM agent_actions WHERE kind = 'send_held'", []),
                "superseded": await _scalar("SELECT count(*) FROM drafts WHERE status = 'superseded'", []),
                "seconds": round(time.monotonic() - started, 1),
            }
            await db.close_pool()
            configure(None)
            return summary
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def _rows(sql: str) -> list[dict[str, Any]]:
    async with db.pool().connection() as conn:
        return list(await (await conn.execute(sql)).fetchall())


def passed(summary: dict[str, Any]) -> bool:
    zero = (
        "events_lost",
        "events_unprocessed",
        "duplicate_sends",
        "sends_without_approval",
        "approved_not_sent",
        "undecidable_drafts",
    )
    return all(summary[k] == 0 for k in zero) and summary["accepted"] == summary["messages"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=500)
    ap.add_argument("--fans", type=int, default=50)
    ap.add_argument("--kills", type=int, default=8)
    ap.add_argument("--kills-at-save", type=int, default=3, help="how many of the kills hit a draft's save")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--spread", type=float, default=60, help="seconds over which the messages arrive")
    ap.add_argument("--no-pg-restart", action="store_true")
    args = ap.parse_args()
    summary = asyncio.run(
        run(
            args.messages,
            args.fans,
            args.kills,
            args.seed,
            not args.no_pg_restart,
            args.spread,
            save_kills=min(args.kills_at_save, args.kills),
        )
    )
    summary["passed"] = passed(summary)
    print(json.dumps(summary))
    raise SystemExit(0 if summary["passed"] else 1)


if __name__ == "__main__":
    main()
