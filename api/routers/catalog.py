"""The creator's PPV catalog: list, add, read and change items. An item carries the platform's own id for it
(`platform_item_id`, unique per creator), so events and offers can name it without our id. Items are never
deleted: a retired item is no longer offered, and purchases of it still resolve."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from api.auth import CurrentPrincipal
from api.errors import ApiError, malformed_cursor
from core import db
from core.journal import append_audit
from core.store import catalog
from core.types import Role

router = APIRouter(prefix="/v1", tags=["catalog"])


class MediaType(StrEnum):
    PHOTO = "photo"
    PHOTO_SET = "photo_set"
    VIDEO = "video"
    AUDIO = "audio"
    BUNDLE = "bundle"
    TEXT = "text"


Status = Literal["active", "retired"]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PlatformItemId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
PRICE_MAX_CENTS = 10_000_000


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


class CatalogItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    description: str = Field("", max_length=4000)
    price_cents: int = Field(ge=1, le=PRICE_MAX_CENTS, description="the item's price in cents")
    media_type: MediaType = MediaType.PHOTO_SET
    tags: list[Tag] = Field(default_factory=list, max_length=30)
    platform_item_id: PlatformItemId | None = Field(
        None, description="the platform's own id for this item (unique per creator)"
    )
    status: Status = "active"

    _tags = field_validator("tags")(_unique)


class CatalogItemPatch(BaseModel):
    """Only the fields sent change; `platform_item_id: null` removes the platform id."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    description: str | None = Field(None, max_length=4000)
    price_cents: int | None = Field(None, ge=1, le=PRICE_MAX_CENTS)
    media_type: MediaType | None = None
    tags: list[Tag] | None = Field(None, max_length=30)
    platform_item_id: PlatformItemId | None = None
    status: Status | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _unique(v)

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        for name in self.model_fields_set - {"platform_item_id"}:
            if getattr(self, name) is None:
                raise ValueError(f"'{name}' cannot be null")
        return self


class CatalogItemOut(BaseModel):
    id: str
    title: str
    description: str
    price_cents: int
    media_type: str
    tags: list[str]
    platform_item_id: str | None
    status: Status
    created_at: datetime
    updated_at: datetime


class CatalogPage(BaseModel):
    items: list[CatalogItemOut]
    next_cursor: str | None


def _out(item: catalog.Item) -> CatalogItemOut:
    return CatalogItemOut(
        id=item.id,
        title=item.title,
        description=item.description,
        price_cents=item.price_cents,
        media_type=item.media_kind,
        tags=item.tags,
        platform_item_id=item.platform_item_id,
        status="active" if item.active else "retired",
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _taken(exc: catalog.PlatformItemIdTaken) -> ApiError:
    return ApiError(
        409,
        "platform_item_id_taken",
        str(exc),
        {
            "field": "platform_item_id",
            "platform_item_id": exc.platform_item_id,
            "catalog_id": exc.existing_id,
        },
    )


def _cursor(item: catalog.Item) -> str:
    return base64.urlsafe_b64encode(json.dumps([item.created_at.isoformat(), item.id]).encode()).decode()


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        ts, item_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(ts), str(UUID(item_id))
    except (ValueError, TypeError) as exc:
        raise malformed_cursor() from exc


@router.get("/catalog", response_model=CatalogPage, responses={422: {}})
async def list_items(
    who: CurrentPrincipal,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=400, description="next_cursor of the previous page")
    ] = None,
) -> Any:
    """The creator's items, newest first (`status` filters active or retired ones)."""
    after = _after(cursor)
    active = None if status is None else status == "active"
    async with db.pool().connection() as conn:
        rows = await catalog.page(conn, who.creator_id, active=active, after=after, limit=limit + 1)
    return CatalogPage(
        items=[_out(r) for r in rows[:limit]],
        next_cursor=_cursor(rows[limit - 1]) if len(rows) > limit else None,
    )


@router.post("/catalog", status_code=201, response_model=CatalogItemOut, responses={409: {}, 422: {}})
async def create_item(body: CatalogItemIn, who: CurrentPrincipal) -> Any:
    """Add an item. A `platform_item_id` the creator already uses is a 409 `platform_item_id_taken` naming the
    item that has it."""
    who.require(Role.MANAGER)
    async with db.pool().connection() as conn, conn.transaction():
        try:
            item = await catalog.insert(
                conn,
                who.creator_id,
                title=body.title,
                description=body.description,
                media_kind=body.media_type.value,
                price_cents=body.price_cents,
                tags=body.tags,
                platform_item_id=body.platform_item_id,
                active=body.status == "active",
            )
        except catalog.PlatformItemIdTaken as exc:
            raise _taken(exc) from None
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="catalog.item_created",
            subject=f"catalog:{item.id}",
            details=body.model_dump(mode="json"),
        )
    return _out(item)


@router.get("/catalog/{catalog_id}", response_model=CatalogItemOut, responses={404: {}})
async def get_item(catalog_id: UUID, who: CurrentPrincipal) -> Any:
    async with db.pool().connection() as conn:
        item = await catalog.get(conn, who.creator_id, catalog_id)
    if item is None:
        raise ApiError(404, "not_found", "no such catalog item")
    return _out(item)


@router.patch("/catalog/{catalog_id}", response_model=CatalogItemOut, responses={404: {}, 409: {}, 422: {}})
async def update_item(catalog_id: UUID, body: CatalogItemPatch, who: CurrentPrincipal) -> Any:
    """Change the fields sent (`status: retired` stops offering the item; it stays for past purchases)."""
    who.require(Role.MANAGER)
    sent = body.model_dump(mode="json", exclude_unset=True)
    changes = {k: v for k, v in sent.items() if k not in ("media_type", "status")}
    if "media_type" in sent:
        changes["media_kind"] = sent["media_type"]
    if "status" in sent:
        changes["active"] = sent["status"] == "active"
    async with db.pool().connection() as conn, conn.transaction():
        try:
            item = await catalog.update(conn, who.creator_id, catalog_id, changes)
        except catalog.PlatformItemIdTaken as exc:
            raise _taken(exc) from None
        if item is None:
            raise ApiError(404, "not_found", "no such catalog item")
        if sent:
            await append_audit(
                conn,
                creator_id=who.creator_id,
                actor=who.member_id,
                action="catalog.item_updated",
                subject=f"catalog:{item.id}",
                details=sent,
            )
    return _out(item)
