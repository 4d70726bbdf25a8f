"""Inputs the schema admits but Postgres cannot store or compare (found by the schemathesis run): a 422 with the
usual error body, never a 500, and nothing stored."""

from __future__ import annotations

import base64
import json

import httpx
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from connectors.instagram import sign
from core.settings import Settings, configure
from tests.factories import make_tenant
from tests.workflows.helpers import fetch


async def test_nul_characters_and_oversized_cursors_are_bad_requests(api: httpx.AsyncClient) -> None:
    t = await make_tenant("bad")
    for path, body in (
        ("/v1/campaigns", {"name": "a\u0000b", "segment": "all", "intent": "x"}),
        ("/v1/catalog", {"title": "a\u0000b", "price_cents": 500}),
        ("/v1/catalog", {"title": "t", "price_cents": 500, "tags": ["a\u0000"]}),
        (
            "/v1/events",
            {"event_id": "e-1", "kind": "message", "text": "hi\u0000", "fan": {"platform_fan_id": "x"}},
        ),
        (f"/v1/fans/{t.fans[0]}/messages", {"text": "hi\u0000"}),
    ):
        r = await api.post(path, json=body, headers=t.auth("manager"))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "validation_error" and "NUL" in r.json()["error"]["message"]
    assert await fetch("SELECT 1 FROM events WHERE creator_id = %s", [t.creator_id]) == []
    assert await fetch("SELECT 1 FROM drafts WHERE creator_id = %s", [t.creator_id]) == []
    assert await fetch("SELECT 1 FROM campaigns WHERE creator_id = %s", [t.creator_id]) == []
    assert len(await fetch("SELECT 1 FROM catalog WHERE creator_id = %s", [t.creator_id])) == len(t.catalog)
    r = await api.patch("/v1/creator", json={"version": 1, "voice_notes": "\u0000"}, headers=t.auth())
    assert r.status_code == 422 and "NUL" in r.json()["error"]["message"]
    r = await api.patch("/v1/creator", json={"version": 1, "languages": ["en\u0000"]}, headers=t.auth())
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "languages"
    assert await fetch("SELECT 1 FROM creator_versions WHERE creator_id = %s", [t.creator_id]) == []
    assert (
        await fetch("SELECT 1 FROM fans WHERE creator_id = %s AND platform_fan_id = 'x'", [t.creator_id])
        == []
    )
    for path, params in (
        ("/v1/conversations", {"assignee": "me\u0000"}),
        ("/v1/conversations", {"state": "needs_reply\u0000"}),
        ("/v1/conversations", {"cursor": "WzEsICJcdTAwMDAiLCAid2FpdGluZyJd"}),  # [1, "\u0000", "waiting"]
        ("/v1/handoffs", {"assignee": "\u0000"}),
        ("/v1/analytics/team", {"from": "\u0000"}),
    ):
        r = await api.get(path, params=params, headers=t.auth())
        assert r.status_code == 422, (params, r.text)
        [name] = params
        assert r.json()["error"]["details"]["fields"][0]["field"] in (name, f"query.{name}"), r.text
    for path in ("/v1/actions", "/v1/audit"):
        r = await api.get(path, params={"cursor": str(2**70)}, headers=t.auth())
        assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "query.cursor"


async def test_event_times_outside_the_window_are_refused_naming_the_field(api: httpx.AsyncClient) -> None:
    """A year-1 `occurred_at` once poisoned every later segmentation refresh of its creator."""
    from datetime import UTC, datetime, timedelta

    t = await make_tenant("when")
    now = datetime.now(UTC)
    for i, at in enumerate(
        (
            "0001-01-01T00:00:00Z",
            "1999-12-31T23:59:59Z",
            (now + timedelta(days=2)).isoformat(),
            "9999-12-31T00:00:00Z",
        )
    ):
        r = await api.post(
            "/v1/events",
            json={
                "event_id": f"bad-{i}",
                "kind": "tip",
                "amount_cents": 500,
                "occurred_at": at,
                "fan": {"platform_fan_id": "f"},
            },
            headers=t.auth("manager"),
        )
        assert r.status_code == 422, (at, r.text)
        fields = r.json()["error"]["details"]["fields"]
        assert fields[0]["field"] == "occurred_at" and "2000-01-01" in fields[0]["message"], fields
    assert await fetch("SELECT 1 FROM events WHERE creator_id = %s", [t.creator_id]) == []
    for i, at in enumerate(("2000-01-01T00:00:00Z", (now + timedelta(hours=20)).isoformat())):
        r = await api.post(
            "/v1/events",
            json={
                "event_id": f"ok-{i}",
                "kind": "tip",
                "amount_cents": 500,
                "occurred_at": at,
                "fan": {"platform_fan_id": "f"},
            },
            headers=t.auth("manager"),
        )
        assert r.status_code == 202, (at, r.text)


async def test_a_receipt_with_nul_characters_is_a_bad_request(api: httpx.AsyncClient) -> None:
    from core import db

    t = await make_tenant("nul")
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, policy_report, expires_at,"
            " decided_by) VALUES (%s, %s, 'k', 'w', 'sent', 'hi', '{}', now(), %s) RETURNING id::text AS id",
            [t.creator_id, t.fans[0], t.members["owner"]],
        )
        draft = (await cur.fetchone() or {})["id"]
        await conn.execute(
            "INSERT INTO outbox (creator_id, draft_id, fan_id, platform, payload) VALUES (%s, %s, %s, 'onlyfans', '{}')",
            [t.creator_id, draft, t.fans[0]],
        )
    for body in (
        {"status": "failed", "error": "bad\u0000"},
        {"status": "delivered", "platform_message_id": "p\u0000"},
    ):
        r = await api.post(f"/v1/deliveries/{draft}", json=body, headers=t.auth("manager"))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "validation_error" and "NUL" in r.json()["error"]["message"]
    rows = await fetch("SELECT status, receipt, receipt_error FROM outbox WHERE draft_id = %s", [draft])
    assert rows == [{"status": "pending", "receipt": None, "receipt_error": None}]
    assert await fetch("SELECT 1 FROM agent_actions WHERE draft_id = %s", [draft]) == []


async def test_import_lines_the_database_cannot_store_are_refused_by_number(api: httpx.AsyncClient) -> None:
    """NUL characters, bytes that are not UTF-8 and an endless line: refused lines in a 200, never a 500, and the
    good line still goes in."""
    t = await make_tenant("badimport")
    ok = b'{"event_id": "ok", "kind": "tip", "amount_cents": 5, "occurred_at": "2026-01-01T00:00:00Z", "fan": {"platform_fan_id": "f"}}'
    body = b"\n".join(
        [
            ok.replace(b'"ok"', b'"n\\u0000ul"'),
            ok.replace(b'"f"', b'"\xff\xfe"'),
            b'{"event_id": "' + b"x" * 200_000 + b'"}',
            ok,
        ]
    )
    r = await api.post("/v1/imports", content=body, headers=t.auth("manager"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["imported"], out["rejected"]) == (1, 3)
    assert [(e["line"], e["field"]) for e in out["errors"]] == [(1, "event_id"), (2, ""), (3, "")]
    assert [
        e["platform_event_id"]
        for e in await fetch("SELECT platform_event_id FROM events WHERE creator_id = %s", [t.creator_id])
    ] == ["ok"]


async def test_a_handoff_resolution_with_nul_characters_is_a_bad_request(api: httpx.AsyncClient) -> None:
    from core import db

    t = await make_tenant("nulhand")
    async with db.pool().connection() as conn:
        await conn.execute("UPDATE fans SET handoff_at = now() WHERE id = %s", [t.fans[0]])
        cur = await conn.execute(
            "INSERT INTO handoffs (creator_id, fan_id) VALUES (%s, %s) RETURNING id::text AS id",
            [t.creator_id, t.fans[0]],
        )
        handoff = (await cur.fetchone() or {})["id"]
    for body in ({"reason": "a\u0000b", "unfreeze": False}, {"reason": "a\u0000b", "unfreeze": True}):
        r = await api.post(f"/v1/handoffs/{handoff}/resolve", json=body, headers=t.auth("manager"))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "validation_error" and "NUL" in r.json()["error"]["message"]
    assert await fetch("SELECT resolved_at FROM handoffs WHERE id = %s", [handoff]) == [{"resolved_at": None}]
    assert await fetch("SELECT 1 FROM fans WHERE id = %s AND handoff_at IS NOT NULL", [t.fans[0]]) != []
    assert await fetch("SELECT 1 FROM audit_log WHERE creator_id = %s", [t.creator_id]) == []


async def test_notes_and_tags_with_nul_characters_are_bad_requests(api: httpx.AsyncClient) -> None:
    t = await make_tenant("nulnote")
    r = await api.post(f"/v1/fans/{t.fans[0]}/notes", json={"text": "a\u0000b"}, headers=t.auth("chatter"))
    assert r.status_code == 422 and "NUL" in r.json()["error"]["message"], r.text
    r = await api.put(f"/v1/fans/{t.fans[0]}/tags", json={"tags": ["a\u0000"]}, headers=t.auth("chatter"))
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "tags.0", r.text
    r = await api.get("/v1/fans", params={"tag": "a\u0000"}, headers=t.auth())
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "query.tag", r.text
    assert await fetch("SELECT 1 FROM fan_notes WHERE creator_id = %s", [t.creator_id]) == []
    assert await fetch("SELECT 1 FROM fans WHERE creator_id = %s AND tags <> '{}'", [t.creator_id]) == []


async def test_bad_alert_configs_are_refused_naming_the_field(api: httpx.AsyncClient) -> None:
    t = await make_tenant("badalert", fans=0)
    secret = "s" * 20
    cases = [
        ({"webhook_url": "https://a.example/h", "events": ["handoff"]}, "secret"),
        ({"secret": secret, "events": []}, "secret"),
        ({"webhook_url": "https://a.example/h", "secret": "short", "events": []}, "secret"),
        ({"webhook_url": "ftp://a.example/h", "secret": secret, "events": []}, "webhook_url"),
        ({"webhook_url": "https://a.example/h", "secret": secret, "events": ["everything"]}, "events.0"),
        ({"events": ["handoff"], "email": "x@y.z"}, "email"),  # no SMTP server in the settings
        ({"events": ["handoff"], "email": "not an address"}, "email"),
        ({"events": ["handoff"], "sms": "+15550100"}, "sms"),
        ({"events": "handoff"}, "events"),
    ]
    for body, field in cases:
        r = await api.put("/v1/alerts/config", json=body, headers=t.auth("manager"))
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"]["fields"][0]["field"] == field, (body, r.text)
    assert await fetch("SELECT 1 FROM alert_configs WHERE creator_id = %s", [t.creator_id]) == []
    assert await fetch("SELECT 1 FROM audit_log WHERE creator_id = %s", [t.creator_id]) == []


async def test_agency_endpoints_refuse_bad_input_naming_it(api: httpx.AsyncClient) -> None:
    t = await make_tenant("agency-bad")
    for params, field in (
        ({"cursor": "WzEsICJcdTAwMDAiXQ=="}, "cursor"),  # [1, "\u0000"]
        ({"cursor": "\u0000"}, "cursor"),
        ({"limit": "0"}, "query.limit"),
        ({"status": "bogus"}, "query.status"),
    ):
        r = await api.get("/v1/agency/inbox", params=params, headers=t.auth("viewer"))
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"]["details"]["fields"][0]["field"].startswith(field), r.text
    for value in (b"not-a-uuid", b"\xe9", b""):
        for path in ("/v1/creators", "/v1/inbox"):
            headers = [(b"Authorization", f"Bearer {t.keys['owner']}".encode()), (b"X-Creator-Id", value)]
            r = await api.get(path, headers=headers)
            assert r.status_code == 422, (value, r.text)
            assert r.json()["error"]["details"]["fields"][0]["field"] == "X-Creator-Id"


async def test_the_public_instagram_webhook_refuses_what_it_cannot_verify_or_read(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Authenticated by Meta's signature, not a key: unsigned, badly signed, unconfigured → refused, nothing
    stored; signed but not the documented shape → 400 naming the part; NUL characters are dropped."""
    from tests.api.conftest import client_for, make_app
    from tests.fakes.graph import FakeGraph

    hook = "/v1/connectors/instagram/webhook"
    graph = FakeGraph("app-secret-0123456789")
    t = await make_tenant("bad")
    plain = make_app(temporal_env, settings)  # no app secret configured
    async with client_for(plain) as api:
        body, headers = graph.user_writes("4004", "u", "hi")
        r = await api.post(hook, content=body, headers=headers)
        assert r.status_code == 503 and r.json()["error"]["code"] == "connector_not_configured"
        r = await api.get(
            hook, params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"}
        )
        assert r.status_code == 503
    await plain.state.fresh_cache.close()
    s = settings.model_copy(update={"instagram_app_secret": SecretStr("app-secret-0123456789")})
    configure(s)
    app = make_app(temporal_env, s)
    try:
        async with client_for(app) as api:
            r = await api.put(
                "/v1/connections/instagram",
                json={
                    "account_id": "4004",
                    "access_token": "t" * 20,
                    "token_expires_at": "1999-01-01T00:00:00Z",
                },
                headers=t.auth(),
            )
            assert r.status_code == 422 and "token_expires_at" in r.text
            for bad_body in (
                {"account_id": "4004"},
                {"webhook_url": "https://x.example/h", "secret": "s" * 20},
            ):
                r = await api.put("/v1/connections/instagram", json=bad_body, headers=t.auth())
                assert r.status_code == 422, r.text
            r = await api.put(
                "/v1/connections/onlyfans",
                json={"account_id": "4004", "access_token": "t" * 20},
                headers=t.auth(),
            )
            assert r.status_code == 422 and "webhook_url and secret" in r.json()["error"]["message"]
            r = await api.put(
                "/v1/connections/instagram",
                json={"account_id": "4004", "access_token": "t" * 20},
                headers=t.auth(),
            )
            assert r.status_code == 200, r.text
            body, headers = graph.user_writes("4004", "u", "hi")
            for sig in (
                None,
                "",
                "sha256=",
                "sha1=abc",
                "sha256=" + "f" * 64,
                headers["X-Hub-Signature-256"].upper(),
            ):
                h = {"Content-Type": "application/json"} | (
                    {"X-Hub-Signature-256": sig} if sig is not None else {}
                )
                r = await api.post(hook, content=body, headers=h)
                assert r.status_code == 401 and r.json()["error"]["code"] == "bad_signature", (sig, r.text)

            def signed(raw: bytes) -> dict[str, str]:
                return {
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": sign("app-secret-0123456789", raw),
                }

            old = json.loads(body)
            old["entry"][0]["messaging"][0]["timestamp"] = (
                946684799000 - 86400000
            )  # 1999: before any real message
            for raw, part in (
                (b"{", "not JSON"),
                (b'{"object": "instagram", "entry": [{"id": {}}]}', "entry[0].id"),
                (json.dumps(old).encode(), "occurred_at"),
            ):
                r = await api.post(hook, content=raw, headers=signed(raw))
                assert r.status_code == 400 and r.json()["error"]["code"] == "bad_payload", r.text
                assert part in r.json()["error"]["message"]
            assert await fetch("SELECT 1 FROM events WHERE creator_id = %s", [t.creator_id]) == []
            nul = json.loads(body)
            nul["entry"][0]["messaging"][0]["message"]["text"] = "h\u0000i"
            raw = json.dumps(nul).encode()
            r = await api.post(hook, content=raw, headers=signed(raw))
            assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    finally:
        await app.state.fresh_cache.close()
    [msg] = await fetch("SELECT text FROM messages WHERE creator_id = %s", [t.creator_id])
    assert msg == {"text": "hi"}


async def test_the_bridge_event_endpoint_refuses_bad_events_naming_the_field(api: httpx.AsyncClient) -> None:
    """Signed with the connection's secret, not a key: a valid signature over a bad event is a 422 naming the field
    (the fan's platform must be the bridge's), and nothing is stored."""
    from connectors.bridge import CREATOR_HEADER, signed_headers

    t = await make_tenant("badbridge")
    secret = "bridge-secret-0123456789"
    r = await api.put(
        "/v1/connections/onlyfans",
        json={"webhook_url": "https://t.example/send", "secret": secret},
        headers=t.auth(),
    )
    assert r.status_code == 200, r.text
    fan = {"platform_fan_id": "f", "platform": "onlyfans"}
    for event, field in (
        ({"event_id": "e", "kind": "message", "fan": fan}, "body"),
        ({"event_id": "e", "kind": "nope", "text": "hi", "fan": fan}, "kind"),
        (
            {"event_id": "e", "kind": "message", "text": "hi", "fan": {**fan, "platform": "fansly"}},
            "fan.platform",
        ),
        (
            {
                "event_id": "e",
                "kind": "message",
                "text": "hi",
                "fan": fan,
                "occurred_at": "1999-01-01T00:00:00Z",
            },
            "occurred_at",
        ),
    ):
        raw = json.dumps(event).encode()
        r = await api.post(
            "/v1/connectors/bridge/onlyfans/events",
            content=raw,
            headers=signed_headers(secret, raw, **{CREATOR_HEADER: t.creator_id}),
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", (event, r.text)
        assert any(
            f["field"].endswith(field) or field == "body" for f in r.json()["error"]["details"]["fields"]
        ), r.text
    raw = b"{not json"
    r = await api.post(
        "/v1/connectors/bridge/onlyfans/events",
        content=raw,
        headers=signed_headers(secret, raw, **{CREATOR_HEADER: t.creator_id}),
    )
    assert r.status_code == 422, r.text
    assert await fetch("SELECT 1 FROM events WHERE creator_id = %s", [t.creator_id]) == []


async def test_an_assistant_stream_refuses_a_bad_body_as_json_before_streaming(
    api: httpx.AsyncClient,
) -> None:
    """POST /v1/assistant/messages with Accept: text/event-stream: no key, an empty or NUL text, a bad thread id,
    an unknown field or a malformed Idempotency-Key are the JSON endpoint's errors, not a stream."""
    t = await make_tenant("sse")
    sse = {"Accept": "text/event-stream"}
    r = await api.post("/v1/assistant/messages", json={"text": "hi"}, headers=sse)
    assert r.status_code == 401 and r.json()["error"]["code"]
    for body in (
        {"text": ""},
        {"text": "a\u0000b"},
        {"text": "hi", "thread_id": "../x"},
        {"text": "hi", "x": 1},
    ):
        r = await api.post("/v1/assistant/messages", json=body, headers={**t.auth("viewer"), **sse})
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["error"]["code"] == "validation_error"
    for key in ("a b", "k" * 201):  # a malformed Idempotency-Key, streamed or not, is refused naming it
        for accept in (sse, {}):
            r = await api.post(
                "/v1/assistant/messages",
                json={"text": "hi"},
                headers={**t.auth("viewer"), **accept, "Idempotency-Key": key},
            )
            assert r.status_code == 422, (key, r.text)
            assert r.json()["error"]["details"]["fields"][0]["field"] == "header.Idempotency-Key", r.text


async def test_assistant_threads_refuse_bad_ids_and_cursors_naming_them(api: httpx.AsyncClient) -> None:
    """GET /v1/assistant/threads[/{thread_id}]: a thread id outside the thread alphabet, a cursor that is not
    one of ours (garbage, a NUL thread id inside, a turn number out of range) or a bad limit is a 422 naming it."""
    t = await make_tenant("badthreads")

    def b64(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()

    for path, params, field in (
        ("/v1/assistant/threads", {"cursor": "not-a-cursor"}, "cursor"),
        ("/v1/assistant/threads", {"cursor": b64(["2026-01-01T00:00:00+00:00", "a\u0000"])}, "cursor"),
        ("/v1/assistant/threads", {"cursor": b64(["yesterday", "t1"])}, "cursor"),
        ("/v1/assistant/threads", {"cursor": b64([1, 2, 3])}, "cursor"),
        ("/v1/assistant/threads", {"limit": 0}, "limit"),
        ("/v1/assistant/threads/t1", {"cursor": str(2**40)}, "cursor"),
        ("/v1/assistant/threads/t1", {"cursor": "-1"}, "cursor"),
        ("/v1/assistant/threads/t1", {"limit": 201}, "limit"),
        ("/v1/assistant/threads/a%20b", {}, "thread_id"),
        ("/v1/assistant/threads/" + "a" * 65, {}, "thread_id"),
    ):
        r = await api.get(path, params=params, headers=t.auth("viewer"))
        assert r.status_code == 422, (path, params, r.text)
        assert r.json()["error"]["code"] == "validation_error"
        assert field in r.json()["error"]["details"]["fields"][0]["field"], (path, params, r.text)
