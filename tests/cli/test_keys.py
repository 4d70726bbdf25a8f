"""`huntaze keys create`: a key printed once (last line JSON) that the API accepts, stored only as its digest and
audited; a bad argument is named, with exit code 2, and changes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path
from uuid import uuid4

from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from tests.api.conftest import client_for, make_app
from tests.factories import make_tenant
from tests.workflows.helpers import fetch

ROOT = Path(__file__).resolve().parents[2]


async def _keys_create(settings: Settings, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "keys",
        "create",
        *args,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": str(settings.database_url)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_a_new_key_is_printed_once_and_works(
    settings: Settings, temporal_env: WorkflowEnvironment
) -> None:
    t = await make_tenant("keys")
    code, out, err = await _keys_create(
        settings, "--creator", t.creator_id, "--role", "owner", "--name", "laptop"
    )
    assert code == 0, err
    made = json.loads(out.splitlines()[-1])
    assert made["role"] == "owner" and made["member_id"] == t.members["owner"], made
    assert made["name"] == "laptop"
    assert made["key"].startswith("hz_") and made["prefix"] == made["key"][:10]
    assert "shown once" in err
    # only the digest is stored, and the creation is audited like the API's
    [row] = await fetch("SELECT key_hash FROM api_keys WHERE id = %s", [made["key_id"]])
    assert bytes(row["key_hash"]) == hashlib.sha256(made["key"].encode()).digest()
    [audit] = await fetch(
        "SELECT actor, details FROM audit_log WHERE creator_id = %s AND action = 'key.created'",
        [t.creator_id],
    )
    assert audit["actor"] == "system" and audit["details"]["prefix"] == made["prefix"]
    app = make_app(temporal_env, settings)
    async with client_for(app) as http:
        r = await http.get("/v1/members", headers={"Authorization": f"Bearer {made['key']}"})
        listed = await http.get("/v1/keys", headers={"Authorization": f"Bearer {made['key']}"})
    await app.state.fresh_cache.close()
    assert r.status_code == 200 and len(r.json()["items"]) == len(t.members), r.text
    assert [k["name"] for k in listed.json()["items"] if k["id"] == made["key_id"]] == ["laptop"]
    # a new email adds a member with that role
    code, out, err = await _keys_create(
        settings, "--creator", t.creator_id, "--role", "chatter", "--email", "New.Chatter@example.com"
    )
    assert code == 0, err
    made = json.loads(out.splitlines()[-1])
    assert made["email"] == "new.chatter@example.com" and made["role"] == "chatter"
    [m] = await fetch("SELECT role FROM members WHERE id = %s", [made["member_id"]])
    assert m["role"] == "chatter"


async def test_bad_arguments_are_named_with_exit_2(settings: Settings) -> None:
    t = await make_tenant("badkeys")
    before = await fetch("SELECT count(*) AS n FROM api_keys", [])
    code, out, err = await _keys_create(settings, "--creator", "nope")
    assert code == 2 and "--creator" in err and "must be a creator id (a UUID), not 'nope'" in err, err
    code, _, err = await _keys_create(settings, "--creator", str(uuid4()))
    assert code == 2 and "--creator: no creator" in err, err
    code, _, err = await _keys_create(settings, "--creator", t.creator_id, "--role", "boss")
    assert code == 2 and "--role" in err and "'owner', 'manager', 'chatter', 'viewer'" in err, err
    code, _, err = await _keys_create(settings, "--creator", t.creator_id, "--email", "not-an-email")
    assert code == 2 and "--email" in err, err
    code, _, err = await _keys_create(settings, "--creator", t.creator_id, "--name", " ")
    assert code == 2 and "--name" in err, err
    owner_email = (await fetch("SELECT email FROM members WHERE id = %s", [t.members["owner"]]))[0]["email"]
    code, out, err = await _keys_create(
        settings, "--creator", t.creator_id, "--role", "viewer", "--email", owner_email
    )
    assert (
        code == 2
        and f"--role: {owner_email} has the role owner for this creator, not viewer" in err
        and out == ""
    ), err
    assert await fetch("SELECT count(*) AS n FROM api_keys", []) == before
