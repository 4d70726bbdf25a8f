"""`huntaze members grant|revoke` and `huntaze keys create --agency`: a member of one creator given a role on
another, an agency key that then acts for both (X-Creator-Id), a revocation that takes the second back; bad
arguments named with exit 2, nothing written."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from tests.api.conftest import client_for, make_app
from tests.factories import make_tenant
from tests.workflows.helpers import fetch

ROOT = Path(__file__).resolve().parents[2]


async def _huntaze(settings: Settings, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        *args,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": str(settings.database_url)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_grant_an_agency_key_and_revoke(settings: Settings, temporal_env: WorkflowEnvironment) -> None:
    a, c = await make_tenant("grant-a"), await make_tenant("grant-c")
    chatter = a.members["chatter"]
    code, out, err = await _huntaze(
        settings, "members", "grant", "--member", chatter, "--creator", c.creator_id, "--role", "manager"
    )
    assert code == 0, err
    granted = json.loads(out.splitlines()[-1])
    assert (granted["email"], granted["role"], granted["previous_role"]) == (
        "chatter@grant-a.example",
        "manager",
        None,
    )
    assert granted["home_member_id"] == chatter
    [audit] = await fetch(
        "SELECT actor, details FROM audit_log WHERE creator_id = %s AND action = 'member.granted'",
        [c.creator_id],
    )
    assert audit == {
        "actor": "system",
        "details": {"email": "chatter@grant-a.example", "role": "manager", "from": None},
    }
    code, out, err = await _huntaze(
        settings,
        "keys",
        "create",
        "--agency",
        "--creator",
        a.creator_id,
        "--role",
        "chatter",
        "--name",
        "agency",
    )
    assert code == 0, err
    made = json.loads(out.splitlines()[-1])
    assert made["agency"] is True and made["member_id"] == chatter and "X-Creator-Id" in err
    # an agency key is not made for a granted row: the person's home row has it
    code, _, err = await _huntaze(
        settings,
        "keys",
        "create",
        "--agency",
        "--creator",
        c.creator_id,
        "--email",
        "chatter@grant-a.example",
        "--role",
        "manager",
    )
    assert code == 2 and err.startswith("huntaze keys create: --agency:"), err
    # bad grants are named and write nothing
    for args, flag in (
        (["--member", chatter, "--creator", a.creator_id, "--role", "viewer"], "--creator"),
        (
            [
                "--member",
                "00000000-0000-0000-0000-000000000000",
                "--creator",
                c.creator_id,
                "--role",
                "viewer",
            ],
            "--member",
        ),
        (
            ["--member", chatter, "--creator", "00000000-0000-0000-0000-000000000000", "--role", "viewer"],
            "--creator",
        ),
    ):
        code, _, err = await _huntaze(settings, "members", "grant", *args)
        assert code == 2 and err.startswith(f"huntaze members grant: {flag}:"), err

    app = make_app(temporal_env, settings)
    key = {"Authorization": f"Bearer {made['key']}"}
    async with client_for(app) as http:
        listed = (await http.get("/v1/creators", headers=key)).json()["items"]
        assert [(i["id"], i["role"]) for i in listed] == [
            (a.creator_id, "chatter"),
            (c.creator_id, "manager"),
        ]
        r = await http.get("/v1/keys", headers=key | {"X-Creator-Id": c.creator_id})
        assert r.status_code == 403  # a manager of C, not its owner
        code, out, err = await _huntaze(
            settings, "members", "revoke", "--member", chatter, "--creator", c.creator_id
        )
        assert code == 0, err
        r = await http.get("/v1/inbox", headers=key | {"X-Creator-Id": c.creator_id})
        assert r.status_code == 404
        listed = (await http.get("/v1/creators", headers=key)).json()["items"]
        assert [i["id"] for i in listed] == [a.creator_id]
    await app.state.fresh_cache.close()
    code, _, err = await _huntaze(
        settings, "members", "revoke", "--member", chatter, "--creator", c.creator_id
    )
    assert code == 2 and "holds no granted role" in err
    assert (
        len(await fetch("SELECT 1 FROM members WHERE creator_id = %s", [c.creator_id])) == 5
    )  # the row stays
