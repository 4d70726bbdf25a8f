"""Agent actions (the dashboard feed) and the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows_checked: int
    creators_checked: int
    first_broken: dict[str, Any] | None = None  # {"id", "creator_id", "reason"} of the first bad row
    # The last row checked, when one creator's chain was checked: keep it (elsewhere) as an anchor; a later check
    # against it also catches the removal of the newest rows, which the chain alone cannot show.
    head: dict[str, Any] | None = None  # {"id", "hash" (hex)}


async def verify_audit(
    conn: AsyncConnection[Any], creator_id: str | None = None, anchor: tuple[int, bytes] | None = None
) -> ChainReport:
    """Recompute every creator's chain in order; name the first row whose link or hash does not hold. With an
    anchor (a row id and hash from an earlier check of this creator's chain), that row must still be in the
    chain with that hash."""
    if anchor is not None and creator_id is None:
        raise ValueError("an anchor belongs to one creator's chain: give the creator")
    cur = await conn.execute(
        "SELECT id, creator_id::text AS creator_id, actor, action, subject, details, prev_hash, hash"
        " FROM audit_log WHERE (%s::uuid IS NULL OR creator_id = %s) ORDER BY creator_id, id",
        [creator_id, creator_id],
    )
    last: dict[str, bytes] = {}
    last_id = 0
    anchor_seen = False
    rows = 0
    async for r in cur:
        rows += 1
        cid = r["creator_id"]
        prev = last.get(cid)
        stored_prev = bytes(r["prev_hash"]) if r["prev_hash"] is not None else None
        reason = None
        if stored_prev != prev:
            reason = "prev_hash does not match the hash of the previous row (a row was removed or reordered)"
        elif bytes(r["hash"]) != _row_hash(prev, cid, r["actor"], r["action"], r["subject"], r["details"]):
            reason = "hash does not match the row's contents (the row was changed)"
        elif anchor is not None and r["id"] == anchor[0]:
            anchor_seen = True
            if bytes(r["hash"]) != anchor[1]:
                reason = "the anchored row's hash is not the anchor's (the chain was rewritten up to here)"
        if reason:
            return ChainReport(
                False,
                rows,
                len(last) + (cid not in last),
                {"id": r["id"], "creator_id": cid, "reason": reason},
            )
        last[cid] = bytes(r["hash"])
        last_id = r["id"]
    head = {"id": last_id, "hash": last[creator_id].hex()} if creator_id and creator_id in last else None
    if anchor is not None and not anchor_seen:
        broken = {
            "id": anchor[0],
            "creator_id": creator_id,
            "reason": "the anchored row is not in the chain (the newest rows were removed, or the anchor is not this creator's)",
        }
        return ChainReport(False, rows, len(last), broken, head)
    return ChainReport(True, rows, len(last), None, head)
