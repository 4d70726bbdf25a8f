"""Events from a bridge adapter (docs/bridge.md): signed with the secret of the creator's webhook connection for the
platform, not an API key. A missing, wrong or stale signature (or a creator without such a connection) is a 401
and nothing is stored; a valid one stores the event exactly as POST /v1/events does, idempotent on its event id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from api.deps import Runtime, runtime
from api.errors import ApiError
from api.routers.events import EventAccepted, EventIn, accept_stored, store_event
from connectors.bridge import CREATOR_HEADER, verify_signed
from connectors.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from core import db
from core.crypto import keyring
from core.store import connections
from core.types import Platform

router = APIRouter(prefix="/v1/connectors/bridge", tags=["connectors"])


def _unsigned() -> ApiError:
    return ApiError(
        401,
        "bad_signature",
        f"missing, wrong or stale {SIGNATURE_HEADER} / {TIMESTAMP_HEADER}, or no bridge connection for"
        f" {CREATOR_HEADER} on this platform",
    )


@router.post(
    "/{platform}/events",
    status_code=202,
    response_model=EventAccepted,
    responses={401: {}, 409: {}, 422: {}, 503: {}},
)
async def bridge_event(platform: Platform, request: Request, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    body = await request.body()
    try:
        creator_id = str(UUID(request.headers.get(CREATOR_HEADER, "")))
    except ValueError:
        raise _unsigned() from None
    async with db.pool().connection() as conn:
        connection = await connections.get(conn, creator_id, platform)
    if connection is None or connection.kind != "webhook":
        raise _unsigned()
    secret = connection.secret(keyring(rt.settings))
    headers = request.headers
    if not verify_signed(
        secret,
        body,
        headers.get(TIMESTAMP_HEADER),
        headers.get(SIGNATURE_HEADER),
        rt.settings.bridge_tolerance_s,
    ):
        raise _unsigned()
    try:
        ev = EventIn.model_validate_json(body)
    except ValidationError as exc:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise ApiError(422, "validation_error", "the request is invalid", {"fields": fields}) from None
    if ev.fan.platform != platform:
        message = f"the fan's platform must be {platform}, the platform of this bridge"
        raise ApiError(
            422,
            "validation_error",
            "the request is invalid",
            {"fields": [{"field": "fan.platform", "message": message, "type": "value_error"}]},
        )
    async with db.pool().connection() as conn, conn.transaction():
        row, _created = await store_event(conn, creator_id, ev)
        await connections.note_event(conn, creator_id, platform, ev.occurred_at or datetime.now(UTC))
    return await accept_stored(rt, creator_id, ev, row, resend="send the same request again")
