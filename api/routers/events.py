"""POST /v1/events: store a platform event idempotently, then wake the fan's ConversationWorkflow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Self
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from temporalio.service import RPCError

from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import BIGINT_MAX, ApiError
from api.timestamps import BoundedDatetime
from core import db
from core.journal import record_action
from core.store import Conn, catalog, fans, messages, refunds
from core.types import MONEY_BACK_KINDS, EventKind, Platform, Role, conversation_workflow_id
from workflows.dispatch import dispatch_events

router = APIRouter(prefix="/v1", tags=["events"])


class FanRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform_fan_id: str = Field(min_length=1, max_length=200)
    display_name: str | None = Field(None, max_length=200)
    timezone: str | None = Field(None, max_length=64)
    platform: Platform = Field(
        Platform.ONLYFANS,
        description="the fan's platform; a fan is one per creator, platform and platform_fan_id",
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {v!r}") from exc
        return v


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str = Field(min_length=1, max_length=200, description="the platform's id for this event")
    kind: EventKind
    fan: FanRef
    occurred_at: BoundedDatetime | None = Field(
        None, description="when it happened on the platform (2000-01-01 to a day ahead of now); default: now"
    )
    text: str | None = Field(None, max_length=4000, description="message, creator_message: the words")
    amount_cents: int | None = Field(
        None,
        ge=0,
        le=10_000_000,
        description="tip, purchase, ppv_unlock, subscriptions: what the fan paid; refund, chargeback: what went"
        " back (default: all that is left of the original payment)",
    )
    catalog_id: UUID | None = Field(
        None, description="purchase, ppv_unlock: the item, by its id in GET /v1/catalog"
    )
    platform_item_id: str | None = Field(
        None, min_length=1, max_length=200, description="or the item, by the platform's own id for it"
    )
    offer_draft_id: UUID | None = Field(
        None,
        description="ppv_unlock: the sent draft whose offer the fan unlocked (default: the latest sent draft"
        " offering that item to the fan, if any)",
    )
    original_event_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="refund, chargeback: the event_id the original payment was posted with",
    )
    original_id: int | None = Field(
        None, ge=1, le=BIGINT_MAX, description="refund, chargeback: or the id this API answered for it"
    )

    @model_validator(mode="after")
    def _per_kind(self) -> Self:
        k = self.kind
        if k in (EventKind.MESSAGE, EventKind.CREATOR_MESSAGE) and not (self.text and self.text.strip()):
            raise ValueError(f"a {k} event needs a non-empty 'text'")
        if k in (EventKind.TIP, EventKind.PURCHASE, EventKind.PPV_UNLOCK) and not self.amount_cents:
            raise ValueError(f"a {k} event needs a positive 'amount_cents'")
        _check_item_ref(k, self.catalog_id, self.platform_item_id)
        if k != EventKind.PPV_UNLOCK and self.offer_draft_id is not None:
            raise ValueError("'offer_draft_id' is only allowed on ppv_unlock events")
        if k == EventKind.PPV_UNLOCK and self.catalog_id is None and self.platform_item_id is None:
            if self.offer_draft_id is None:
                raise ValueError(
                    "a ppv_unlock event needs the item unlocked: 'catalog_id', 'platform_item_id' or 'offer_draft_id'"
                )
        refs = (self.original_event_id is not None) + (self.original_id is not None)
        if k in MONEY_BACK_KINDS:
            if refs != 1:
                raise ValueError(f"a {k} event needs exactly one of 'original_event_id' or 'original_id'")
            if self.amount_cents == 0:
                raise ValueError(f"a {k} event's 'amount_cents' must be positive (or left out: all of it)")
        elif refs:
            raise ValueError(
                "'original_event_id' and 'original_id' are only allowed on refund and chargeback"
            )
        return self


# The kinds that may name a catalog item, by `catalog_id` or `platform_item_id` (one of the two).
ITEM_KINDS = frozenset({EventKind.PURCHASE, EventKind.PPV_UNLOCK})


def _check_item_ref(kind: EventKind, catalog_id: UUID | None, platform_item_id: str | None) -> None:
    if catalog_id is None and platform_item_id is None:
        return
    if kind not in ITEM_KINDS:
        allowed = " and ".join(sorted(ITEM_KINDS))
        raise ValueError(f"'catalog_id' and 'platform_item_id' are only allowed on {allowed} events")
    if catalog_id is not None and platform_item_id is not None:
        raise ValueError("name the item by 'catalog_id' or by 'platform_item_id', not both")


async def resolve_item(conn: Conn, creator_id: str, ev: EventIn) -> str | None:
    """The catalog item the event names (a 422 naming the field when this creator has no such item)."""
    if ev.catalog_id is None and ev.platform_item_id is None:
        return None
    found = await catalog.resolve(
        conn, creator_id, catalog_id=ev.catalog_id, platform_item_id=ev.platform_item_id
    )
    if found is None:
        field = "catalog_id" if ev.catalog_id is not None else "platform_item_id"
        raise ApiError(
            422,
            "validation_error",
            "the request is invalid",
            {"fields": [{"field": field, "message": "no such catalog item", "type": "not_found"}]},
        )
    return found


class EventAccepted(BaseModel):
    id: int
    event_id: str
    kind: EventKind
    fan_id: str
    workflow_id: str


_TXN_KIND = {
    EventKind.SUBSCRIPTION_STARTED: "subscription",
    EventKind.SUBSCRIPTION_RENEWED: "renewal",
    EventKind.TIP: "tip",
    EventKind.PURCHASE: "ppv",
    EventKind.PPV_UNLOCK: "unlock",
}


def _invalid(field: str, message: str, kind: str = "value_error") -> ApiError:
    """A 422 in the shape of request validation errors, naming the body field."""
    return ApiError(
        422,
        "validation_error",
        "the request is invalid",
        {"fields": [{"field": field, "message": message, "type": kind}]},
    )


ANOTHER_FANS_PAYMENT = "the original payment is another fan's"


def money_back_problem(ev: EventIn, orig: refunds.Original | None) -> ApiError | None:
    """Why a refund or chargeback cannot take money back from `orig` (the payment it names, None when there is
    none), or None when it can."""
    field = "original_id" if ev.original_id is not None else "original_event_id"
    if orig is None:
        return _invalid(
            field,
            "no payment (purchase, unlock, tip or subscription) of this creator has that id",
            "not_found",
        )
    if orig.refundable_cents <= 0:
        return _invalid(field, "that payment was already given back in full")
    if ev.amount_cents is not None and ev.amount_cents > orig.refundable_cents:
        return _invalid(
            "amount_cents", f"at most {orig.refundable_cents} cents of that payment are left to give back"
        )
    return None


async def _original(conn: Conn, creator_id: str, ev: EventIn) -> refunds.Original:
    """The payment a refund or chargeback takes money back from (locked), checked before anything is written."""
    orig = await refunds.original_for_update(
        conn, creator_id, event_id=ev.original_id, platform_event_id=ev.original_event_id
    )
    problem = money_back_problem(ev, orig)
    if problem is not None:
        raise problem
    assert orig is not None  # money_back_problem names a missing one
    return orig


async def _unlocked_offer(
    conn: Conn, creator_id: str, fan_id: str, ev: EventIn, item_id: str | None
) -> tuple[str | None, str | None]:
    """(catalog id, offering draft id) of an unlock: the draft named (sent to this fan with an offer, of the item
    named if one is), else the latest sent draft offering that item to the fan, else none."""
    if ev.offer_draft_id is not None:
        cur = await conn.execute(
            "SELECT offer ->> 'catalog_id' AS catalog_id FROM drafts WHERE creator_id = %s AND id = %s"
            " AND fan_id = %s AND status = 'sent' AND offer IS NOT NULL",
            [creator_id, ev.offer_draft_id, fan_id],
        )
        row = await cur.fetchone()
        if row is None:
            raise _invalid(
                "offer_draft_id", "no sent draft to this fan with an offer has that id", "not_found"
            )
        if item_id is not None and item_id != row["catalog_id"]:
            field = "catalog_id" if ev.catalog_id is not None else "platform_item_id"
            raise _invalid(field, "that draft offered another item")
        return str(row["catalog_id"]), str(ev.offer_draft_id)
    cur = await conn.execute(
        "SELECT id::text AS id FROM drafts WHERE creator_id = %s AND fan_id = %s AND status = 'sent'"
        " AND offer ->> 'catalog_id' = %s ORDER BY updated_at DESC LIMIT 1",
        [creator_id, fan_id, item_id],
    )
    row = await cur.fetchone()
    return item_id, row["id"] if row else None


async def _store(
    conn: Conn, creator_id: str, ev: EventIn, *, announce: bool = True
) -> tuple[dict[str, Any], bool]:
    """Insert the event and its effects; return (event row, created). `announce`: say so in the actions feed
    (a history import has one entry of its own instead)."""
    cur = await conn.execute(
        "SELECT id, fan_id::text AS fan_id, kind, dispatched_at FROM events WHERE creator_id = %s AND platform_event_id = %s",
        [creator_id, ev.event_id],
    )
    existing = await cur.fetchone()
    if existing:
        return existing, False
    item_id = await resolve_item(conn, creator_id, ev)
    original = await _original(conn, creator_id, ev) if ev.kind in MONEY_BACK_KINDS else None
    fan_id = await fans.upsert(
        conn,
        creator_id,
        ev.fan.platform_fan_id,
        display_name=ev.fan.display_name,
        timezone=ev.fan.timezone,
        platform=ev.fan.platform,
    )
    if original is not None and original.fan_id != fan_id:
        raise _invalid("fan", ANOTHER_FANS_PAYMENT)
    offer_draft_id = None
    if ev.kind == EventKind.PPV_UNLOCK:
        item_id, offer_draft_id = await _unlocked_offer(conn, creator_id, fan_id, ev, item_id)
    occurred = ev.occurred_at or datetime.now(UTC)
    payload = ev.model_dump(mode="json", exclude={"fan"})
    payload["catalog_id"] = (
        item_id  # the item's id, however the event named it (what a PPV reminder compares)
    )
    cur = await conn.execute(
        "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (creator_id, platform_event_id) DO NOTHING"
        " RETURNING id, fan_id::text AS fan_id, kind, dispatched_at",
        [creator_id, fan_id, ev.event_id, ev.kind, Jsonb(payload), occurred],
    )
    row = await cur.fetchone()
    if row is None:  # a concurrent request with the same id won the race
        cur = await conn.execute(
            "SELECT id, fan_id::text AS fan_id, kind, dispatched_at FROM events"
            " WHERE creator_id = %s AND platform_event_id = %s",
            [creator_id, ev.event_id],
        )
        row = await cur.fetchone()
        assert row is not None
        return row, False
    if ev.kind in (EventKind.MESSAGE, EventKind.CREATOR_MESSAGE):
        assert ev.text is not None  # checked by EventIn
        insert = messages.insert_inbound if ev.kind == EventKind.MESSAGE else messages.insert_creator_message
        await insert(
            conn,
            creator_id,
            fan_id,
            text=ev.text,
            platform_message_id=ev.event_id,
            event_id=row["id"],
            sent_at=occurred,
        )
    if ev.kind in _TXN_KIND and (ev.amount_cents or 0) > 0:
        await conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, catalog_id, offer_draft_id, event_id,"
            " platform_txn_id, occurred_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (creator_id, platform_txn_id) DO NOTHING",
            [
                creator_id,
                fan_id,
                _TXN_KIND[ev.kind],
                ev.amount_cents,
                item_id,
                offer_draft_id,
                row["id"],
                ev.event_id,
                occurred,
            ],
        )
    if original is not None:
        await refunds.insert(
            conn,
            creator_id,
            fan_id,
            kind=ev.kind,
            transaction_id=original.id,
            amount_cents=ev.amount_cents or original.refundable_cents,
            event_id=row["id"],
            occurred_at=occurred,
        )
    if ev.kind in (EventKind.SUBSCRIPTION_STARTED, EventKind.SUBSCRIPTION_RENEWED):
        await fans.mark_subscribed(conn, creator_id, fan_id, occurred)
    elif ev.kind == EventKind.SUBSCRIPTION_EXPIRED:
        await fans.mark_expired(conn, creator_id, fan_id, occurred)
    if not announce:
        return row, True
    await record_action(
        conn,
        creator_id=creator_id,
        fan_id=fan_id,
        kind="event_received",
        summary=f"{ev.kind} received",
        details={"event_id": ev.event_id, "id": row["id"]},
        dedupe_key=f"event:{row['id']}",
    )
    return row, True


# What a connector stores for a platform's notification: the same event, the same way.
store_event = _store


async def accept_stored(
    rt: Runtime, creator_id: str, ev: EventIn, row: dict[str, Any], *, resend: str
) -> JSONResponse:
    """The answer to an event once stored (by `/v1/events` or a connector): 409 when its event_id was used for
    another kind, else 202 once handed to the fan's conversation; 503 `dispatch_pending` (saying `resend`) when
    the workflow service is unreachable: sending the same event again re-dispatches it."""
    if row["kind"] != ev.kind:
        raise ApiError(
            409, "event_id_reused", f"event_id {ev.event_id!r} was already used for a {row['kind']} event"
        )
    body = EventAccepted(
        id=row["id"],
        event_id=ev.event_id,
        kind=ev.kind,
        fan_id=row["fan_id"],
        workflow_id=conversation_workflow_id(creator_id, row["fan_id"]),
    )
    if row["dispatched_at"] is None:
        try:
            await dispatch_events(rt.temporal, rt.settings, creator_id, row["fan_id"], [row["id"]])
        except RPCError as exc:
            raise ApiError(
                503,
                "dispatch_pending",
                f"the event is stored but the workflow service is unreachable; {resend}",
                {"event": body.model_dump()},
            ) from exc
    return JSONResponse(body.model_dump(mode="json"), status_code=202)


@router.post(
    "/events",
    status_code=202,
    response_model=EventAccepted,
    responses={409: {}, 422: {}, 503: {"description": "stored, but the workflow could not be reached"}},
)
async def ingest_event(ev: EventIn, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn, conn.transaction():
        row, _created = await _store(conn, who.creator_id, ev)
    # Stored and safe: sending the same event again re-dispatches it.
    return await accept_stored(rt, who.creator_id, ev, row, resend="retry the same request")
