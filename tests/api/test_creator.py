"""GET/PATCH /v1/creator: the profile, owner-only changes, versions and audit, price bounds as policy, bad input;
and the one creation function the CLI, the seed and the demo share."""

from __future__ import annotations

import httpx
import pytest

from core import db
from core.store import creators
from tests.factories import make_tenant
from tests.workflows.helpers import fetch


async def test_every_member_reads_and_only_the_owner_changes_the_profile(api: httpx.AsyncClient) -> None:
    t = await make_tenant("prof")
    for role in ("owner", "manager", "chatter", "viewer"):
        r = await api.get("/v1/creator", headers=t.auth(role))
        assert r.status_code == 200, r.text
    c = r.json()
    assert (c["id"], c["handle"], c["version"], c["languages"]) == (t.creator_id, "prof", 1, ["en"])
    change = {"version": 1, "persona": "dry humour, no emojis", "voice_notes": "says 'hey you'"}
    for role in ("manager", "chatter", "viewer"):
        assert (await api.patch("/v1/creator", json=change, headers=t.auth(role))).status_code == 403
    r = await api.patch(
        "/v1/creator",
        json={**change, "display_name": " Prof X ", "languages": ["en", "es", "en"]},
        headers=t.auth(),
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["version"] == 2 and got["display_name"] == "Prof X" and got["languages"] == ["en", "es"]
    assert got["persona"] == "dry humour, no emojis" and got["voice_notes"] == "says 'hey you'"
    assert (await api.get("/v1/creator", headers=t.auth("viewer"))).json() == got
    # the version you changed is checked; the same content again makes no new version
    stale = await api.patch("/v1/creator", json={"version": 1, "persona": "other"}, headers=t.auth())
    assert stale.status_code == 409 and stale.json()["error"]["details"] == {"version": 2}
    same = await api.patch("/v1/creator", json={"version": 2, "persona": got["persona"]}, headers=t.auth())
    assert same.status_code == 200 and same.json()["version"] == 2
    versions = await fetch(
        "SELECT version, profile FROM creator_versions WHERE creator_id = %s ORDER BY version", [t.creator_id]
    )
    assert [v["version"] for v in versions] == [2]  # made by the factory, not by `creators.create`
    assert versions[0]["profile"]["voice_notes"] == "says 'hey you'"
    [audit] = await fetch(
        "SELECT actor, details FROM audit_log WHERE creator_id = %s AND action = 'creator.updated'",
        [t.creator_id],
    )
    assert audit["actor"] == t.members["owner"]
    assert audit["details"]["before"]["persona"] == "warm and playful"
    assert set(audit["details"]["changed"]) == {"display_name", "persona", "voice_notes", "languages"}
    # the voice notes reach the DM prompt with the persona
    from tools.fan_context import fan_profile

    profile = await fan_profile(t.creator_id, t.fans[0])
    assert profile["persona"] == "dry humour, no emojis Voice notes: says 'hey you'"


async def test_price_bounds_are_policy_and_need_a_step_up(api: httpx.AsyncClient) -> None:
    t = await make_tenant("bounds", stepped_up=False)
    body = {"version": 1, "ppv_min_cents": 800, "ppv_max_cents": 9000}
    r = await api.patch("/v1/creator", json=body, headers=t.auth())
    assert r.status_code == 403 and r.json()["error"]["code"] == "step_up_required"
    assert (await fetch("SELECT profile_version FROM creators WHERE id = %s", [t.creator_id])) == [
        {"profile_version": 1}
    ]
    # other fields need none
    assert (
        await api.patch("/v1/creator", json={"version": 1, "persona": "p"}, headers=t.auth())
    ).status_code == 200
    async with db.pool().connection() as conn:
        await conn.execute(
            "UPDATE api_keys SET step_up_until = now() + interval '5 minutes' WHERE creator_id = %s",
            [t.creator_id],
        )
    policy_before = (await api.get("/v1/policies", headers=t.auth())).json()
    r = await api.patch("/v1/creator", json={**body, "version": 2}, headers=t.auth())
    assert r.status_code == 200, r.text
    assert (r.json()["ppv_min_cents"], r.json()["ppv_max_cents"], r.json()["version"]) == (800, 9000, 3)
    policy = (await api.get("/v1/policies", headers=t.auth())).json()
    assert (policy["ppv_min_cents"], policy["ppv_max_cents"]) == (800, 9000)
    assert policy["version"] == policy_before["version"] + 1
    [pv] = await fetch(
        "SELECT config FROM policy_versions WHERE creator_id = %s AND version = %s",
        [t.creator_id, policy["version"]],
    )
    assert pv["config"]["ppv_max_cents"] == 9000
    actions = await fetch("SELECT action FROM audit_log WHERE creator_id = %s ORDER BY id", [t.creator_id])
    assert [a["action"] for a in actions] == ["creator.updated", "creator.updated", "policy.updated"]
    # bounds the other way round are refused, naming the field, and change nothing
    r = await api.patch("/v1/creator", json={"version": 3, "ppv_max_cents": 700}, headers=t.auth())
    assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "ppv_max_cents"
    assert (await api.get("/v1/creator", headers=t.auth())).json()["version"] == 3


async def test_bad_profile_input_names_the_field_and_stores_nothing(api: httpx.AsyncClient) -> None:
    t = await make_tenant("badprof")
    for body, field in (
        ({"version": 1, "timezone": "Mars/Olympus"}, "timezone"),
        ({"version": 1, "timezone": ""}, "timezone"),
        ({"version": 1, "languages": []}, "languages"),
        ({"version": 1, "languages": ["english please"]}, "languages"),
        ({"version": 1, "display_name": "   "}, "display_name"),
        ({"version": 1, "ppv_min_cents": 0}, "ppv_min_cents"),
        ({"version": 1, "handle": "new-handle"}, "handle"),  # a handle is for good
        ({"persona": "no version"}, "version"),
    ):
        r = await api.patch("/v1/creator", json=body, headers=t.auth())
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"]["fields"][0]["field"] == field, r.text
    r = await api.patch("/v1/creator", json={"version": 1, "persona": None}, headers=t.auth())
    assert r.status_code == 422 and "persona" in r.text
    r = await api.patch("/v1/creator", json={"version": 1, "persona": "a\u0000b"}, headers=t.auth())
    assert r.status_code == 422 and "NUL" in r.json()["error"]["message"]
    assert (await fetch("SELECT profile_version, persona FROM creators WHERE id = %s", [t.creator_id])) == [
        {"profile_version": 1, "persona": "warm and playful"}
    ]


async def test_a_timezone_change_without_schedules_is_saved_and_says_so(api: httpx.AsyncClient) -> None:
    """The time-skipping test server has no Schedules: the change is kept, and the answer says the schedule
    moves later (tests/cli/test_creator.py moves it on the real dev server)."""
    t = await make_tenant("tzsaved")
    r = await api.patch("/v1/creator", json={"version": 1, "timezone": "Asia/Tokyo"}, headers=t.auth())
    assert r.status_code == 503 and r.json()["error"]["code"] == "schedule_pending", r.text
    assert r.json()["error"]["details"]["creator"]["timezone"] == "Asia/Tokyo"
    assert (await api.get("/v1/creator", headers=t.auth())).json()["timezone"] == "Asia/Tokyo"


async def test_create_writes_the_creator_owner_key_version_and_audit(api: httpx.AsyncClient) -> None:
    async with db.pool().connection() as conn, conn.transaction():
        made = await creators.create(
            conn, creators.NewCreator(handle="lena.k", display_name="Lena", timezone="Europe/Berlin")
        )
    me = await api.get("/v1/creator", headers={"Authorization": f"Bearer {made.owner_key}"})
    assert me.status_code == 200 and me.json()["timezone"] == "Europe/Berlin" and me.json()["version"] == 1
    [member] = await fetch(
        "SELECT id::text AS id, role FROM members WHERE creator_id = %s", [made.creator_id]
    )
    assert member == {"id": made.owner_member_id, "role": "owner"}
    [v1] = await fetch(
        "SELECT version, created_by::text AS by FROM creator_versions WHERE creator_id = %s",
        [made.creator_id],
    )
    assert v1 == {"version": 1, "by": made.owner_member_id}
    [audit] = await fetch("SELECT action FROM audit_log WHERE creator_id = %s", [made.creator_id])
    assert audit["action"] == "creator.created"
    assert made.owner_key.encode() not in str(await fetch("SELECT * FROM api_keys", [])).encode()
    for new, field in (
        (creators.NewCreator(handle="lena.k", display_name="Other", timezone="UTC"), "handle"),
        (creators.NewCreator(handle="-x", display_name="X", timezone="UTC"), "handle"),
        (creators.NewCreator(handle="y", display_name="Y", timezone="Europe/Nowhere"), "timezone"),
        (creators.NewCreator(handle="z", display_name=" ", timezone="UTC"), "name"),
    ):
        with pytest.raises(creators.InvalidCreator) as err:
            async with db.pool().connection() as conn, conn.transaction():
                await creators.create(conn, new)
        assert err.value.field == field
    assert len(await fetch("SELECT 1 FROM creators", [])) == 1
