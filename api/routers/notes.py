"""Notes and tags on fans: what the creator's team knows about a fan. Notes are kept as written and are part of
the DM agent's context (quoted as data, as the creator's knowledge); tags are a set of short labels per fan that
filter `GET /v1/fans?tag=` and campaign audiences. A chatter writes both; everyone reads them."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from api.auth import CurrentPrincipal
from api.errors import BIGINT_MAX, ApiError
from core import db
from core.journal import append_audit
from core.store import fans, notes
from core.types import Role

router = APIRouter(prefix="/v1", tags=["fans"])

MAX_TAGS = 20
# A tag: 1-40 letters, digits, spaces, `_`, `-` or `.`, starting with a letter or digit; stored lower-cased.
TAG_PATTERN = r"^[^\W_][\w .-]{0,39}$"
Tag = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=TAG_PATTERN)]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] = Field(
        description="what the team knows about the fan (the DM agent reads it as the creator's knowledge)"
    )


class NoteOut(BaseModel):
    id: int
    text: str
    author: str | None = Field(description="the member who wrote it (null once that member is gone)")
    author_email: str | None
    created_at: datetime


class NotePage(BaseModel):
    items: list[NoteOut]
    next_cursor: int | None = Field(None, description="pass as `before` for older notes")


def _dedupe(tags: list[str]) -> list[str]:
    return sorted(set(tags))


class TagsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_dedupe)] = Field(
        description=f"the fan's whole set of tags (replaces it; up to {MAX_TAGS}, duplicates dropped, lower-cased)"
    )


class TagsOut(BaseModel):
    fan_id: str
    tags: list[str]


@router.post("/fans/{fan_id}/notes", status_code=201, response_model=NoteOut, responses={404: {}})
async def add_note(fan_id: UUID, body: NoteIn, who: CurrentPrincipal) -> Any:
    """Write a note on a fan (chatter). Audited (`fan.note_added`)."""
    who.require(Role.CHATTER)
    async with db.pool().connection() as conn, conn.transaction():
        if not await fans.exists(conn, who.creator_id, fan_id):
            raise ApiError(404, "not_found", "no such fan")
        note = await notes.add(conn, who.creator_id, fan_id, who.member_id, body.text)
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="fan.note_added",
            subject=str(fan_id),
            details={"note_id": note.id, "chars": len(note.text)},
        )
    return NoteOut(**asdict(note))


@router.get("/fans/{fan_id}/notes", response_model=NotePage, responses={404: {}})
async def list_notes(
    fan_id: UUID,
    who: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=BIGINT_MAX, description="only notes older than this id")
    ] = None,
) -> Any:
    """The fan's notes, newest first (keyset pages by note id)."""
    async with db.pool().connection() as conn:
        if not await fans.exists(conn, who.creator_id, fan_id):
            raise ApiError(404, "not_found", "no such fan")
        rows = await notes.page(conn, who.creator_id, fan_id, before=before, limit=limit + 1)
    items = [NoteOut(**asdict(r)) for r in rows[:limit]]
    return NotePage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


@router.put("/fans/{fan_id}/tags", response_model=TagsOut, responses={404: {}})
async def set_tags(fan_id: UUID, body: TagsIn, who: CurrentPrincipal) -> Any:
    """Replace the fan's tags (chatter). Audited (`fan.tags_set`, with the tags before and after) when they change."""
    who.require(Role.CHATTER)
    async with db.pool().connection() as conn, conn.transaction():
        before = await fans.set_tags(conn, who.creator_id, fan_id, body.tags)
        if before is None:
            raise ApiError(404, "not_found", "no such fan")
        if before != body.tags:
            await append_audit(
                conn,
                creator_id=who.creator_id,
                actor=who.member_id,
                action="fan.tags_set",
                subject=str(fan_id),
                details={"from": before, "to": body.tags},
            )
    return TagsOut(fan_id=str(fan_id), tags=body.tags)
