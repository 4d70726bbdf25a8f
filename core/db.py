"""The one connection pool. Every query in the project goes through it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

# A pooled connection: rows come back as dicts (the pool's row factory), unless a cursor asks for another.
Conn = AsyncConnection[dict[str, Any]]

_pool: AsyncConnectionPool[Conn] | None = None
_pool_url: str | None = None
# The connection `shared_connection()` holds for the current task (and the tasks it starts), if any.
_shared: ContextVar[Conn | None] = ContextVar("huntaze_shared_connection", default=None)


class DatabaseNotConfigured(RuntimeError):
    pass


async def open_pool(url: str, max_size: int = 10) -> AsyncConnectionPool[Conn]:
    """Open (or return) the process-wide pool for `url`."""
    global _pool, _pool_url
    if _pool is not None and _pool_url == url:
        return _pool
    if _pool is not None:
        await _pool.close()
    pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": False},
        # A connection cut by a database restart is replaced when checked out, not handed to a request.
        check=AsyncConnectionPool.check_connection,
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    _pool, _pool_url = pool, url
    return pool


def pool() -> AsyncConnectionPool[Conn]:
    if _pool is None:
        raise DatabaseNotConfigured("the database pool is not open; call core.db.open_pool(url) first")
    return _pool


async def close_pool() -> None:
    global _pool, _pool_url
    if _pool is not None:
        await _pool.close()
    _pool, _pool_url = None, None


@asynccontextmanager
async def connection() -> AsyncIterator[Conn]:
    """A connection from the pool, or the one a surrounding `shared_connection()` holds. For reads; a write that
    needs its own transaction opens one on it (`conn.transaction()`, a savepoint when shared)."""
    shared = _shared.get()
    if shared is not None:
        yield shared
        return
    async with pool().connection() as conn:
        yield conn


@asynccontextmanager
async def shared_connection() -> AsyncIterator[Conn]:
    """One pooled connection for every `connection()` inside the block: a group of reads (a draft's context, a
    policy check) pays for one checkout, its liveness check and one BEGIN/COMMIT instead of one each, and reads
    one snapshot. Concurrent users inside the block take turns on it (psycopg serialises a connection's
    commands)."""
    shared = _shared.get()
    if shared is not None:
        yield shared
        return
    async with pool().connection() as conn:
        token = _shared.set(conn)
        try:
            yield conn
        finally:
            _shared.reset(token)
