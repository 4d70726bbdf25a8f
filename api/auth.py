"""Bearer API keys. Keys are 32 random bytes, so a SHA-256 digest at rest is enough (no slow KDF needed:
there is nothing to brute-force); every request is bound to one member, one role, one creator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import AsyncConnection

from api.errors import ApiError
from api.fresh_cache import FreshCache, request_ticket
from api.limits import RateLimits, retry_after
from core import db
from core.keys import hash_key
from core.store import api_keys
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
    conn: AsyncConnection[Any], creator_id: str, member_id: str, *, name: str | None = None
) -> str:
    """Create a key for a member; the plain key is returned once and never stored."""
    return await api_keys.insert(conn, creator_id, member_id, name=name)


# A security scheme (not a header parameter), so the OpenAPI document says how to authenticate.
_bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer hz_...")


async def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
) -> Principal:
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
                " m.role, k.step_up_until FROM api_keys k"
                " JOIN members m ON m.id = k.member_id WHERE k.key_hash = %s AND k.revoked_at IS NULL",
                [digest],
            )
            row = await cur.fetchone()
        if row is None:
            raise ApiError(401, "unauthorized", "unknown or revoked API key")
        cache.put(("auth", digest), f"auth:{row['creator_id']}", ticket, row)
    limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
    hit = limits.check(row["key_id"], row["creator_id"]) if limits else None
    if hit is not None:
        which, wait = hit
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests for this {which}; retry after {retry_after(wait)} s",
            {"limit": which, "retry_after_s": int(retry_after(wait))},
            headers={"Retry-After": retry_after(wait)},
        )
    return Principal(
        row["creator_id"], row["member_id"], Role(row["role"]), row["key_id"], row["step_up_until"]
    )


CurrentPrincipal = Annotated[Principal, Depends(principal)]
