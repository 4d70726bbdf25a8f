"""`huntaze voice index`: index the creator's past replies as examples of her voice (memory/voice.py).

The backfill for rows written before the index existed or while indexing failed (an imported history, old
sends); new sends are indexed as they go out. Idempotent: an exchange is indexed once, so it can be rerun or
interrupted (a batch per transaction)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from psycopg import AsyncConnection

from cli.database import on_database
from cli.keys import EXIT_BAD_INPUT, BadArgument
from core.settings import Settings


def _creator(value: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a creator id (a UUID), not {value!r}") from None


def _batch(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 10_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 10000, not {value!r}")
    return n


def cmd_voice_index(args: argparse.Namespace) -> int:
    from memory.embed import make_embedder
    from memory.voice import index_all, index_creator

    async def job(conn: AsyncConnection[Any], settings: Settings) -> dict[str, Any]:
        embedder = make_embedder(settings)
        if args.creator:
            cur = await conn.execute("SELECT 1 FROM creators WHERE id = %s", [args.creator])
            if await cur.fetchone() is None:
                raise BadArgument(f"--creator: no creator {args.creator}")
            done = {args.creator: await index_creator(conn, args.creator, embedder, batch=args.batch)}
        else:
            done = await index_all(conn, embedder, batch=args.batch)
        return {"model": embedder.name, "indexed": sum(done.values()), "by_creator": done}

    try:
        out = on_database(job, one_transaction=False)
    except BadArgument as exc:
        print(f"huntaze voice index: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(out), flush=True)
    return 0


def add_parser(sub: Any) -> None:
    vo = sub.add_parser("voice", help="the creator's past replies as examples of her voice")
    vosub = vo.add_subparsers(dest="voice_command", required=True)
    ix = vosub.add_parser(
        "index", help="index past replies (imported history, sent messages) not indexed yet; prints JSON"
    )
    ix.add_argument("--creator", type=_creator, help="only this creator (default: every creator)")
    ix.add_argument("--batch", type=_batch, default=256, help="exchanges per transaction (1-10000)")
    ix.set_defaults(func=cmd_voice_index)
