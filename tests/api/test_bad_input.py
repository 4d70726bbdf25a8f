"""Inputs the schema admits but Postgres cannot store or compare (found by the schemathesis run): a 422 with the
usual error body, never a 500, and nothing stored."""

from __future__ import annotations

import httpx

from tests.factories import make_tenant
from tests.workflows.helpers import fetch


async def test_nul_characters_and_oversized_cursors_are_bad_requests(api: httpx.AsyncClient) -> None:
    t = await make_tenant("bad")
    for path, body in (
        ("/v1/campaigns", {"name": "a\u0000b", "segment": "all", "intent": "x"}),
        (
            "/v1/events",
            {"event_id": "e-1", "kind": "message", "text": "hi\u0000", "fan": {"platform_fan_id": "x"}},
        ),
    ):
        r = await api.post(path, json=body, headers=t.auth("manager"))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "validation_error" and "NUL" in r.json()["error"]["message"]
    assert await fetch("SELECT 1 FROM events WHERE creator_id = %s", [t.creator_id]) == []
    assert await fetch("SELECT 1 FROM campaigns WHERE creator_id = %s", [t.creator_id]) == []
    assert (
        await fetch("SELECT 1 FROM fans WHERE creator_id = %s AND platform_fan_id = 'x'", [t.creator_id])
        == []
    )
    for path in ("/v1/actions", "/v1/audit"):
        r = await api.get(path, params={"cursor": str(2**70)}, headers=t.auth())
        assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "query.cursor"
