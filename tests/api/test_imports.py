"""POST /v1/imports: history stored as the events endpoint stores it, never answered, idempotent, bad lines named."""

from __future__ import annotations

import gc
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.types import conversation_workflow_id
from devstack.history_file import history_events
from tests.api.conftest import client_for
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch, wait_until


def _body(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(body), size):  # lines cut anywhere, as a network delivers them
        yield body[i : i + size]


async def _no_conversation(env: WorkflowEnvironment, creator_id: str, fan_ids: list[str]) -> None:
    for fan in fan_ids:
        with pytest.raises(RPCError):
            await env.client.get_workflow_handle(conversation_workflow_id(creator_id, fan)).describe()


async def test_an_import_is_stored_like_live_events_and_never_answered(
    api: httpx.AsyncClient, temporal_env: WorkflowEnvironment, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant("imp")
    events = list(history_events(fans=12, events=240, prefix="hist", catalog_ids=t.catalog))
    r = await api.post("/v1/imports", content=_chunks(_body(events), 997), headers={**t.auth("manager")})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["imported"], out["duplicates"], out["rejected"], out["errors"]) == (len(events), 0, 0, [])

    stored = await fetch(
        "SELECT platform_event_id, kind, occurred_at, dispatched_at IS NOT NULL AND processed_at IS NOT NULL AS done"
        " FROM events WHERE creator_id = %s ORDER BY id",
        [t.creator_id],
    )
    assert sorted(e["platform_event_id"] for e in stored) == sorted(e["event_id"] for e in events)
    assert all(e["done"] for e in stored)  # handled when stored: nothing will wake a conversation for them
    messages = [e for e in events if e["kind"] in ("message", "creator_message")]
    [m] = await fetch(
        "SELECT count(*) AS n, count(*) FILTER (WHERE direction = 'in') AS inbound FROM messages"
        " WHERE creator_id = %s",
        [t.creator_id],
    )
    assert m == {"n": len(messages), "inbound": len([e for e in messages if e["kind"] == "message"])}
    money = [e for e in events if e.get("amount_cents") and e["kind"] not in ("refund", "chargeback")]
    [tx] = await fetch(
        "SELECT count(*) AS n, sum(amount_cents) AS cents, count(catalog_id) AS named FROM transactions"
        " WHERE creator_id = %s",
        [t.creator_id],
    )
    assert tx == {
        "n": len(money),
        "cents": sum(e["amount_cents"] for e in money),
        "named": len([e for e in events if "catalog_id" in e]),
    }
    back = [e for e in events if e["kind"] in ("refund", "chargeback")]
    assert back, "the history has money back in it"
    refunds = await fetch(
        "SELECT r.kind, r.amount_cents, e.platform_event_id AS original FROM refunds r"
        " JOIN transactions t ON t.id = r.transaction_id JOIN events e ON e.id = t.event_id"
        " WHERE r.creator_id = %s ORDER BY r.id",
        [t.creator_id],
    )
    assert sorted((r["kind"], r["amount_cents"], r["original"]) for r in refunds) == sorted(
        (e["kind"], e["amount_cents"], e["original_event_id"]) for e in back
    )
    # the fans' subscription state is what posting the events in order would leave
    fans = {
        f["platform_fan_id"]: f
        for f in await fetch(
            "SELECT id::text AS id, platform_fan_id, display_name, timezone, subscription_status, subscribed_at,"
            " expires_at FROM fans WHERE creator_id = %s AND platform_fan_id LIKE 'hist-fan-%%'",
            [t.creator_id],
        )
    }
    assert len(fans) == 12
    for key, fan in fans.items():
        mine = [e for e in events if e["fan"]["platform_fan_id"] == key]
        subs = [e for e in mine if e["kind"].startswith("subscription")]
        assert fan["subscription_status"] == (
            "expired" if subs[-1]["kind"] == "subscription_expired" else "active"
        )
        assert fan["subscribed_at"] == datetime.fromisoformat(subs[0]["occurred_at"])
        assert fan["display_name"] == mine[-1]["fan"]["display_name"]
        assert fan["timezone"] == mine[-1]["fan"].get("timezone", "UTC")

    assert await fetch("SELECT 1 FROM drafts WHERE creator_id = %s", [t.creator_id]) == []
    await _no_conversation(temporal_env, t.creator_id, [f["id"] for f in fans.values()])
    assert out["segments_workflow_id"]
    await wait_until("SELECT count(*) > 0 FROM segmentation_runs WHERE creator_id = %s", [t.creator_id])
    [seg] = await fetch("SELECT count(*) AS n FROM fan_scores WHERE creator_id = %s", [t.creator_id])
    assert seg["n"] >= 12
    [feed] = await fetch(
        "SELECT details FROM agent_actions WHERE creator_id = %s AND kind = 'history_imported'",
        [t.creator_id],
    )
    assert feed["details"]["imported"] == len(events)

    # The same event posted live later is a duplicate that wakes nothing.
    inbound = [e for e in messages if e["kind"] == "message"]
    again = {k: v for k, v in inbound[-1].items() if k != "occurred_at"}
    r = await api.post("/v1/events", json=again, headers=t.auth("manager"))
    assert r.status_code == 202, r.text
    await _no_conversation(temporal_env, t.creator_id, [r.json()["fan_id"]])
    # A new message of an imported fan is answered, with the imported conversation in the prompt.
    fake_llm.requests.clear()
    r = await api.post(
        "/v1/events",
        json={"event_id": "live-1", "kind": "message", "text": "are you there?", "fan": inbound[-1]["fan"]},
        headers=t.auth("manager"),
    )
    assert r.status_code == 202, r.text
    await wait_until("SELECT count(*) = 1 FROM drafts WHERE creator_id = %s", [t.creator_id])
    assert any(inbound[-1]["text"] in json.dumps(req) for req in fake_llm.requests), (
        "history not in the prompt"
    )


async def test_a_second_import_reports_duplicates_and_changes_no_row(app: FastAPI) -> None:
    t = await make_tenant("again")
    events = list(history_events(fans=5, events=60, prefix="ag"))
    tables = ("fans", "events", "messages", "transactions", "agent_actions", "analytics_daily")

    async def snapshot() -> str:
        rows = {
            table: await fetch(
                f"SELECT xmin::text AS xmin, * FROM {table} WHERE creator_id = %s ORDER BY 2", [t.creator_id]
            )
            for table in tables
        }
        return json.dumps(rows, default=str, sort_keys=True)

    async with client_for(app) as api:  # no worker: the refresh the first import starts stays queued
        first = await api.post("/v1/imports", content=_body(events), headers=t.auth("manager"))
        assert first.json()["imported"] == len(events)
        before = await snapshot()
        second = await api.post("/v1/imports", content=_body(events), headers=t.auth("manager"))
    assert second.status_code == 200
    assert second.json() | {"errors": None} == {
        "imported": 0,
        "duplicates": len(events),
        "rejected": 0,
        "errors": None,
        "segments_workflow_id": None,
    }
    assert await snapshot() == before


async def test_bad_lines_are_named_by_number_and_field_while_good_lines_go_in(app: FastAPI) -> None:
    t = await make_tenant("bad")
    past = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    fan = {"platform_fan_id": "f1"}

    def ev(i: int, **kw: Any) -> str:
        return json.dumps(
            {"event_id": f"b-{i}", "kind": "tip", "amount_cents": 100, "fan": fan, "occurred_at": past, **kw}
        )

    lines = [
        ev(1),  # 1 ok
        "{not json",  # 2
        ev(3, occurred_at=None),  # 3
        ev(4, occurred_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat()),  # 4
        ev(5, amount_cents=-1),  # 5
        ev(6, kind="message"),  # 6: a message needs text
        ev(7, kind="wink"),  # 7
        ev(8, colour="red"),  # 8
        ev(9, kind="purchase", catalog_id="00000000-0000-0000-0000-000000000000"),  # 9
        ev(1, kind="message", text="hi"),  # 10: b-1 was a tip
        ev(11, kind="message", text="nul \u0000 here"),  # 11
        "",  # 12: blank lines are skipped
        ev(13, kind="message", text="x" * 70_000),  # 13: too long a line
        ev(14, kind="purchase", catalog_id=t.catalog[0]),  # 14 ok
        ev(1),  # 15: a duplicate of line 1
        "[1, 2]",  # 16
    ]
    async with client_for(app) as api:
        r = await api.post("/v1/imports", content="\n".join(lines).encode(), headers=t.auth("manager"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["imported"], out["duplicates"], out["rejected"]) == (2, 1, 12)
    named = {e["line"]: (e["field"], e["reason"]) for e in out["errors"]}
    assert sorted(named) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 16]
    assert named[2][0] == "" and "json" in named[2][1].lower()
    assert named[3] == ("occurred_at", "required: an imported event says when it happened")
    assert named[4][0] == "occurred_at" and "future" in named[4][1]
    assert named[5][0] == "amount_cents"
    assert named[6][0] == "text"
    assert named[7][0] == "kind"
    assert named[8][0] == "colour"
    assert named[9] == ("catalog_id", "no such catalog item")
    assert named[10][0] == "event_id" and "tip" in named[10][1]
    assert named[11][0] == "text" and "NUL" in named[11][1]
    assert named[13][0] == "" and "longer than" in named[13][1]
    stored = await fetch(
        "SELECT platform_event_id FROM events WHERE creator_id = %s ORDER BY id", [t.creator_id]
    )
    assert [s["platform_event_id"] for s in stored] == ["b-1", "b-14"]


async def test_only_managers_and_owners_import(app: FastAPI) -> None:
    t = await make_tenant("roles")
    events = list(history_events(fans=1, events=3, prefix="r"))
    body = _body(events)
    async with client_for(app) as api:
        for role in ("chatter", "viewer"):
            r = await api.post("/v1/imports", content=body, headers=t.auth(role))
            assert r.status_code == 403, r.text
        assert (await api.post("/v1/imports", content=body)).status_code == 401
        assert await fetch("SELECT 1 FROM events WHERE creator_id = %s", [t.creator_id]) == []
        r = await api.post("/v1/imports", content=body, headers=t.auth("owner"))
        assert r.status_code == 200 and r.json()["imported"] == len(events)


async def test_the_whole_vocabulary_imports_as_the_live_path_stores_it(app: FastAPI) -> None:
    """Items named by the platform's id, the creator's own messages, unlocks, refunds and chargebacks of earlier
    lines, fans of other platforms; a refund of nothing or of more than is left is refused by field."""
    from devstack.history_file import CATALOG

    t = await make_tenant("vocab")
    past = "2026-03-01T10:00:00Z"
    fan = {"platform_fan_id": "v1", "platform": "fansly"}
    lines: list[dict[str, Any]] = [
        {"event_id": "p1", "kind": "purchase", "amount_cents": 1500, "platform_item_id": "item-beach"},
        {"event_id": "u1", "kind": "ppv_unlock", "amount_cents": 2500, "platform_item_id": "item-gym"},
        {"event_id": "c1", "kind": "creator_message", "text": "thanks!"},
        {"event_id": "r1", "kind": "refund", "original_event_id": "p1", "amount_cents": 500},
        {"event_id": "k1", "kind": "chargeback", "original_event_id": "u1"},
        {"event_id": "r2", "kind": "refund", "original_event_id": "p1", "amount_cents": 1001},  # 1000 left
        {"event_id": "r3", "kind": "refund", "original_event_id": "nope"},
        {"event_id": "p2", "kind": "purchase", "amount_cents": 100, "platform_item_id": "item-unknown"},
        {"event_id": "r4", "kind": "refund", "original_event_id": "t9"},  # its payment comes on a later line
        {"event_id": "t9", "kind": "tip", "amount_cents": 300},
        {"event_id": "k2", "kind": "chargeback", "original_event_id": "t9", "fan": {"platform_fan_id": "v2"}},
    ]
    body = _body([{"fan": fan, **x, "occurred_at": past} for x in lines])
    async with client_for(app) as api:
        for item in CATALOG:
            r = await api.post("/v1/catalog", json=item, headers=t.auth("manager"))
            assert r.status_code == 201, r.text
        r = await api.post("/v1/imports", content=body, headers=t.auth("manager"))
    out = r.json()
    assert (out["imported"], out["rejected"]) == (6, 5), out
    assert [(e["line"], e["field"]) for e in out["errors"]] == [
        (6, "amount_cents"),
        (7, "original_event_id"),
        (8, "platform_item_id"),
        (9, "original_event_id"),
        (11, "fan"),
    ]
    assert out["errors"][0]["reason"] == "at most 1000 cents of that payment are left to give back"
    [f] = await fetch(
        "SELECT id, platform FROM fans WHERE creator_id = %s AND platform_fan_id = 'v1'", [t.creator_id]
    )
    assert f["platform"] == "fansly"
    tx = await fetch(
        "SELECT t.kind, t.amount_cents, c.platform_item_id FROM transactions t JOIN catalog c ON c.id = t.catalog_id"
        " WHERE t.creator_id = %s ORDER BY t.kind",
        [t.creator_id],
    )
    assert [(x["kind"], x["amount_cents"], x["platform_item_id"]) for x in tx] == [
        ("ppv", 1500, "item-beach"),
        ("unlock", 2500, "item-gym"),
    ]
    payloads = await fetch(
        "SELECT e.payload ->> 'catalog_id' AS item, c.id::text AS expected FROM events e"
        " JOIN catalog c ON c.creator_id = e.creator_id AND c.platform_item_id = e.payload ->> 'platform_item_id'"
        " WHERE e.creator_id = %s",
        [t.creator_id],
    )
    assert len(payloads) == 2 and all(
        p["item"] == p["expected"] for p in payloads
    )  # as the live path stores it
    [msg] = await fetch("SELECT direction, text FROM messages WHERE creator_id = %s", [t.creator_id])
    assert msg == {"direction": "out", "text": "thanks!"}
    back = await fetch(
        "SELECT kind, amount_cents FROM refunds WHERE creator_id = %s ORDER BY kind", [t.creator_id]
    )
    assert back == [{"kind": "chargeback", "amount_cents": 2500}, {"kind": "refund", "amount_cents": 500}]
    assert (
        await fetch("SELECT 1 FROM events WHERE creator_id = %s AND processed_at IS NULL", [t.creator_id])
        == []
    )


async def test_from_nothing_through_the_api_analytics_and_fans_match_the_file(app: FastAPI) -> None:
    """A creator with a catalog, a history imported through the API only: the overview of the whole period
    reports the file's gross, refunds, chargebacks and net to the cent, and every fan is listed."""
    from devstack.history_file import CATALOG

    t = await make_tenant("whole", fans=0)
    events = list(
        history_events(
            fans=40, events=1200, prefix="w", platform_item_ids=[i["platform_item_id"] for i in CATALOG]
        )
    )
    async with client_for(app) as api:
        for item in CATALOG:
            assert (await api.post("/v1/catalog", json=item, headers=t.auth("manager"))).status_code == 201
        r = await api.post("/v1/imports", content=_body(events), headers=t.auth("manager"))
        assert r.json()["imported"] == len(events), r.text
        first = min(e["occurred_at"] for e in events)[:10]
        overview = await api.get(
            "/v1/analytics/overview", params={"from": first, "granularity": "month"}, headers=t.auth()
        )
        assert overview.status_code == 200, overview.text
        fans_seen: set[str] = set()
        cursor = None
        while True:
            page = await api.get(
                "/v1/fans", params={"limit": 500, **({"cursor": cursor} if cursor else {})}, headers=t.auth()
            )
            fans_seen |= {f["platform_fan_id"] for f in page.json()["items"]}
            cursor = page.json()["next_cursor"]
            if not cursor:
                break
    gross = sum(
        e["amount_cents"]
        for e in events
        if e["kind"] not in ("refund", "chargeback") and e.get("amount_cents")
    )
    refunds = sum(e["amount_cents"] for e in events if e["kind"] == "refund")
    chargebacks = sum(e["amount_cents"] for e in events if e["kind"] == "chargeback")
    assert refunds and chargebacks, "the history gives money back both ways"
    money = overview.json()["money"]
    assert money == {
        "gross_cents": gross,
        "refunds_cents": refunds,
        "chargebacks_cents": chargebacks,
        "net_cents": gross - refunds - chargebacks,
    }
    assert fans_seen == {e["fan"]["platform_fan_id"] for e in events}


async def test_an_unlock_naming_its_offer_goes_through_the_events_endpoints_checks(app: FastAPI) -> None:
    """The per-event path (kinds the batch writer leaves to the events endpoint's code): an unlock naming the sent
    draft that offered it is attributed to it; one naming no such draft is refused by field."""
    from core import db

    t = await make_tenant("offer")
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, offer, policy_report,"
            " expires_at) VALUES (%s, %s, 'k', 'w', 'sent', 'unlock me', %s, '{}', now()) RETURNING id::text AS id",
            [t.creator_id, t.fans[0], json.dumps({"catalog_id": t.catalog[0], "price_cents": 1500})],
        )
        draft = (await cur.fetchone() or {})["id"]
        [fan] = await fetch("SELECT platform_fan_id FROM fans WHERE id = %s", [t.fans[0]])
    past = "2026-03-01T10:00:00Z"
    ref = {"platform_fan_id": fan["platform_fan_id"]}
    lines = [
        {"event_id": "u1", "kind": "ppv_unlock", "amount_cents": 1500, "offer_draft_id": draft},
        {"event_id": "u2", "kind": "ppv_unlock", "amount_cents": 1500, "offer_draft_id": str(uuid.uuid4())},
    ]
    async with client_for(app) as api:
        r = await api.post(
            "/v1/imports",
            content=_body([{**x, "fan": ref, "occurred_at": past} for x in lines]),
            headers=t.auth("manager"),
        )
    out = r.json()
    assert (out["imported"], out["rejected"]) == (1, 1), out
    assert [(e["line"], e["field"]) for e in out["errors"]] == [(2, "offer_draft_id")]
    [tx] = await fetch(
        "SELECT kind, catalog_id::text AS item, offer_draft_id::text AS draft FROM transactions WHERE creator_id = %s",
        [t.creator_id],
    )
    assert tx == {"kind": "unlock", "item": t.catalog[0], "draft": draft}
    [ev] = await fetch(
        "SELECT dispatched_at IS NOT NULL AND processed_at IS NOT NULL AS handled FROM events WHERE creator_id = %s",
        [t.creator_id],
    )
    assert ev["handled"]
    assert (
        await fetch(
            "SELECT 1 FROM agent_actions WHERE creator_id = %s AND kind = 'event_received'", [t.creator_id]
        )
        == []
    )


async def test_a_fans_last_given_name_wins_whatever_the_kinds_and_the_collector_comes_back(
    app: FastAPI,
) -> None:
    """A name given on a refund line and another on a later message line of the same batch: the later one is the
    fan's, as posting the lines in order leaves it. The cyclic garbage collector, paused while an import runs, is
    on again after it."""
    t = await make_tenant("last-name")
    past = "2026-03-01T10:00:00Z"

    def fan(name: str, **more: str) -> dict[str, str]:
        return {"platform_fan_id": "w1", "display_name": name, **more}

    lines: list[dict[str, Any]] = [
        {"event_id": "n1", "kind": "tip", "amount_cents": 500, "fan": fan("Old")},
        {
            "event_id": "n2",
            "kind": "refund",
            "original_event_id": "n1",
            "fan": fan("Middle", timezone="Asia/Tokyo"),
        },
        {"event_id": "n3", "kind": "message", "text": "hi", "fan": fan("Last")},
    ]
    assert gc.isenabled()
    async with client_for(app) as api:
        r = await api.post(
            "/v1/imports",
            content=_body([{**x, "occurred_at": past} for x in lines]),
            headers=t.auth("manager"),
        )
    assert r.json()["imported"] == 3, r.text
    assert gc.isenabled()
    [f] = await fetch(
        "SELECT display_name, timezone FROM fans WHERE creator_id = %s AND platform_fan_id = %s",
        [t.creator_id, "w1"],
    )
    assert f == {"display_name": "Last", "timezone": "Asia/Tokyo"}


async def test_the_collector_stays_as_it_was_when_an_import_fails() -> None:
    from api.routers.history import import_lines

    async def broken() -> AsyncIterator[bytes]:
        yield b""
        raise OSError("the body stopped")

    for was_on in (True, False):
        gc.enable() if was_on else gc.disable()
        try:
            with pytest.raises(OSError):
                await import_lines(str(uuid.uuid4()), broken(), on_reject=lambda r: None)
            assert gc.isenabled() == was_on
        finally:
            gc.enable()


async def _stored(creator_id: str) -> dict[str, Any]:
    """What an import left, without the ids that differ between creators (items by their platform id)."""
    items = {
        r["id"]: r["platform_item_id"]
        for r in await fetch(
            "SELECT id::text AS id, platform_item_id FROM catalog WHERE creator_id = %s", [creator_id]
        )
    }
    events = await fetch(
        "SELECT platform_event_id, kind, payload, occurred_at,"
        " dispatched_at = received_at AND processed_at = received_at AS handled_when_stored"
        " FROM events WHERE creator_id = %s ORDER BY platform_event_id",
        [creator_id],
    )
    for e in events:
        e["payload"]["catalog_id"] = items.get(e["payload"]["catalog_id"], e["payload"]["catalog_id"])
    return {
        "fans": await fetch(
            "SELECT platform, platform_fan_id, display_name, timezone, subscription_status, subscribed_at, expires_at"
            " FROM fans WHERE creator_id = %s AND platform_fan_id LIKE 'h-%%' ORDER BY platform, platform_fan_id",
            [creator_id],
        ),
        "events": events,
        "messages": await fetch(
            "SELECT m.platform_message_id, m.direction, m.text, m.sent_at, e.platform_event_id FROM messages m"
            " JOIN events e ON e.id = m.event_id WHERE m.creator_id = %s ORDER BY 1",
            [creator_id],
        ),
        "payments": await fetch(
            "SELECT t.platform_txn_id, t.kind, t.amount_cents, c.platform_item_id, t.occurred_at, e.platform_event_id,"
            " d.text AS offered_by FROM transactions t LEFT JOIN drafts d ON d.id = t.offer_draft_id"
            " JOIN events e ON e.id = t.event_id LEFT JOIN catalog c ON c.id = t.catalog_id"
            " WHERE t.creator_id = %s ORDER BY 1",
            [creator_id],
        ),
        "money_back": await fetch(
            "SELECT e.platform_event_id, r.kind, r.amount_cents, t.platform_txn_id, f.platform_fan_id"
            " FROM refunds r JOIN events e ON e.id = r.event_id JOIN transactions t ON t.id = r.transaction_id"
            " JOIN fans f ON f.id = r.fan_id WHERE r.creator_id = %s ORDER BY 1",
            [creator_id],
        ),
    }


async def test_a_new_batch_copied_stores_what_the_step_by_step_writer_stores(app: FastAPI) -> None:
    """The same history imported in batches that are all new (each copied into the tables) and as one batch
    that a line naming an unknown item sends down the step-by-step path: the same fans, events, payloads,
    handled times, messages, payments (an unlock attributed to the sent draft that offered its item) and money
    back."""
    from api.routers.history import import_lines
    from devstack.history_file import CATALOG, history_lines

    lines = [
        line.encode()
        for line in history_lines(
            fans=12, events=800, platform_item_ids=[i["platform_item_id"] for i in CATALOG]
        )
    ]
    bad = json.dumps(
        {
            **json.loads(lines[5]),
            "event_id": "unknown-item",
            "kind": "purchase",
            "amount_cents": 100,
            "platform_item_id": "item-unknown",
            "text": None,
        }
    ).encode()
    unlock = next(json.loads(line) for line in lines if json.loads(line)["kind"] == "ppv_unlock")
    stored = []
    for name, body, batch_lines in (("copied", lines, 150), ("step-by-step", [*lines, bad], 1000)):
        t = await make_tenant(name)
        async with client_for(app) as api:
            for item in CATALOG:
                r = await api.post("/v1/catalog", json=item, headers=t.auth("manager"))
                assert r.status_code == 201, r.text
        # a sent draft that offered the first unlock's item to its fan, before the import
        await fetch(
            "WITH f AS (INSERT INTO fans (creator_id, platform_fan_id) VALUES (%s, %s) RETURNING creator_id, id)"
            " INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, offer, policy_report,"
            " expires_at) SELECT f.creator_id, f.id, 'k', 'w', 'sent', 'the offer', jsonb_build_object('catalog_id',"
            " c.id), '{}', now() FROM f JOIN catalog c ON c.creator_id = f.creator_id AND c.platform_item_id = %s"
            " RETURNING id",
            [t.creator_id, unlock["fan"]["platform_fan_id"], unlock["platform_item_id"]],
        )
        refused: list[Any] = []
        report = await import_lines(t.creator_id, body, on_reject=refused.append, batch_lines=batch_lines)
        assert report.imported == len(lines) and report.duplicates == 0, report
        assert [(r.line, r.field) for r in refused] == (
            [] if body is lines else [(len(body), "platform_item_id")]
        )
        stored.append(await _stored(t.creator_id))
    fast, steps = stored
    assert {k: len(v) for k, v in fast.items()} == {k: len(v) for k, v in steps.items()}
    assert len(fast["money_back"]) > 0 and any(e["kind"] == "ppv_unlock" for e in fast["events"])
    assert all(e["handled_when_stored"] for e in fast["events"])
    assert any(p["offered_by"] == "the offer" for p in fast["payments"])
    for k in fast:
        assert fast[k] == steps[k], (
            k,
            [(a, b) for a, b in zip(fast[k], steps[k], strict=True) if a != b][:2],
        )


async def test_a_batch_with_a_row_stored_by_another_path_goes_in_step_by_step(app: FastAPI) -> None:
    """A creator's message the service sent and stored under the platform's message id, which the history file
    names as that message's event_id: the batch taken as new hits it, is rolled back and goes in step by step,
    keeping the stored message and importing every line."""
    from api.routers.history import import_lines
    from devstack.history_file import history_lines

    t = await make_tenant("sent-before")
    lines = [line.encode() for line in history_lines(fans=5, events=120)]
    sent = next(json.loads(line) for line in lines if json.loads(line)["kind"] == "creator_message")
    [fan] = await fetch(
        "INSERT INTO fans (creator_id, platform_fan_id) VALUES (%s, %s) RETURNING id",
        [t.creator_id, sent["fan"]["platform_fan_id"]],
    )
    await fetch(
        "INSERT INTO messages (creator_id, fan_id, direction, text, platform_message_id, sent_at)"
        " VALUES (%s, %s, 'out', 'sent by the service', %s, now()) RETURNING id",
        [t.creator_id, fan["id"], sent["event_id"]],
    )
    report = await import_lines(t.creator_id, lines, on_reject=lambda r: None, batch_lines=50)
    assert (report.imported, report.duplicates, report.rejected) == (len(lines), 0, 0)
    kept = await fetch(
        "SELECT text, event_id FROM messages WHERE creator_id = %s AND platform_message_id = %s",
        [t.creator_id, sent["event_id"]],
    )
    assert kept == [{"text": "sent by the service", "event_id": None}]
    assert len(await fetch("SELECT 1 FROM events WHERE creator_id = %s", [t.creator_id])) == len(lines)
