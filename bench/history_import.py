"""History import: events per second of `import_lines` (what `huntaze import` and POST /v1/imports run), from
JSON lines to committed rows, on a synthetic history (devstack/history_file.py: subscriptions, renewals,
expiries, messages both ways, tips, purchases and unlocks naming items by the platform's id, refunds and
chargebacks). Baseline, same run, same database: lines of the same
history stored one at a time by the events endpoint's own store function, one transaction per event (what
POST /v1/events does before waking a workflow, without the HTTP). Then the same file imported again (every line
a duplicate). The segmentation refresh at the end of an import is timed apart (it is not part of the rate).
The CPU both sides used is reported too: on a shared machine the wall-clock rate moves with everyone else's
load, the CPU seconds much less.

    python -m bench.history_import [--events 20000] [--fans 200] [--baseline-events 2000] [--batch-lines 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from api.routers.history import BATCH_LINES
from bench.scratch_db import scratch_database
from bench.stack import emit


async def _creator(handle: str) -> tuple[str, list[str]]:
    """A creator and its catalog; returns the creator's id and the items' platform ids."""
    from core import db

    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO creators (handle, display_name) VALUES (%s, %s) RETURNING id::text AS id",
            [handle, handle],
        )
        row = await cur.fetchone()
        assert row
        items = []
        for i in range(10):
            await conn.execute(
                "INSERT INTO catalog (creator_id, title, price_cents, platform_item_id) VALUES (%s, %s, %s, %s)",
                [row["id"], f"item {i}", 900 + 100 * i, f"item-{i}"],
            )
            items.append(f"item-{i}")
    return row["id"], items


async def _postgres_cpu_s() -> float:
    """CPU seconds used so far by the scratch cluster's processes (the postmaster and its children)."""
    import psutil

    from core import db

    async with db.pool().connection() as conn:
        cur = await conn.execute("SHOW data_directory")
        row = await cur.fetchone()
        assert row
    pid = int((Path(row["data_directory"]) / "postmaster.pid").read_text().split()[0])
    main = psutil.Process(pid)
    total = 0.0
    for p in [main, *main.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


async def run(url: str, events: int, fans: int, baseline_events: int, batch_lines: int) -> dict[str, Any]:
    from agents.segmentation.refresh import refresh_segments
    from api.routers.events import EventIn, _store
    from api.routers.history import import_lines
    from core import db
    from devstack.history_file import history_lines

    def refused(r: Any) -> None:
        raise AssertionError(f"the generated history has a bad line: {r}")

    await db.open_pool(url, 4)
    try:
        creator, items = await _creator("bench-import")
        lines = [line.encode() for line in history_lines(fans=fans, events=events, platform_item_ids=items)]
        pg0, py0 = await _postgres_cpu_s(), time.process_time()
        t0 = time.perf_counter()
        first = await import_lines(creator, lines, on_reject=refused, batch_lines=batch_lines)
        import_s = time.perf_counter() - t0
        py_cpu, pg_cpu = time.process_time() - py0, await _postgres_cpu_s() - pg0
        assert first.imported == len(lines), first
        t0 = time.perf_counter()
        again = await import_lines(creator, lines, on_reject=refused, batch_lines=batch_lines)
        again_s = time.perf_counter() - t0
        assert again.duplicates == len(lines), again
        t0 = time.perf_counter()
        async with db.pool().connection() as conn, conn.transaction():
            refreshed = await refresh_segments(conn, creator)
        refresh_s = time.perf_counter() - t0

        other, other_items = await _creator("bench-one-by-one")
        sample = [
            line.encode()
            for line in history_lines(
                fans=fans, events=baseline_events, platform_item_ids=other_items, prefix="b"
            )
        ]
        t0 = time.perf_counter()
        for raw in sample:
            ev = EventIn.model_validate_json(raw)
            async with db.pool().connection() as conn, conn.transaction():
                await _store(conn, other, ev)
        one_s = time.perf_counter() - t0
    finally:
        await db.close_pool()
    rate = len(lines) / import_s
    base = len(sample) / one_s
    return {
        "figure": {
            "events": len(lines),
            "fans": fans,
            "batch_lines": batch_lines,
            "kinds": dict(sorted(Counter(json.loads(line)["kind"] for line in lines).items())),
            "import_s": round(import_s, 3),
            "events_per_s": round(rate),
            # CPU the import used, ours and Postgres's: what the rate would be on two idle cores, each side on one
            "python_cpu_s": round(py_cpu, 3),
            "postgres_cpu_s": round(pg_cpu, 3),
            "events_per_s_cpu_bound": round(len(lines) / max(py_cpu, pg_cpu)),
            # the machine's 1-minute load average when the import ended: others' work slows the wall clock
            "load_average": round(os.getloadavg()[0], 2),
            "reimport_events_per_s": round(len(lines) / again_s),
            "segments_refresh_s": round(refresh_s, 3),
            "segmented_fans": refreshed.fans,
        },
        "baseline": {"events": len(sample), "events_per_s": round(base)},
        "ratio": {"events_per_s": round(rate / base, 1)},
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="huntaze bench import", description=__doc__)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--fans", type=int, default=200)
    ap.add_argument("--baseline-events", type=int, default=2_000)
    ap.add_argument("--batch-lines", type=int, default=BATCH_LINES, help="lines per transaction")
    args = ap.parse_args(argv)
    with scratch_database("huntaze-bench-import-") as url:
        res = asyncio.run(run(url, args.events, args.fans, args.baseline_events, args.batch_lines))
    f, b = res["figure"], res["baseline"]
    print(
        f"import {f['events']} events: {f['events_per_s']} events/s ({f['import_s']} s at load average"
        f" {f['load_average']}; CPU {f['python_cpu_s']} s ours, {f['postgres_cpu_s']} s PostgreSQL's:"
        f" {f['events_per_s_cpu_bound']} events/s cpu-bound; again, all duplicates:"
        f" {f['reimport_events_per_s']} events/s); one event per transaction: {b['events_per_s']} events/s;"
        f" segments refresh after it {f['segments_refresh_s']} s"
    )
    emit("import", f, b, res["ratio"], targets={"events_per_s": ">= 20000"})


if __name__ == "__main__":
    main()
