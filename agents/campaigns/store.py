"""Create a campaign: choose the audience and write, in one transaction, the campaign, its recipients and one
internal `campaign_message` event per recipient. The events reach each fan's conversation through the same
dispatch as platform events, so every recipient's draft is written, policy-checked and approved like a reply."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from agents.campaigns.audience import Audience, Exclusions, select_audience
from agents.followup.config import FollowupConfig
from agents.followup.rules import CAMPAIGN_MESSAGE, next_best_time
from core.db import Conn
from core.journal import record_action
from core.store import fans as fan_store

# A campaign with how far its drafts got (the API and the analytics agent's campaign results); {where} narrows it.
COUNTS_SQL = """
SELECT c.*, c.id::text AS id, c.catalog_id::text AS catalog_id,
  count(*) FILTER (WHERE e.processed_at IS NULL) AS not_yet_drafted,
  count(*) FILTER (WHERE e.processed_at IS NOT NULL AND d.id IS NULL) AS no_draft,
  count(d.id) FILTER (WHERE d.status = 'pending_review') AS pending_review,
  count(d.id) FILTER (WHERE d.status = 'blocked') AS blocked,
  count(d.id) FILTER (WHERE d.status = 'approved') AS approved,
  count(d.id) FILTER (WHERE d.status = 'sent') AS sent,
  count(d.id) FILTER (WHERE d.status = 'rejected') AS rejected,
  count(d.id) FILTER (WHERE d.status IN ('expired', 'superseded')) AS other
FROM campaigns c
LEFT JOIN campaign_recipients r ON r.campaign_id = c.id
LEFT JOIN events e ON e.creator_id = r.creator_id AND e.id = r.event_id
LEFT JOIN drafts d ON d.creator_id = c.creator_id AND d.campaign_id = c.id AND d.fan_id = r.fan_id
WHERE c.creator_id = %s {where}
GROUP BY c.id
"""


async def results(conn: Conn, creator_id: str, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` campaigns with their draft counts."""
    cur = await conn.execute(
        COUNTS_SQL.format(where="") + " ORDER BY c.created_at DESC, c.id DESC LIMIT %s", [creator_id, limit]
    )
    return list(await cur.fetchall())


def campaign_workflow_id(creator_id: str, campaign_id: str) -> str:
    return f"campaign-{creator_id}-{campaign_id}"


class CatalogItemNotFound(LookupError):
    pass


async def offered_item(conn: Conn, creator_id: str, catalog_id: str | None) -> dict[str, Any] | None:
    """The catalog item a campaign offers: an active item of this creator's catalog (CatalogItemNotFound
    otherwise, whoever else's id it is), or None without an offer. The dry run and the real run both ask here,
    so a preview never accepts what the campaign would refuse."""
    if catalog_id is None:
        return None
    cur = await conn.execute(
        "SELECT id::text AS id, title, price_cents FROM catalog WHERE creator_id = %s AND id = %s AND active",
        [creator_id, catalog_id],
    )
    item = await cur.fetchone()
    if item is None:
        raise CatalogItemNotFound(catalog_id)
    return item


async def preview_campaign(
    conn: Conn,
    *,
    creator_id: str,
    segment: str,
    catalog_id: str | None,
    exclusions: Exclusions,
    max_recipients: int,
    tag: str | None = None,
) -> Audience:
    """What `create_campaign` would choose, storing nothing: the same offer check, the same audience."""
    await offered_item(conn, creator_id, catalog_id)
    return await select_audience(conn, creator_id, segment, exclusions, catalog_id, max_recipients, tag)


async def create_campaign(
    conn: Conn,
    *,
    creator_id: str,
    created_by: str,
    name: str,
    segment: str,
    intent: str,
    catalog_id: str | None,
    exclusions: Exclusions,
    max_recipients: int,
    now: datetime | None = None,
    tag: str | None = None,
) -> tuple[dict[str, Any], Audience]:
    """Call inside a transaction. Returns the campaign row and its audience. An offer names an item of this
    creator's active catalog (else CatalogItemNotFound); the item goes into each recipient's intent so the DM
    agent can offer it, and the grammar still only admits real items and prices in bounds."""
    now = now or datetime.now(UTC)
    item = await offered_item(conn, creator_id, catalog_id)
    audience = await select_audience(conn, creator_id, segment, exclusions, catalog_id, max_recipients, tag)
    cur = await conn.execute(
        "INSERT INTO campaigns (creator_id, name, segment, intent, catalog_id, exclusions, excluded, recipients,"
        " workflow_id, created_by, tag) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', %s, %s)"
        " RETURNING id::text AS id",
        [
            creator_id,
            name,
            segment,
            intent,
            catalog_id,
            Jsonb(exclusions.model_dump()),
            Jsonb(audience.excluded),
            len(audience.fan_ids),
            created_by,
            tag,
        ],
    )
    campaign_id = (await cur.fetchone() or {})["id"]
    wid = campaign_workflow_id(creator_id, campaign_id)
    await conn.execute("UPDATE campaigns SET workflow_id = %s WHERE id = %s", [wid, campaign_id])
    full_intent = intent
    if item is not None:
        full_intent += f" (offer the catalog item '{item['title']}' at {item['price_cents'] / 100:.2f})"
    cur = await conn.execute("SELECT followup_config FROM creators WHERE id = %s", [creator_id])
    config = FollowupConfig.from_stored((await cur.fetchone() or {}).get("followup_config"))
    fans = await fan_store.best_times(conn, creator_id, audience.fan_ids)
    payloads = []
    for fan_id in audience.fan_ids:
        fan = fans[fan_id]
        send_after = next_best_time(now, fan.timezone, fan.best_hours, config.default_best_hours)
        payloads.append(
            Jsonb(
                {
                    "campaign_id": campaign_id,
                    "campaign": name,
                    "intent": full_intent,
                    "catalog_id": catalog_id,
                    "send_after": send_after.isoformat(),
                }
            )
        )
    # Set-based: one statement per table whatever the audience size.
    await conn.execute(
        "WITH ev AS ("
        "  INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
        "  SELECT %(c)s, fan, %(key)s || fan::text, %(kind)s, payload, %(now)s"
        "  FROM unnest(%(fans)s::uuid[], %(payloads)s::jsonb[]) AS r(fan, payload)"
        "  RETURNING id, fan_id)"
        " INSERT INTO campaign_recipients (campaign_id, creator_id, fan_id, event_id)"
        " SELECT %(campaign)s, %(c)s, fan_id, id FROM ev",
        {
            "c": creator_id,
            "key": f"campaign:{campaign_id}:",
            "kind": CAMPAIGN_MESSAGE,
            "now": now,
            "fans": audience.fan_ids,
            "payloads": payloads,
            "campaign": campaign_id,
        },
    )
    await record_action(
        conn,
        creator_id=creator_id,
        fan_id=None,
        kind="campaign_created",
        summary=f"campaign '{name}' to {len(audience.fan_ids)} {segment} fan(s); each draft waits for approval",
        details={"campaign_id": campaign_id, "excluded": audience.excluded, "segment": segment},
        dedupe_key=f"campaign_created:{campaign_id}",
    )
    cur = await conn.execute("SELECT * FROM campaigns WHERE id = %s", [campaign_id])
    row = await cur.fetchone()
    assert row is not None
    return row, audience
