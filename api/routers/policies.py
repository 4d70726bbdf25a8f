"""GET/PUT /v1/policies: the creator's policy configuration, versioned, every change audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from psycopg.types.json import Jsonb
from pydantic import Field

from api.auth import CurrentPrincipal
from api.errors import ApiError
from core import db
from core.db import Conn
from core.journal import append_audit, record_action
from core.types import Role
from policies.config import PolicyConfig

router = APIRouter(prefix="/v1", tags=["policies"])


class PolicyOut(PolicyConfig):
    version: int
    updated_at: datetime | None


class PolicyIn(PolicyConfig):
    version: int = Field(ge=1, description="the version you are changing (optimistic concurrency)")


async def _current(creator_id: str) -> dict[str, Any]:
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT c.policy_version AS version, c.ppv_min_cents, c.ppv_max_cents, c.policy_config,"
            " (SELECT max(created_at) FROM policy_versions v WHERE v.creator_id = c.id) AS updated_at"
            " FROM creators c WHERE c.id = %s",
            [creator_id],
        )
        row = await cur.fetchone()
    assert row is not None
    return row


def _out(row: dict[str, Any]) -> PolicyOut:
    config = PolicyConfig.from_row(row)
    return PolicyOut(version=row["version"], updated_at=row["updated_at"], **config.model_dump())


@router.get("/policies", response_model=PolicyOut)
async def get_policies(who: CurrentPrincipal) -> Any:
    return _out(await _current(who.creator_id))


@router.put("/policies", response_model=PolicyOut, responses={409: {}, 422: {}})
async def put_policies(body: PolicyIn, who: CurrentPrincipal) -> Any:
    who.require(Role.MANAGER)
    who.require_step_up()
    new = PolicyConfig.model_validate(body.model_dump(exclude={"version"}))
    policy_config = new.stored()
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "UPDATE creators SET policy_version = policy_version + 1, ppv_min_cents = %s, ppv_max_cents = %s,"
            " policy_config = %s WHERE id = %s AND policy_version = %s RETURNING policy_version",
            [body.ppv_min_cents, body.ppv_max_cents, Jsonb(policy_config), who.creator_id, body.version],
        )
        row = await cur.fetchone()
        if row is None:
            current = (await _current(who.creator_id))["version"]
            raise ApiError(409, "stale_version", f"the policy is at version {current}", {"version": current})
        await record_policy_version(conn, who.creator_id, who.member_id, row["policy_version"], new)
    return _out(await _current(who.creator_id))


async def record_policy_version(
    conn: Conn, creator_id: str, member_id: str, version: int, policy: PolicyConfig
) -> None:
    """Keep version `version` (already on the creator row) in policy_versions, audited, in the caller's transaction:
    every change of the policy, through PUT /v1/policies or the price bounds of PATCH /v1/creator."""
    config = policy.model_dump(mode="json")
    await conn.execute(
        "INSERT INTO policy_versions (creator_id, version, config, created_by) VALUES (%s, %s, %s, %s)",
        [creator_id, version, Jsonb(config), member_id],
    )
    await append_audit(
        conn,
        creator_id=creator_id,
        actor=member_id,
        action="policy.updated",
        subject=f"policy:v{version}",
        details=config,
    )
    await record_action(
        conn,
        creator_id=creator_id,
        kind="policy_updated",
        summary=f"policy configuration changed to version {version}",
        details=config,
    )
