"""TOTP (RFC 6238) enrolment of a member: a fresh secret, sealed at rest, shown once as an otpauth:// URI.

Shared by the API (a member enrolling themselves, an owner enrolling another member) and by
`huntaze members enrol-totp` on the server, which enrols a creator's first owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyotp
from psycopg import AsyncConnection

from core.crypto import Keyring, totp_aad
from core.journal import append_audit


class UnknownMember(LookupError):
    """No such member of this creator."""


class AlreadyEnrolled(RuntimeError):
    """The member's TOTP is confirmed; replacing it needs `reset`."""


@dataclass(frozen=True)
class Enrolment:
    member_id: str
    secret: str
    otpauth_uri: str


async def owner_enrolled(conn: AsyncConnection[Any], creator_id: str) -> bool:
    """Whether any owner of the creator has a confirmed TOTP (so owners can vouch for other owners)."""
    cur = await conn.execute(
        "SELECT 1 FROM member_totp t JOIN members m ON m.id = t.member_id"
        " WHERE m.creator_id = %s AND m.role = 'owner' AND t.confirmed_at IS NOT NULL LIMIT 1",
        [creator_id],
    )
    return await cur.fetchone() is not None


async def is_confirmed(conn: AsyncConnection[Any], member_id: str) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM member_totp WHERE member_id = %s AND confirmed_at IS NOT NULL", [member_id]
    )
    return await cur.fetchone() is not None


async def enrol(
    conn: AsyncConnection[Any],
    ring: Keyring,
    *,
    creator_id: str,
    member_id: str,
    actor: str,
    by: str,
    reset: bool = False,
) -> Enrolment:
    """Give the member a new, unconfirmed secret (replacing an unconfirmed one), audited inside the caller's
    transaction. `by` says who asked (self, owner, cli) for the audit log."""
    cur = await conn.execute(
        "SELECT email FROM members WHERE creator_id = %s AND id = %s FOR UPDATE", [creator_id, member_id]
    )
    member = await cur.fetchone()
    if member is None:
        raise UnknownMember(member_id)
    if reset:
        # A lost authenticator: the old secret, its confirmation and its failure count go together.
        cur = await conn.execute("DELETE FROM member_totp WHERE member_id = %s RETURNING 1", [member_id])
        if await cur.fetchone() is not None:
            await append_audit(
                conn, creator_id=creator_id, actor=actor, action="totp.reset", subject=f"member:{member_id}"
            )
    secret = pyotp.random_base32()
    sealed = ring.seal(secret.encode(), totp_aad(member_id))
    cur = await conn.execute(
        "INSERT INTO member_totp (member_id, creator_id, key_id, secret_nonce, secret_sealed)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (member_id) DO UPDATE SET key_id = EXCLUDED.key_id,"
        " secret_nonce = EXCLUDED.secret_nonce, secret_sealed = EXCLUDED.secret_sealed, last_step = NULL"
        " WHERE member_totp.confirmed_at IS NULL RETURNING member_id",
        [member_id, creator_id, sealed.key_id, sealed.nonce, sealed.ciphertext],
    )
    if await cur.fetchone() is None:
        raise AlreadyEnrolled(member_id)
    await append_audit(
        conn,
        creator_id=creator_id,
        actor=actor,
        action="totp.enrolled",
        subject=f"member:{member_id}",
        details={"by": by},
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=member["email"], issuer_name="Huntaze")
    return Enrolment(member_id=member_id, secret=secret, otpauth_uri=uri)
