"""The follow-up agent's tools: list sequences, and propose starting or stopping one.

A proposal is not an action: it is the request a human would send to an existing endpoint (a campaign, whose
every message is a draft that waits for approval; or the follow-up settings), returned for a human to review
and send with their own key and role. No tool here writes anything."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import Field

from agents.campaigns.audience import TARGETS, Exclusions
from agents.campaigns.store import CatalogItemNotFound, preview_campaign
from agents.followup.config import SEQUENCE_KINDS, FollowupConfig, SequenceKind
from agents.toolkits.base import Args, ToolFailed, make_tool
from core import db
from core.store import followups
from core.types import Role

Target = Literal[TARGETS]  # type: ignore[valid-type]
Kind = Literal[SEQUENCE_KINDS]  # type: ignore[valid-type]

# What a started sequence's messages should do, when the creator's request names none.
DEFAULT_INTENTS: dict[str, str] = {
    "welcome": "welcome: ask what kind of content they enjoy most",
    "win_back": "win-back: a warm personal note, you miss them and remember what they liked; no hard sell",
    "ppv_reminder": "PPV reminder: a light, friendly nudge about the offer",
    "inactive": "re-engagement: a casual check-in with a question",
}


class ListArgs(Args):
    status: Literal["active", "completed", "cancelled"] | None = Field(None, description="only this status")
    kind: Kind | None = Field(None, description="only this kind of sequence")
    limit: int = Field(10, ge=1, le=50, description="how many, newest first")


class StartArgs(Args):
    kind: Kind = Field(description="the kind of sequence")
    segment: Target = Field(description="the segment it is for ('all': every fan)")
    intent: str = Field("", max_length=300, description="what the messages should do (empty: the kind's own)")


class StopArgs(Args):
    kind: Kind = Field(description="the kind of sequence to stop starting")


def tools(creator_id: str) -> list[BaseTool]:
    async def list_sequences(status: str | None, kind: str | None, limit: int) -> dict[str, Any]:
        async with db.connection() as conn:
            rows = await followups.page(conn, creator_id, status=status, kind=kind, limit=limit)
        keep = ("id", "fan_id", "kind", "status", "segment", "steps_done", "next_step_at", "stop_reason")
        return {"sequences": [{k: getattr(r, k) for k in keep} | {"steps": len(r.steps)} for r in rows]}

    async def propose_start_sequence(kind: SequenceKind, segment: str, intent: str) -> dict[str, Any]:
        intent = intent.strip() or DEFAULT_INTENTS[kind]
        async with db.connection() as conn:
            try:
                audience = await preview_campaign(
                    conn,
                    creator_id=creator_id,
                    segment=segment,
                    catalog_id=None,
                    exclusions=Exclusions(),
                    max_recipients=1000,
                )
            except (CatalogItemNotFound, ValueError) as exc:
                raise ToolFailed(str(exc)) from exc
        body = {"name": f"{kind.replace('_', '-')} for {segment}", "segment": segment, "intent": intent}
        return {
            "proposal": {
                "kind": "campaign",
                "summary": f"draft {kind.replace('_', '-')} messages for {len(audience.fan_ids)} fans of the"
                f" segment {segment}; each draft waits for approval",
                "requires_role": Role.MANAGER.value,
                "request": {"method": "POST", "path": "/v1/campaigns", "body": body},
                "audience": {
                    "segment_size": audience.segment_size,
                    "recipients": len(audience.fan_ids),
                    "excluded": audience.excluded,
                },
            }
        }

    async def propose_stop_sequence(kind: SequenceKind) -> dict[str, Any]:
        async with db.connection() as conn:
            cur = await conn.execute("SELECT followup_config FROM creators WHERE id = %s", [creator_id])
            row = await cur.fetchone()
        if row is None:
            raise ToolFailed("no such creator")
        config = FollowupConfig.from_stored(row["followup_config"])
        body = config.model_dump(mode="json")
        already = not body[kind]["enabled"]
        body[kind]["enabled"] = False
        return {
            "proposal": {
                "kind": "followup_config",
                "summary": f"stop starting new {kind.replace('_', '-')} sequences"
                + (" (already stopped)" if already else ""),
                "requires_role": Role.MANAGER.value,
                "request": {"method": "PUT", "path": "/v1/followups/config", "body": body},
            }
        }

    return [
        make_tool(
            "list_sequences",
            "The creator's follow-up sequences (welcome, win-back, PPV reminder, re-engagement), newest first.",
            ListArgs,
            list_sequences,
        ),
        make_tool(
            "propose_start_sequence",
            "Propose messaging a segment with a sequence's kind of message (a campaign a human must send; every"
            " message is a draft a human approves).",
            StartArgs,
            propose_start_sequence,
        ),
        make_tool(
            "propose_stop_sequence",
            "Propose that a kind of follow-up sequence stops being started (a settings change a human sends).",
            StopArgs,
            propose_stop_sequence,
        ),
    ]
