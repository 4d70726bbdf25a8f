"""POST /v1/imports: a creator's history as a streamed JSON-lines body, stored and never answered (api/routers/history.py)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from temporalio.service import RPCError

from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.routers.history import Rejected, import_lines, lines_of, record_import
from api.routers.segments import start_refresh
from core import db
from core.types import Role

router = APIRouter(prefix="/v1", tags=["imports"])
log = logging.getLogger(__name__)

# Refused lines named in the answer (all are counted).
MAX_ERRORS_LISTED = 1000

_BODY = {
    "type": "string",
    "description": "JSON lines: each line a POST /v1/events body, occurred_at in the past",
}


class LineError(BaseModel):
    line: int
    field: str  # '' when the line as a whole is at fault (not JSON, too long)
    reason: str


class ImportOut(BaseModel):
    imported: int
    duplicates: int
    rejected: int
    errors: list[LineError]  # the first MAX_ERRORS_LISTED refused lines
    segments_workflow_id: str | None  # the segmentation refresh started after the import (null: none started)


@router.post(
    "/imports",
    response_model=ImportOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-ndjson": {"schema": _BODY}, "text/plain": {"schema": _BODY}},
        }
    },
)
async def import_history(
    request: Request, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]
) -> ImportOut:
    """Import past events, read as the body streams in, one transaction per batch of lines. Idempotent on
    `event_id`: a repeated or resumed import counts what is already stored as duplicates. Nothing imported is
    answered (no draft, no follow-up, no send). When something was imported, a segmentation refresh starts."""
    who.require(Role.MANAGER)
    errors: list[LineError] = []

    def rejected(r: Rejected) -> None:
        if len(errors) < MAX_ERRORS_LISTED:
            errors.append(LineError(line=r.line, field=r.field, reason=r.reason))

    report = await import_lines(who.creator_id, lines_of(request.stream()), on_reject=rejected)
    workflow_id = None
    if report.imported:
        async with db.pool().connection() as conn, conn.transaction():
            await record_import(conn, who.creator_id, report, "POST /v1/imports")
        try:
            workflow_id = (await start_refresh(rt, who.creator_id)).workflow_id
        except RPCError as exc:  # stored either way; POST /v1/segments/refresh starts it later
            log.warning("segmentation refresh after an import not started: %s", exc)
    return ImportOut(**report.summary(), errors=errors, segments_workflow_id=workflow_id)
