"""Delivery receipts: what became of an approved message once it left, reported by the platform adapter; a
failed delivery waits for a human, who retries it (through the same send path, so only an approved draft can
go out, and once per attempt) or discards it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import BIGINT_MAX, ApiError
from core import db
from core.journal import append_audit, record_action
from core.store import Conn, outbox
from core.types import DraftStatus, Role
from workflows.delivery_activities import note_failure
from workflows.delivery_retry import DeliveryRetryWorkflow, delivery_retry_workflow_id
from workflows.types import SendInput

router = APIRouter(prefix="/v1", tags=["deliveries"])


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["delivered", "failed"]
    platform_message_id: str | None = Field(
        None, min_length=1, max_length=200, description="delivered: the platform's id of the message"
    )
    error: str | None = Field(
        None, min_length=1, max_length=500, description="failed: why, in the adapter's words"
    )
    retry: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="the `retry` of the delivery this receipt is about (0 or absent in the first attempt's payload);"
        " default: the current attempt",
    )

    @model_validator(mode="after")
    def _per_status(self) -> Self:
        if self.status == "delivered" and self.error is not None:
            raise ValueError("'error' is only allowed with status 'failed'")
        if self.status == "failed" and self.platform_message_id is not None:
            raise ValueError("'platform_message_id' is only allowed with status 'delivered'")
        return self


class DiscardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="why the message is given up on")


class DeliveryOut(BaseModel):
    draft_id: str
    fan_id: str
    fan_name: str = Field(description="the fan's display name")
    platform: str
    status: Literal["pending", "delivered", "failed", "discarded"] = Field(
        description="pending: not handed over yet; delivered: handed over, or reported delivered; failed: reported"
        " failed, waiting for a human; discarded: a human gave up on it"
    )
    receipt: Literal["delivered", "failed"] | None = Field(
        description="the adapter's report on the current attempt"
    )
    platform_message_id: str | None
    error: str | None = Field(description="the failure the adapter reported")
    attempts: int = Field(description="hand-overs tried (webhook calls)")
    retries: int = Field(description="how many times a human retried it")
    created_at: datetime
    delivered_at: datetime | None
    receipt_at: datetime | None
    discarded_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: int | None


def _out(box: outbox.Receipted) -> dict[str, Any]:
    return DeliveryOut(**{k: v for k, v in asdict(box).items() if k != "id"}).model_dump(mode="json")


async def _locked(conn: Conn, creator_id: str, draft_id: UUID) -> outbox.Receipted:
    """The draft's delivery, locked; 404 for an unknown draft or another creator's, 409 for a draft of this creator
    that was not sent (yet)."""
    box = await outbox.receipted(conn, creator_id, draft_id, lock=True)
    if box is not None:
        return box
    cur = await conn.execute(
        "SELECT status FROM drafts WHERE creator_id = %s AND id = %s", [creator_id, draft_id]
    )
    draft = await cur.fetchone()
    if draft is None:
        raise ApiError(404, "not_found", "no such draft")
    raise ApiError(
        409,
        "not_sent",
        "this draft was not sent: it has no delivery",
        {"draft_id": str(draft_id), "draft_status": draft["status"]},
    )


@router.get("/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    who: CurrentPrincipal,
    status: Literal["pending", "delivered", "failed", "discarded"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        int | None, Query(ge=1, le=BIGINT_MAX, description="next_cursor of the previous page")
    ] = None,
) -> Any:
    """The creator's deliveries, newest first; `status=failed` is what waits for a human."""
    async with db.pool().connection() as conn:
        rows = await outbox.page(conn, who.creator_id, status=status, cursor=cursor, limit=limit + 1)
    items = [_out(r) for r in rows[:limit]]
    return {"items": items, "next_cursor": rows[limit - 1].id if len(rows) > limit else None}


@router.get("/deliveries/{draft_id}", response_model=DeliveryOut, responses={404: {}, 409: {}})
async def get_delivery(draft_id: UUID, who: CurrentPrincipal) -> Any:
    async with db.pool().connection() as conn, conn.transaction():
        return _out(await _locked(conn, who.creator_id, draft_id))


@router.post("/deliveries/{draft_id}", response_model=DeliveryOut, responses={404: {}, 409: {}})
async def record_receipt(draft_id: UUID, body: ReceiptIn, who: CurrentPrincipal) -> Any:
    """The platform adapter's receipt for one delivery attempt. The same receipt again changes nothing and answers
    the same; one that contradicts the recorded one is a 409."""
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn, conn.transaction():
        box = await _locked(conn, who.creator_id, draft_id)
        if body.retry is not None and body.retry != box.retries:
            raise ApiError(
                409,
                "stale_receipt",
                f"this receipt is about attempt {body.retry}; the delivery is at attempt {box.retries}",
                {"delivery": _out(box), "receipt": body.model_dump()},
            )
        same = box.receipt == body.status and (
            body.status == "failed" or box.platform_message_id == body.platform_message_id
        )
        if same:
            return _out(box)  # a failure keeps the first error reported for the attempt
        conflict = {"delivery": _out(box), "receipt": body.model_dump()}
        if box.status == "discarded":
            raise ApiError(409, "delivery_discarded", "a human discarded this delivery", conflict)
        if box.receipt is not None:
            raise ApiError(
                409,
                "receipt_conflict",
                f"this delivery attempt was already reported {box.receipt}"
                + (f" as platform message {box.platform_message_id!r}" if box.platform_message_id else ""),
                conflict,
            )
        now = datetime.now(UTC)
        await outbox.record_receipt(
            conn,
            who.creator_id,
            draft_id,
            receipt=body.status,
            platform_message_id=body.platform_message_id,
            error=body.error,
            at=now,
        )
        if body.status == "failed":
            await note_failure(
                conn,
                who.creator_id,
                box.fan_id,
                str(draft_id),
                body.error or "the platform reported a failure",
                box.retries,
            )
        else:
            await record_action(
                conn,
                creator_id=who.creator_id,
                fan_id=box.fan_id,
                draft_id=str(draft_id),
                kind="delivered",
                summary="the platform delivered the message",
                details={"platform_message_id": body.platform_message_id, "retries": box.retries},
                dedupe_key=f"delivered:{draft_id}:{box.retries}",
            )
        after = await outbox.receipted(conn, who.creator_id, draft_id)
        assert after is not None
    return _out(after)


@router.post(
    "/deliveries/{draft_id}/retry",
    status_code=202,
    response_model=DeliveryOut,
    responses={404: {}, 409: {}, 503: {}},
)
async def retry_delivery(
    draft_id: UUID, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]
) -> Any:
    """Deliver a failed message again, through the send path (the approval is checked again). Asking again while
    that retry is still pending starts nothing new."""
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn, conn.transaction():
        box = await _locked(conn, who.creator_id, draft_id)
        if box.status == "failed":
            cur = await conn.execute(
                "SELECT status, decided_by FROM drafts WHERE creator_id = %s AND id = %s",
                [who.creator_id, draft_id],
            )
            draft = await cur.fetchone()
            if draft is None or draft["status"] != DraftStatus.SENT or draft["decided_by"] is None:
                raise ApiError(
                    409, "not_approved", "only an approved message can be delivered", {"delivery": _out(box)}
                )
            await outbox.reopen_for_retry(conn, who.creator_id, draft_id)
            retries = box.retries + 1
            await record_action(
                conn,
                creator_id=who.creator_id,
                fan_id=box.fan_id,
                draft_id=str(draft_id),
                kind="delivery_retried",
                summary="a human retried the failed delivery",
                details={"retry": retries, "error": box.error},
                dedupe_key=f"delivery_retried:{draft_id}:{retries}",
            )
            await append_audit(
                conn,
                creator_id=who.creator_id,
                actor=who.member_id,
                action="delivery.retried",
                subject=str(draft_id),
                details={"retry": retries},
            )
        elif not (box.status == "pending" and box.retries > 0):
            raise ApiError(
                409,
                "not_failed",
                f"only a failed delivery can be retried; this one is {box.status}",
                {"delivery": _out(box)},
            )
        else:
            retries = box.retries
        after = await outbox.receipted(conn, who.creator_id, draft_id)
        assert after is not None
    body = _out(after)
    try:
        await rt.temporal.start_workflow(
            DeliveryRetryWorkflow.run,
            SendInput(who.creator_id, after.fan_id, str(draft_id), datetime.now(UTC).timestamp()),
            id=delivery_retry_workflow_id(who.creator_id, str(draft_id), retries),
            task_queue=rt.settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        pass  # this retry is already on its way
    except RPCError as exc:
        raise ApiError(
            503,
            "dispatch_pending",
            "the retry is recorded but the workflow service is unreachable; send the same request again",
            {"delivery": body},
        ) from exc
    return JSONResponse(body, status_code=202)


@router.post("/deliveries/{draft_id}/discard", response_model=DeliveryOut, responses={404: {}, 409: {}})
async def discard_delivery(draft_id: UUID, body: DiscardIn, who: CurrentPrincipal) -> Any:
    """Give up on a failed delivery: it is never tried again (the message stays in the conversation's history)."""
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn, conn.transaction():
        box = await _locked(conn, who.creator_id, draft_id)
        if box.status == "discarded":
            return _out(box)
        if box.status != "failed":
            raise ApiError(
                409,
                "not_failed",
                f"only a failed delivery can be discarded; this one is {box.status}",
                {"delivery": _out(box)},
            )
        await outbox.discard(conn, who.creator_id, draft_id, who.member_id, datetime.now(UTC))
        await record_action(
            conn,
            creator_id=who.creator_id,
            fan_id=box.fan_id,
            draft_id=str(draft_id),
            kind="delivery_discarded",
            summary=f"a human discarded the failed delivery: {body.reason}",
            details={"reason": body.reason, "error": box.error},
            dedupe_key=f"delivery_discarded:{draft_id}",
        )
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="delivery.discarded",
            subject=str(draft_id),
            details={"reason": body.reason},
        )
        after = await outbox.receipted(conn, who.creator_id, draft_id)
        assert after is not None
    return _out(after)
