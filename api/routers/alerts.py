"""Alert channels: where a creator's team is told about events that need a person. `PUT /v1/alerts/config` replaces
the creator's whole alert configuration (a signed webhook and the events it is sent); `GET` shows it without the
secret. Manager or owner; every change is audited. The webhook URL passes the egress check when saved and again at
every send (workflows/alerts.py); its HMAC secret is sealed like a connection's and never shown again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError
from api.routers.connections import _check_webhook_url
from core import db
from core.crypto import alert_aad, keyring
from core.journal import append_audit
from core.store import alerts
from core.types import Role

router = APIRouter(prefix="/v1", tags=["alerts"])

# The events an alert can be sent for (core/store/alerts.py EVENTS).
AlertEvent = Literal[
    "handoff", "delivery_failed", "daily_plan_ready", "revenue_anomaly", "drafts_expiring", "token_expiring"
]


class AlertConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    webhook_url: AnyHttpUrl | None = Field(
        None, description="where alerts are POSTed, signed (null: no webhook; nothing is sent)"
    )
    secret: SecretStr | None = Field(
        None,
        validate_default=True,
        min_length=16,
        max_length=512,
        description="HMAC signing secret for the webhook (required with webhook_url); never shown again",
    )
    email: str | None = Field(
        None,
        max_length=254,
        pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$",
        description="where alerts are mailed, through the server's SMTP server (null: no e-mail)",
    )
    events: list[AlertEvent] = Field(
        default_factory=list,
        max_length=16,
        description="the events alerts are sent for: handoff, delivery_failed, daily_plan_ready, revenue_anomaly, drafts_expiring",
    )

    @field_validator("secret")
    @classmethod
    def _secret_with_url(cls, v: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if "webhook_url" in info.data and (info.data["webhook_url"] is None) != (v is None):
            raise ValueError("a secret is required with webhook_url, and only with it")
        return v


class AlertConfigOut(BaseModel):
    webhook_url: str | None
    email: str | None
    key_id: str | None = Field(description="which encryption key sealed the webhook's secret")
    events: list[str]
    updated_at: datetime | None = Field(description="null: never configured")
    updated_by: str | None


def _out(config: alerts.Config | None) -> AlertConfigOut:
    if config is None:
        return AlertConfigOut(
            webhook_url=None, email=None, key_id=None, events=[], updated_at=None, updated_by=None
        )
    return AlertConfigOut(
        webhook_url=config.webhook_url,
        email=config.email_to,
        key_id=config.key_id,
        events=config.events,
        updated_at=config.updated_at,
        updated_by=config.updated_by,
    )


@router.get("/alerts/config", response_model=AlertConfigOut)
async def get_alert_config(who: CurrentPrincipal) -> Any:
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn:
        return _out(await alerts.get_config(conn, who.creator_id))


@router.put("/alerts/config", response_model=AlertConfigOut)
async def put_alert_config(
    body: AlertConfigIn, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]
) -> Any:
    who.require(Role.MANAGER)
    who.require_step_up()  # it names where the business's alerts go, like a connection's webhook
    url = str(body.webhook_url) if body.webhook_url is not None else None
    sealed: tuple[str, bytes, bytes] | None = None
    if url is not None and body.secret is not None:
        await _check_webhook_url(url, rt)
        s = keyring(rt.settings).seal(body.secret.get_secret_value().encode(), alert_aad(who.creator_id))
        sealed = (s.key_id, s.nonce, s.ciphertext)
    if body.email is not None and rt.settings.smtp_host is None:
        message = "e-mail alerts need an SMTP server in the settings (HUNTAZE_SMTP_HOST)"
        raise ApiError(
            422,
            "email_not_configured",
            message,
            {"fields": [{"field": "email", "message": message, "type": "email_not_configured"}]},
        )
    events: list[str] = sorted(set(body.events))
    async with db.pool().connection() as conn, conn.transaction():
        config = await alerts.put_config(
            conn,
            who.creator_id,
            webhook_url=url,
            email_to=body.email,
            sealed=sealed,
            events=events,
            member_id=who.member_id,
        )
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="alerts.config_updated",
            subject="alerts",
            details={"webhook_url": url, "email": body.email, "events": events, "key_id": config.key_id},
        )
    return _out(config)
