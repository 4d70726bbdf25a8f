"""Agencies: the creators a key acts for (`GET /v1/creators`) and one inbox across them (`GET /v1/agency/inbox`).

An agency key (migration 0034) acts for every creator its member holds a role on, one creator per request, named
by the `X-Creator-Id` header; any other key for its own creator. Decisions stay per creator: an item of the
combined inbox names its creator, and its draft is approved or rejected through `/v1/drafts/{id}/...` with that
creator's id in `X-Creator-Id` (and the role held there)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import CurrentKeyHolder
from api.routers.drafts import InboxItem, decode_cursor, inbox_rows
from core import db
from core.store import drafts, handoffs
from core.types import DECIDABLE, DraftStatus, Role

router = APIRouter(prefix="/v1", tags=["agency"])


class CreatorAccess(BaseModel):
    id: str = Field(description="the creator's id: the value of X-Creator-Id for requests about this creator")
    handle: str
    display_name: str
    role: Role = Field(description="the key's role on this creator")
    pending_drafts: int = Field(description="drafts awaiting a decision (pending review or blocked)")
    open_handoffs: int = Field(description="fans handed to a human, not resolved yet")


class CreatorList(BaseModel):
    items: list[CreatorAccess]


class CreatorRef(BaseModel):
    id: str
    handle: str
    display_name: str


class AgencyInboxItem(InboxItem):
    creator: CreatorRef = Field(
        description="the draft's creator: decide it with its id in X-Creator-Id (POST /v1/drafts/{id}/approve)"
    )


class AgencyInboxPage(BaseModel):
    items: list[AgencyInboxItem]
    next_cursor: str | None


@router.get("/creators", response_model=CreatorList)
async def list_creators(who: CurrentKeyHolder) -> Any:
    """The creators this key acts for, by handle, with the key's role and what waits there."""
    ids = [r.creator_id for r in who.roles]
    async with db.pool().connection() as conn:
        pending = await drafts.count_decidable(conn, ids)
        open_ = await handoffs.count_open(conn, ids)
    return CreatorList(
        items=[
            CreatorAccess(
                id=r.creator_id,
                handle=r.handle,
                display_name=r.display_name,
                role=Role(r.role),
                pending_drafts=pending.get(r.creator_id, 0),
                open_handoffs=open_.get(r.creator_id, 0),
            )
            for r in who.roles
        ]
    )


@router.get("/agency/inbox", response_model=AgencyInboxPage)
async def agency_inbox(
    who: CurrentKeyHolder,
    status: Annotated[list[DraftStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Any:
    """Drafts awaiting review across the key's creators, oldest first, each as `GET /v1/inbox` shows it with
    its creator; keyset pages."""
    statuses = sorted({s.value for s in (status or list(DECIDABLE))})
    after = decode_cursor(cursor) if cursor else None
    refs = {
        r.creator_id: CreatorRef(id=r.creator_id, handle=r.handle, display_name=r.display_name)
        for r in who.roles
    }
    rows, nxt = await inbox_rows(list(refs), statuses, limit, after)
    return AgencyInboxPage(
        items=[AgencyInboxItem(creator=refs[cid], **item.model_dump()) for cid, item in rows],
        next_cursor=nxt,
    )
