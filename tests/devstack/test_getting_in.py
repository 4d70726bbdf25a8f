"""The way in: `huntaze up` says where the console, the API docs and the Temporal UI are and how to get a key; while
it runs, `huntaze seed` and `huntaze keys create` use its embedded PostgreSQL without stopping it, and the key
printed works against the running API."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from cli.welcome import welcome_lines
from core.settings import Settings
from devstack.services import free_port
from tests.devstack.test_shutdown import _wait_for
from tests.fakes.openai_server import FakeOpenAI

ROOT = Path(__file__).resolve().parents[2]


def test_up_says_how_to_get_in_and_a_key_made_beside_it_works(
    tmp_path: Path, temporal_dev_env: WorkflowEnvironment, fake_llm: FakeOpenAI
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HUNTAZE_DATA_DIR": str(tmp_path / "data"),
        "TEMPORAL_ADDRESS": temporal_dev_env.client.service_client.config.target_host,
        "LLM_BASE_URL": fake_llm.base_url,
        "HUNTAZE_TASK_QUEUE": "getting-in",
        "HUNTAZE_API_PORT": str(port),
    }
    env.pop("DATABASE_URL", None)
    up = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        said = _wait_for(up, "stops everything", 120)
        base = f"http://127.0.0.1:{port}"
        assert f"Console:     {base}/console/login" in said, said
        assert f"API docs:    {base}/docs  (ReDoc: {base}/redoc)" in said, said
        assert "no creator yet: `huntaze seed` makes one, then huntaze keys create --creator" in said, said
        assert "Temporal UI" not in said  # Temporal is configured here, not the embedded dev server

        def huntaze(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "cli.main", *args],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )

        seeded = huntaze("seed", "--fans", "5", "--days", "5", "--handle", "getting-in")
        assert seeded.returncode == 0, seeded.stderr
        creator = re.search(r"\(([0-9a-f-]{36})\)", seeded.stdout)
        assert creator is not None, seeded.stdout
        made = huntaze("keys", "create", "--creator", creator.group(1), "--role", "manager")
        assert made.returncode == 0, made.stderr
        key = json.loads(made.stdout.splitlines()[-1])["key"]
        assert up.poll() is None
        deadline = time.monotonic() + 60
        while True:  # the API answers once its lifespan has opened the pool
            try:
                r = httpx.get(f"{base}/v1/inbox", headers={"Authorization": f"Bearer {key}"}, timeout=10)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        assert r.status_code == 200, r.text
        assert (tmp_path / "data" / "postgres" / "postmaster.pid").exists()
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0
        assert not (tmp_path / "data" / "postgres" / "postmaster.pid").exists()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()


def test_the_key_hint_names_the_creators_there() -> None:
    s = Settings(api_host="0.0.0.0", api_port=8123)
    creators = [(f"c{i}", f"00000000-0000-0000-0000-00000000000{i}") for i in range(7)]
    lines = welcome_lines(s, with_api=True, temporal_ui=True, creators=creators)
    assert lines[0] == "Console:     http://127.0.0.1:8123/console/login"
    assert lines[2] == f"Temporal UI: http://127.0.0.1:{s.temporal_ui_port}"
    assert lines[3].startswith(f"API key:     huntaze keys create --creator {creators[0][1]} --role owner")
    assert "c4 00000000-0000-0000-0000-000000000004 and 2 more" in lines[4]
    worker_only = welcome_lines(s, with_api=False, temporal_ui=False, creators=None)
    assert worker_only == [
        "API key:     huntaze keys create --creator CREATOR_ID --role owner  (prints a new key once)"
    ]
