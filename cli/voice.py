"""`huntaze voice index`: index the creator's past replies as examples of her voice (memory/voice.py).

The backfill for rows written before the index existed or while indexing failed (an imported history, old
sends); new sends are indexed as they go out. Idempotent: an exchange is indexed once, so it can be rerun or
interrupted (a batch per transaction)."""

from __future__ import annotations

import argparse
from typing import Any

from psycopg import AsyncConnection

from cli.keys import BadArgument, run_job, uuid_arg
from core.settings import Settings


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

    return run_job("voice index", job, one_transaction=False)


def add_parser(sub: Any) -> None:
    vo = sub.add_parser("voice", help="the creator's past replies as examples of her voice")
    vosub = vo.add_subparsers(dest="voice_command", required=True)
    ix = vosub.add_parser(
        "index", help="index past replies (imported history, sent messages) not indexed yet; prints JSON"
    )
    ix.add_argument("--creator", type=uuid_arg, help="only this creator (default: every creator)")
    ix.add_argument("--batch", type=_batch, default=256, help="exchanges per transaction (1-10000)")
    ix.set_defaults(func=cmd_voice_index)
