"""Small, explicit test data: a creator with members of each role, a catalog and fans."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.auth import issue_key
from core import db


@dataclass
class Tenant:
    creator_id: str
    keys: dict[str, str]  # role -> API key
    members: dict[str, str]  # role -> member id
    catalog: list[str]
    fans: list[str] = field(default_factory=list)

    def auth(self, role: str = "owner") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


async def make_tenant(
    handle: str = "mia", *, fans: int = 2, forbidden: list[str] | None = None, stepped_up: bool = True
) -> Tenant:
    """stepped_up: the keys may do sensitive operations for the next hour, as after a TOTP step-up (the
    step-up itself is tested in tests/api/test_security.py, with tenants made without it)."""
    import json

    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO creators (handle, display_name, persona, ppv_min_cents, ppv_max_cents, policy_config)"
            " VALUES (%s, %s, 'warm and playful', 500, 5000, %s) RETURNING id::text AS id",
            [handle, handle.title(), json.dumps({"forbidden_words": forbidden or []})],
        )
        row = await cur.fetchone()
        assert row
        cid = row["id"]
        keys, members = {}, {}
        for role in ("owner", "manager", "chatter", "viewer"):
            cur = await conn.execute(
                "INSERT INTO members (creator_id, email, role) VALUES (%s, %s, %s) RETURNING id::text AS id",
                [cid, f"{role}@{handle}.example", role],
            )
            m = await cur.fetchone()
            assert m
            members[role] = m["id"]
            keys[role] = await issue_key(conn, cid, m["id"])
        if stepped_up:
            await conn.execute(
                "UPDATE api_keys SET step_up_until = now() + interval '1 hour' WHERE creator_id = %s", [cid]
            )
        catalog = []
        for title, price in (("Beach set", 1500), ("Gym video", 2500)):
            cur = await conn.execute(
                "INSERT INTO catalog (creator_id, title, price_cents) VALUES (%s, %s, %s) RETURNING id::text AS id",
                [cid, title, price],
            )
            c = await cur.fetchone()
            assert c
            catalog.append(c["id"])
        fan_ids = []
        for i in range(fans):
            cur = await conn.execute(
                "INSERT INTO fans (creator_id, platform_fan_id, display_name, subscription_status)"
                " VALUES (%s, %s, %s, 'active') RETURNING id::text AS id",
                [cid, f"{handle}-fan-{i}", f"Fan {i}"],
            )
            f = await cur.fetchone()
            assert f
            fan_ids.append(f["id"])
    return Tenant(cid, keys, members, catalog, fan_ids)


async def make_agency_key(home: Tenant, home_role: str, grants: dict[str, str]) -> str:
    """An agency key (stepped up) of `home`'s member with `home_role`, granted the role `grants[creator id]` on
    each other creator, through the same store code as `huntaze members grant`."""
    from core.store import members

    async with db.pool().connection() as conn, conn.transaction():
        for creator_id, role in grants.items():
            await members.grant(conn, home.members[home_role], creator_id, role)
        key = await issue_key(conn, home.creator_id, home.members[home_role], name="agency", agency=True)
        await conn.execute(
            "UPDATE api_keys SET step_up_until = now() + interval '1 hour' WHERE agency AND member_id = %s",
            [home.members[home_role]],
        )
    return key


async def add_message_event(tenant: Tenant, fan_id: str, text: str, event_id: str) -> int:
    """Store an inbound message event as the API would (for workflow tests that skip HTTP)."""
    from psycopg.types.json import Jsonb

    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
            " VALUES (%s, %s, %s, 'message', %s, now()) RETURNING id",
            [
                tenant.creator_id,
                fan_id,
                event_id,
                Jsonb({"text": text, "event_id": event_id, "kind": "message"}),
            ],
        )
        row = await cur.fetchone()
        assert row
        await conn.execute(
            "INSERT INTO messages (creator_id, fan_id, direction, text, platform_message_id, event_id, sent_at)"
            " VALUES (%s, %s, 'in', %s, %s, %s, now())",
            [tenant.creator_id, fan_id, text, event_id, row["id"]],
        )
    return int(row["id"])


async def add_event(
    tenant: Tenant,
    fan_id: str,
    kind: str,
    event_id: str,
    *,
    amount_cents: int = 0,
    catalog_id: str | None = None,
) -> int:
    """Store a non-message platform event with its effects as the API would (transactions, subscription)."""
    from psycopg.types.json import Jsonb

    txn = {
        "subscription_started": "subscription",
        "subscription_renewed": "renewal",
        "tip": "tip",
        "purchase": "ppv",
    }
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
            " VALUES (%s, %s, %s, %s, %s, now()) RETURNING id",
            [
                tenant.creator_id,
                fan_id,
                event_id,
                kind,
                Jsonb(
                    {
                        "event_id": event_id,
                        "kind": kind,
                        "amount_cents": amount_cents,
                        "catalog_id": catalog_id,
                    }
                ),
            ],
        )
        row = await cur.fetchone()
        assert row
        if kind in txn and amount_cents:
            await conn.execute(
                "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, catalog_id, event_id,"
                " platform_txn_id, occurred_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now())",
                [tenant.creator_id, fan_id, txn[kind], amount_cents, catalog_id, row["id"], event_id],
            )
        if kind == "subscription_expired":
            await conn.execute(
                "UPDATE fans SET subscription_status = 'expired', expires_at = now() WHERE creator_id = %s AND id = %s",
                [tenant.creator_id, fan_id],
            )
    return int(row["id"])
