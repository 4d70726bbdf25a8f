"""Campaigns (mass messages): target a segment with exclusions; every recipient gets a draft that waits for a
human. `POST /v1/drafts/approve` with `campaign_id` approves the campaign's drafts together."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from agents.campaigns.audience import TARGETS, Exclusions
from agents.campaigns.store import COUNTS_SQL, CatalogItemNotFound, create_campaign, preview_campaign
from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError, malformed_cursor
from api.routers.notes import Tag
from core import db
from core.store import Conn
from core.store import catalog as catalog_store
from core.types import Role
from workflows.types import CampaignInput

router = APIRouter(prefix="/v1", tags=["campaigns"])

Target = Literal[TARGETS]  # type: ignore[valid-type]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    segment: Target = Field(description="a segment of the latest refresh, or 'all'")
    tag: Tag | None = Field(
        None, description="only the segment's fans with this tag (PUT /v1/fans/{id}/tags)"
    )
    intent: str = Field(
        min_length=1, max_length=500, description="what every message should do, for the DM agent"
    )
    catalog_id: UUID | None = Field(
        None, description="a catalog item to offer (must be this creator's, active)"
    )
    platform_item_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="or the item to offer, by the platform's own id for it",
    )
    exclude: Exclusions = Field(default_factory=Exclusions)
    max_recipients: int = Field(1000, ge=1, le=20_000)
    dry_run: bool = Field(False, description="count the audience and exclusions; store and send nothing")


class DraftCounts(BaseModel):
    not_yet_drafted: int
    no_draft: int = Field(
        description="handled without a draft (e.g. the model failed, or the fan opted out since)"
    )
    pending_review: int
    blocked: int
    approved: int
    sent: int
    rejected: int
    other: int = Field(description="expired or superseded")


class CampaignOut(BaseModel):
    id: str
    name: str
    segment: str
    tag: str | None = Field(description="only fans with this tag were targeted (null: no tag filter)")
    intent: str
    catalog_id: str | None
    exclusions: dict[str, Any]
    excluded: dict[str, int]
    recipients: int
    status: str
    workflow_id: str
    created_at: datetime
    drafts: DraftCounts


class CampaignPreview(BaseModel):
    dry_run: Literal[True] = True
    segment_size: int
    recipients: int
    excluded: dict[str, int]


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    next_cursor: str | None


def _out(r: dict[str, Any]) -> CampaignOut:
    counts = DraftCounts(**{k: int(r[k]) for k in DraftCounts.model_fields})
    return CampaignOut(drafts=counts, **{k: r[k] for k in CampaignOut.model_fields if k != "drafts"})


async def _load(creator_id: str, campaign_id: UUID | str) -> CampaignOut:
    async with db.pool().connection() as conn:
        cur = await conn.execute(COUNTS_SQL.format(where="AND c.id = %s"), [creator_id, campaign_id])
        row = await cur.fetchone()
    if row is None:
        raise ApiError(404, "not_found", "no such campaign")
    return _out(row)


async def _start(rt: Runtime, creator_id: str, campaign_id: str, workflow_id: str) -> None:
    try:
        await rt.temporal.start_workflow(
            "CampaignWorkflow",
            CampaignInput(creator_id, campaign_id),
            id=workflow_id,
            task_queue=rt.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except RPCError as exc:
        raise ApiError(
            503,
            "dispatch_pending",
            "the campaign is stored but the workflow service is unreachable: POST /v1/campaigns/{id}/dispatch",
            {"campaign_id": campaign_id},
        ) from exc


async def _offered_by_platform_id(conn: Conn, creator_id: str, body: CampaignIn) -> str:
    """The id of the item the campaign names by its platform id (then checked like a catalog_id)."""
    if body.catalog_id is not None:
        raise ApiError(
            422,
            "validation_error",
            "the request is invalid",
            {
                "fields": [
                    {
                        "field": "platform_item_id",
                        "message": "name the item by 'catalog_id' or by 'platform_item_id', not both",
                        "type": "value_error",
                    }
                ]
            },
        )
    found = await catalog_store.resolve(conn, creator_id, platform_item_id=body.platform_item_id)
    if found is None:
        raise ApiError(
            422,
            "validation_error",
            "the request is invalid",
            {
                "fields": [
                    {"field": "platform_item_id", "message": "no such catalog item", "type": "not_found"}
                ]
            },
        )
    return found


@router.post(
    "/campaigns",
    status_code=202,
    response_model=CampaignOut | CampaignPreview,
    responses={404: {}, 422: {}, 503: {}},
)
async def create(body: CampaignIn, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    """Choose the audience (the segment minus exclusions, highest LTV first) and write one internal event per
    recipient; each fan's conversation then drafts a message. Nothing is sent until a human approves it."""
    who.require(Role.MANAGER)
    catalog = str(body.catalog_id) if body.catalog_id else None
    async with db.pool().connection() as conn, conn.transaction():
        if body.platform_item_id is not None:
            catalog = await _offered_by_platform_id(conn, who.creator_id, body)
        try:
            if body.dry_run:
                audience = await preview_campaign(
                    conn,
                    creator_id=who.creator_id,
                    segment=body.segment,
                    catalog_id=catalog,
                    exclusions=body.exclude,
                    max_recipients=body.max_recipients,
                    tag=body.tag,
                )
                return CampaignPreview(
                    segment_size=audience.segment_size,
                    recipients=len(audience.fan_ids),
                    excluded=audience.excluded,
                )
            row, _ = await create_campaign(
                conn,
                creator_id=who.creator_id,
                created_by=who.member_id,
                name=body.name,
                segment=body.segment,
                intent=body.intent,
                catalog_id=catalog,
                exclusions=body.exclude,
                max_recipients=body.max_recipients,
                tag=body.tag,
            )
        except CatalogItemNotFound as exc:
            raise ApiError(
                422,
                "validation_error",
                "the request is invalid",
                {
                    "fields": [
                        {
                            "field": "catalog_id" if body.platform_item_id is None else "platform_item_id",
                            "message": "no such active catalog item",
                            "type": "not_found",
                        }
                    ]
                },
            ) from exc
    await _start(rt, who.creator_id, row["id"], row["workflow_id"])
    return await _load(who.creator_id, row["id"])


@router.post(
    "/campaigns/{campaign_id}/dispatch", status_code=202, response_model=CampaignOut, responses={404: {}}
)
async def dispatch(campaign_id: UUID, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]) -> Any:
    """Hand the campaign's undispatched events to their conversations again (after a 503 `dispatch_pending`);
    harmless when everything was dispatched."""
    who.require(Role.MANAGER)
    c = await _load(who.creator_id, campaign_id)
    await _start(rt, who.creator_id, c.id, c.workflow_id)
    return c


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, responses={404: {}})
async def get(campaign_id: UUID, who: CurrentPrincipal) -> Any:
    return await _load(who.creator_id, campaign_id)


def _cursor(created_at: datetime, cid: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), cid]).encode()).decode()


@router.get("/campaigns", response_model=CampaignPage)
async def list_campaigns(
    who: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=100)] = 20, cursor: str | None = None
) -> Any:
    """Campaigns, newest first, with how far their drafts got."""
    where: str = ""
    params: list[Any] = [who.creator_id]
    if cursor:
        try:
            ts, cid = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            after = (datetime.fromisoformat(ts), str(UUID(cid)))
        except (ValueError, TypeError) as exc:
            raise malformed_cursor() from exc
        where = "AND (c.created_at, c.id) < (%s::timestamptz, %s::uuid)"
        params = [who.creator_id, *after]
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            COUNTS_SQL.format(where=where) + " ORDER BY c.created_at DESC, c.id DESC LIMIT %s",
            [*params, limit + 1],
        )
        rows = await cur.fetchall()
    items = [_out(r) for r in rows[:limit]]
    nxt = _cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return CampaignPage(items=items, next_cursor=nxt)
