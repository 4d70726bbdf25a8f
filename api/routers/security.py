"""TOTP (RFC 6238) for the calling member, and the step-up that sensitive operations need.

POST /v1/me/totp enrols (the secret and an otpauth:// URI are shown once), POST /v1/me/totp/confirm proves
the authenticator works, POST /v1/me/step-up with a current code lets this API key do sensitive operations
(policy changes, key creation, connection changes) for HUNTAZE_STEP_UP_TTL_S seconds. A code is accepted
once (its time step is remembered), with one step of clock drift either way.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pyotp
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError
from core import db
from core.crypto import Sealed, keyring, totp_aad
from core.journal import append_audit

router = APIRouter(prefix="/v1/me", tags=["security"])
STEP_S = 30


class Enrolment(BaseModel):
    secret: str = Field(description="base32 TOTP secret; shown once")
    otpauth_uri: str


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^\d{6}$", description="the 6-digit code from the authenticator")


class Confirmed(BaseModel):
    confirmed_at: datetime


class SteppedUp(BaseModel):
    step_up_until: datetime


@router.post("/totp", response_model=Enrolment, status_code=201, responses={409: {}})
async def enrol(who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    secret = pyotp.random_base32()
    sealed = keyring(rt.settings).seal(secret.encode(), totp_aad(who.member_id))
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO member_totp (member_id, creator_id, key_id, secret_nonce, secret_sealed)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (member_id) DO UPDATE SET key_id = EXCLUDED.key_id,"
            " secret_nonce = EXCLUDED.secret_nonce, secret_sealed = EXCLUDED.secret_sealed, last_step = NULL"
            " WHERE member_totp.confirmed_at IS NULL RETURNING member_id",
            [who.member_id, who.creator_id, sealed.key_id, sealed.nonce, sealed.ciphertext],
        )
        if await cur.fetchone() is None:
            raise ApiError(409, "totp_enrolled", "TOTP is already set up for this member")
        email = await (
            await conn.execute("SELECT email FROM members WHERE id = %s", [who.member_id])
        ).fetchone()
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="totp.enrolled",
            subject=f"member:{who.member_id}",
        )
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=email["email"] if email else who.member_id, issuer_name="Huntaze"
    )
    return Enrolment(secret=secret, otpauth_uri=uri)


async def _check_code(who: Any, code: str, rt: Runtime, *, confirming: bool) -> datetime:
    """Verify a code against the member's secret under a row lock; each time step is good once."""
    failed = False
    confirmed = datetime.now(UTC)
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT key_id, secret_nonce, secret_sealed, confirmed_at, last_step FROM member_totp"
            " WHERE member_id = %s FOR UPDATE",
            [who.member_id],
        )
        row = await cur.fetchone()
        if row is None or (row["confirmed_at"] is None and not confirming):
            raise ApiError(
                409, "totp_not_enrolled", "set up TOTP first: POST /v1/me/totp, then /v1/me/totp/confirm"
            )
        secret = keyring(rt.settings).open(
            Sealed(row["key_id"], bytes(row["secret_nonce"]), bytes(row["secret_sealed"])),
            totp_aad(who.member_id),
        )
        totp = pyotp.TOTP(secret.decode())
        now_step = int(time.time()) // STEP_S
        step = next(
            (s for s in (now_step - 1, now_step, now_step + 1) if totp.at(s * STEP_S) == code),
            None,
        )
        if step is None or (row["last_step"] is not None and step <= row["last_step"]):
            # Recorded (and committed) before the refusal, so repeated guessing shows in the audit log.
            await append_audit(
                conn,
                creator_id=who.creator_id,
                actor=who.member_id,
                action="totp.failed",
                subject=f"member:{who.member_id}",
            )
            failed = True
        else:
            await conn.execute(
                "UPDATE member_totp SET last_step = %s, confirmed_at = coalesce(confirmed_at, now())"
                " WHERE member_id = %s RETURNING confirmed_at",
                [step, who.member_id],
            )
            if confirming and row["confirmed_at"] is None:
                await append_audit(
                    conn,
                    creator_id=who.creator_id,
                    actor=who.member_id,
                    action="totp.confirmed",
                    subject=f"member:{who.member_id}",
                )
            confirmed = row["confirmed_at"] or datetime.now(UTC)
    if failed:
        raise ApiError(401, "totp_invalid", "the code is wrong, expired or already used")
    return confirmed


@router.post("/totp/confirm", response_model=Confirmed, responses={401: {}, 409: {}})
async def confirm(body: CodeIn, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    return Confirmed(confirmed_at=await _check_code(who, body.code, rt, confirming=True))


@router.post("/step-up", response_model=SteppedUp, responses={401: {}, 409: {}})
async def step_up(body: CodeIn, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    await _check_code(who, body.code, rt, confirming=False)
    until = datetime.now(UTC) + timedelta(seconds=rt.settings.step_up_ttl_s)
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute("UPDATE api_keys SET step_up_until = %s WHERE id = %s", [until, who.key_id])
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="step_up",
            subject=f"key:{who.key_id}",
        )
    return SteppedUp(step_up_until=until)
