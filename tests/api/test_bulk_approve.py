"""POST /v1/drafts/approve: several drafts approved at once, each decided on its own; partial failures are
reported per draft and never undo or block the others; nothing is sent without its approval."""

from __future__ import annotations

import uuid

import httpx

from tests.api.test_api import _pending, msg
from tests.factories import make_tenant
from tests.workflows.helpers import fetch, wait_until


async def test_bulk_approve_reports_each_draft(api: httpx.AsyncClient) -> None:
    t, other = await make_tenant("bulk"), await make_tenant("other")
    for i in range(4):
        r = await api.post("/v1/events", json=msg(f"b-{i}", fan=f"of-{i}"), headers=t.auth())
        assert r.status_code == 202, r.text
    assert (await api.post("/v1/events", json=msg("o-1", fan="x"), headers=other.auth())).status_code == 202
    drafts = await _pending(api, t, 4)
    [foreign] = await _pending(api, other, 1)
    a, b, c, d = (x["id"] for x in drafts)
    unknown = str(uuid.uuid4())
    body = {
        "drafts": [
            {"id": a, "version": 1},
            {"id": b, "version": 7},  # stale: the reviewer did not see this version
            {"id": c, "version": 1},
            {"id": foreign["id"], "version": 1},  # another creator's draft
            {"id": unknown, "version": 1},
        ]
    }
    r = await api.post("/v1/drafts/approve", json=body, headers=t.auth("chatter"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["approved"], out["failed"]) == (2, 3)
    by_id = {x["id"]: x for x in out["results"]}
    assert [x["id"] for x in out["results"]] == [i["id"] for i in body["drafts"]]  # the order given
    assert by_id[a]["ok"] and by_id[a]["draft"]["status"] in ("approved", "sent")
    assert by_id[b]["error"]["code"] == "stale_version" and not by_id[b]["ok"]
    assert by_id[foreign["id"]]["error"]["code"] == "not_found"
    assert by_id[unknown]["error"]["code"] == "not_found"
    for sent in (a, c):
        await wait_until("SELECT status = 'sent' FROM drafts WHERE id = %s", [sent])
    # the failures changed nothing: still waiting for a human, nothing sent for them
    for waiting in (b, d, foreign["id"]):
        [row] = await fetch("SELECT status FROM drafts WHERE id = %s", [waiting])
        assert row["status"] == "pending_review"
    [n] = await fetch(
        "SELECT count(*) AS n FROM outbox WHERE draft_id = ANY(%s::uuid[])", [[b, d, foreign["id"]]]
    )
    assert n["n"] == 0
    # a second bulk call with the same drafts: already decided, reported, nothing sent twice
    again = (
        await api.post("/v1/drafts/approve", json={"drafts": body["drafts"][:1]}, headers=t.auth())
    ).json()
    assert again["results"][0]["error"]["code"] == "already_decided"
    [n] = await fetch("SELECT count(*) AS n FROM outbox WHERE draft_id = %s", [a])
    assert n["n"] == 1


async def test_bulk_approve_refuses_bad_input_and_viewers(api: httpx.AsyncClient) -> None:
    t = await make_tenant("bulkbad")
    one = {"id": str(uuid.uuid4()), "version": 1}
    for payload, field in (
        ({"drafts": []}, "drafts"),
        ({"drafts": [one, one]}, "drafts"),
        ({"drafts": [{"id": "nope", "version": 1}]}, "drafts.0.id"),
        ({"drafts": [{"id": one["id"], "version": 0}]}, "drafts.0.version"),
        ({"drafts": [one] * 201}, "drafts"),
        ({"ids": [one["id"]]}, "ids"),
    ):
        r = await api.post("/v1/drafts/approve", json=payload, headers=t.auth())
        assert r.status_code == 422, (payload, r.text)
        fields = [f["field"] for f in r.json()["error"]["details"]["fields"]]
        assert field in fields, (payload, fields)
    viewer = await api.post("/v1/drafts/approve", json={"drafts": [one]}, headers=t.auth("viewer"))
    assert viewer.status_code == 403
