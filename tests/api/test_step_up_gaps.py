"""Who may enrol an owner's TOTP, which member and key changes need a step-up, and the limit on TOTP guesses."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp

from api.auth import issue_key
from core import db
from core.settings import Settings
from tests.factories import Tenant, make_tenant
from tests.workflows.helpers import fetch


def _code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def _wrong(secret: str) -> str:
    """A code that is not good in any of the time steps the server accepts."""
    totp, now = pyotp.TOTP(secret), time.time()
    good = {totp.at(now + 30 * k) for k in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(0, 1_000_000, 7919)) if c not in good)


async def _audit(creator_id: str) -> list[str]:
    rows = await fetch("SELECT action FROM audit_log WHERE creator_id = %s ORDER BY id", [creator_id])
    return [r["action"] for r in rows]


async def _add_member(t: Tenant, role: str, name: str) -> tuple[str, str]:
    """Another member with a key of their own (as a leaked key would be): (member id, key)."""
    async with db.pool().connection() as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO members (creator_id, email, role) VALUES (%s, %s, %s) RETURNING id::text AS id",
            [t.creator_id, f"{name}@example.com", role],
        )
        row = await cur.fetchone()
        assert row
        return row["id"], await issue_key(conn, t.creator_id, row["id"])


async def _enrol_cli(settings: Settings, creator_id: str, member_id: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "members",
        "enrol-totp",
        "--creator",
        creator_id,
        "--member",
        member_id,
        env={
            **os.environ,
            "DATABASE_URL": str(settings.database_url),
            "HUNTAZE_ENCRYPTION_KEYS": settings.encryption_keys.get_secret_value(),  # type: ignore[union-attr]
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_an_owner_key_cannot_enrol_its_own_totp(api: httpx.AsyncClient, settings: Settings) -> None:
    t = await make_tenant(stepped_up=False)
    # Finding (a): with no owner enrolled yet, an owner key could set up TOTP for itself.
    r = await api.post("/v1/me/totp", headers=t.auth())
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "totp_first_owner_on_server"
    # The first owner is enrolled on the server; the URI is printed once, the member confirms with their key.
    rc, out, err = await _enrol_cli(settings, t.creator_id, t.members["owner"])
    assert rc == 0, err
    [uri] = out.splitlines()
    assert uri.startswith("otpauth://totp/Huntaze:owner%40mia.example")
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    ok = await api.post("/v1/me/totp/confirm", json={"code": _code(secret, -1)}, headers=t.auth())
    assert ok.status_code == 200, ok.text
    rc, _, err = await _enrol_cli(settings, t.creator_id, t.members["owner"])
    assert rc == 1 and "already" in err  # no silent reset
    rc, _, err = await _enrol_cli(settings, t.creator_id, "00000000-0000-0000-0000-000000000000")
    assert rc == 1 and "no member" in err

    # Finding (a) again: a second owner's (leaked) key, never enrolled, may not enrol itself either.
    second, key = await _add_member(t, "owner", "second")
    r = await api.post("/v1/me/totp", headers=_bearer(key))
    assert r.status_code == 403 and r.json()["error"]["code"] == "totp_needs_owner_step_up"
    assert (
        await api.post("/v1/me/step-up", json={"code": "123456"}, headers=_bearer(key))
    ).status_code == 409
    r = await api.post("/v1/keys", json={"member_id": second}, headers=_bearer(key))
    assert r.status_code == 403 and r.json()["error"]["code"] == "step_up_required"
    assert await fetch("SELECT 1 FROM member_totp WHERE member_id = %s", [second]) == []

    # Other roles enrol themselves: their step-up only unlocks what their role already allows.
    assert (await api.post("/v1/me/totp", headers=t.auth("manager"))).status_code == 201

    # An owner who stepped up enrols the second owner, who confirms with their own key.
    body = {"code": _code(secret)}
    nope = await api.post(f"/v1/members/{second}/totp", headers=t.auth())
    assert nope.status_code == 403 and nope.json()["error"]["code"] == "step_up_required"
    assert (await api.post("/v1/me/step-up", json=body, headers=t.auth())).status_code == 200
    r = await api.post(f"/v1/members/{second}/totp", headers=t.auth())
    assert r.status_code == 201, r.text
    second_secret = r.json()["secret"]
    assert r.json()["member_id"] == second and second_secret in r.json()["otpauth_uri"]
    assert (await api.post("/v1/me/totp", headers=_bearer(key))).status_code == 403  # still not by itself
    ok = await api.post("/v1/me/totp/confirm", json={"code": _code(second_secret, -1)}, headers=_bearer(key))
    assert ok.status_code == 200, ok.text
    up = await api.post("/v1/me/step-up", json={"code": _code(second_secret)}, headers=_bearer(key))
    assert up.status_code == 200, up.text
    again = await api.post(f"/v1/members/{second}/totp", headers=t.auth())
    assert again.status_code == 409 and again.json()["error"]["code"] == "totp_enrolled"
    rows = await fetch(
        "SELECT actor, subject, details FROM audit_log WHERE creator_id = %s AND action = 'totp.enrolled'"
        " ORDER BY id",
        [t.creator_id],
    )
    assert [(r["actor"], r["subject"], r["details"].get("by")) for r in rows] == [
        ("system", f"member:{t.members['owner']}", "cli"),
        (t.members["manager"], f"member:{t.members['manager']}", "self"),
        (t.members["owner"], f"member:{second}", "owner"),
    ]


async def test_member_and_key_changes_need_a_step_up(api: httpx.AsyncClient) -> None:
    t = await make_tenant(stepped_up=False)
    _, other_owner_key = await _add_member(t, "owner", "other")
    [other] = await fetch("SELECT id::text AS id FROM api_keys WHERE prefix = %s", [other_owner_key[:10]])
    # Finding (b): an owner key that never stepped up revokes another owner's key, adds an owner, promotes.
    refused = [
        await api.delete(f"/v1/keys/{other['id']}", headers=t.auth()),
        await api.post("/v1/members", json={"email": "new@example.com", "role": "owner"}, headers=t.auth()),
        await api.patch(f"/v1/members/{t.members['manager']}", json={"role": "owner"}, headers=t.auth()),
        await api.delete(f"/v1/members/{t.members['manager']}/agency", headers=t.auth()),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403], [r.text for r in refused]
    assert {r.json()["error"]["code"] for r in refused} == {"step_up_required"}
    assert await fetch("SELECT 1 FROM api_keys WHERE id = %s AND revoked_at IS NOT NULL", [other["id"]]) == []
    assert await fetch("SELECT 1 FROM members WHERE email = 'new@example.com'", []) == []
    [manager] = await fetch("SELECT role FROM members WHERE id = %s", [t.members["manager"]])
    assert manager["role"] == "manager"
    # A manager is refused by role first.
    r = await api.patch(
        f"/v1/members/{t.members['viewer']}", json={"role": "chatter"}, headers=t.auth("manager")
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"

    # After a step-up (as POST /v1/me/step-up records it) the same requests go through, audited.
    await fetch(
        "UPDATE api_keys SET step_up_until = now() + interval '5 minutes' WHERE id = ("
        " SELECT id FROM api_keys WHERE creator_id = %s AND member_id = %s) RETURNING id",
        [t.creator_id, t.members["owner"]],
    )
    assert (await api.delete(f"/v1/keys/{other['id']}", headers=t.auth())).status_code == 200
    added = await api.post(
        "/v1/members", json={"email": "new@example.com", "role": "owner"}, headers=t.auth()
    )
    assert added.status_code == 201
    promoted = await api.patch(
        f"/v1/members/{t.members['manager']}", json={"role": "owner"}, headers=t.auth()
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
    # The promoted member's key now acts as an owner (the key cache sees the change at once).
    assert (await api.get("/v1/keys", headers=t.auth("manager"))).status_code == 200
    missing = await api.patch(
        "/v1/members/00000000-0000-0000-0000-000000000000", json={"role": "viewer"}, headers=t.auth()
    )
    assert missing.status_code == 404
    bad = await api.patch(f"/v1/members/{t.members['viewer']}", json={"role": "boss"}, headers=t.auth())
    assert bad.status_code == 422
    # Demoting the two owners with keys: the last one is refused, so the creator keeps an owner key.
    assert (
        await api.patch(f"/v1/members/{t.members['manager']}", json={"role": "manager"}, headers=t.auth())
    ).status_code == 200
    last = await api.patch(f"/v1/members/{t.members['owner']}", json={"role": "viewer"}, headers=t.auth())
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_owner_key"
    actions = await _audit(t.creator_id)
    assert actions[-4:] == ["key.revoked", "member.added", "member.role_changed", "member.role_changed"]
    [change] = await fetch(
        "SELECT details FROM audit_log WHERE creator_id = %s AND action = 'member.role_changed' ORDER BY id LIMIT 1",
        [t.creator_id],
    )
    assert change["details"] == {"from": "manager", "to": "owner"}


async def test_totp_guessing_is_locked_out(api: httpx.AsyncClient) -> None:
    t = await make_tenant(stepped_up=False)
    r = await api.post("/v1/me/totp", headers=t.auth("manager"))
    assert r.status_code == 201
    secret = r.json()["secret"]
    assert (
        await api.post("/v1/me/totp/confirm", json={"code": _code(secret, -1)}, headers=t.auth("manager"))
    ).status_code == 200
    # Finding (c): wrong codes without end, then the right one accepted. Now the fifth failure locks.
    answers = [
        await api.post("/v1/me/step-up", json={"code": _wrong(secret)}, headers=t.auth("manager"))
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert [a.json()["error"]["details"]["attempts_left"] for a in answers[:4]] == [4, 3, 2, 1]
    locked = await api.post("/v1/me/step-up", json={"code": _code(secret)}, headers=t.auth("manager"))
    assert locked.status_code == 429, locked.text
    assert locked.json()["error"]["code"] == "totp_locked"
    wait = int(locked.headers["Retry-After"])
    assert 50 <= wait <= 60 and locked.json()["error"]["details"]["retry_after_s"] == wait
    # The lock is the member's (in Postgres, so every API process sees it): another key of theirs is locked too.
    async with db.pool().connection() as conn, conn.transaction():
        second_key = await issue_key(conn, t.creator_id, t.members["manager"])
    r = await api.post("/v1/me/step-up", json={"code": _code(secret)}, headers=_bearer(second_key))
    assert r.status_code == 429 and r.json()["error"]["code"] == "totp_locked"
    [row] = await fetch("SELECT step_up_until FROM api_keys WHERE prefix = %s", [second_key[:10]])
    assert row["step_up_until"] is None
    failures = await fetch(
        "SELECT action, details FROM audit_log WHERE creator_id = %s AND action LIKE 'totp.%%' ORDER BY id",
        [t.creator_id],
    )
    assert [f["action"] for f in failures] == [
        "totp.enrolled",
        "totp.confirmed",
        *["totp.failed"] * 5,
        "totp.locked",
        "totp.refused",
        "totp.refused",
    ]
    assert failures[7]["details"]["lockouts"] == 1 and failures[7]["details"]["seconds"] == 60

    # The lock runs out; five more failures lock for longer.
    await fetch(
        "UPDATE member_totp SET locked_until = now() - interval '1 second' WHERE member_id = %s RETURNING 1",
        [t.members["manager"]],
    )
    answers = [
        await api.post("/v1/me/step-up", json={"code": _wrong(secret)}, headers=t.auth("manager"))
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert 110 <= int(answers[-1].headers["Retry-After"]) <= 120
    # Once it runs out, the right code is accepted and the count starts again.
    await fetch(
        "UPDATE member_totp SET locked_until = now() - interval '1 second' WHERE member_id = %s RETURNING 1",
        [t.members["manager"]],
    )
    ok = await api.post("/v1/me/step-up", json={"code": _code(secret)}, headers=t.auth("manager"))
    assert ok.status_code == 200, ok.text
    [state] = await fetch(
        "SELECT failures, lockouts, locked_until FROM member_totp WHERE member_id = %s",
        [t.members["manager"]],
    )
    assert state == {"failures": 0, "lockouts": 0, "locked_until": None}
