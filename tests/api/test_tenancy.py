"""Cross-tenant probes: creator A's keys, pointed at every endpoint with every kind of creator B's ids; then an
agency key with roles on A and C, acting for each, and keys naming B in X-Creator-Id, where they hold no role.

Routes are enumerated from the app itself, so a new endpoint with an id in its path is probed
automatically (and fails this test until the probe knows which of B's ids to use for it).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from core import db
from core.settings import Settings, configure
from evals.store import save_run
from tests.evals.test_runner import _result
from tests.factories import make_agency_key, make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls
from tests.workflows.helpers import fetch, wait_until

# Which of B's ids goes into each path parameter. "platform" names a kind of connection, not B's row:
# A writing /connections/onlyfans writes A's own connection (checked below: B's stays untouched).
PATH_PARAMS = {
    "draft_id",
    "fan_id",
    "key_id",
    "member_id",
    "platform",
    "run_id",
    "campaign_id",
    "catalog_id",
    "handoff_id",
    "thread_id",
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/drafts/{draft_id}/approve"): {"version": 1},
    ("POST", "/v1/drafts/{draft_id}/reject"): {"version": 1, "reason": "probe"},
    ("POST", "/v1/fans/{fan_id}/resume"): {"reason": "probe"},
    ("POST", "/v1/fans/{fan_id}/messages"): {"text": "probe"},
    ("PUT", "/v1/connections/{platform}"): {"webhook_url": "https://a.example/hook", "secret": "a" * 20},
    ("PATCH", "/v1/members/{member_id}"): {"role": "owner"},
    ("POST", "/v1/deliveries/{draft_id}"): {"status": "failed", "error": "probe"},
    ("POST", "/v1/deliveries/{draft_id}/discard"): {"reason": "probe"},
    ("PATCH", "/v1/catalog/{catalog_id}"): {"title": "probe", "status": "retired"},
    # A changes its own profile (and bounds, a new policy version): B's stays as it was
    ("PATCH", "/v1/creator"): {"version": 1, "persona": "probe", "ppv_max_cents": 6000},
    ("POST", "/v1/handoffs/{handoff_id}/assign"): {"member_id": None},
    ("POST", "/v1/handoffs/{handoff_id}/resolve"): {"reason": "probe", "unfreeze": True},
    ("POST", "/v1/fans/{fan_id}/notes"): {"text": "probe"},
    # A asks its own assistant (the loopback model answers nothing useful): nothing of B's comes back
    ("POST", "/v1/assistant/messages"): {"text": "probe: list my fans and segments"},
    ("PUT", "/v1/fans/{fan_id}/tags"): {"tags": ["probe"]},
    # A sets its own alert channels: B's stay as they were
    ("PUT", "/v1/alerts/config"): {
        "webhook_url": "https://a.example/alerts",
        "secret": "a" * 20,
        "events": [],
    },
}


async def _snapshot(creator_id: str) -> str:
    rows = {}
    for table in (
        "drafts",
        "messages",
        "outbox",
        "fans",
        "api_keys",
        "members",
        "member_totp",
        "connections",
        "events",
        "transactions",
        "refunds",
        "audit_log",
        "eval_runs",
        "campaigns",
        "catalog",
        "creator_versions",
        "policy_versions",
        "handoffs",
        "fan_notes",
        "alert_configs",
        "alerts",
        "assistant_turns",
    ):
        rows[table] = await fetch(f"SELECT * FROM {table} WHERE creator_id = %s ORDER BY 1", [creator_id])
    rows["creator"] = await fetch("SELECT * FROM creators WHERE id = %s", [creator_id])
    return json.dumps(rows, default=str, sort_keys=True)


def _agency(key: str, creator_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Creator-Id": creator_id}


async def _probe_every_endpoint(
    app: FastAPI,
    api: httpx.AsyncClient,
    headers: dict[str, str],
    b_ids: dict[str, str],
    secrets_of_b: list[str],
    *,
    all_not_found: bool = False,
) -> list[str]:
    """Every documented endpoint with these headers and B's ids: 404 wherever an id of B's is in the path (and
    everywhere a key is needed when all_not_found), and nothing of B's in any answer."""
    probed: list[str] = []
    for template, operations in app.openapi()["paths"].items():  # every documented endpoint
        params = set(re.findall(r"{(\w+)}", template))
        assert params <= PATH_PARAMS, f"teach this probe about {params - PATH_PARAMS} in {template}"
        for method in sorted(m.upper() for m in operations):
            path = template.format(**{p: b_ids[p] for p in params})
            body = BODIES.get((method, template))
            resp = await api.request(method, path, json=body, headers=headers)
            probed.append(f"{method} {template} -> {resp.status_code}")
            keyed = "security" in operations[method.lower()]
            if params - {"platform"} or (all_not_found and keyed):
                assert resp.status_code == 404, (method, template, resp.status_code, resp.text)
                assert resp.json()["error"]["code"] == "not_found"
            # Whatever A may see, none of it is B's.
            assert not any(s in resp.text for s in secrets_of_b), (method, template, resp.text)
    return probed


async def test_every_endpoint_refuses_another_creators_ids(app: FastAPI, api: httpx.AsyncClient) -> None:
    a, b = await make_tenant("a"), await make_tenant("b")
    # B has a pending draft, fans, keys, members, a connection, events, audit rows.
    r = await api.post(
        "/v1/events",
        json={"event_id": "b-1", "kind": "message", "text": "hi", "fan": {"platform_fan_id": "b-fan"}},
        headers=b.auth(),
    )
    assert r.status_code == 202
    await wait_until("SELECT count(*) = 1 FROM drafts WHERE creator_id = %s", [b.creator_id])
    await api.put(
        "/v1/connections/onlyfans",
        json={"webhook_url": "https://b.example/hook", "secret": "b" * 20},
        headers=b.auth(),
    )
    assert (await api.post("/v1/me/totp", headers=b.auth("manager"))).status_code == 201  # B's TOTP row
    r = await api.put(  # B's alert channels, and an alert of B's
        "/v1/alerts/config",
        json={"webhook_url": "https://b.example/alerts", "secret": "b" * 20, "events": ["handoff"]},
        headers=b.auth("manager"),
    )
    assert r.status_code == 200, r.text
    [draft] = await fetch("SELECT id::text AS id FROM drafts WHERE creator_id = %s", [b.creator_id])
    [key] = await fetch("SELECT id::text AS id FROM api_keys WHERE creator_id = %s LIMIT 1", [b.creator_id])
    b_run = _result("00000000-0000-0000-0000-0000000000b1", {"b-secret-case": True}, 1.0)
    async with db.pool().connection() as conn, conn.transaction():
        await save_run(conn, b_run, creator_id=b.creator_id)  # an eval run made for B only
        cur = await conn.execute(  # a campaign of B's (no recipients: nothing changes B's data meanwhile)
            "INSERT INTO campaigns (creator_id, name, segment, intent, exclusions, excluded, recipients,"
            " workflow_id, created_by) VALUES (%s, 'b-campaign', 'all', 'hi', '{}', '{}', 0, 'campaign-b', %s)"
            " RETURNING id::text AS id",
            [b.creator_id, b.members["manager"]],
        )
        b_campaign = (await cur.fetchone() or {})["id"]
        await conn.execute(  # a fan of B's handed to a human, with an age signal (GET /v1/inbox/handoffs)
            "UPDATE fans SET handoff_at = now(), handoff_reason = 'possible_minor', age_signal_at = now(),"
            " age_signal_text = 'b-secret-age' WHERE id = %s",
            [b.fans[1]],
        )
        cur = await conn.execute(  # ... and its open hand-off
            "INSERT INTO handoffs (creator_id, fan_id, reason) VALUES (%s, %s, 'possible_minor')"
            " RETURNING id::text AS id",
            [b.creator_id, b.fans[1]],
        )
        b_handoff = (await cur.fetchone() or {})["id"]
        await conn.execute(  # B's note and tag on the fan the probes use
            "INSERT INTO fan_notes (creator_id, fan_id, text) VALUES (%s, %s, 'b-secret-note')",
            [b.creator_id, b.fans[0]],
        )
        await conn.execute("UPDATE fans SET tags = '{b-secret-tag}' WHERE id = %s", [b.fans[0]])
        await conn.execute(
            "INSERT INTO alerts (creator_id, event, idempotency_key, payload, status, sent_at)"
            " VALUES (%s, 'handoff', 'b-secret-alert', '{}', 'sent', now())",
            [b.creator_id],
        )
        cur = await conn.execute(  # a hand-off of A's, which A may not give to B's member
            "INSERT INTO handoffs (creator_id, fan_id, reason) VALUES (%s, %s, 'chargeback') RETURNING id::text AS id",
            [a.creator_id, a.fans[0]],
        )
        a_handoff = (await cur.fetchone() or {})["id"]
        await conn.execute(  # a draft B's manager rejected (GET /v1/analytics/team)
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, policy_report,"
            " expires_at, decided_by, decided_at) VALUES (%s, %s, 'b-decided', 'wf-b', 'rejected', 'b', '{}',"
            " now() + interval '1 day', %s, now())",
            [b.creator_id, b.fans[0], b.members["manager"]],
        )
        await conn.execute(  # a thread of B's assistant
            "INSERT INTO assistant_turns (creator_id, thread_id, turn, member_id, text, answer)"
            " VALUES (%s, 'b-thread', 0, 'cli', 'b-secret-thread', 'b-secret-answer')",
            [b.creator_id],
        )
        await conn.execute(  # B's item, known by the platform's id too
            "UPDATE catalog SET platform_item_id = 'b-secret-item' WHERE id = %s", [b.catalog[0]]
        )
    b_ids = {
        "draft_id": draft["id"],
        "fan_id": b.fans[0],
        "key_id": key["id"],
        "member_id": b.members["manager"],
        "platform": "onlyfans",
        "run_id": b_run["run_id"],
        "campaign_id": b_campaign,
        "catalog_id": b.catalog[0],
        "handoff_id": b_handoff,
        "thread_id": "b-thread",
    }
    secrets_of_b = [
        b.creator_id,
        draft["id"],
        *b.fans,
        key["id"],
        *b.members.values(),
        *b.catalog,
        "b.example",
        b_run["run_id"],
        "b-secret-case",
        b_campaign,
        "b-campaign",
        "b-secret-age",
        "b-secret-item",
        b_handoff,
        "b-secret-note",
        "b-secret-tag",
        "b-secret-alert",
        "b-secret-thread",
        "b-secret-answer",
    ]
    before = await _snapshot(b.creator_id)

    probed = await _probe_every_endpoint(app, api, a.auth(), b_ids, secrets_of_b)
    # An agency member who owns A and C (the role that reaches every endpoint's lookup), acting for each of them:
    # B's ids answer 404 too.
    c = await make_tenant("c")
    agency = await make_agency_key(a, "owner", {c.creator_id: "owner"})
    for creator in (a.creator_id, c.creator_id):
        await _probe_every_endpoint(app, api, _agency(agency, creator), b_ids, secrets_of_b)
    # A key naming B in X-Creator-Id, where it holds no role (an agency key, and A's own owner key): every
    # endpoint with a key answers 404, as for an unknown creator.
    for headers in (_agency(agency, b.creator_id), a.auth() | {"X-Creator-Id": b.creator_id}):
        await _probe_every_endpoint(app, api, headers, b_ids, secrets_of_b, all_not_found=True)
    # Ids of B inside query strings and bodies: filtered to nothing, or refused.
    feed = await api.get("/v1/actions", params={"fan_id": b.fans[0]}, headers=a.auth())
    assert feed.status_code == 200 and feed.json()["items"] == []
    buy = await api.post(
        "/v1/events",
        json={
            "event_id": "a-buy",
            "kind": "purchase",
            "amount_cents": 500,
            "catalog_id": b.catalog[0],
            "fan": {"platform_fan_id": "a-fan"},
        },
        headers=a.auth(),
    )
    assert buy.status_code == 422 and buy.json()["error"]["details"]["fields"][0]["field"] == "catalog_id"
    buy = await api.post(
        "/v1/events",
        json={
            "event_id": "a-buy-2",
            "kind": "purchase",
            "amount_cents": 500,
            "platform_item_id": "b-secret-item",
            "fan": {"platform_fan_id": "a-fan"},
        },
        headers=a.auth(),
    )
    assert buy.status_code == 422, buy.text
    assert buy.json()["error"]["details"]["fields"][0]["field"] == "platform_item_id"
    # A's own item may carry the same platform id: it is unique per creator, and stays A's
    mine = await api.post(
        "/v1/catalog",
        json={"title": "A's", "price_cents": 700, "platform_item_id": "b-secret-item"},
        headers=a.auth(),
    )
    assert mine.status_code == 201 and mine.json()["id"] not in b.catalog
    give = await api.post(
        f"/v1/handoffs/{a_handoff}/assign", json={"member_id": b.members["chatter"]}, headers=a.auth()
    )
    assert give.status_code == 422 and give.json()["error"]["details"]["fields"][0]["field"] == "member_id"
    assert (
        await api.get("/v1/handoffs", params={"assignee": b.members["chatter"]}, headers=a.auth())
    ).json()["items"] == []
    tagged = await api.get("/v1/fans", params={"tag": "b-secret-tag"}, headers=a.auth())
    assert tagged.status_code == 200 and tagged.json()["items"] == []
    reach = await api.post(
        "/v1/campaigns",
        json={"name": "n", "segment": "all", "intent": "hi", "tag": "b-secret-tag", "dry_run": True},
        headers=a.auth(),
    )
    assert reach.status_code == 202 and reach.json()["recipients"] == 0, reach.text
    key_for_b = await api.post("/v1/keys", json={"member_id": b.members["owner"]}, headers=a.auth())
    assert key_for_b.status_code == 404
    assert await _snapshot(b.creator_id) == before  # nothing of B's changed
    assert len([p for p in probed if "{" in p]) >= 6, probed


async def test_an_import_writes_only_the_importers_history(app: FastAPI) -> None:
    """A's import naming B's event ids, fan ids and catalog item: A's own rows, B's untouched."""
    from tests.api.conftest import client_for

    a, b = await make_tenant("a"), await make_tenant("b")
    line = {
        "event_id": "shared-1",
        "kind": "tip",
        "amount_cents": 300,
        "occurred_at": "2026-01-02T03:04:05Z",
        "fan": {"platform_fan_id": "shared-fan", "display_name": "B's name"},
    }
    async with client_for(app) as api:
        r = await api.post("/v1/imports", content=json.dumps(line).encode(), headers=b.auth("manager"))
        assert r.json()["imported"] == 1
        before = await _snapshot(b.creator_id)
        a_lines = [
            {**line, "fan": {"platform_fan_id": "shared-fan", "display_name": "A's name"}},
            {**line, "event_id": "a-buy", "kind": "purchase", "catalog_id": b.catalog[0]},
        ]
        body = "\n".join(json.dumps(x) for x in a_lines).encode()
        r = await api.post("/v1/imports", content=body, headers=a.auth("manager"))
    out = r.json()
    assert (out["imported"], out["duplicates"], out["rejected"]) == (1, 0, 1), out
    assert out["errors"] == [{"line": 2, "field": "catalog_id", "reason": "no such catalog item"}]
    assert not any(s in r.text for s in (b.creator_id, *b.catalog, "B's name"))
    [fan] = await fetch(
        "SELECT creator_id::text AS c, display_name FROM fans WHERE platform_fan_id = 'shared-fan' AND creator_id = %s",
        [a.creator_id],
    )
    assert fan == {"c": a.creator_id, "display_name": "A's name"}
    assert await _snapshot(b.creator_id) == before


async def test_an_instagram_webhook_reaches_only_the_creator_who_connected_the_account(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """The public webhook has no key: the account a notification names decides the creator. B's account's
    messages are B's; A cannot take B's account; A's connection list shows nothing of B's."""
    from tests.api.conftest import client_for, make_app
    from tests.fakes.graph import FakeGraph

    s = settings.model_copy(update={"instagram_app_secret": SecretStr("app-secret-0123456789")})
    configure(s)
    app = make_app(temporal_env, s)
    graph = FakeGraph("app-secret-0123456789")
    a, b = await make_tenant("a"), await make_tenant("b")
    try:
        async with client_for(app) as api:
            for t, account in ((a, "1001"), (b, "2002")):
                r = await api.put(
                    "/v1/connections/instagram",
                    json={"account_id": account, "access_token": f"token-of-{t.creator_id}"},
                    headers=t.auth(),
                )
                assert r.status_code == 200, r.text
            before = await _snapshot(b.creator_id)
            taken = await api.put(
                "/v1/connections/instagram",
                json={"account_id": "2002", "access_token": "a-wants-b-account"},
                headers=a.auth(),
            )
            assert taken.status_code == 409 and taken.json()["error"]["code"] == "account_taken"
            assert b.creator_id not in taken.text
            mine = (await api.get("/v1/connections", headers=a.auth())).json()["items"]
            assert [c["account_id"] for c in mine] == ["1001"] and "2002" not in json.dumps(mine)
            assert await _snapshot(b.creator_id) == before
            body, headers = graph.user_writes("2002", "fan-of-b", "for b only", mid="mid-b-1")
            r = await api.post("/v1/connectors/instagram/webhook", content=body, headers=headers | a.auth())
            assert r.status_code == 200 and r.json()["stored"] == 1, r.text
            body, headers = graph.user_writes("3003", "fan-of-nobody", "nobody's", mid="mid-x-1")
            r = await api.post("/v1/connectors/instagram/webhook", content=body, headers=headers)
            assert r.json() == {"stored": 0, "ignored": 1, "messages": 1}
    finally:
        await app.state.fresh_cache.close()
    assert await fetch("SELECT 1 FROM events WHERE creator_id = %s", [a.creator_id]) == []
    [ev] = await fetch("SELECT platform_event_id FROM events WHERE creator_id = %s", [b.creator_id])
    assert ev == {"platform_event_id": "mid-b-1"}
    assert await fetch("SELECT 1 FROM events WHERE platform_event_id = 'mid-x-1'", []) == []


async def test_a_bridge_event_is_stored_only_for_the_creator_whose_secret_signed_it(
    api: httpx.AsyncClient,
) -> None:
    """No key: the creator named in X-Huntaze-Creator and the secret of that creator's connection decide. A's
    secret cannot write as B, nor B's secret as A."""
    from connectors.bridge import CREATOR_HEADER, signed_headers

    a, b = await make_tenant("a"), await make_tenant("b")
    for t, secret in ((a, "a-secret-0123456789"), (b, "b-secret-0123456789")):
        r = await api.put(
            "/v1/connections/onlyfans",
            json={"webhook_url": "https://x.example/send", "secret": secret},
            headers=t.auth(),
        )
        assert r.status_code == 200, r.text
    before = await _snapshot(b.creator_id)
    raw = json.dumps(
        {
            "event_id": "x-1",
            "kind": "message",
            "text": "hi",
            "fan": {"platform_fan_id": "f", "platform": "onlyfans"},
        }
    ).encode()
    for creator, secret in ((b.creator_id, "a-secret-0123456789"), (a.creator_id, "b-secret-0123456789")):
        r = await api.post(
            "/v1/connectors/bridge/onlyfans/events",
            content=raw,
            headers=signed_headers(secret, raw, **{CREATOR_HEADER: creator}) | a.auth(),
        )
        assert r.status_code == 401 and r.json()["error"]["code"] == "bad_signature", r.text
    r = await api.post(
        "/v1/connectors/bridge/onlyfans/events",
        content=raw,
        headers=signed_headers("a-secret-0123456789", raw, **{CREATOR_HEADER: a.creator_id}),
    )
    assert r.status_code == 202 and b.creator_id not in r.text, r.text
    assert await _snapshot(b.creator_id) == before
    assert len(await fetch("SELECT 1 FROM events WHERE creator_id = %s", [a.creator_id])) == 1


async def test_an_assistant_stream_on_another_creators_thread_id_is_a_thread_of_ones_own(
    api: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    """The assistant's event stream (Accept: text/event-stream): A naming B's thread id gets a thread of A's own;
    neither B's request nor any of B's rows reaches A's model or A's stream. B's Idempotency-Key sent by A is A's
    own key (not B's stored turn, nor a conflict with it)."""
    a, b = await make_tenant("a"), await make_tenant("b")
    fake_llm.script({"agents": ["dm"]}, tool_calls(("find_fans", {"name": "Fan"})), "Found them.")
    key = {"Idempotency-Key": "k1"}
    r = await api.post(
        "/v1/assistant/messages",
        json={"text": "b-secret-question", "thread_id": "t1"},
        headers=b.auth() | key,
    )
    assert r.status_code == 200, r.text
    fake_llm.script({"agents": ["dm"]}, tool_calls(("find_fans", {"name": "Fan"})), "Found them.")
    before = fake_llm.calls
    r = await api.post(
        "/v1/assistant/messages",
        json={"text": "who are my fans?", "thread_id": "t1"},
        headers={**a.auth("viewer"), **key, "Accept": "text/event-stream"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert "event: answer" in r.text and a.fans[0] in r.text
    assert not any(s in r.text for s in (b.creator_id, *b.fans, "b-secret-question"))
    asked = json.dumps(list(fake_llm.requests)[-(fake_llm.calls - before) :])
    assert "b-secret-question" not in asked and not any(f in asked for f in b.fans)
    # each creator's stored thread "t1" holds its own turn only
    for who, mine, theirs in (
        (a, "who are my fans?", "b-secret-question"),
        (b, "b-secret-question", "my fans"),
    ):
        r = await api.get("/v1/assistant/threads/t1", headers=who.auth("viewer"))
        assert r.status_code == 200 and [x["text"] for x in r.json()["items"]] == [mine], r.text
        listed = (await api.get("/v1/assistant/threads", headers=who.auth("viewer"))).text
        assert mine in listed and theirs not in listed
