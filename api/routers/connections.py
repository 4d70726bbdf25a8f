"""Platform connections: where a creator's approved messages are delivered and the secret that signs them.

The secret is stored sealed with AES-256-GCM (core/crypto.py) and never returned; changing a connection
is a sensitive operation (owner, TOTP step-up) and is audited. A webhook URL must pass the egress check
(connectors/egress.py) when saved, and again at every send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError
from connectors.egress import EgressRefused, Unresolved, check_url
from core import db
from core.crypto import connection_aad, keyring
from core.journal import append_audit
from core.types import Role

router = APIRouter(prefix="/v1", tags=["connections"])
Platform = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{1,31}$", description="e.g. onlyfans")]


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    webhook_url: AnyHttpUrl = Field(description="where approved messages are POSTed (signed)")
    secret: SecretStr = Field(
        min_length=16, max_length=512, description="HMAC signing secret; never shown again"
    )


class ConnectionOut(BaseModel):
    platform: str
    webhook_url: str
    key_id: str = Field(description="which encryption key sealed the secret")
    updated_at: datetime


class ConnectionList(BaseModel):
    items: list[ConnectionOut]


_SELECT = "SELECT platform, webhook_url, key_id, updated_at FROM connections WHERE creator_id = %s"


@router.get("/connections", response_model=ConnectionList)
async def list_connections(who: CurrentPrincipal) -> Any:
    who.require(Role.OWNER)
    async with db.pool().connection() as conn:
        cur = await conn.execute(_SELECT + " ORDER BY platform", [who.creator_id])
        return ConnectionList(items=[ConnectionOut(**r) for r in await cur.fetchall()])


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


@router.put("/connections/{platform}", response_model=ConnectionOut, responses={403: {}})
async def put_connection(
    platform: Platform, body: ConnectionIn, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]
) -> Any:
    who.require(Role.OWNER)
    who.require_step_up()
    await _check_webhook_url(str(body.webhook_url), rt)
    sealed = keyring(rt.settings).seal(
        body.secret.get_secret_value().encode(), connection_aad(who.creator_id, platform)
    )
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO connections (creator_id, platform, webhook_url, key_id, secret_nonce, secret_sealed)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (creator_id, platform) DO UPDATE SET"
            " webhook_url = EXCLUDED.webhook_url, key_id = EXCLUDED.key_id, secret_nonce = EXCLUDED.secret_nonce,"
            " secret_sealed = EXCLUDED.secret_sealed, updated_at = now()",
            [who.creator_id, platform, str(body.webhook_url), sealed.key_id, sealed.nonce, sealed.ciphertext],
        )
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="connection.updated",
            subject=f"connection:{platform}",
            details={"webhook_url": str(body.webhook_url), "key_id": sealed.key_id},
        )
        row = await (
            await conn.execute(_SELECT + " AND platform = %s", [who.creator_id, platform])
        ).fetchone()
    assert row is not None
    return ConnectionOut(**row)
