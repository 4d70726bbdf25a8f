"""Platform connections: where a creator's approved messages are delivered (a signed webhook, or a platform's own
API: Instagram), the secret that signs them or the platform's access token, and each connection's health.

The secret is stored sealed with AES-256-GCM (core/crypto.py) and never returned; changing a connection
is a sensitive operation (owner, TOTP step-up) and is audited. A webhook URL must pass the egress check
(connectors/egress.py) when saved, and again at every send.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Path
from pydantic import AfterValidator, AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field, SecretStr

from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError
from connectors.egress import EgressRefused, Unresolved, check_url
from core import db
from core.crypto import connection_aad, keyring
from core.journal import append_audit
from core.store import alerts
from core.types import Role

router = APIRouter(prefix="/v1", tags=["connections"])
Platform = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{1,31}$", description="e.g. onlyfans")]


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    webhook_url: AnyHttpUrl = Field(description="where approved messages are POSTed (signed)")
    secret: SecretStr = Field(
        min_length=16, max_length=512, description="HMAC signing secret; never shown again"
    )


def _plausible(v: datetime) -> datetime:
    if not datetime(2000, 1, 1, tzinfo=UTC) <= v < datetime(2100, 1, 1, tzinfo=UTC):
        raise ValueError("must be from 2000 to 2100")
    return v


class InstagramConnectionIn(BaseModel):
    """The creator's Instagram professional account and the access token the Send API is called with."""

    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(
        pattern=r"^[0-9]{1,32}$", description="the Instagram professional account id (entry[].id in webhooks)"
    )
    access_token: SecretStr = Field(min_length=16, max_length=1024, description="never shown again")
    token_expires_at: Annotated[AwareDatetime, AfterValidator(_plausible)] | None = Field(
        None, description="when the token expires, if it does (2000 to 2100)"
    )


class ConnectionOut(BaseModel):
    platform: str
    kind: str = Field(description="webhook (a signed webhook: the bridge) or instagram (the Graph API)")
    webhook_url: str | None
    account_id: str | None = Field(description="the creator's account on the platform (instagram)")
    key_id: str = Field(description="which encryption key sealed the secret")
    updated_at: datetime
    state: str = Field(
        description="connected, token_expiring (within 7 days), token_expired, or failing (an error since the"
        " last event received or message sent)"
    )
    token_expires_at: datetime | None
    last_event_at: datetime | None
    last_send_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


class ConnectionList(BaseModel):
    items: list[ConnectionOut]


_SELECT = (
    "SELECT platform, kind, webhook_url, account_id, key_id, updated_at, token_expires_at, last_event_at,"
    " last_send_at, last_error, last_error_at FROM connections WHERE creator_id = %s"
)
TOKEN_EXPIRING = timedelta(days=7)


def _out(row: dict[str, Any]) -> ConnectionOut:
    now = datetime.now(UTC)
    expires, err_at = row["token_expires_at"], row["last_error_at"]
    ok_at = max((t for t in (row["last_send_at"], row["last_event_at"]) if t is not None), default=None)
    if expires is not None and expires <= now:
        state = "token_expired"
    elif err_at is not None and (ok_at is None or err_at > ok_at):
        state = "failing"
    elif expires is not None and expires - now <= TOKEN_EXPIRING:
        state = "token_expiring"
    else:
        state = "connected"
    return ConnectionOut(**row, state=state)


@router.get("/connections", response_model=ConnectionList)
async def list_connections(who: CurrentPrincipal) -> Any:
    who.require(Role.OWNER)
    async with db.pool().connection() as conn:
        cur = await conn.execute(_SELECT + " ORDER BY platform", [who.creator_id])
        items = [_out(r) for r in await cur.fetchall()]
        for c in items:
            if c.state == "token_expiring" and c.token_expires_at is not None:
                # One alert per connection and expiry: the key repeats on every look, a new token's does not.
                at = c.token_expires_at.astimezone(UTC).isoformat()
                await alerts.enqueue(
                    conn,
                    who.creator_id,
                    alerts.TOKEN_EXPIRING,
                    f"token_expiring:{c.platform}:{at}",
                    {"platform": c.platform, "token_expires_at": at},
                )
        return ConnectionList(items=items)


async def _check_webhook_url(url: str, rt: Runtime) -> None:
    """422 `webhook_url_not_allowed` unless every address the URL's host resolves to is public. A name that does
    not resolve yet is accepted: there is nothing to reach, and every send checks it again."""
    try:
        await check_url(
            url, allow_loopback=rt.settings.allow_loopback_webhooks, timeout_s=rt.settings.webhook_timeout_s
        )
    except (Unresolved, TimeoutError):
        return
    except EgressRefused as exc:
        message = "the webhook address is not allowed: it must be a public http(s) address"
        raise ApiError(
            422,
            "webhook_url_not_allowed",
            message,
            {"fields": [{"field": "webhook_url", "message": message, "type": "webhook_url_not_allowed"}]},
        ) from exc


@router.put("/connections/{platform}", response_model=ConnectionOut, responses={403: {}, 409: {}})
async def put_connection(
    platform: Platform,
    body: ConnectionIn | InstagramConnectionIn,
    who: CurrentPrincipal,
    rt: Annotated[Runtime, Depends(runtime)],
) -> Any:
    """A signed webhook ({webhook_url, secret}: the bridge to an adapter) for any platform; for instagram, the
    account and its access token ({account_id, access_token, token_expires_at?}), sent through the Graph API."""
    who.require(Role.OWNER)
    who.require_step_up()
    if (platform == "instagram") != isinstance(body, InstagramConnectionIn):
        want = "account_id and access_token" if platform == "instagram" else "webhook_url and secret"
        message = f"a {platform} connection takes {want}"
        raise ApiError(
            422,
            "validation_error",
            message,
            {"fields": [{"field": "body", "message": message, "type": "value_error"}]},
        )
    if isinstance(body, InstagramConnectionIn):
        kind, url, account, expires, secret = (
            "instagram",
            None,
            body.account_id,
            body.token_expires_at,
            body.access_token,
        )
    else:
        await _check_webhook_url(str(body.webhook_url), rt)
        kind, url, account, expires, secret = "webhook", str(body.webhook_url), None, None, body.secret
    sealed = keyring(rt.settings).seal(
        secret.get_secret_value().encode(), connection_aad(who.creator_id, platform)
    )
    async with db.pool().connection() as conn, conn.transaction():
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO connections (creator_id, platform, kind, webhook_url, account_id, token_expires_at,"
                    " key_id, secret_nonce, secret_sealed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (creator_id, platform) DO UPDATE SET kind = EXCLUDED.kind,"
                    " webhook_url = EXCLUDED.webhook_url, account_id = EXCLUDED.account_id,"
                    " token_expires_at = EXCLUDED.token_expires_at, key_id = EXCLUDED.key_id,"
                    " secret_nonce = EXCLUDED.secret_nonce, secret_sealed = EXCLUDED.secret_sealed,"
                    " last_error = NULL, last_error_at = NULL, updated_at = now()",
                    [
                        who.creator_id,
                        platform,
                        kind,
                        url,
                        account,
                        expires,
                        sealed.key_id,
                        sealed.nonce,
                        sealed.ciphertext,
                    ],
                )
        except psycopg.errors.UniqueViolation:
            raise ApiError(
                409, "account_taken", f"another creator already connected this {platform} account"
            ) from None
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="connection.updated",
            subject=f"connection:{platform}",
            details={"webhook_url": url, "account_id": account, "key_id": sealed.key_id},
        )
        row = await (
            await conn.execute(_SELECT + " AND platform = %s", [who.creator_id, platform])
        ).fetchone()
    assert row is not None
    return _out(row)
