"""Bearer API keys. Keys are 32 random bytes, so a SHA-256 digest at rest is enough (no slow KDF needed:
there is nothing to brute-force); every request is bound to one member, one role, one creator. An agency key
(migration 0034) acts for each creator its member holds a role on: the request names which with X-Creator-Id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import AsyncConnection

from api.errors import ApiError
from api.fresh_cache import FreshCache, request_ticket
from api.limits import RateLimits, retry_after
from core import db
from core.keys import hash_key
from core.store import api_keys, members
from core.types import Role

ROLE_RANK = {Role.VIEWER: 0, Role.CHATTER: 1, Role.MANAGER: 2, Role.OWNER: 3}


@dataclass(frozen=True)
class Principal:
    creator_id: str
    member_id: str
    role: Role
    key_id: str = ""
    step_up_until: datetime | None = None

    def require(self, at_least: Role) -> None:
        if ROLE_RANK[self.role] < ROLE_RANK[at_least]:
            raise ApiError(403, "forbidden", f"this action needs the {at_least} role or higher")

    def require_step_up(self) -> None:
        """Sensitive operations (policies, members, keys, connections) need a recent TOTP check on this key."""
        if self.step_up_until is None or self.step_up_until <= datetime.now(UTC):
            raise ApiError(
                403,
                "step_up_required",
                "this operation needs a recent TOTP check: POST /v1/me/step-up with a code from your"
                " authenticator (enrol first: POST /v1/me/totp; an owner is enrolled by another owner or on"
                " the server)",
            )


async def issue_key(
    conn: AsyncConnection[Any],
    creator_id: str,
    member_id: str,
    *,
    name: str | None = None,
    agency: bool = False,
) -> str:
    """Create a key for a member; the plain key is returned once and never stored."""
    return await api_keys.insert(conn, creator_id, member_id, name=name, agency=agency)


# A security scheme (not a header parameter), so the OpenAPI document says how to authenticate.
_bearer = HTTPBearer(
    auto_error=False,
    description="an API key: Authorization: Bearer hz_... An agency key, which acts for several creators, names"
    " the creator of each request in the X-Creator-Id header (GET /v1/creators lists them).",
)

CREATOR_HEADER = "X-Creator-Id"


def _no_such_creator() -> ApiError:
    """A creator the key may not act for answers exactly as an unknown one."""
    return ApiError(404, "not_found", "no such creator")


def _wanted_creator(request: Request) -> str | None:
    """The creator named by X-Creator-Id, as a canonical UUID; None without the header."""
    value = request.headers.get(CREATOR_HEADER)
    if value is None:
        return None
    try:
        return str(UUID(value.strip()))
    except ValueError:
        raise ApiError(
            422,
            "validation_error",
            "the request is invalid",
            {
                "fields": [
                    {"field": CREATOR_HEADER, "message": "must be a creator id (a UUID)", "type": "uuid"}
                ]
            },
        ) from None


async def _key_row(request: Request, credentials: HTTPAuthorizationCredentials | None) -> dict[str, Any]:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <api key>'")
    digest = hash_key(credentials.credentials.strip())
    # Keys are read through the fresh cache: a revocation, role change or step-up committed before this
    # request arrived is seen (migration 0011 notifies `auth:<creator>`).
    cache: FreshCache = request.app.state.fresh_cache
    ticket = await request_ticket(request)
    row: dict[str, Any] | None = cache.get(("auth", digest), ticket)
    if row is None:
        async with db.pool().connection() as conn:
            cur = await conn.execute(
                "SELECT k.id::text AS key_id, k.creator_id::text AS creator_id, m.id::text AS member_id,"
                " m.role, k.step_up_until, k.agency FROM api_keys k"
                " JOIN members m ON m.id = k.member_id WHERE k.key_hash = %s AND k.revoked_at IS NULL",
                [digest],
            )
            row = await cur.fetchone()
        if row is None:
            raise ApiError(401, "unauthorized", "unknown or revoked API key")
        cache.put(("auth", digest), f"auth:{row['creator_id']}", ticket, row)
    return row


def _rate_limit(request: Request, key_id: str, creator_id: str) -> None:
    limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    hit = limits.check(key_id, creator_id) if limits else None
    if hit is not None:
        which, wait = hit
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests for this {which}; retry after {retry_after(wait)} s",
            {"limit": which, "retry_after_s": int(retry_after(wait))},
            headers={"Retry-After": retry_after(wait)},
        )


async def _roles(row: dict[str, Any]) -> list[members.CreatorRole]:
    """The creators a key acts for: an agency key's home row and the rows granted to it (read on every request,
    so a grant or revocation counts at once); any other key's own creator."""
    async with db.pool().connection() as conn:
        if row["agency"]:
            return await members.roles_of(conn, row["member_id"])
        cur = await conn.execute(
            "SELECT handle, display_name FROM creators WHERE id = %s", [row["creator_id"]]
        )
        c = await cur.fetchone()
    assert c is not None
    return [
        members.CreatorRole(row["creator_id"], row["member_id"], row["role"], c["handle"], c["display_name"])
    ]


async def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
) -> Principal:
    """The member and role a request acts as, on one creator: the key's own, or for an agency key the creator
    named by X-Creator-Id (without it: its only creator, else 400 `creator_required`). A creator the key has no
    role on is 404, as an unknown id is."""
    row = await _key_row(request, credentials)
    wanted = _wanted_creator(request)
    if not row["agency"]:
        if wanted is not None and wanted != row["creator_id"]:
            raise _no_such_creator()
        creator_id, member_id, role = row["creator_id"], row["member_id"], row["role"]
    else:
        roles = await _roles(row)
        if wanted is None and len(roles) > 1:
            raise ApiError(
                400,
                "creator_required",
                f"this key acts for several creators: name one with the {CREATOR_HEADER} header"
                " (GET /v1/creators lists them)",
                {"header": CREATOR_HEADER, "creators": "/v1/creators"},
            )
        chosen = [r for r in roles if wanted is None or r.creator_id == wanted]
        if not chosen:
            raise _no_such_creator()
        creator_id, member_id, role = chosen[0].creator_id, chosen[0].member_id, chosen[0].role
    _rate_limit(request, row["key_id"], creator_id)
    return Principal(creator_id, member_id, Role(role), row["key_id"], row["step_up_until"])


@dataclass(frozen=True)
class KeyHolder:
    """A key with every creator it acts for (GET /v1/creators, the combined inbox)."""

    key_id: str
    roles: list[members.CreatorRole]


async def key_holder(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
) -> KeyHolder:
    """The key and its creators. X-Creator-Id is not needed; sent, it must name one of them (else 404)."""
    row = await _key_row(request, credentials)
    wanted = _wanted_creator(request)
    roles = await _roles(row)
    if wanted is not None and all(r.creator_id != wanted for r in roles):
        raise _no_such_creator()
    _rate_limit(request, row["key_id"], row["creator_id"])
    return KeyHolder(row["key_id"], roles)


CurrentPrincipal = Annotated[Principal, Depends(principal)]
CurrentKeyHolder = Annotated[KeyHolder, Depends(key_holder)]
