"""Adding a member and issuing an API key: the one code path behind `POST /v1/members`, `POST /v1/keys` and
`huntaze keys create`. Each writes its audit entry in the caller's transaction; the plain key is returned once
and only its SHA-256 is stored (core/keys.py)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from api.auth import issue_key
from core.journal import append_audit
from core.keys import hash_key
from core.types import Role

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
KEY_NAME_MAX = 100

KEY_SELECT = (
    "SELECT k.id::text AS id, k.member_id::text AS member_id, m.email, m.role, k.name, k.prefix, k.created_at,"
    " k.revoked_at, k.agency FROM api_keys k JOIN members m ON m.id = k.member_id WHERE k.creator_id = %s"
)


class UnknownMember(LookupError):
    """No such member of this creator."""


async def add_member(
    conn: AsyncConnection[Any], creator_id: str, email: str, role: Role, *, actor: str
) -> dict[str, Any] | None:
    """The new member's row (id, email, role, created_at), or None when the email is already a member."""
    cur = await conn.execute(
        "INSERT INTO members (creator_id, email, role) VALUES (%s, %s, %s) ON CONFLICT (creator_id, email)"
        " DO NOTHING RETURNING id::text AS id, email, role, created_at",
        [creator_id, email.lower(), role.value],
    )
    row = await cur.fetchone()
    if row is not None:
        await append_audit(
            conn,
            creator_id=creator_id,
            actor=actor,
            action="member.added",
            subject=f"member:{row['id']}",
            details={"email": row["email"], "role": row["role"]},
        )
    return row


class NotAHomeRow(ValueError):
    """An agency key is issued to a person's home row, not to a role granted to it on another creator."""


async def create_key(
    conn: AsyncConnection[Any],
    creator_id: str,
    member_id: str,
    *,
    actor: str,
    name: str | None = None,
    agency: bool = False,
) -> tuple[dict[str, Any], str]:
    """A new key for the member, with an optional name: its row (as KEY_SELECT reads it) and the plain key, to be
    shown once. An agency key (`huntaze keys create --agency` only) acts for every creator the member holds a role
    on; every other key for this creator alone."""
    cur = await conn.execute(
        "SELECT identity_id FROM members WHERE creator_id = %s AND id = %s", [creator_id, member_id]
    )
    member = await cur.fetchone()
    if member is None:
        raise UnknownMember(member_id)
    if agency and member["identity_id"] is not None:
        raise NotAHomeRow(member_id)
    key = await issue_key(conn, creator_id, member_id, name=name, agency=agency)
    cur = await conn.execute(KEY_SELECT + " AND k.key_hash = %s", [creator_id, hash_key(key)])
    row = await cur.fetchone()
    assert row is not None
    await append_audit(
        conn,
        creator_id=creator_id,
        actor=actor,
        action="key.created",
        subject=f"key:{row['id']}",
        details={
            "member_id": row["member_id"],
            "role": row["role"],
            "prefix": row["prefix"],
            "name": row["name"],
            **({"agency": True} if agency else {}),
        },
    )
    return row, key
