"""The bridge on a live stack: the reference adapter (connectors/bridge_adapter.py) between the service (its real
app, worker, Postgres and Temporal test server) and a fake platform API on loopback. A fan's message relayed by the
adapter, signed, becomes a draft; the approval reaches the platform exactly once with the text and the offer (the
platform's item id and price); the adapter's receipt stores the platform's message id; a replayed event, a
repeated send and unsigned, badly signed or stale requests change nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.bridge import CREATOR_HEADER, signed_headers
from connectors.bridge_adapter import Adapter, AdapterConfig, build_client
from connectors.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.factories import Tenant, make_tenant
from tests.fakes.loopback import LoopbackServer
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.platform import FakePlatform
from tests.workflows.helpers import fetch, wait_until

SECRET = "bridge-secret-0123456789"
API_KEY = "platform-api-key-0123"
EVENTS = "/v1/connectors/bridge/onlyfans/events"


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    p = FakePlatform(API_KEY)
    p.server.start()
    yield p
    p.release()
    p.server.stop()


def adapter_config(
    t: Tenant, platform: FakePlatform, state: Path, service_url: str = "http://api"
) -> AdapterConfig:
    return AdapterConfig.model_validate(
        {
            "service_url": service_url,
            "creator_id": t.creator_id,
            "platform": "onlyfans",
            "secret": SECRET,
            "state_file": str(state),
            "client": {"kind": "http", "base_url": platform.url, "api_key": API_KEY},
        }
    )


async def _events(t: Tenant) -> int:
    return len(await fetch("SELECT 1 FROM events WHERE creator_id = %s", [t.creator_id]))


async def test_the_round_trip_through_the_reference_adapter(
    api: httpx.AsyncClient, platform: FakePlatform, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    t = await make_tenant(fans=0)
    await fetch(
        "UPDATE catalog SET platform_item_id = 'of-item-77' WHERE id = %s RETURNING id", [t.catalog[0]]
    )
    config = adapter_config(t, platform, tmp_path / "state.json")
    adapter = Adapter(config, build_client(config.client))
    server = LoopbackServer(adapter.app).start()
    try:
        r = await api.put(
            "/v1/connections/onlyfans",
            json={"webhook_url": f"{server.url}/send", "secret": SECRET},
            headers=t.auth(),
        )
        assert r.status_code == 200 and r.json()["kind"] == "webhook", r.text

        # Refused: unsigned, signed with another secret, stale, or for a creator without a bridge connection.
        body = json.dumps(
            {
                "event_id": "x-1",
                "kind": "message",
                "text": "hi",
                "fan": {"platform_fan_id": "f", "platform": "onlyfans"},
            }
        ).encode()
        old = str(int(time.time()) - 3600)
        for headers in (
            {CREATOR_HEADER: t.creator_id},
            signed_headers("another-secret-0123456", body, **{CREATOR_HEADER: t.creator_id}),
            {CREATOR_HEADER: t.creator_id, TIMESTAMP_HEADER: old, SIGNATURE_HEADER: sign(SECRET, old, body)},
            signed_headers(SECRET, body, **{CREATOR_HEADER: "00000000-0000-0000-0000-000000000000"}),
            signed_headers(SECRET, body, **{CREATOR_HEADER: "not-a-uuid"}),
        ):
            r = await api.post(EVENTS, content=body, headers=headers | {"Content-Type": "application/json"})
            assert r.status_code == 401 and r.json()["error"]["code"] == "bad_signature", r.text
        assert await _events(t) == 0

        fake_llm.script(
            {"text": "Something special for you", "offer": {"catalog_id": "item1", "price_cents": 1500}}
        )
        platform.fan_writes("of-fan-1", "hey, anything new?")
        assert await adapter.relay_events(api) == 1
        assert await adapter.relay_events(api) == 0  # the cursor moved
        adapter.state.cursor = None  # the adapter lost its cursor: the same event again stores nothing
        assert await adapter.relay_events(api) == 1 and await _events(t) == 1

        for _ in range(1200):
            items = (await api.get("/v1/inbox", headers=t.auth())).json()["items"]
            if items:
                break
            await asyncio.sleep(0.05)
        [draft] = items
        assert draft["fan"]["platform"] == "onlyfans" and draft["fan"]["platform_fan_id"] == "of-fan-1"
        r = await api.post(
            f"/v1/drafts/{draft['id']}/approve", json={"version": 1}, headers=t.auth("chatter")
        )
        assert r.status_code == 200, r.text
        await wait_until(
            "SELECT platform_message_id IS NOT NULL FROM outbox WHERE draft_id = %s", [draft["id"]]
        )
        [sent] = platform.sends
        assert sent == {
            "fan_id": "of-fan-1",
            "text": "Something special for you",
            "item_id": "of-item-77",
            "price_cents": 1500,
            "id": "of-msg-1",
        }
        delivery = (await api.get(f"/v1/deliveries/{draft['id']}", headers=t.auth("viewer"))).json()
        assert (delivery["status"], delivery["receipt"], delivery["platform_message_id"]) == (
            "delivered",
            "delivered",
            "of-msg-1",
        )

        # The same send again (a retried activity): the adapter answers the first receipt and sends nothing.
        [row] = await fetch("SELECT payload FROM outbox WHERE draft_id = %s", [draft["id"]])
        payload: dict[str, Any] = row["payload"]
        assert payload["version"] == 1 and payload["offer"]["platform_item_id"] == "of-item-77"
        raw = json.dumps(payload).encode()
        async with httpx.AsyncClient() as http:
            again = await http.post(
                f"{server.url}/send",
                content=raw,
                headers=signed_headers(SECRET, raw, **{IDEMPOTENCY_HEADER: draft["id"]}),
            )
            forged = await http.post(
                f"{server.url}/send",
                content=raw,
                headers=signed_headers("wrong-secret-0123456", raw, **{IDEMPOTENCY_HEADER: "other"}),
            )
        assert again.json() == {"version": 1, "status": "delivered", "platform_message_id": "of-msg-1"}
        assert forged.status_code == 401
        assert len(platform.sends) == 1
        [conn] = (await api.get("/v1/connections", headers=t.auth())).json()["items"]
        assert conn["state"] == "connected" and conn["last_event_at"] and conn["last_send_at"]
    finally:
        server.stop()
