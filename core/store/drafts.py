"""drafts: a message the DM agent wrote for one fan, waiting for (or past) a human decision.

A decision or a close changes a draft only from the statuses it names and bumps its version, so a stale or
repeated write changes nothing (the caller sees None / False)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from core.store import Conn, Id, fetch_all, fetch_one
from core.types import DECIDABLE

# The draft as the API shows it, for queries that read drafts as `d` (the inbox page selects these too).
COLUMNS = (
    "d.id::text AS id, d.fan_id::text AS fan_id, d.status, d.version, d.text, d.final_text, d.offer,"
    " d.rationale, d.policy_report, d.created_at, d.expires_at, d.decided_at, d.decision_reason,"
    " d.followup_id::text AS followup_id, d.campaign_id::text AS campaign_id, d.send_after"
)


@dataclass(frozen=True, slots=True)
class Draft:
    id: str
    fan_id: str
    status: str
    version: int
    text: str
    final_text: str | None
    offer: dict[str, Any] | None
    rationale: str
    policy_report: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decision_reason: str | None
    followup_id: str | None
    campaign_id: str | None
    send_after: datetime | None
    workflow_id: str


@dataclass(frozen=True, slots=True)
class DraftKey:
    id: str
    version: int
    status: str


@dataclass(frozen=True, slots=True)
class Undecided:
    id: str
    version: int


@dataclass(frozen=True, slots=True)
class Decided:
    status: str
    version: int
    decided_by: str | None


@dataclass(frozen=True, slots=True)
class ToSend:
    """An approved (or already sent) draft with what its delivery needs: the text to send and the fan's
    platform identity."""

    status: str
    decided_by: UUID | None
    body: str
    offer: dict[str, Any] | None
    send_after: datetime | None
    platform: str
    platform_fan_id: str


async def get(conn: Conn, creator_id: Id, draft_id: Id) -> Draft | None:
    return await fetch_one(
        conn,
        Draft,
        f"SELECT {COLUMNS}, d.workflow_id FROM drafts d WHERE d.creator_id = %s AND d.id = %s",
        [creator_id, draft_id],
    )


async def get_for_update(conn: Conn, creator_id: Id, draft_id: Id) -> Draft | None:
    """The draft, row-locked until the caller's transaction ends."""
    return await fetch_one(
        conn,
        Draft,
        f"SELECT {COLUMNS}, d.workflow_id FROM drafts d WHERE d.creator_id = %s AND d.id = %s FOR UPDATE",
        [creator_id, draft_id],
    )


async def get_offer(conn: Conn, creator_id: Id, draft_id: Id) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT offer FROM drafts WHERE creator_id = %s AND id = %s", [creator_id, draft_id]
    )
    row = await cur.fetchone()
    return row["offer"] if row else None


async def get_by_source_key(conn: Conn, creator_id: Id, source_key: str) -> DraftKey | None:
    return await fetch_one(
        conn,
        DraftKey,
        "SELECT id::text AS id, version, status FROM drafts WHERE creator_id = %s AND source_key = %s",
        [creator_id, source_key],
    )


async def insert(
    conn: Conn,
    creator_id: Id,
    *,
    fan_id: Id,
    source_key: str,
    workflow_id: str,
    status: str,
    text: str,
    offer: dict[str, Any] | None,
    rationale: str,
    policy_report: dict[str, Any],
    event_ids: Sequence[int],
    expires_at: float,
    followup_id: Id | None = None,
    campaign_id: Id | None = None,
    send_after: datetime | str | None = None,
) -> DraftKey | None:
    """A new draft (`expires_at` in epoch seconds). None when a draft with this source key exists already (a
    retry): `get_by_source_key` reads it."""
    return await fetch_one(
        conn,
        DraftKey,
        "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, offer, rationale,"
        " policy_report, event_ids, expires_at, followup_id, campaign_id, send_after)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, to_timestamp(%s), %s, %s, %s)"
        " ON CONFLICT (creator_id, source_key) DO NOTHING RETURNING id::text AS id, version, status",
        [
            creator_id,
            fan_id,
            source_key,
            workflow_id,
            status,
            text,
            Jsonb(offer) if offer else None,
            rationale,
            Jsonb(policy_report),
            list(event_ids),
            expires_at,
            followup_id,
            campaign_id,
            send_after,
        ],
    )


async def insert_written(
    conn: Conn,
    creator_id: Id,
    *,
    fan_id: Id,
    source_key: str,
    workflow_id: str,
    author: Id,
    text: str,
    offer: dict[str, Any] | None,
    policy_report: dict[str, Any],
) -> DraftKey | None:
    """A message a member wrote, stored approved by its author (a human-written message is decided by the human
    who wrote it), ready for the send path. None when one with this source key exists already (a retry)."""
    return await fetch_one(
        conn,
        DraftKey,
        "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, final_text, offer,"
        " rationale, policy_report, expires_at, decided_at, decided_by, written_by)"
        " VALUES (%s, %s, %s, %s, 'approved', %s, %s, %s, 'written by a member', %s, now(), now(), %s, %s)"
        " ON CONFLICT (creator_id, source_key) DO NOTHING RETURNING id::text AS id, version, status",
        [
            creator_id,
            fan_id,
            source_key,
            workflow_id,
            text,
            text,
            Jsonb(offer) if offer else None,
            Jsonb(policy_report),
            author,
            author,
        ],
    )


@dataclass(frozen=True, slots=True)
class Written:
    id: str
    status: str
    text: str
    offer: dict[str, Any] | None
    written_by: str | None


async def get_written(conn: Conn, creator_id: Id, source_key: str) -> Written | None:
    """The member-written message stored under this source key, if any."""
    return await fetch_one(
        conn,
        Written,
        "SELECT id::text AS id, status, text, offer, written_by::text AS written_by FROM drafts"
        " WHERE creator_id = %s AND source_key = %s",
        [creator_id, source_key],
    )


async def set_status(
    conn: Conn,
    creator_id: Id,
    draft_id: Id,
    status: str,
    *,
    reason: str | None = None,
    only_from: Sequence[str] = DECIDABLE,
) -> bool:
    """Close a draft nobody decided (superseded, expired): only from `only_from`, with a new version. False
    when it was no longer in one of those statuses."""
    cur = await conn.execute(
        "UPDATE drafts SET status = %s, version = version + 1, updated_at = now(), decision_reason = %s"
        " WHERE creator_id = %s AND id = %s AND status = ANY(%s) RETURNING id",
        [status, reason, creator_id, draft_id, list(only_from)],
    )
    return await cur.fetchone() is not None


async def decide(
    conn: Conn,
    creator_id: Id,
    draft_id: Id,
    *,
    version: int,
    status: str,
    actor: str,
    reason: str | None,
    approve: bool,
    text: str | None = None,
    policy_report: dict[str, Any] | None = None,
) -> DraftKey | None:
    """Record a human decision on the version the human reviewed, if the draft is still decidable. An approval
    fixes the final text (`text` when edited, else the draft's own); an edit's policy report replaces the
    stored one. None when the version or status no longer match."""
    policy = Jsonb(policy_report) if policy_report else None
    return await fetch_one(
        conn,
        DraftKey,
        "UPDATE drafts SET status = %s, version = version + 1, updated_at = now(), decided_at = now(),"
        " decided_by = %s, decision_reason = %s, final_text = CASE WHEN %s THEN coalesce(%s, text) END,"
        " policy_report = CASE WHEN %s::jsonb IS NULL THEN policy_report ELSE %s::jsonb END"
        " WHERE creator_id = %s AND id = %s AND version = %s AND status = ANY(%s)"
        " RETURNING id::text AS id, version, status",
        [
            status,
            actor,
            reason,
            approve,
            text,
            policy,
            policy,
            creator_id,
            draft_id,
            version,
            list(DECIDABLE),
        ],
    )


async def decision(conn: Conn, creator_id: Id, draft_id: Id) -> Decided | None:
    """Who decided the draft and where it stands (to recognise a decision retried after its commit)."""
    return await fetch_one(
        conn,
        Decided,
        "SELECT status, version, decided_by::text AS decided_by FROM drafts WHERE creator_id = %s AND id = %s",
        [creator_id, draft_id],
    )


async def get_to_send_for_update(conn: Conn, creator_id: Id, draft_id: Id) -> ToSend | None:
    """The draft with its fan's platform identity, the draft row locked until the transaction ends."""
    return await fetch_one(
        conn,
        ToSend,
        "SELECT d.status, d.decided_by, coalesce(d.final_text, d.text) AS body, d.offer, d.send_after, f.platform,"
        " f.platform_fan_id FROM drafts d JOIN fans f ON f.creator_id = d.creator_id AND f.id = d.fan_id"
        " WHERE d.creator_id = %s AND d.id = %s FOR UPDATE OF d",
        [creator_id, draft_id],
    )


async def mark_sent(conn: Conn, creator_id: Id, draft_id: Id) -> None:
    await conn.execute(
        "UPDATE drafts SET status = 'sent', updated_at = now() WHERE creator_id = %s AND id = %s",
        [creator_id, draft_id],
    )


async def undecided_in_campaign(conn: Conn, creator_id: Id, campaign_id: Id) -> list[Undecided]:
    """The campaign's drafts a human can still decide on, oldest first."""
    return await fetch_all(
        conn,
        Undecided,
        "SELECT id::text AS id, version FROM drafts WHERE creator_id = %s AND campaign_id = %s"
        " AND status = ANY(%s) ORDER BY created_at, id",
        [creator_id, campaign_id, list(DECIDABLE)],
    )


@dataclass(frozen=True, slots=True)
class Overdue:
    id: str
    fan_id: str


async def overdue(conn: Conn, creator_id: Id, before: datetime) -> list[Overdue]:
    """Drafts still awaiting a decision whose expiry passed before `before`."""
    return await fetch_all(
        conn,
        Overdue,
        "SELECT id::text AS id, fan_id::text AS fan_id FROM drafts"
        " WHERE creator_id = %s AND status = ANY(%s) AND expires_at < %s ORDER BY expires_at",
        [creator_id, list(DECIDABLE), before],
    )


async def undecided_of_fan(conn: Conn, creator_id: Id, fan_id: Id) -> list[DraftKey]:
    """The fan's drafts awaiting a decision, newest first."""
    return await fetch_all(
        conn,
        DraftKey,
        "SELECT id::text AS id, version, status FROM drafts"
        " WHERE creator_id = %s AND fan_id = %s AND status = ANY(%s) ORDER BY created_at DESC, id",
        [creator_id, fan_id, list(DECIDABLE)],
    )


async def has_undecided(conn: Conn, creator_id: Id, fan_id: Id) -> bool:
    """Whether a draft for the fan still waits for a decision."""
    cur = await conn.execute(
        "SELECT 1 FROM drafts WHERE creator_id = %s AND fan_id = %s AND status = ANY(%s) LIMIT 1",
        [creator_id, fan_id, list(DECIDABLE)],
    )
    return await cur.fetchone() is not None


async def count_decidable(conn: Conn, creator_ids: list[str]) -> dict[str, int]:
    """Drafts awaiting a decision (pending review or blocked) per creator, for these creators only."""
    cur = await conn.execute(
        "SELECT creator_id::text AS creator_id, count(*) AS n FROM drafts"
        " WHERE creator_id = ANY(%s::uuid[]) AND status = ANY(%s) GROUP BY creator_id",
        [creator_ids, [s.value for s in DECIDABLE]],
    )
    return {r["creator_id"]: int(r["n"]) for r in await cur.fetchall()}
