"""followups: a fan's follow-up sequences (welcome, win-back, PPV reminder, re-engagement) as the API and the
follow-up agent's tools list them. The workflows' own reads and writes stay with their activities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.store import Conn, Id, fetch_all


@dataclass(frozen=True, slots=True)
class Followup:
    id: str
    fan_id: str
    kind: str
    status: str
    segment: str | None
    catalog_id: str | None
    steps: list[dict[str, Any]]
    steps_done: int
    next_step_at: datetime | None
    stop_reason: str | None
    started_at: datetime
    ended_at: datetime | None
    workflow_id: str


async def page(
    conn: Conn,
    creator_id: Id,
    *,
    status: str | None = None,
    kind: str | None = None,
    fan_id: Id | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> list[Followup]:
    """Sequences newest first, after the keyset (started_at, id) of the previous page's last one."""
    at, last = after if after else (None, None)
    return await fetch_all(
        conn,
        Followup,
        "SELECT id::text AS id, fan_id::text AS fan_id, kind, status, segment, catalog_id::text AS catalog_id,"
        " steps, steps_done, next_step_at, stop_reason, started_at, ended_at, workflow_id FROM followups"
        " WHERE creator_id = %s AND (%s::text IS NULL OR status = %s) AND (%s::text IS NULL OR kind = %s)"
        " AND (%s::uuid IS NULL OR fan_id = %s)"
        " AND (%s::timestamptz IS NULL OR (started_at, id) < (%s::timestamptz, %s::uuid))"
        " ORDER BY started_at DESC, id DESC LIMIT %s",
        [creator_id, status, status, kind, kind, fan_id, fan_id, at, at, last, limit],
    )
