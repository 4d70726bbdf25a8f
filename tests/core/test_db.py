"""The pool's shared connection: one checkout for a group of reads, and only inside its block."""

from __future__ import annotations

import asyncio

import pytest

from core import db


async def _backend_pid() -> int:
    async with db.connection() as conn:
        row = await (await conn.execute("SELECT pg_backend_pid() AS pid")).fetchone()
        assert row is not None
        return int(row["pid"])


async def test_reads_inside_a_shared_block_use_one_connection_and_one_snapshot(database_url: str) -> None:
    async with db.shared_connection() as shared:
        pids = {await _backend_pid() for _ in range(3)}
        # tasks started inside the block take turns on the same connection
        pids |= set(await asyncio.gather(*(_backend_pid() for _ in range(4))))
        async with db.shared_connection() as nested:
            assert nested is shared
            pids.add(await _backend_pid())
        async with db.connection() as conn:
            row = await (await conn.execute("SELECT now() AS t, txid_current_if_assigned() AS x")).fetchone()
            first_now = row["t"] if row else None
        await asyncio.sleep(0.01)
        async with db.connection() as conn:
            row = await (await conn.execute("SELECT now() AS t")).fetchone()
            assert row is not None and row["t"] == first_now  # one transaction: now() does not move
    assert len(pids) == 1
    # outside the block each read checks out a connection of its own: two at once are two backends
    outside = await asyncio.gather(*(_held_pid(0.05) for _ in range(2)))
    assert len(set(outside)) == 2


async def _held_pid(hold_s: float) -> int:
    async with db.connection() as conn:
        row = await (await conn.execute("SELECT pg_backend_pid() AS pid")).fetchone()
        await asyncio.sleep(hold_s)
        assert row is not None
        return int(row["pid"])


async def test_an_error_inside_a_shared_block_leaves_the_pool_usable(database_url: str) -> None:
    with pytest.raises(LookupError):
        async with db.shared_connection():
            await _backend_pid()
            raise LookupError("not found")
    assert await _backend_pid() > 0
