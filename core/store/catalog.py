"""catalog: a creator's PPV items. An item is named by our id or by the platform's own id (`platform_item_id`,
unique per creator); retired items (`active = false`) are no longer offered but still resolve for purchases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from core.store import Conn, Id, fetch_all, fetch_one

_COLUMNS = (
    "id::text AS id, title, description, media_kind, price_cents, tags, platform_item_id, active, created_at,"
    " updated_at"
)


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    title: str
    description: str
    media_kind: str
    price_cents: int
    tags: list[str]
    platform_item_id: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class _Ref:
    id: str


class PlatformItemIdTaken(Exception):
    """Another item of the same creator already has this platform_item_id."""

    def __init__(self, platform_item_id: str, existing_id: str) -> None:
        super().__init__(
            f"platform_item_id {platform_item_id!r} is already used by catalog item {existing_id}"
        )
        self.platform_item_id, self.existing_id = platform_item_id, existing_id


async def resolve(
    conn: Conn, creator_id: Id, *, catalog_id: Id | None = None, platform_item_id: str | None = None
) -> str | None:
    """The id of this creator's item named by our id or by the platform's (retired items included); None when
    the creator has no such item (another creator's id is no such item)."""
    if catalog_id is not None:
        ref = await fetch_one(
            conn,
            _Ref,
            "SELECT id::text AS id FROM catalog WHERE creator_id = %s AND id = %s",
            [creator_id, catalog_id],
        )
    elif platform_item_id is not None:
        ref = await fetch_one(
            conn,
            _Ref,
            "SELECT id::text AS id FROM catalog WHERE creator_id = %s AND platform_item_id = %s",
            [creator_id, platform_item_id],
        )
    else:
        return None
    return None if ref is None else ref.id


async def resolve_many(
    conn: Conn, creator_id: Id, *, catalog_ids: set[UUID], platform_item_ids: set[str]
) -> tuple[set[UUID], dict[str, UUID]]:
    """`resolve` for many references at once: which of our ids this creator has, and the item of each platform
    id it has (retired items included)."""
    ids: set[UUID] = set()
    by_platform: dict[str, UUID] = {}
    if catalog_ids:
        cur = await conn.execute(
            "SELECT id FROM catalog WHERE creator_id = %s AND id = ANY(%s)", [creator_id, list(catalog_ids)]
        )
        ids = {r["id"] for r in await cur.fetchall()}
    if platform_item_ids:
        cur = await conn.execute(
            "SELECT platform_item_id, id FROM catalog WHERE creator_id = %s AND platform_item_id = ANY(%s)",
            [creator_id, list(platform_item_ids)],
        )
        by_platform = {r["platform_item_id"]: r["id"] for r in await cur.fetchall()}
    return ids, by_platform


async def get(conn: Conn, creator_id: Id, item_id: Id) -> Item | None:
    return await fetch_one(
        conn, Item, f"SELECT {_COLUMNS} FROM catalog WHERE creator_id = %s AND id = %s", [creator_id, item_id]
    )


async def page(
    conn: Conn,
    creator_id: Id,
    *,
    active: bool | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Item]:
    """Items newest first, after the keyset (created_at, id) of the previous page's last item; `limit` rows."""
    at, last = after if after else (None, None)
    return await fetch_all(
        conn,
        Item,
        f"SELECT {_COLUMNS} FROM catalog WHERE creator_id = %s AND (%s::boolean IS NULL OR active = %s)"
        " AND (%s::timestamptz IS NULL OR (created_at, id) < (%s::timestamptz, %s::uuid))"
        " ORDER BY created_at DESC, id DESC LIMIT %s",
        [creator_id, active, active, at, at, last, limit],
    )


async def _holder(conn: Conn, creator_id: Id, platform_item_id: str) -> str:
    found = await resolve(conn, creator_id, platform_item_id=platform_item_id)
    return found or ""


async def insert(
    conn: Conn,
    creator_id: Id,
    *,
    title: str,
    description: str,
    media_kind: str,
    price_cents: int,
    tags: Sequence[str],
    platform_item_id: str | None,
    active: bool = True,
    item_id: Id | None = None,
) -> Item:
    """A new item (PlatformItemIdTaken when the creator already has one with this platform id). Runs in a
    savepoint, so the caller's transaction stays usable after a refusal."""
    try:
        async with conn.transaction():
            row = await fetch_one(
                conn,
                Item,
                "INSERT INTO catalog (id, creator_id, title, description, media_kind, price_cents, tags,"
                " platform_item_id, active) VALUES (coalesce(%s::uuid, gen_random_uuid()), %s, %s, %s, %s, %s, %s,"
                f" %s, %s) RETURNING {_COLUMNS}",
                [
                    item_id,
                    creator_id,
                    title,
                    description,
                    media_kind,
                    price_cents,
                    list(tags),
                    platform_item_id,
                    active,
                ],
            )
    except psycopg.errors.UniqueViolation:
        assert platform_item_id is not None
        raise PlatformItemIdTaken(
            platform_item_id, await _holder(conn, creator_id, platform_item_id)
        ) from None
    assert row is not None
    return row


# the columns PATCH may change
EDITABLE = frozenset(
    {"title", "description", "media_kind", "price_cents", "tags", "platform_item_id", "active"}
)


async def update(conn: Conn, creator_id: Id, item_id: Id, changes: dict[str, Any]) -> Item | None:
    """Change the given columns (keys of EDITABLE) of one item; None when the creator has no such item,
    PlatformItemIdTaken when the new platform id is another item's."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if not changes:
        return await get(conn, creator_id, item_id)
    cols = sorted(changes)
    # The column names come from EDITABLE only; the values are parameters.
    assignments = ", ".join(f"{c} = %s" for c in cols)
    sql = f"UPDATE catalog SET {assignments}, updated_at = now() WHERE creator_id = %s AND id = %s RETURNING {_COLUMNS}"
    params = [list(changes[c]) if c == "tags" else changes[c] for c in cols]
    try:
        async with conn.transaction():
            return await fetch_one(conn, Item, sql, [*params, creator_id, item_id])
    except psycopg.errors.UniqueViolation:
        pid = str(changes["platform_item_id"])
        raise PlatformItemIdTaken(pid, await _holder(conn, creator_id, pid)) from None
