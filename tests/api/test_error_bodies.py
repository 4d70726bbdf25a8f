"""Error bodies that point at the problem: a malformed JSON body by line and column, a value outside an enumerated
query parameter naming the parameter and the allowed values, a policy conflict saying what its outcome means."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from core.types import OUTCOME_MEANINGS, ActionKind, AuditAction, PolicyOutcome
from tests.api.test_api import _pending, msg
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch

# String query parameters without a closed vocabulary, and why: every other one is an enumeration, a format or a
# pattern, so a parameter added later is either validated or listed here.
FREE_TEXT_QUERY = {
    ("/v1/inbox", "cursor"): "opaque cursor, checked when decoded",
    ("/v1/agency/inbox", "cursor"): "opaque cursor, checked when decoded",
    ("/v1/fans", "cursor"): "opaque cursor, checked when decoded",
    ("/v1/followups", "cursor"): "opaque cursor, checked when decoded",
    ("/v1/campaigns", "cursor"): "opaque cursor, checked when decoded",
    ("/v1/evals/runs", "cursor"): "opaque cursor, checked when decoded",
    ("/v1/catalog", "cursor"): "opaque cursor, checked when decoded",
    ("/v1/handoffs", "cursor"): "opaque cursor, checked when decoded",
    ("/v1/conversations", "cursor"): "opaque cursor, checked when decoded",
    ("/v1/assistant/threads", "cursor"): "opaque cursor, checked when decoded",
    ("/v1/handoffs", "assignee"): "`me`, `none` or a member id, checked when read",
    ("/v1/conversations", "assignee"): "`me`, `none` or a member id, checked when read",
    (
        "/v1/evals/runs",
        "suite",
    ): "suite names are data (evals/suites/), and stored runs keep names removed since",
    ("/v1/connectors/instagram/webhook", "hub.mode"): "Meta's verification handshake, compared when read",
    (
        "/v1/connectors/instagram/webhook",
        "hub.verify_token",
    ): "Meta's verification handshake, compared when read",
    ("/v1/connectors/instagram/webhook", "hub.challenge"): "Meta's verification handshake, echoed back",
}


async def test_malformed_json_names_line_and_column(api: httpx.AsyncClient) -> None:
    t = await make_tenant("json")
    body = '{\n  "event_id": "e-1",\n  "kind": "message"\n  "fan": {"platform_fan_id": "x"}\n}'
    r = await api.post(
        "/v1/events", content=body, headers={**t.auth("manager"), "Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    [field] = r.json()["error"]["details"]["fields"]
    assert field["field"] == "body" and field["type"] == "json_invalid"
    assert (field["line"], field["column"]) == (4, 3), field
    assert field["message"] == "malformed JSON at line 4, column 3: Expecting ',' delimiter"
    # on the first line too, and a body cut short points past its end
    r = await api.post(
        "/v1/events",
        content='{"event_id": ',
        headers={**t.auth("manager"), "Content-Type": "application/json"},
    )
    [field] = r.json()["error"]["details"]["fields"]
    assert (field["line"], field["column"]) == (1, 14), field
    # bytes that are not UTF-8 text: where, too
    r = await api.post(
        "/v1/events",
        content=b'{"event_id": "e-\xff"}',
        headers={**t.auth("manager"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    [field] = r.json()["error"]["details"]["fields"]
    assert field["field"] == "body" and field["type"] == "unicode_error" and field["byte"] == 17, field
    assert await fetch("SELECT 1 FROM events WHERE creator_id = %s", [t.creator_id]) == []


def _enum_values(schema: dict[str, Any], components: dict[str, Any]) -> list[str] | None:
    for s in [schema, *schema.get("anyOf", [])]:
        if "$ref" in s:
            s = components[s["$ref"].rsplit("/", 1)[1]]
        if "items" in s:
            return _enum_values(s["items"], components)
        if "enum" in s:
            return list(s["enum"])
    return None


def _free_string(schema: dict[str, Any]) -> bool:
    for s in [schema, *schema.get("anyOf", [])]:
        if s.get("type") == "string" and not ({"enum", "format", "pattern"} & s.keys()):
            return True
    return False


async def test_every_enumerated_query_parameter_refuses_other_values(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    t = await make_tenant("enum")
    spec = app.openapi()
    components = spec["components"]["schemas"]
    checked, free = [], []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None or "{" in path:
            continue
        for p in op.get("parameters", []):
            if p["in"] != "query":
                continue
            allowed = _enum_values(p["schema"], components)
            if allowed is None:
                if _free_string(p["schema"]):
                    free.append((path, p["name"]))
                continue
            for bad in ("nope", ""):
                r = await api.get(path, params={p["name"]: bad}, headers=t.auth("owner"))
                assert r.status_code == 422, (path, p["name"], bad, r.text)
                [field] = r.json()["error"]["details"]["fields"]
                assert field["field"].startswith(f"query.{p['name']}"), field
                assert field["allowed"] == allowed, (field, allowed)
            checked.append((path, p["name"]))
    assert sorted(free) == sorted(FREE_TEXT_QUERY), free
    assert ("/v1/actions", "kind") in checked and ("/v1/audit", "action") in checked, checked
    r = await api.get("/v1/actions", params={"kind": "bogus"}, headers=t.auth())
    field = r.json()["error"]["details"]["fields"][0]
    assert field["field"] == "query.kind" and "'event_received'" in field["message"]
    assert field["allowed"] == [k.value for k in ActionKind]
    # the vocabulary's values filter as before
    assert (await api.get("/v1/actions", params={"kind": "drafted"}, headers=t.auth())).status_code == 200
    r = await api.get("/v1/audit", params={"action": AuditAction.KEY_CREATED.value}, headers=t.auth("owner"))
    assert r.status_code == 200, r.text


async def test_a_policy_conflict_explains_its_outcome(api: httpx.AsyncClient, fake_llm: FakeOpenAI) -> None:
    t = await make_tenant("outcome")
    fake_llm.script({"text": "add me on snapchat: mia_rose", "offer": None, "rationale": ""})
    await api.post("/v1/events", json=msg("o-1", fan="of-o"), headers=t.auth())
    [blocked] = await _pending(api, t)
    cases: tuple[tuple[str, PolicyOutcome], ...] = (
        ("text me 555 201 3344", "fix"),
        ("meet me at the hotel tonight", "block"),
    )
    for text, outcome in cases:
        r = await api.post(
            f"/v1/drafts/{blocked['id']}/approve", json={"version": 1, "text": text}, headers=t.auth()
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "policy_blocked", r.text
        details = r.json()["error"]["details"]
        assert details["policy"]["outcome"] == outcome, details
        assert details["explanation"] == f"policy outcome {outcome!r}: {OUTCOME_MEANINGS[outcome]}"
    assert await fetch("SELECT 1 FROM outbox", []) == []
