"""Messages written by a human: `POST /v1/fans/{id}/messages`.

The message goes to the fan's conversation workflow as an Update, exactly as a decision does: the workflow checks
it with the outbound policy, stores it approved by its author (a human-written message is decided by the human
who wrote it), supersedes the agent's pending draft and sends it through the same audited, idempotent send path
as an approved draft, under the same quiet hours and caps. The API itself never writes a message or a send.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator
from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError
from api.routers.drafts import _explained
from api.updates import IdempotencyKey, NotTakenYet, bounded, client_cancel, content_digest
from core import db
from core.store import catalog as catalog_store
from core.store import fans, outbox
from core.types import Role, conversation_workflow_id
from workflows.types import Compose, ComposeOutcome, ConversationInput

router = APIRouter(prefix="/v1", tags=["fans"])

# Starting the fan's workflow and sending it the message: tries when the run closed in between.
START_TRIES = 3
# Seconds a client waits before sending again a message that no worker has taken yet.
MESSAGE_RETRY_AFTER_S = 5


class OfferIn(BaseModel):
    """A catalog item to offer with the message: by our id or by the platform's id for it (not both)."""

    model_config = ConfigDict(extra="forbid")
    catalog_id: UUID | None = Field(None, description="the item's id (must be this creator's, active)")
    platform_item_id: str | None = Field(
        None, min_length=1, max_length=200, description="or the platform's own id for the item"
    )
    price_cents: int | None = Field(
        None, ge=1, le=10_000_000, description="the price to ask (default: the item's price)"
    )

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.catalog_id is None) == (self.platform_item_id is None):
            raise ValueError("name the item by 'catalog_id' or by 'platform_item_id' (one of them)")
        return self


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=1000, description="the message, as the fan will read it")
    offer: OfferIn | None = None


class OfferOut(BaseModel):
    catalog_id: str
    price_cents: int


State = Literal["sent", "held", "failed", "queued"]


class MessageSent(BaseModel):
    id: str = Field(description="the message's id (a draft written and approved by its author)")
    fan_id: str
    text: str
    offer: OfferOut | None
    sent_by: str = Field(description="the member who wrote and sent it")
    state: State = Field(
        description="sent: handed to delivery; held: quiet hours or a cap hold it until `not_before` (it is sent"
        " then, durably), or, without `not_before`, the platform's rules hold it (Instagram's messaging window):"
        " its delivery is failed with that reason, for a human to retry; failed: the platform refused it (its"
        " delivery is failed with the reason); queued: accepted, the conversation sends it as soon as it can"
    )
    not_before: datetime | None = Field(None, description="held: when it will be sent")
    held_because: list[str] = Field(default_factory=list, description="held or failed: why")
    superseded_draft_id: str | None = Field(
        None, description="the agent's draft awaiting a decision that this message replaced"
    )


def _bad_field(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        "the request is invalid",
        {"fields": [{"field": field, "message": message, "type": "value_error"}]},
    )


async def _offer(creator_id: str, offer: OfferIn | None) -> dict[str, Any] | None:
    if offer is None:
        return None
    field = "offer.catalog_id" if offer.catalog_id is not None else "offer.platform_item_id"
    async with db.pool().connection() as conn:
        found = await catalog_store.resolve(
            conn, creator_id, catalog_id=offer.catalog_id, platform_item_id=offer.platform_item_id
        )
        item = await catalog_store.get(conn, creator_id, found) if found else None
    if item is None or not item.active:
        raise _bad_field(field, "no such active catalog item")
    return {"catalog_id": item.id, "price_cents": offer.price_cents or item.price_cents}


@router.post(
    "/fans/{fan_id}/messages",
    status_code=201,
    response_model=MessageSent,
    responses={403: {}, 404: {}, 409: {}, 422: {}, 503: {}},
)
async def write_message(
    fan_id: UUID,
    body: MessageIn,
    who: CurrentPrincipal,
    rt: Annotated[Runtime, Depends(runtime)],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Send the fan a message a member wrote (chatter or above). It passes the outbound policy (else a 422
    `policy_blocked` with the report, nothing stored or sent), supersedes the agent's pending draft, and is sent
    like an approved draft: audited, once, under quiet hours and caps (`state: held` says until when). It also
    answers a handed-off fan, who stays frozen for the agent."""
    who.require(Role.CHATTER)
    if "\x00" in body.text:  # refused here: the workflow's activity could never store it
        raise ApiError(
            422,
            "validation_error",
            "text fields cannot contain NUL (\\u0000) characters",
            {"fields": [{"field": "text", "message": "contains a NUL character", "type": "value_error"}]},
        )
    async with db.pool().connection() as conn:
        fan = await fans.get(conn, who.creator_id, fan_id)
    if fan is None:
        raise ApiError(404, "not_found", "no such fan")
    if fan.opted_out:
        raise ApiError(409, "fan_opted_out", "the fan opted out: nothing is sent to them")
    offer = await _offer(who.creator_id, body.offer)
    key = f"{who.member_id}:{idempotency_key or uuid.uuid4()}"
    msg = Compose(key=key, author=who.member_id, text=body.text, offer=offer)
    try:
        outcome = await _send(rt, who.creator_id, str(fan_id), msg)
    except NotTakenYet as exc:
        raise _message_pending(idempotency_key is not None) from exc
    state, reasons = (
        await _as_delivered(who.creator_id, outcome)
        if outcome.state == "sent"
        else (outcome.state, outcome.reasons)
    )
    return MessageSent(
        id=outcome.draft_id,
        fan_id=str(fan_id),
        text=body.text,
        offer=OfferOut(**offer) if offer else None,
        sent_by=who.member_id,
        state=state,
        not_before=datetime.fromtimestamp(outcome.not_before, UTC) if outcome.not_before else None,
        held_because=reasons,
        superseded_draft_id=outcome.superseded,
    )


def _message_pending(keyed: bool) -> ApiError:
    again = (
        "send the same request with the same Idempotency-Key to learn its outcome (it joins the first: sent once)"
        if keyed
        else "this request had no Idempotency-Key, so sending it again writes a second message: look at the"
        " fan's conversation first"
    )
    return ApiError(
        503,
        "message_pending",
        "the message was handed to the fan's conversation but its outcome is not known yet (no worker has taken"
        f" it, or the workflow service is slow): it stays queued and is sent once; {again}",
        {"retry_after_s": MESSAGE_RETRY_AFTER_S, "retry_safe": keyed},
        headers={"Retry-After": str(MESSAGE_RETRY_AFTER_S)},
    )


async def _as_delivered(creator_id: str, outcome: ComposeOutcome) -> tuple[State, list[str]]:
    """A message handed to delivery whose delivery failed at once (a platform's rules held it, or the platform
    refused it) was not sent: say so, with the delivery's reason."""
    async with db.pool().connection() as conn:
        delivery = await outbox.receipted(conn, creator_id, outcome.draft_id)
    if delivery is None or delivery.status != "failed":
        return outcome.state, outcome.reasons
    reason = delivery.error or "the delivery failed"
    return ("held" if reason.startswith("held:") else "failed"), [reason]


async def _send(rt: Runtime, creator_id: str, fan_id: str, msg: Compose) -> ComposeOutcome:
    """Hand the message to the fan's conversation; `NotTakenYet` when no worker accepted it within
    HUNTAZE_DECISION_WAIT_S (or an RPC timed out while waiting for its outcome)."""
    s = rt.settings
    deadline = asyncio.get_running_loop().time() + s.decision_wait_s
    workflow_id = conversation_workflow_id(creator_id, fan_id)
    for attempt in range(START_TRIES):
        try:
            # Signal-with-start (no events): starts the fan's conversation if it is not running.
            handle = await rt.temporal.start_workflow(
                "ConversationWorkflow",
                ConversationInput(
                    creator_id=creator_id,
                    fan_id=fan_id,
                    draft_timeout_s=s.draft_timeout_s,
                    debounce_s=s.debounce_s,
                    idle_close_s=s.idle_close_s,
                ),
                id=workflow_id,
                task_queue=s.task_queue,
                start_signal="new_events",
                start_signal_args=[[]],
            )
            # The update id is the message's key and content: a retry while the first is in flight waits for that
            # one; the same key with another content reaches the workflow, which refuses it.
            content = content_digest(msg.text, msg.offer)
            # A client gone: a cancellation; a message the server received is sent once. Bounded until a worker
            # accepts it; then its outcome (the send) is waited for.
            async with bounded(deadline):
                update = await handle.start_update(
                    "compose",
                    msg,
                    id=f"compose:{msg.key}:{content}",
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                    result_type=ComposeOutcome,
                )
            with client_cancel():
                outcome: ComposeOutcome = await update.result()
            return outcome
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:  # accepted; the RPC for its outcome timed out
            raise NotTakenYet from exc
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError):
                details = _explained(cause.details[0] if cause.details else None)
                status = 422 if cause.type == "policy_blocked" else 409
                raise ApiError(status, cause.type or "conflict", cause.message, details) from exc
            raise ApiError(409, "conflict", str(cause)) from exc
        except RPCError as exc:
            # The run closed between the start and the update: start a fresh one and try again.
            if exc.status == RPCStatusCode.NOT_FOUND and attempt + 1 < START_TRIES:
                continue
            raise ApiError(503, "workflow_unavailable", "the workflow service is unreachable; retry") from exc
    raise AssertionError("unreachable")
