"""GET/PATCH /v1/creator: the calling key's creator and the profile its owner edits (display name, persona and voice
notes, timezone, languages, PPV price bounds), versioned and audited like policies. A new timezone moves the
daily plan's schedule at once. Creators themselves are made by `huntaze creator create`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from temporalio.service import RPCError

from agents.followup.config import FollowupConfig
from api.auth import CurrentPrincipal
from api.deps import Runtime, runtime
from api.errors import ApiError
from api.routers.policies import record_policy_version
from core import db
from core.journal import append_audit, record_action
from core.store import creators
from core.types import Role
from policies.config import PolicyConfig
from workflows.schedules import ensure_daily_plan_schedule

router = APIRouter(prefix="/v1", tags=["creator"])

DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=creators.NAME_MAX)
]
Price = Annotated[int, Field(ge=1, le=creators.PRICE_MAX_CENTS)]


class CreatorOut(BaseModel):
    id: str
    handle: str
    display_name: str
    persona: str
    voice_notes: str
    timezone: str
    languages: list[str]
    ppv_min_cents: int
    ppv_max_cents: int
    version: int = Field(description="the profile's version: send it back to change the profile")
    created_at: datetime
    updated_at: datetime


class CreatorPatch(BaseModel):
    """Only the fields sent change. Changing the PPV price bounds changes the policy too (a new policy version) and
    needs a step-up, as `PUT /v1/policies` does."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, description="the profile version you are changing (optimistic concurrency)")
    display_name: DisplayName | None = None
    persona: str | None = Field(None, max_length=creators.PERSONA_MAX)
    voice_notes: str | None = Field(
        None,
        max_length=creators.PERSONA_MAX,
        description="how the creator writes: words, emojis, what she avoids",
    )
    timezone: str | None = Field(
        None, max_length=64, description="IANA name; moves the daily plan's schedule"
    )
    languages: list[str] | None = Field(None, min_length=1, max_length=10, description='e.g. ["en", "es"]')
    ppv_min_cents: Price | None = None
    ppv_max_cents: Price | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None and (problem := creators.timezone_problem(v)) is not None:
            raise ValueError(problem)
        return v

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        for tag in v:
            if (problem := creators.language_problem(tag)) is not None:
                raise ValueError(problem)
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"'{name}' cannot be null")
        return self


def _out(c: creators.Creator) -> CreatorOut:
    return CreatorOut(
        id=c.id,
        handle=c.handle,
        display_name=c.display_name,
        persona=c.persona,
        voice_notes=c.voice_notes,
        timezone=c.timezone,
        languages=c.languages,
        ppv_min_cents=c.ppv_min_cents,
        ppv_max_cents=c.ppv_max_cents,
        version=c.version,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def _bad_field(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        "the request is invalid",
        {"fields": [{"field": field, "message": message, "type": "value_error"}]},
    )


@router.get("/creator", response_model=CreatorOut)
async def get_creator(who: CurrentPrincipal) -> Any:
    async with db.pool().connection() as conn:
        c = await creators.get(conn, who.creator_id)
    if c is None:
        raise ApiError(404, "not_found", "no such creator")
    return _out(c)


@router.patch("/creator", response_model=CreatorOut, responses={403: {}, 409: {}, 422: {}, 503: {}})
async def patch_creator(
    body: CreatorPatch, who: CurrentPrincipal, rt: Annotated[Runtime, Depends(runtime)]
) -> Any:
    """Change the profile (owner). Every change is a new version in `creator_versions` and an audit entry
    (`creator.updated`, with the fields that changed); 409 `stale_version` if someone changed it first. A new
    `timezone` moves the daily plan's schedule at once (503 `schedule_pending` when Temporal is unreachable:
    saved, moved on the next worker start or the next change)."""
    who.require(Role.OWNER)
    sent = body.model_dump(mode="json", exclude_unset=True, exclude={"version"})
    async with db.pool().connection() as conn, conn.transaction():
        current = await creators.get(conn, who.creator_id, for_update=True)
        if current is None:
            raise ApiError(404, "not_found", "no such creator")
        if body.version != current.version:
            raise ApiError(
                409,
                "stale_version",
                f"the creator's profile is at version {current.version}",
                {"version": current.version},
            )
        before = current.profile()
        after = {**before, **sent}
        changed = {k: after[k] for k in creators.PROFILE_FIELDS if after[k] != before[k]}
        if not changed:
            return _out(current)
        if (problem := creators.bounds_problem(after["ppv_min_cents"], after["ppv_max_cents"])) is not None:
            raise _bad_field("ppv_max_cents" if "ppv_max_cents" in sent else "ppv_min_cents", problem)
        bounds_changed = bool(changed.keys() & {"ppv_min_cents", "ppv_max_cents"})
        if bounds_changed:
            who.require_step_up()  # the bounds are policy: as sensitive as PUT /v1/policies
        version = await creators.save_profile(conn, who.creator_id, after, actor=who.member_id)
        await append_audit(
            conn,
            creator_id=who.creator_id,
            actor=who.member_id,
            action="creator.updated",
            subject=f"creator:v{version}",
            details={"changed": changed, "before": {k: before[k] for k in changed}},
        )
        await record_action(
            conn,
            creator_id=who.creator_id,
            kind="creator_updated",
            summary=f"creator profile changed to version {version}: {', '.join(sorted(changed))}",
            details={"changed": sorted(changed)},
        )
        cur = await conn.execute(
            "UPDATE creators SET policy_version = policy_version + %s WHERE id = %s"
            " RETURNING policy_version, ppv_min_cents, ppv_max_cents, policy_config, followup_config",
            [1 if bounds_changed else 0, who.creator_id],
        )
        row = await cur.fetchone()
        assert row is not None
        if bounds_changed:
            policy = PolicyConfig.from_row(row)
            await record_policy_version(conn, who.creator_id, who.member_id, row["policy_version"], policy)
        updated = await creators.get(conn, who.creator_id)
    assert updated is not None
    if "timezone" in changed:
        hour = FollowupConfig.from_stored(row["followup_config"]).daily_plan_hour
        try:
            await ensure_daily_plan_schedule(
                rt.temporal, who.creator_id, updated.timezone, hour, rt.settings.task_queue
            )
        except RPCError as exc:
            raise ApiError(
                503,
                "schedule_pending",
                "the profile is saved; the daily plan's schedule moves when the worker next starts",
                {"creator": _out(updated).model_dump(mode="json")},
            ) from exc
    return _out(updated)
