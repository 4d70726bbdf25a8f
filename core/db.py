"""The one connection pool. Every query in the project goes through it."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

_pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]] | None = None
_pool_url: str | None = None


class DatabaseNotConfigured(RuntimeError):
    pass


async def open_pool(url: str, max_size: int = 10) -> AsyncConnectionPool[AsyncConnection[dict[str, Any]]]:
    """Open (or return) the process-wide pool for `url`."""
    global _pool, _pool_url
    if _pool is not None and _pool_url == url:
        return _pool
    if _pool is not None:
        await _pool.close()
    pool: AsyncConnectionPool[AsyncConnection[dict[str, Any]]] = AsyncConnectionPool(
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


def pool() -> AsyncConnectionPool[AsyncConnection[dict[str, Any]]]:
    if _pool is None:
        raise DatabaseNotConfigured("the database pool is not open; call core.db.open_pool(url) first")
    return _pool


async def close_pool() -> None:
    global _pool, _pool_url
    if _pool is not None:
        await _pool.close()
    _pool, _pool_url = None, None
