"""Commands that need only the database: the embedded PostgreSQL (unless DATABASE_URL is set), migrated first."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from psycopg import AsyncConnection

from core.settings import Settings, read_settings
from devstack.services import embedded_services

T = TypeVar("T")


def on_database(
    job: Callable[[AsyncConnection[Any], Settings], Awaitable[T]], *, one_transaction: bool = True
) -> T:
    """Run `job` on the (embedded unless configured) database, migrated first, in one transaction unless
    the job manages its own. For commands that need Postgres only: no Temporal, no LLM."""
    from core import db
    from core.migrate import migrate

    async def run(settings: Settings) -> T:
        assert settings.database_url
        await db.open_pool(settings.database_url, 2)
        try:
            async with db.pool().connection() as conn:
                if not one_transaction:
                    return await job(conn, settings)
                async with conn.transaction():
                    return await job(conn, settings)
        finally:
            await db.close_pool()

    with embedded_services(read_settings(), need_llm=False, need_temporal=False) as svc:
        assert svc.settings.database_url
        migrate(svc.settings.database_url)
        return asyncio.run(run(svc.settings))
