"""TOTP (RFC 6238) for the calling member, and the step-up that sensitive operations need.

POST /v1/me/totp enrols (the secret and an otpauth:// URI are shown once), POST /v1/me/totp/confirm proves
the authenticator works, POST /v1/me/step-up with a current code lets this API key do sensitive operations
(policy changes, member and key changes, connection changes) for HUNTAZE_STEP_UP_TTL_S seconds. A code is
accepted once (its time step is remembered), with one step of clock drift either way.

Owners do not enrol themselves: a leaked owner key could otherwise set up its own TOTP and step up. The
first owner of a creator is enrolled on the server (`huntaze members enrol-totp`), later owners by an owner
who has stepped up (POST /v1/members/{id}/totp). Other roles enrol themselves: their step-up unlocks only
what their role already allows.

Wrong codes are limited per member: after MAX_FAILURES in a row the member is locked (429 `totp_locked`) for
LOCK_BASE_S, doubling with each lock in a row up to LOCK_MAX_S; every failure, lock and refusal is audited.
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
from api.limits import retry_after
from core import db, totp
from core.crypto import Sealed, keyring, totp_aad
from core.journal import append_audit
from core.types import Role

router = APIRouter(prefix="/v1/me", tags=["security"])
STEP_S = 30
MAX_FAILURES = 5  # wrong codes in a row before a lock
LOCK_BASE_S = 60  # the first lock; each further lock in a row doubles it
LOCK_MAX_S = 24 * 3600


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


@router.post("/totp", response_model=Enrolment, status_code=201, responses={403: {}, 409: {}})
async def enrol(who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    async with db.pool().connection() as conn, conn.transaction():
        if await totp.is_confirmed(conn, who.member_id):
            raise ApiError(409, "totp_enrolled", "TOTP is already set up for this member")
        if who.role == Role.OWNER:
            if await totp.owner_enrolled(conn, who.creator_id):
                raise ApiError(
                    403,
                    "totp_needs_owner_step_up",
                    "an owner's TOTP is set up by another owner after a step-up:"
                    f" POST /v1/members/{who.member_id}/totp",
                )
            raise ApiError(
                403,
                "totp_first_owner_on_server",
                "the first owner's TOTP is set up on the server:"
                f" huntaze members enrol-totp --creator {who.creator_id} --member {who.member_id}",
            )
        try:
            done = await totp.enrol(
                conn,
                keyring(rt.settings),
                creator_id=who.creator_id,
                member_id=who.member_id,
                actor=who.member_id,
                by="self",
            )
        except totp.AlreadyEnrolled:
            raise ApiError(409, "totp_enrolled", "TOTP is already set up for this member") from None
    return Enrolment(secret=done.secret, otpauth_uri=done.otpauth_uri)


def _locked(seconds: float, until: datetime) -> ApiError:
    wait = retry_after(seconds)
    return ApiError(
        429,
        "totp_locked",
        f"too many wrong codes; TOTP is locked for this member, retry after {wait} s",
        {"retry_after_s": int(wait), "locked_until": until.isoformat()},
        headers={"Retry-After": wait},
    )


async def _check_code(who: Any, code: str, rt: Runtime, *, confirming: bool) -> datetime:
    """Verify a code against the member's secret under a row lock; each time step is good once, and a run
    of failures locks the member. Refusals are raised after the commit, so their audit rows and counts stay."""
    refusal: ApiError | None = None
    confirmed = datetime.now(UTC)
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT key_id, secret_nonce, secret_sealed, confirmed_at, last_step, failures, lockouts,"
            " locked_until, now() AS now FROM member_totp WHERE member_id = %s FOR UPDATE",
            [who.member_id],
        )
        row = await cur.fetchone()
        if row is None or (row["confirmed_at"] is None and not confirming):
            raise ApiError(
                409, "totp_not_enrolled", "set up TOTP first: POST /v1/me/totp, then /v1/me/totp/confirm"
            )
        audit = {"creator_id": who.creator_id, "actor": who.member_id, "subject": f"member:{who.member_id}"}
        if row["locked_until"] is not None and row["locked_until"] > row["now"]:
            # Not even checked: while locked, the right code is refused like a wrong one.
            await append_audit(
                conn,
                action="totp.refused",
                details={"locked_until": row["locked_until"].isoformat()},
                **audit,
            )
            wait_s = (row["locked_until"] - row["now"]).total_seconds()
            refusal = _locked(wait_s, row["locked_until"])
        else:
            secret = keyring(rt.settings).open(
                Sealed(row["key_id"], bytes(row["secret_nonce"]), bytes(row["secret_sealed"])),
                totp_aad(who.member_id),
            )
            otp = pyotp.TOTP(secret.decode())
            now_step = int(time.time()) // STEP_S
            step = next(
                (s for s in (now_step - 1, now_step, now_step + 1) if otp.at(s * STEP_S) == code),
                None,
            )
            if step is None or (row["last_step"] is not None and step <= row["last_step"]):
                refusal = await _record_failure(conn, row, audit)
            else:
                await conn.execute(
                    "UPDATE member_totp SET last_step = %s, confirmed_at = coalesce(confirmed_at, now()),"
                    " failures = 0, lockouts = 0, locked_until = NULL WHERE member_id = %s",
                    [step, who.member_id],
                )
                if confirming and row["confirmed_at"] is None:
                    await append_audit(conn, action="totp.confirmed", **audit)
                confirmed = row["confirmed_at"] or datetime.now(UTC)
    if refusal is not None:
        raise refusal
    return confirmed


async def _record_failure(conn: Any, row: dict[str, Any], audit: dict[str, str]) -> ApiError:
    """Count a wrong, expired or reused code; the MAX_FAILURES-th in a row starts a lock."""
    failures = row["failures"] + 1
    member_id = audit["actor"]
    await append_audit(conn, action="totp.failed", details={"failures": failures}, **audit)
    if failures < MAX_FAILURES:
        await conn.execute("UPDATE member_totp SET failures = %s WHERE member_id = %s", [failures, member_id])
        return ApiError(
            401,
            "totp_invalid",
            "the code is wrong, expired or already used",
            {"attempts_left": MAX_FAILURES - failures},
        )
    lockouts = row["lockouts"] + 1
    seconds = min(LOCK_BASE_S * 2 ** (lockouts - 1), LOCK_MAX_S)
    until = row["now"] + timedelta(seconds=seconds)
    await conn.execute(
        "UPDATE member_totp SET failures = 0, lockouts = %s, locked_until = %s WHERE member_id = %s",
        [lockouts, until, member_id],
    )
    await append_audit(
        conn,
        action="totp.locked",
        details={"lockouts": lockouts, "seconds": seconds, "locked_until": until.isoformat()},
        **audit,
    )
    return _locked(seconds, until)


@router.post("/totp/confirm", response_model=Confirmed, responses={401: {}, 409: {}, 429: {}})
async def confirm(body: CodeIn, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    return Confirmed(confirmed_at=await _check_code(who, body.code, rt, confirming=True))


@router.post("/step-up", response_model=SteppedUp, responses={401: {}, 409: {}, 429: {}})
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
