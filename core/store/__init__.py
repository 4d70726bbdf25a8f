"""The SQL of the core tables, one module per table (api_keys, catalog, drafts, fans, messages, outbox, ...).

Every function takes the connection it runs on (the caller owns the transaction and its locks) and the creator
whose rows it reads or writes: each statement filters on creator_id, so a query cannot reach another creator's
rows. Rows come back as frozen dataclasses (psycopg's `class_row`), not as the pool's dicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, LiteralString, TypeVar
from uuid import UUID

from psycopg.rows import class_row

from core.db import Conn

# Ids arrive as text from workflows and as UUIDs from the API; psycopg adapts either.
Id = str | UUID
Params = Sequence[Any] | Mapping[str, Any]
Row = TypeVar("Row")

__all__ = ["Conn", "Id", "fetch_all", "fetch_one"]


async def fetch_one(conn: Conn, row: type[Row], sql: LiteralString, params: Params) -> Row | None:
    """The first row of `sql`, built as `row` (its fields named like the statement's columns)."""
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(sql, params)
        return await cur.fetchone()


async def fetch_all(conn: Conn, row: type[Row], sql: LiteralString, params: Params) -> list[Row]:
    async with conn.cursor(row_factory=class_row(row)) as cur:
        await cur.execute(sql, params)
        return await cur.fetchall()
