"""TOTP step-up, sealed connection secrets (AES-256-GCM) and key rotation, through the API and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import httpx
import pyotp
import pytest
from pydantic import SecretStr

from core import db, totp
from core.crypto import KeyringError, Sealed, keyring, new_key_line
from core.settings import Settings
from tests.factories import Tenant, make_tenant
from tests.workflows.helpers import fetch

SECRET = "whsec-very-secret-signing-value-123"


def _code(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


async def _enrolled(api: httpx.AsyncClient, t: Tenant, settings: Settings, role: str = "owner") -> str:
    if role == "owner":  # owners never enrol themselves: the first one is enrolled on the server
        async with db.pool().connection() as conn, conn.transaction():
            done = await totp.enrol(
                conn,
                keyring(settings),
                creator_id=t.creator_id,
                member_id=t.members[role],
                actor="system",
                by="cli",
            )
        secret, uri = done.secret, done.otpauth_uri
    else:
        r = await api.post("/v1/me/totp", headers=t.auth(role))
        assert r.status_code == 201, r.text
        secret, uri = r.json()["secret"], r.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/Huntaze:")
    ok = await api.post("/v1/me/totp/confirm", json={"code": _code(secret, -1)}, headers=t.auth(role))
    assert ok.status_code == 200, ok.text
    return str(secret)


async def test_sensitive_operations_need_a_step_up(api: httpx.AsyncClient, settings: Settings) -> None:
    t = await make_tenant(stepped_up=False)
    policy = {
        k: v for k, v in (await api.get("/v1/policies", headers=t.auth())).json().items() if k != "updated_at"
    }
    conn_body = {"webhook_url": "https://hooks.example/of", "secret": SECRET}
    refused = [
        await api.put("/v1/policies", json=policy, headers=t.auth()),
        await api.post("/v1/keys", json={"member_id": t.members["viewer"]}, headers=t.auth()),
        await api.put("/v1/connections/onlyfans", json=conn_body, headers=t.auth()),
        await api.put("/v1/alerts/config", json={"events": ["handoff"], **conn_body}, headers=t.auth()),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert {r.json()["error"]["code"] for r in refused} == {"step_up_required"}
    # No TOTP yet: a step-up says to enrol first.
    r = await api.post("/v1/me/step-up", json={"code": "123456"}, headers=t.auth())
    assert r.status_code == 409 and r.json()["error"]["code"] == "totp_not_enrolled"
    secret = await _enrolled(api, t, settings)
    assert (await api.post("/v1/me/totp", headers=t.auth())).status_code == 409  # enrolled: no silent reset
    bad = await api.post(
        "/v1/me/step-up", json={"code": "000000" if _code(secret) != "000000" else "111111"}, headers=t.auth()
    )
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "totp_invalid"
    code = _code(secret)
    up = await api.post("/v1/me/step-up", json={"code": code}, headers=t.auth())
    assert up.status_code == 200, up.text
    replay = await api.post("/v1/me/step-up", json={"code": code}, headers=t.auth())
    assert replay.status_code == 401  # a code is good once
    assert (await api.put("/v1/policies", json=policy, headers=t.auth())).status_code == 200
    # The step-up belongs to the key that made it: the manager's key is still refused.
    assert (
        await api.put("/v1/policies", json=policy | {"version": 2}, headers=t.auth("manager"))
    ).status_code == 403
    malformed = await api.post("/v1/me/step-up", json={"code": "12ab56"}, headers=t.auth())
    assert malformed.status_code == 422
    actions = [e["action"] for e in (await api.get("/v1/audit", headers=t.auth())).json()["items"]]
    assert actions[:5] == ["policy.updated", "totp.failed", "step_up", "totp.failed", "totp.confirmed"]


async def test_connection_secret_is_sealed_and_used_to_sign(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    t, other = await make_tenant(), await make_tenant("other")
    r = await api.put(
        "/v1/connections/onlyfans",
        json={"webhook_url": "https://hooks.example/of", "secret": SECRET},
        headers=t.auth(),
    )
    assert r.status_code == 200, r.text
    assert SECRET not in r.text and r.json()["key_id"] == "test-a"
    assert (await api.get("/v1/connections", headers=t.auth("manager"))).status_code == 403
    assert (await api.get("/v1/connections", headers=other.auth())).json()["items"] == []
    bad = await api.put(
        "/v1/connections/Only Fans!", json={"webhook_url": "ftp://x", "secret": "short"}, headers=t.auth()
    )
    assert bad.status_code == 422
    # Nothing in the database holds the secret in clear: not the row, not the audit log.
    raw = await fetch("SELECT * FROM connections", [])
    dump = json.dumps(await fetch("SELECT * FROM audit_log", []), default=str) + repr(raw)
    assert SECRET not in dump and SECRET.encode() not in bytes(raw[0]["secret_sealed"])
    ring = keyring(settings)
    row = raw[0]
    sealed = Sealed(row["key_id"], bytes(row["secret_nonce"]), bytes(row["secret_sealed"]))
    assert ring.open(sealed, f"connection:{t.creator_id}:onlyfans").decode() == SECRET
    with pytest.raises(KeyringError, match="failed authentication"):  # bound to its row
        ring.open(sealed, f"connection:{other.creator_id}:onlyfans")
    material = [line.split(":", 1)[1] for line in settings.encryption_keys.get_secret_value().split(",")]  # type: ignore[union-attr]
    assert "test-a" in repr(ring) and not any(m in repr(ring) for m in material)  # no key material in reprs


async def _rotate_cli(settings: Settings, keys: str) -> tuple[int, dict[str, Any], str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "secrets",
        "rotate",
        env={**os.environ, "DATABASE_URL": str(settings.database_url), "HUNTAZE_ENCRYPTION_KEYS": keys},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    lines = out.decode().splitlines()
    return proc.returncode, json.loads(lines[-1]) if lines else {}, err.decode()


async def test_rotation_reseals_with_the_new_key(api: httpx.AsyncClient, settings: Settings) -> None:
    t = await make_tenant(stepped_up=False)
    secret = await _enrolled(api, t, settings)  # a TOTP secret, sealed with test-a
    await api.post("/v1/me/step-up", json={"code": _code(secret)}, headers=t.auth())
    await api.put(
        "/v1/connections/onlyfans",
        json={"webhook_url": "https://hooks.example/of", "secret": SECRET},
        headers=t.auth(),
    )
    r = await api.put(  # an Instagram access token, sealed the same way
        "/v1/connections/instagram",
        json={"account_id": "17841400000000009", "access_token": SECRET},
        headers=t.auth(),
    )
    assert r.status_code == 200, r.text
    r = await api.put(  # an alert webhook's secret, sealed the same way
        "/v1/alerts/config",
        json={"webhook_url": "https://hooks.example/alerts", "secret": SECRET, "events": ["handoff"]},
        headers=t.auth(),
    )
    assert r.status_code == 200, r.text
    old = settings.encryption_keys.get_secret_value() if settings.encryption_keys else ""
    fresh = new_key_line("test-c")
    code, result, _ = await _rotate_cli(settings, f"{fresh},{old}")
    assert code == 0 and result == {"current_key_id": "test-c", "resealed": 4, "creators": 1}
    assert {
        r["key_id"]
        for r in await fetch(
            "SELECT key_id FROM connections UNION ALL SELECT key_id FROM member_totp"
            " UNION ALL SELECT key_id FROM alert_configs",
            [],
        )
    } == {"test-c"}
    # The old keys can go: everything opens with the new one alone.
    only_new = settings.model_copy(update={"encryption_keys": SecretStr(fresh)})
    for platform in ("onlyfans", "instagram"):
        [row] = await fetch("SELECT * FROM connections WHERE platform = %s", [platform])
        assert (
            keyring(only_new).open(
                Sealed(row["key_id"], bytes(row["secret_nonce"]), bytes(row["secret_sealed"])),
                f"connection:{t.creator_id}:{platform}",
            )
            == SECRET.encode()
        )
    [row] = await fetch("SELECT * FROM alert_configs", [])
    sealed = Sealed(row["key_id"], bytes(row["secret_nonce"]), bytes(row["secret_sealed"]))
    assert keyring(only_new).open(sealed, f"alert:{t.creator_id}") == SECRET.encode()
    code, result, _ = await _rotate_cli(settings, f"{fresh},{old}")
    assert result["resealed"] == 0  # idempotent
    code, _, err = await _rotate_cli(settings, "test-x:notbase64!")
    assert code == 1 and "HUNTAZE_ENCRYPTION_KEYS: key 'test-x' is not valid base64" in err
