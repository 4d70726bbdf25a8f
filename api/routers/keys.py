"""Members and API keys of a creator (owners only; a manager may list the members). A key is shown once, at
creation; only its SHA-256 is stored. An agency member who works for several creators has a member row (and role)
per creator and an agency key (`huntaze keys create --agency`) that acts for all of them.

Every change here (adding a member, changing a role, creating or revoking a key, enrolling a member's TOTP)
also needs a recent step-up on the calling key: an owner key alone, if leaked, cannot hand out access."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api import members as access
from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError
from core import db, totp
from core.crypto import keyring
from core.journal import append_audit
from core.store import members
from core.types import Role

router = APIRouter(prefix="/v1", tags=["members and keys"])


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=254, pattern=access.EMAIL_PATTERN)
    role: Role


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


class MemberEnrolment(BaseModel):
    member_id: str
    secret: str = Field(
        description="base32 TOTP secret; shown once: hand it to the member over a safe channel"
    )
    otpauth_uri: str


class MemberOut(BaseModel):
    id: str
    email: str
    role: Role
    created_at: datetime
    granted: bool = Field(
        False,
        description="a role granted to an agency member of another creator: their agency key acts here with it"
        " (DELETE /v1/members/{id}/agency takes it back)",
    )


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: UUID = Field(description="the member the key acts as (their role applies)")
    name: str | None = Field(
        None,
        min_length=1,
        max_length=access.KEY_NAME_MAX,
        description="what the key is for (e.g. laptop), shown in the key list",
    )


class KeyOut(BaseModel):
    id: str
    member_id: str
    email: str
    role: Role
    name: str | None = Field(description="what the key is for, if given")
    prefix: str = Field(description="the first characters of the key, to recognise it")
    created_at: datetime
    revoked_at: datetime | None
    agency: bool = Field(
        description="an agency key: it acts for every creator its member holds a role on (X-Creator-Id)"
    )


class NewKey(KeyOut):
    key: str = Field(description="the API key; shown this once, never again")


class MemberList(BaseModel):
    items: list[MemberOut]


class KeyList(BaseModel):
    items: list[KeyOut]


@router.get("/members", response_model=MemberList)
async def list_members(who: CurrentPrincipal) -> Any:
    # A manager reads the list too (the team metrics show them the same members): hand-offs are assigned from it.
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT id::text AS id, email, role, created_at, identity_id IS NOT NULL AS granted FROM members"
            " WHERE creator_id = %s ORDER BY created_at, id",
            [who.creator_id],
        )
        return MemberList(items=[MemberOut(**r) for r in await cur.fetchall()])


@router.post("/members", response_model=MemberOut, status_code=201, responses={403: {}, 409: {}})
async def add_member(body: MemberIn, who: CurrentPrincipal) -> Any:
    who.require(Role.OWNER)
    who.require_step_up()
    async with db.pool().connection() as conn, conn.transaction():
        row = await access.add_member(conn, who.creator_id, body.email, body.role, actor=who.member_id)
        if row is None:
            raise ApiError(409, "member_exists", f"{body.email} is already a member of this creator")
    return MemberOut(**row)


@router.patch("/members/{member_id}", response_model=MemberOut, responses={403: {}, 404: {}, 409: {}})
async def change_role(member_id: UUID, body: RoleIn, who: CurrentPrincipal) -> Any:
    who.require(Role.OWNER)
    who.require_step_up()
    async with db.pool().connection() as conn, conn.transaction():
        # The same lock as revocation, so a demotion and a revocation cannot both pass the last-owner check.
        await conn.execute("SELECT 1 FROM api_keys WHERE creator_id = %s FOR UPDATE", [who.creator_id])
        cur = await conn.execute(
            "SELECT role FROM members WHERE creator_id = %s AND id = %s FOR UPDATE",
            [who.creator_id, member_id],
        )
        row = await cur.fetchone()
        if row is None:
            raise ApiError(404, "not_found", "no such member")
        if row["role"] != body.role.value:
            if row["role"] == Role.OWNER:
                cur = await conn.execute(
                    "SELECT 1 FROM api_keys k JOIN members m ON m.id = k.member_id WHERE k.creator_id = %s"
                    " AND m.role = 'owner' AND k.revoked_at IS NULL AND m.id <> %s LIMIT 1",
                    [who.creator_id, member_id],
                )
                if await cur.fetchone() is None:
                    raise ApiError(
                        409,
                        "last_owner_key",
                        "no other owner has a key; promote someone or create an owner key first",
                    )
            await conn.execute("UPDATE members SET role = %s WHERE id = %s", [body.role.value, member_id])
            # A step-up was made for the old role: the new role starts without one.
            await conn.execute(  # and the agency keys of the person this role was granted to
                "UPDATE api_keys SET step_up_until = NULL WHERE member_id = %s OR (agency AND member_id ="
                " (SELECT identity_id FROM members WHERE creator_id = %s AND id = %s))",
                [member_id, who.creator_id, member_id],
            )
            await append_audit(
                conn,
                creator_id=who.creator_id,
                actor=who.member_id,
                action="member.role_changed",
                subject=f"member:{member_id}",
                details={"from": row["role"], "to": body.role.value},
            )
        cur = await conn.execute(
            "SELECT id::text AS id, email, role, created_at, identity_id IS NOT NULL AS granted FROM members"
            " WHERE creator_id = %s AND id = %s",
            [who.creator_id, member_id],
        )
        done = await cur.fetchone()
    assert done is not None
    return MemberOut(**done)


@router.delete("/members/{member_id}/agency", response_model=MemberOut, responses={403: {}, 404: {}, 409: {}})
async def revoke_agency_role(member_id: UUID, who: CurrentPrincipal) -> Any:
    """Take back the role an agency member of another creator holds here: their agency key no longer acts for
    this creator (the member stays, with their history and any key made here)."""
    who.require(Role.OWNER)
    who.require_step_up()
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT identity_id FROM members WHERE creator_id = %s AND id = %s FOR UPDATE",
            [who.creator_id, member_id],
        )
        row = await cur.fetchone()
        if row is None:
            raise ApiError(404, "not_found", "no such member")
        if row["identity_id"] is None:
            raise ApiError(
                409, "not_granted", "this member holds no role granted to another creator's member"
            )
        done = await members.revoke(conn, member_id, who.creator_id)
        assert done is not None
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="member.grant_revoked",
            subject=f"member:{member_id}",
            details={"email": done.email, "role": done.role},
        )
        cur = await conn.execute(
            "SELECT id::text AS id, email, role, created_at, identity_id IS NOT NULL AS granted FROM members"
            " WHERE creator_id = %s AND id = %s",
            [who.creator_id, member_id],
        )
        out = await cur.fetchone()
    assert out is not None
    return MemberOut(**out)


@router.post(
    "/members/{member_id}/totp",
    response_model=MemberEnrolment,
    status_code=201,
    responses={403: {}, 404: {}, 409: {}},
)
async def enrol_member_totp(
    member_id: UUID, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]
) -> Any:
    """An owner who stepped up vouches for another member (owners cannot enrol themselves); the member
    confirms with POST /v1/me/totp/confirm using their own key."""
    who.require(Role.OWNER)
    who.require_step_up()
    async with db.pool().connection() as conn, conn.transaction():
        try:
            done = await totp.enrol(
                conn,
                keyring(rt.settings),
                creator_id=who.creator_id,
                member_id=str(member_id),
                actor=who.member_id,
                by="owner",
            )
        except totp.UnknownMember:
            raise ApiError(404, "not_found", "no such member") from None
        except totp.AlreadyEnrolled:
            raise ApiError(409, "totp_enrolled", "TOTP is already set up for this member") from None
    return MemberEnrolment(member_id=done.member_id, secret=done.secret, otpauth_uri=done.otpauth_uri)


@router.get("/keys", response_model=KeyList)
async def list_keys(who: CurrentPrincipal) -> Any:
    who.require(Role.OWNER)
    async with db.pool().connection() as conn:
        cur = await conn.execute(access.KEY_SELECT + " ORDER BY k.created_at, k.id", [who.creator_id])
        return KeyList(items=[KeyOut(**r) for r in await cur.fetchall()])


@router.post("/keys", response_model=NewKey, status_code=201, responses={403: {}, 404: {}})
async def create_key(body: KeyIn, who: CurrentPrincipal) -> Any:
    who.require(Role.OWNER)
    who.require_step_up()
    async with db.pool().connection() as conn, conn.transaction():
        try:
            row, key = await access.create_key(
                conn, who.creator_id, str(body.member_id), actor=who.member_id, name=body.name
            )
        except access.UnknownMember:
            raise ApiError(404, "not_found", "no such member") from None
    return NewKey(**row, key=key)


@router.delete("/keys/{key_id}", response_model=KeyOut, responses={403: {}, 404: {}, 409: {}})
async def revoke_key(key_id: UUID, who: CurrentPrincipal) -> Any:
    who.require(Role.OWNER)
    who.require_step_up()
    async with db.pool().connection() as conn, conn.transaction():
        # Lock the creator's keys so two revocations cannot both pass the last-owner-key check.
        await conn.execute("SELECT 1 FROM api_keys WHERE creator_id = %s FOR UPDATE", [who.creator_id])
        cur = await conn.execute(access.KEY_SELECT + " AND k.id = %s", [who.creator_id, key_id])
        row = await cur.fetchone()
        if row is None:
            raise ApiError(404, "not_found", "no such key")
        if row["revoked_at"] is not None:
            return KeyOut(**row)  # revoking twice changes nothing
        if row["role"] == Role.OWNER:
            cur = await conn.execute(
                "SELECT count(*) AS n FROM api_keys k JOIN members m ON m.id = k.member_id WHERE k.creator_id = %s"
                " AND m.role = 'owner' AND k.revoked_at IS NULL",
                [who.creator_id],
            )
            n = await cur.fetchone()
            if n is not None and n["n"] <= 1:
                raise ApiError(
                    409, "last_owner_key", "this is the creator's last owner key; create another first"
                )
        await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", [key_id])
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="key.revoked",
            subject=f"key:{key_id}",
            details={"member_id": row["member_id"], "prefix": row["prefix"]},
        )
        cur = await conn.execute(access.KEY_SELECT + " AND k.id = %s", [who.creator_id, key_id])
        done = await cur.fetchone()
    assert done is not None
    return KeyOut(**done)
