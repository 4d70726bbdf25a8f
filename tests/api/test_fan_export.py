"""GET /v1/fans/{id}/export: everything stored about one fan, owners only after a step-up, audited."""

from __future__ import annotations

from fastapi import FastAPI

from core import db
from tests.api.conftest import client_for
from tests.factories import add_event, add_message_event, make_tenant


async def _remember(creator_id: str, fan_id: str, text: str) -> None:
    async with db.pool().connection() as conn:
        await conn.execute(
            "INSERT INTO fan_memories (creator_id, fan_id, kind, text, importance, embedding, embedding_model)"
            " VALUES (%s, %s, 'fact', %s, 0.7, %s, 'test')",
            [creator_id, fan_id, text, "[" + ",".join(["0.05"] * 384) + "]"],
        )


async def test_an_export_holds_what_is_stored_about_the_fan_and_nothing_of_others(app: FastAPI) -> None:
    t = await make_tenant()
    fan, other_fan = t.fans
    await add_message_event(t, fan, "my dog Max says hi", "m1")
    await add_event(t, fan, "purchase", "p1", amount_cents=1500, catalog_id=t.catalog[0])
    await _remember(t.creator_id, fan, "Has a golden retriever named Max")
    await add_message_event(t, other_fan, "someone else's words", "m2")
    async with client_for(app) as api:
        r = await api.get(f"/v1/fans/{fan}/export", headers=t.auth())
        assert r.status_code == 200, r.text
        body = r.json()
        audit = (await api.get("/v1/audit", params={"action": "fan.exported"}, headers=t.auth())).json()
    assert body["format"] == "huntaze.fan-export/1" and body["fan"]["id"] == fan
    assert [m["text"] for m in body["messages"]] == ["my dog Max says hi"]
    assert [e["platform_event_id"] for e in body["events"]] == ["m1", "p1"]
    assert [(x["kind"], x["amount_cents"], x["catalog_id"]) for x in body["transactions"]] == [
        ("ppv", 1500, t.catalog[0])
    ]
    [memory] = body["memories"]
    assert memory["text"] == "Has a golden retriever named Max" and "embedding" not in memory
    assert all("creator_id" not in row for rows in body.values() if isinstance(rows, list) for row in rows)
    assert "someone else's words" not in r.text
    assert body["exported_at"].endswith("Z") and body["messages"][0]["sent_at"].endswith("Z")
    [entry] = audit["items"]
    assert entry["subject"] == f"fan:{fan}" and entry["details"]["messages"] == 1
    assert entry["details"]["memories"] == 1 and entry["actor"] == t.members["owner"]


async def test_an_export_is_for_owners_after_a_step_up_and_scoped(app: FastAPI) -> None:
    t, other = await make_tenant(), await make_tenant("other")
    fresh = await make_tenant("fresh", stepped_up=False)
    async with client_for(app) as api:
        for role in ("manager", "chatter", "viewer"):
            r = await api.get(f"/v1/fans/{t.fans[0]}/export", headers=t.auth(role))
            assert r.status_code == 403, r.text
        r = await api.get(f"/v1/fans/{fresh.fans[0]}/export", headers=fresh.auth())
        assert r.status_code == 403 and r.json()["error"]["code"] == "step_up_required"
        r = await api.get(f"/v1/fans/{t.fans[0]}/export", headers=other.auth())  # another creator's fan
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = await api.get("/v1/fans/not-a-uuid/export", headers=t.auth())
        assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "path.fan_id"
        audit = (await api.get("/v1/audit", params={"action": "fan.exported"}, headers=t.auth())).json()
    assert audit["items"] == []  # refused exports leave nothing to audit
