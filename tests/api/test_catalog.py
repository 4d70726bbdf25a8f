"""The catalog API: items with the platform's own id, pages, roles, conflicts; events naming an item by it."""

from __future__ import annotations

import httpx

from tests.factories import make_tenant
from tests.workflows.helpers import fetch


def _item(**over: object) -> dict[str, object]:
    return {
        "title": "Sunset set",
        "description": "twelve photos at the beach",
        "price_cents": 1299,
        "media_type": "photo_set",
        "tags": ["beach", "sunset", "beach"],
        "platform_item_id": "of-111",
        **over,
    }


async def test_create_read_update_and_retire_an_item(api: httpx.AsyncClient) -> None:
    t = await make_tenant("cat")
    r = await api.post("/v1/catalog", json=_item(), headers=t.auth("manager"))
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["tags"] == ["beach", "sunset"] and item["status"] == "active"
    assert item["platform_item_id"] == "of-111" and item["price_cents"] == 1299
    got = await api.get(f"/v1/catalog/{item['id']}", headers=t.auth("viewer"))
    assert got.status_code == 200 and got.json() == item

    r = await api.patch(
        f"/v1/catalog/{item['id']}",
        json={"price_cents": 1499, "status": "retired"},
        headers=t.auth("manager"),
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (
        changed["price_cents"] == 1499 and changed["status"] == "retired" and changed["title"] == "Sunset set"
    )
    assert changed["updated_at"] >= item["updated_at"]
    # a retired item is no longer offered to the DM agent
    [row] = await fetch("SELECT active, price_cents FROM catalog WHERE id = %s", [item["id"]])
    assert row == {"active": False, "price_cents": 1499}
    active = await api.get("/v1/catalog", params={"status": "active"}, headers=t.auth())
    assert item["id"] not in [i["id"] for i in active.json()["items"]]
    retired = await api.get("/v1/catalog", params={"status": "retired"}, headers=t.auth())
    assert [i["id"] for i in retired.json()["items"]] == [item["id"]]
    # an explicit null removes the platform id; a null title is refused
    r = await api.patch(f"/v1/catalog/{item['id']}", json={"platform_item_id": None}, headers=t.auth())
    assert r.status_code == 200 and r.json()["platform_item_id"] is None
    r = await api.patch(f"/v1/catalog/{item['id']}", json={"title": None}, headers=t.auth())
    assert r.status_code == 422 and "title" in r.text
    audit = await fetch(
        "SELECT action FROM audit_log WHERE creator_id = %s AND subject = %s ORDER BY id",
        [t.creator_id, f"catalog:{item['id']}"],
    )
    assert [a["action"] for a in audit] == [
        "catalog.item_created",
        "catalog.item_updated",
        "catalog.item_updated",
    ]


async def test_roles_bad_input_and_duplicate_platform_ids(api: httpx.AsyncClient) -> None:
    t = await make_tenant("catroles")
    other = await make_tenant("catother")
    for role in ("chatter", "viewer"):
        r = await api.post("/v1/catalog", json=_item(), headers=t.auth(role))
        assert r.status_code == 403
    first = await api.post("/v1/catalog", json=_item(), headers=t.auth("manager"))
    assert first.status_code == 201
    dup = await api.post("/v1/catalog", json=_item(title="Another"), headers=t.auth("manager"))
    assert dup.status_code == 409
    assert dup.json()["error"]["code"] == "platform_item_id_taken"
    assert dup.json()["error"]["details"] == {
        "field": "platform_item_id",
        "platform_item_id": "of-111",
        "catalog_id": first.json()["id"],
    }
    # unique per creator: another creator may use the same platform id
    assert (await api.post("/v1/catalog", json=_item(), headers=other.auth())).status_code == 201
    second = await api.post("/v1/catalog", json=_item(platform_item_id="of-222"), headers=t.auth())
    clash = await api.patch(
        f"/v1/catalog/{second.json()['id']}", json={"platform_item_id": "of-111"}, headers=t.auth()
    )
    assert clash.status_code == 409 and clash.json()["error"]["details"]["catalog_id"] == first.json()["id"]
    assert (await fetch("SELECT platform_item_id FROM catalog WHERE id = %s", [second.json()["id"]])) == [
        {"platform_item_id": "of-222"}
    ]
    for body, field in (
        (_item(price_cents=0), "price_cents"),
        (_item(title="  "), "title"),
        (_item(media_type="hologram"), "media_type"),
        (_item(tags=["x" * 51]), "tags.0"),
        (_item(platform_item_id=""), "platform_item_id"),
        (_item(colour="red"), "colour"),
    ):
        r = await api.post("/v1/catalog", json=body, headers=t.auth())
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"]["fields"][0]["field"] == field, r.text
    r = await api.post("/v1/catalog", json=_item(title="a\u0000b", platform_item_id="nul"), headers=t.auth())
    assert r.status_code == 422 and "NUL" in r.json()["error"]["message"]
    assert (
        await fetch(
            "SELECT 1 FROM catalog WHERE creator_id = %s AND platform_item_id = 'nul'", [t.creator_id]
        )
        == []
    )
    missing = "00000000-0000-0000-0000-000000000001"
    assert (await api.get(f"/v1/catalog/{missing}", headers=t.auth())).status_code == 404
    assert (await api.patch(f"/v1/catalog/{missing}", json={}, headers=t.auth())).status_code == 404


async def test_pages_newest_first_without_gaps(api: httpx.AsyncClient) -> None:
    t = await make_tenant("catpages")  # two items of its own
    for i in range(5):
        r = await api.post(
            "/v1/catalog", json=_item(title=f"Item {i}", platform_item_id=f"p-{i}"), headers=t.auth()
        )
        assert r.status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get("/v1/catalog", params=params, headers=t.auth())).json()
        seen += [i["title"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[:5] == [f"Item {i}" for i in reversed(range(5))] and len(seen) == 7
    assert len(set(seen)) == 7
    bad = await api.get("/v1/catalog", params={"cursor": "not-a-cursor"}, headers=t.auth())
    assert bad.status_code == 422 and bad.json()["error"]["details"]["fields"][0]["field"] == "cursor"


async def test_purchase_events_name_items_by_platform_id(api: httpx.AsyncClient) -> None:
    t = await make_tenant("catbuy")
    item = (await api.post("/v1/catalog", json=_item(status="retired"), headers=t.auth())).json()

    def buy(event_id: str, **ref: object) -> dict[str, object]:
        return {
            "event_id": event_id,
            "kind": "purchase",
            "amount_cents": 1299,
            "fan": {"platform_fan_id": "buyer"},
            **ref,
        }

    # a retired item still resolves: it was sold before it was retired
    r = await api.post("/v1/events", json=buy("b-1", platform_item_id="of-111"), headers=t.auth("manager"))
    assert r.status_code == 202, r.text
    r = await api.post("/v1/events", json=buy("b-2", catalog_id=item["id"]), headers=t.auth("manager"))
    assert r.status_code == 202, r.text
    txns = await fetch(
        "SELECT platform_txn_id, catalog_id::text AS catalog_id FROM transactions WHERE creator_id = %s"
        " ORDER BY platform_txn_id",
        [t.creator_id],
    )
    assert txns == [
        {"platform_txn_id": "b-1", "catalog_id": item["id"]},
        {"platform_txn_id": "b-2", "catalog_id": item["id"]},
    ]
    # the stored event carries the resolved id (what follow-ups compare offers with)
    [ev] = await fetch(
        "SELECT payload FROM events WHERE creator_id = %s AND platform_event_id = 'b-1'", [t.creator_id]
    )
    assert ev["payload"]["catalog_id"] == item["id"] and ev["payload"]["platform_item_id"] == "of-111"

    unknown = await api.post(
        "/v1/events", json=buy("b-3", platform_item_id="of-999"), headers=t.auth("manager")
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"]["fields"][0] == {
        "field": "platform_item_id",
        "message": "no such catalog item",
        "type": "not_found",
    }
    both = await api.post(
        "/v1/events",
        json=buy("b-4", catalog_id=item["id"], platform_item_id="of-111"),
        headers=t.auth("manager"),
    )
    assert both.status_code == 422 and "not both" in both.text
    tip = {
        "event_id": "b-5",
        "kind": "tip",
        "amount_cents": 100,
        "platform_item_id": "of-111",
        "fan": {"platform_fan_id": "buyer"},
    }
    r = await api.post("/v1/events", json=tip, headers=t.auth("manager"))
    assert r.status_code == 422 and "only allowed on" in r.text and "purchase" in r.text
    assert (
        await fetch(
            "SELECT 1 FROM events WHERE creator_id = %s AND platform_event_id IN ('b-3', 'b-4', 'b-5')",
            [t.creator_id],
        )
        == []
    )
