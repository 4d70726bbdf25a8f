"""The audit log: append-only by trigger, hash-chained per creator, and a check that names the first broken row."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import psycopg
import pytest

from core import db
from core.journal import append_audit, verify_audit
from core.settings import Settings
from tests.factories import make_tenant


async def _append(creator_id: str, n: int) -> None:
    async with db.pool().connection() as conn, conn.transaction():
        for i in range(n):
            await append_audit(
                conn,
                creator_id=creator_id,
                actor="tester",
                action="test.event",
                subject=f"s{i}",
                details={"i": i},
            )


async def _ids(creator_id: str) -> list[int]:
    async with db.pool().connection() as conn:
        cur = await conn.execute("SELECT id FROM audit_log WHERE creator_id = %s ORDER BY id", [creator_id])
        return [r["id"] for r in await cur.fetchall()]


async def _tamper(sql: str, params: list[object]) -> None:
    """What an attacker with the table owner's rights would have to do: switch the guard trigger off."""
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        await conn.execute(sql, params)
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")


async def test_chain_verifies_and_rows_cannot_be_changed(settings: Settings) -> None:
    a, b = await make_tenant("a"), await make_tenant("b")
    await _append(a.creator_id, 3)
    await _append(b.creator_id, 2)
    await _append(a.creator_id, 1)
    async with db.pool().connection() as conn:
        report = await verify_audit(conn)
    assert report.ok and report.rows_checked == 6 and report.creators_checked == 2
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            async with db.pool().connection() as conn:
                await conn.execute(sql)


async def test_a_changed_row_is_named(settings: Settings) -> None:
    t = await make_tenant()
    await _append(t.creator_id, 4)
    ids = await _ids(t.creator_id)
    await _tamper("UPDATE audit_log SET details = '{\"i\": 99}' WHERE id = %s", [ids[2]])
    async with db.pool().connection() as conn:
        report = await verify_audit(conn, t.creator_id)
    assert not report.ok and report.first_broken is not None
    assert report.first_broken["id"] == ids[2] and "changed" in report.first_broken["reason"]


async def test_a_removed_row_is_named(settings: Settings) -> None:
    t = await make_tenant()
    await _append(t.creator_id, 4)
    ids = await _ids(t.creator_id)
    await _tamper("DELETE FROM audit_log WHERE id = %s", [ids[1]])
    async with db.pool().connection() as conn:
        report = await verify_audit(conn)
    assert report.first_broken == {
        "id": ids[2],
        "creator_id": t.creator_id,
        "reason": "prev_hash does not match the hash of the previous row (a row was removed or reordered)",
    }


async def test_an_anchor_catches_the_removal_of_the_newest_rows(settings: Settings) -> None:
    t = await make_tenant()
    await _append(t.creator_id, 4)
    ids = await _ids(t.creator_id)
    async with db.pool().connection() as conn:
        report = await verify_audit(conn, t.creator_id)
        assert report.ok and report.head is not None and report.head["id"] == ids[-1]
        head = (report.head["id"], bytes.fromhex(report.head["hash"]))
        cur = await conn.execute("SELECT hash FROM audit_log WHERE id = %s", [ids[1]])
        row = await cur.fetchone()
        assert row is not None
        older = (ids[1], bytes(row["hash"]))
    await _tamper("DELETE FROM audit_log WHERE creator_id = %s AND id >= %s", [t.creator_id, ids[2]])
    async with db.pool().connection() as conn:
        assert (await verify_audit(conn, t.creator_id)).ok  # what the chain alone cannot see
        cut = await verify_audit(conn, t.creator_id, head)
        assert (await verify_audit(conn, t.creator_id, older)).ok  # an anchor before the cut still holds
        forged = await verify_audit(conn, t.creator_id, (older[0], bytes(32)))
        with pytest.raises(ValueError, match="creator"):
            await verify_audit(conn, None, head)
    assert not cut.ok and cut.first_broken is not None and cut.head == {"id": ids[1], "hash": older[1].hex()}
    assert cut.first_broken["id"] == ids[-1] and "not in the chain" in cut.first_broken["reason"]
    assert not forged.ok and forged.first_broken is not None and forged.first_broken["id"] == ids[1]
    assert "rewritten" in forged.first_broken["reason"]


async def _cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "audit",
        "verify",
        *args,
        env={**os.environ, "DATABASE_URL": str(settings.database_url)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_verify_exit_code(settings: Settings) -> None:
    t = await make_tenant()
    await _append(t.creator_id, 2)
    code, out, _ = await _cli(settings)
    assert code == 0 and json.loads(out.splitlines()[-1])["ok"] is True
    ids = await _ids(t.creator_id)
    await _tamper("UPDATE audit_log SET subject = 'forged' WHERE id = %s", [ids[0]])
    code, out, err = await _cli(settings, "--creator", t.creator_id)
    assert code == 1 and json.loads(out.splitlines()[-1])["first_broken"]["id"] == ids[0]
    assert f"audit chain broken at row {ids[0]}" in err
    code, _, err = await _cli(settings, "--creator", "nope")
    assert code == 2 and "--creator must be a creator id" in err


async def test_cli_verify_against_an_anchor(settings: Settings) -> None:
    t = await make_tenant()
    await _append(t.creator_id, 3)
    code, out, _ = await _cli(settings, "--creator", t.creator_id)
    head = json.loads(out.splitlines()[-1])["head"]
    anchor = f"{head['id']}:{head['hash']}"
    code, out, _ = await _cli(settings, "--creator", t.creator_id, "--anchor", anchor)
    assert code == 0 and json.loads(out.splitlines()[-1])["head"] == head
    await _tamper("DELETE FROM audit_log WHERE id = %s", [head["id"]])
    code, out, err = await _cli(settings, "--creator", t.creator_id, "--anchor", anchor)
    assert code == 1 and json.loads(out.splitlines()[-1])["first_broken"]["id"] == head["id"]
    assert f"audit chain broken at row {head['id']}" in err
    code, _, err = await _cli(settings, "--anchor", anchor)
    assert code == 2 and "--anchor needs --creator" in err
    code, _, err = await _cli(settings, "--creator", t.creator_id, "--anchor", "12:abc")
    assert code == 2 and "--anchor must be ROW_ID:HASH" in err
