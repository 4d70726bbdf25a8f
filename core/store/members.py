"""members: an agency member's roles on several creators (migration 0034).

A person who works for several creators has one member row per creator, each with its own role: their home row
(on the creator they were first added to) and, on every other creator, a row whose identity_id names the home
row. Only an agency key of the home row (api_keys.agency) acts for all of them; `roles_of` is the one query of
which creators that is. Granting and revoking are operator commands (`huntaze members grant|revoke`), each
audited on the creator whose access changes."""

from __future__ import annotations

from dataclasses import dataclass

from core.store import Conn, Id, fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class CreatorRole:
    creator_id: str
    member_id: str
    role: str
    handle: str
    display_name: str


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    creator_id: str
    email: str
    role: str
    identity_id: str | None


class GrantRefused(ValueError):
    """A grant that cannot be made; the message says why."""


_MEMBER = (
    "SELECT id::text AS id, creator_id::text AS creator_id, email, role, identity_id::text AS identity_id"
    " FROM members"
)


async def roles_of(conn: Conn, home_member_id: Id) -> list[CreatorRole]:
    """The creators an agency key of this home member acts for, with the member row and role on each: the home
    row's own creator and every creator with a row granted to it. Ordered by handle."""
    return await fetch_all(
        conn,
        CreatorRole,
        "SELECT c.id::text AS creator_id, m.id::text AS member_id, m.role, c.handle, c.display_name"
        " FROM members m JOIN creators c ON c.id = m.creator_id"
        " WHERE m.id = %s OR m.identity_id = %s ORDER BY c.handle, c.id",
        [home_member_id, home_member_id],
    )


async def get(conn: Conn, member_id: Id) -> Member | None:
    """A member by id alone: for the operator's commands, which name a member of any creator."""
    return await fetch_one(conn, Member, _MEMBER + " WHERE id = %s", [member_id])


async def grant(conn: Conn, member_id: Id, creator_id: Id, role: str) -> tuple[Member, Member, str | None]:
    """Give the person of `member_id` (their home row, or a row granted to it) `role` on `creator_id`: a new member
    row there, or their existing row (granted before, or an unlinked row with the same email, which is linked).
    Returns (home row, the row on the creator, its role before or None when it is new)."""
    member = await get(conn, member_id)
    if member is None:
        raise GrantRefused(f"no member {member_id}")
    home = await get(conn, member.identity_id) if member.identity_id else member
    assert home is not None
    if home.creator_id == str(creator_id):
        raise GrantRefused(
            "that is the member's own creator: an owner changes their role there (PATCH /v1/members/{id})"
        )
    row = await fetch_one(
        conn,
        Member,
        _MEMBER + " WHERE creator_id = %s AND (identity_id = %s OR email = %s)"
        " ORDER BY identity_id IS NOT DISTINCT FROM %s DESC LIMIT 1",
        [creator_id, home.id, home.email, home.id],
    )
    if row is None:
        new = await fetch_one(
            conn,
            Member,
            "INSERT INTO members (creator_id, email, role, identity_id) VALUES (%s, %s, %s, %s)"
            " RETURNING id::text AS id, creator_id::text AS creator_id, email, role,"
            " identity_id::text AS identity_id",
            [creator_id, home.email, role, home.id],
        )
        assert new is not None
        return home, new, None
    if row.identity_id not in (None, home.id):
        raise GrantRefused(f"{row.email} on that creator is another agency member's role")
    if row.identity_id is None:
        taken = await conn.execute("SELECT 1 FROM members WHERE identity_id = %s LIMIT 1", [row.id])
        if await taken.fetchone() is not None:
            raise GrantRefused(
                f"{row.email} on that creator is itself the home of another agency member's roles"
            )
    updated = await fetch_one(
        conn,
        Member,
        "UPDATE members SET role = %s, identity_id = %s WHERE creator_id = %s AND id = %s"
        " RETURNING id::text AS id, creator_id::text AS creator_id, email, role,"
        " identity_id::text AS identity_id",
        [role, home.id, creator_id, row.id],
    )
    assert updated is not None
    return home, updated, row.role


async def revoke(conn: Conn, member_id: Id, creator_id: Id) -> Member | None:
    """Unlink the person's row on `creator_id` from their home row: their agency keys no longer act for that
    creator (the row stays that creator's member, with its history). None when there was no such grant."""
    member = await get(conn, member_id)
    if member is None:
        return None
    home_id = member.identity_id or member.id
    return await fetch_one(
        conn,
        Member,
        "UPDATE members SET identity_id = NULL WHERE creator_id = %s AND identity_id = %s"
        " RETURNING id::text AS id, creator_id::text AS creator_id, email, role,"
        " identity_id::text AS identity_id",
        [creator_id, home_id],
    )
