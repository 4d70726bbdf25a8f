"""`huntaze import`: run as a user runs it (a subprocess on the test database), killed and rerun."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from devstack.history_file import history_lines
from tests.factories import make_tenant
from tests.workflows.helpers import fetch

ROOT = Path(__file__).resolve().parents[2]


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}


def _huntaze(
    database_url: str, *args: str, stderr: int | None = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=_env(database_url),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        timeout=300,
    )


async def _snapshot(creator_id: str) -> str:
    tables = (
        "fans",
        "events",
        "messages",
        "transactions",
        "agent_actions",
        "segmentation_runs",
        "fan_scores",
    )
    rows = {
        t: await fetch(
            f"SELECT xmin::text AS xmin, * FROM {t} WHERE creator_id = %s ORDER BY 2", [creator_id]
        )
        for t in tables
    }
    return json.dumps(rows, default=str, sort_keys=True)


async def test_import_names_bad_lines_counts_last_and_a_rerun_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    t = await make_tenant("cli")
    good = list(history_lines(fans=8, events=120, prefix="c", catalog_ids=t.catalog))
    bad_amount = json.loads(good[3]) | {"event_id": "c-bad", "kind": "tip", "amount_cents": "lots"}
    lines = [*good[:5], "oops", json.dumps(bad_amount), *good[5:]]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n")

    run = _huntaze(database_url, "import", "--creator", t.creator_id, str(path))
    assert run.returncode == 1, run.stderr  # a line was refused
    assert run.stderr == ""  # no progress bar without a terminal
    out = run.stdout.splitlines()
    assert out[0] == "line 6: line: Invalid JSON: expected value at line 1 column 1"
    assert out[1].startswith("line 7: amount_cents: ")
    assert json.loads(out[-1]) == {"imported": len(good), "duplicates": 0, "rejected": 2}
    assert len(out) == 3
    [n] = await fetch("SELECT count(*) AS n FROM events WHERE creator_id = %s", [t.creator_id])
    assert n["n"] == len(good)
    assert await fetch("SELECT 1 FROM drafts WHERE creator_id = %s", [t.creator_id]) == []
    [runs] = await fetch(
        "SELECT count(*) AS n, max(fans) AS fans FROM segmentation_runs WHERE creator_id = %s", [t.creator_id]
    )
    assert runs == {"n": 1, "fans": 8 + 2}  # refreshed at the end: the imported fans and the tenant's own two
    kinds = [
        a["kind"]
        for a in await fetch(
            "SELECT kind FROM agent_actions WHERE creator_id = %s ORDER BY id", [t.creator_id]
        )
    ]
    assert kinds == ["history_imported", "segments_refreshed"]

    before = await _snapshot(t.creator_id)
    again = _huntaze(database_url, "import", "--creator", t.creator_id, str(path))
    assert json.loads(again.stdout.splitlines()[-1]) == {
        "imported": 0,
        "duplicates": len(good),
        "rejected": 2,
    }
    assert await _snapshot(t.creator_id) == before  # not one row written, not even a no-op update


async def test_a_killed_import_rerun_finishes_the_rest(database_url: str, tmp_path: Path) -> None:
    t = await make_tenant("crash")
    lines = list(history_lines(fans=300, events=60_000, prefix="k"))
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "import",
        "--creator",
        t.creator_id,
        "--batch-size",
        "500",
        str(path),
        env=_env(database_url),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while True:
        [n] = await fetch("SELECT count(*) AS n FROM events WHERE creator_id = %s", [t.creator_id])
        if n["n"] > 0:
            break
        assert proc.returncode is None and time.monotonic() < deadline, "the import never stored a batch"
        await asyncio.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    [n] = await fetch("SELECT count(*) AS n FROM events WHERE creator_id = %s", [t.creator_id])
    in_before = n["n"]
    assert 0 < in_before < len(lines), "the import finished before it was killed: use a bigger file"
    assert in_before % 500 == 0  # whole batches only

    rerun = _huntaze(database_url, "import", "--creator", t.creator_id, str(path))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert json.loads(rerun.stdout.splitlines()[-1]) == {
        "imported": len(lines) - in_before,
        "duplicates": in_before,
        "rejected": 0,
    }
    [counts] = await fetch(
        "SELECT count(*) AS events, count(DISTINCT platform_event_id) AS ids FROM events WHERE creator_id = %s",
        [t.creator_id],
    )
    assert counts == {"events": len(lines), "ids": len(lines)}
    [m] = await fetch("SELECT count(*) AS n FROM messages WHERE creator_id = %s", [t.creator_id])
    assert m["n"] == sum(1 for line in lines if json.loads(line)["kind"] in ("message", "creator_message"))


async def test_a_terminal_gets_a_progress_bar(database_url: str, tmp_path: Path) -> None:
    t = await make_tenant("tty")
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join(history_lines(fans=3, events=30, prefix="p")) + "\n")
    master, slave = pty.openpty()
    seen = bytearray()

    def read_terminal() -> None:  # read while it runs: a full terminal buffer would stop the command
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: all read
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        run = await asyncio.to_thread(
            _huntaze,
            database_url,
            "import",
            "--creator",
            t.creator_id,
            "--batch-size",
            "5",
            str(path),
            stderr=slave,
        )
    finally:
        os.close(slave)
        await asyncio.to_thread(reader.join, 10)
        os.close(master)
    assert run.returncode == 0, run.stdout
    assert b"imported" in seen, seen


def test_bad_invocations_name_what_is_wrong(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text("")
    run = _huntaze(database_url, "import", "--creator", "nope", str(path))
    assert run.returncode == 2 and "--creator: must be a creator id (a UUID), not 'nope'" in run.stderr
    run = _huntaze(
        database_url, "import", "--creator", "00000000-0000-0000-0000-000000000001", str(tmp_path / "missing")
    )
    assert run.returncode == 1 and "FILE" in run.stderr and "missing" in run.stderr
    run = _huntaze(database_url, "import", "--creator", "00000000-0000-0000-0000-000000000001", str(path))
    assert run.returncode == 2 and "no creator 00000000-0000-0000-0000-000000000001" in run.stderr


async def test_the_example_file_is_the_scripts_and_imports_cleanly(database_url: str, tmp_path: Path) -> None:
    from core import db
    from devstack.history_file import CATALOG

    written = tmp_path / "history.jsonl"
    script = [sys.executable, "examples/make_history.py", "--out", str(written)]
    await asyncio.to_thread(subprocess.run, script, cwd=ROOT, env=_env(database_url), check=True)
    example = ROOT / "examples" / "history.jsonl"
    assert written.read_bytes() == example.read_bytes(), "examples/history.jsonl is stale: rerun the script"
    kinds = {json.loads(line)["kind"] for line in example.read_text().splitlines()}
    assert {"message", "creator_message", "purchase", "ppv_unlock", "refund", "chargeback"} <= kinds

    t = await make_tenant("example")
    async with db.pool().connection() as conn, conn.transaction():
        for item in CATALOG:
            await conn.execute(
                "INSERT INTO catalog (creator_id, title, price_cents, platform_item_id) VALUES (%s, %s, %s, %s)",
                [t.creator_id, item["title"], item["price_cents"], item["platform_item_id"]],
            )
    run = _huntaze(database_url, "import", "--creator", t.creator_id, str(example))
    assert run.returncode == 0, run.stdout + run.stderr
    lines = len(example.read_text().splitlines())
    assert run.stdout.splitlines() == [json.dumps({"imported": lines, "duplicates": 0, "rejected": 0})]
