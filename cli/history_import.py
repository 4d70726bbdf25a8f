"""`huntaze import --creator CREATOR_ID FILE`: a creator's history as JSON lines (each a `POST /v1/events` body),
stored and never answered (api/routers/history.py). Refused lines are printed as they are found, the counts last."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from typing import IO, Any

from psycopg import AsyncConnection

from cli.keys import uuid_arg
from core.settings import Settings


def cmd_import(args: argparse.Namespace) -> int:
    from api.routers.history import ImportReport, Rejected, import_lines, record_import
    from cli.database import on_database

    if args.batch_size < 1:
        raise SystemExit(f"import: --batch-size must be at least 1, not {args.batch_size}")
    try:
        fh: IO[bytes] = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")
    except OSError as exc:
        raise SystemExit(f"import: FILE {args.file!r} cannot be read ({exc.strerror})") from None
    total = None if args.file == "-" else os.fstat(fh.fileno()).st_size

    def rejected(r: Rejected) -> None:
        print(r, flush=True)

    async def job(conn: AsyncConnection[Any], _: Settings) -> ImportReport | None:
        cur = await conn.execute("SELECT 1 FROM creators WHERE id = %s", [args.creator])
        if await cur.fetchone() is None:
            return None
        with ExitStack() as stack:
            on_batch = None
            if sys.stderr.isatty():
                from rich.console import Console
                from rich.progress import Progress

                progress = stack.enter_context(Progress(console=Console(stderr=True), transient=True))
                task = progress.add_task("importing", total=total)

                def on_batch(r: ImportReport) -> None:
                    progress.update(
                        task,
                        completed=r.bytes_read,
                        description=f"imported {r.imported}, duplicates {r.duplicates}, refused {r.rejected}",
                    )

            report = await import_lines(
                args.creator, fh, on_reject=rejected, on_batch=on_batch, batch_lines=args.batch_size
            )
        if report.imported:
            from agents.segmentation.refresh import RefreshFailed, refresh_and_announce

            async with conn.transaction():
                await record_import(conn, args.creator, report, "huntaze import")
            try:
                async with conn.transaction():
                    await refresh_and_announce(conn, args.creator)
            except RefreshFailed as exc:  # the history is stored; the feed says why the refresh failed
                print(f"huntaze: imported, but the segments were not refreshed: {exc}", file=sys.stderr)
        return report

    with fh:
        report = on_database(job, one_transaction=False)
    if report is None:
        print(f"huntaze: no creator {args.creator}", file=sys.stderr)
        return 2
    print(json.dumps(report.summary()))
    return 1 if report.rejected else 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help="import a creator's history (JSON lines of POST /v1/events bodies); stored, never answered",
        description="Import past events: each line is a POST /v1/events body with occurred_at in the past."
        " Idempotent on event_id (a rerun counts what is in as duplicates), one transaction per batch."
        " Refused lines are printed as 'line N: FIELD: REASON'; the last line is JSON"
        ' {"imported", "duplicates", "rejected"}. Exit 1 when a line was refused. See docs/import.md.',
    )
    p.add_argument(
        "--creator",
        type=uuid_arg,
        required=True,
        metavar="CREATOR_ID",
        help="the creator whose history it is",
    )
    p.add_argument("file", metavar="FILE", help="the JSON-lines file ('-' reads standard input)")
    p.add_argument("--batch-size", type=int, default=2000, help="lines per transaction (default 2000)")
    p.set_defaults(func=cmd_import)
