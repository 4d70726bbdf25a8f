"""The Instagram webhook: Meta's subscription handshake (GET) and its signed notifications (POST).

Public: no API key. A notification is authenticated by its `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with
the app secret): a missing or wrong signature is a 401 and nothing is read or stored. Each fan message becomes the
event `POST /v1/events` would store (its Instagram message id as the event id, so a replay stores nothing new) for
the creator who connected the account the notification names; the fan's conversation workflow is woken.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError
from temporalio.service import RPCError

from api.deps import Runtime, runtime
from api.errors import ApiError
from api.routers.events import EventIn, FanRef, store_event
from connectors.instagram import PLATFORM, SIGNATURE_HEADER, PayloadError, parse_messages, verify_signature
from core import db
from core.store import connections
from core.types import EventKind, Platform
from workflows.dispatch import dispatch_events

router = APIRouter(prefix="/v1/connectors/instagram", tags=["connectors"])


def _not_configured() -> ApiError:
    return ApiError(
        503,
        "connector_not_configured",
        "the Instagram connector is not configured (HUNTAZE_INSTAGRAM_APP_SECRET, HUNTAZE_INSTAGRAM_VERIFY_TOKEN)",
    )


@router.get("/webhook", response_class=PlainTextResponse, responses={403: {}, 503: {}})
async def verify_subscription(
    rt: Annotated[Runtime, Depends(runtime)],
    mode: Annotated[str, Query(alias="hub.mode", max_length=64)] = "",
    token: Annotated[str, Query(alias="hub.verify_token", max_length=512)] = "",
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=512)] = "",
) -> Any:
    """Meta's handshake: answers `hub.challenge` when `hub.mode` is subscribe and the verify token matches."""
    expected = rt.settings.instagram_verify_token
    if expected is None:
        raise _not_configured()
    if mode != "subscribe" or not hmac.compare_digest(token.encode(), expected.get_secret_value().encode()):
        raise ApiError(403, "verification_failed", "hub.mode or hub.verify_token is wrong")
    return PlainTextResponse(challenge)


@router.post("/webhook", responses={400: {}, 401: {}, 503: {}})
async def receive(request: Request, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    secret = rt.settings.instagram_app_secret
    if secret is None:
        raise _not_configured()
    body = await request.body()
    if not verify_signature(secret.get_secret_value(), body, request.headers.get(SIGNATURE_HEADER)):
        raise ApiError(401, "bad_signature", f"missing or wrong {SIGNATURE_HEADER}")
    try:
        found = parse_messages(body)
    except PayloadError as exc:
        raise ApiError(400, "bad_payload", str(exc)) from exc
    try:
        events = [
            (
                m,
                EventIn(
                    event_id=m.message_id,
                    kind=EventKind.MESSAGE,
                    fan=FanRef(platform_fan_id=m.platform_fan_id, platform=Platform.INSTAGRAM),
                    occurred_at=m.occurred_at,
                    text=m.text,
                ),
            )
            for m in found
        ]
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise ApiError(
            400, "bad_payload", f"a message cannot be stored ({where}: {exc.errors()[0]['msg']})"
        ) from None
    stored = ignored = 0
    wake: dict[tuple[str, str], list[int]] = defaultdict(list)
    async with db.pool().connection() as conn:
        for m, ev in events:
            async with conn.transaction():
                connection = await connections.by_account(conn, PLATFORM, m.account_id)
                if connection is None:
                    ignored += 1  # an account nobody connected (or disconnected)
                    continue
                row, created = await store_event(conn, connection.creator_id, ev)
                stored += created
                await connections.note_event(conn, connection.creator_id, PLATFORM, m.occurred_at)
            if row["dispatched_at"] is None:
                wake[(connection.creator_id, row["fan_id"])].append(row["id"])
    try:
        for (creator_id, fan_id), ids in wake.items():
            await dispatch_events(rt.temporal, rt.settings, creator_id, fan_id, ids)
    except RPCError as exc:
        # Stored: Meta delivers the notification again, and the replay dispatches what is still waiting.
        raise ApiError(503, "dispatch_pending", "stored; the workflow service is unreachable") from exc
    return JSONResponse({"stored": stored, "ignored": ignored, "messages": len(found)})
