"""Agent actions (the dashboard feed) and the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb


async def record_action(
    conn: AsyncConnection[Any],
    *,
    creator_id: str,
    kind: str,
    summary: str,
    fan_id: str | None = None,
    draft_id: str | None = None,
    details: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Insert one feed entry. A dedupe_key makes retried activities write it once."""
    await conn.execute(
        "INSERT INTO agent_actions (creator_id, fan_id, draft_id, kind, summary, details, dedupe_key)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (creator_id, dedupe_key) DO NOTHING",
        [creator_id, fan_id, draft_id, kind, summary, Jsonb(details or {}), dedupe_key],
    )


def _row_hash(
    prev: bytes | None, creator_id: str, actor: str, action: str, subject: str, details: Any
) -> bytes:
    body = json.dumps([creator_id, actor, action, subject, details], sort_keys=True, default=str)
    return hashlib.sha256((prev or b"") + body.encode()).digest()


async def append_audit(
    conn: AsyncConnection[Any],
    *,
    creator_id: str,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Append to the creator's chain inside the caller's transaction."""
    # Serialise appends per creator so two writers cannot both chain onto the same row.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"audit:{creator_id}"])
    cur = await conn.execute(
        "SELECT hash FROM audit_log WHERE creator_id = %s ORDER BY id DESC LIMIT 1", [creator_id]
    )
    row = await cur.fetchone()
    prev = bytes(row["hash"]) if row else None
    digest = _row_hash(prev, creator_id, actor, action, subject, details or {})
    await conn.execute(
        "INSERT INTO audit_log (creator_id, actor, action, subject, details, prev_hash, hash)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [creator_id, actor, action, subject, Jsonb(details or {}), prev, digest],
    )
