"""Schemathesis against the running service: `huntaze up` in a subprocess (API and worker, on the test
Postgres, the Temporal dev server and the loopback fake LLM), fuzzed from its own OpenAPI schema.

Bounded for CI; the longer run is documented in the README (same command, more examples).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from tests.conftest import TEST_KEYS, venv_bin
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI

MAX_EXAMPLES = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_no_server_errors_and_no_schema_violations(
    temporal_dev_env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    t = await make_tenant()  # its owner key is stepped up, so sensitive operations are reachable too
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "TEMPORAL_ADDRESS": temporal_dev_env.client.service_client.config.target_host,
        "LLM_BASE_URL": fake_llm.base_url,
        "LLM_MODEL": "fake",
        "HUNTAZE_API_PORT": str(port),
        "HUNTAZE_TASK_QUEUE": f"fuzz-{port}",
        "HUNTAZE_DATA_DIR": str(tmp_path / "data"),
        "HUNTAZE_ENCRYPTION_KEYS": TEST_KEYS,
        "HUNTAZE_RATE_PER_KEY_PER_MIN": "0",
        "HUNTAZE_RATE_PER_CREATOR_PER_MIN": "0",
    }
    log = (tmp_path / "service.log").open("w")
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "up", env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert service.returncode is None and time.monotonic() < deadline, (
                    tmp_path / "service.log"
                ).read_text()
                await asyncio.sleep(0.2)
        proc = await asyncio.create_subprocess_exec(
            venv_bin("st"),
            "run",
            f"{base}/openapi.json",
            "--header",
            f"Authorization: Bearer {t.keys['owner']}",
            # Revoking keys is tested in test_api.py; fuzzed, it would revoke the key the fuzzer uses.
            "--exclude-method",
            "DELETE",
            # An owner enrols TOTP only through the server's CLI or another owner (tests/api/test_step_up_gaps.py):
            # for the fuzzer's owner key this endpoint can only refuse.
            "--exclude-path",
            "/v1/me/totp",
            # Authenticated by Meta's signature over the body, which the fuzzer cannot make: every case would be a
            # 401. Its bad input, signed and unsigned, is tested in test_bad_input.py and tests/connectors/.
            "--exclude-path",
            "/v1/connectors/instagram/webhook",
            # Signed with a creator's connection secret, likewise: tested in test_bad_input.py and test_bridge.py.
            "--exclude-path",
            "/v1/connectors/bridge/{platform}/events",
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "2026",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path / "schemathesis"),
            "--no-color",
            env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        # the assistant's event stream (the same endpoint with Accept: text/event-stream), fuzzed on its own
        stream = await asyncio.create_subprocess_exec(
            venv_bin("st"),
            "run",
            f"{base}/openapi.json",
            "--header",
            f"Authorization: Bearer {t.keys['owner']}",
            "--header",
            "Accept: text/event-stream",
            "--include-path",
            "/v1/assistant/messages",
            "--checks",
            "not_a_server_error,content_type_conformance",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "2026",
            "--no-color",
            env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        stream_out, _ = await stream.communicate()
    finally:
        service.terminate()
        try:
            await asyncio.wait_for(service.wait(), 20)
        except TimeoutError:  # the worker drains in-flight tasks on SIGTERM; do not wait for ever
            service.kill()
            await service.wait()
        log.close()
    report = out.decode()
    assert proc.returncode == 0, (
        report[-6000:] + "\n--- service log ---\n" + (tmp_path / "service.log").read_text()[-4000:]
    )
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated and generated.group(1) == generated.group(2) and int(generated.group(1)) > 100, report
    assert "Authentication failed" not in report, report  # the cases reached the endpoints' logic
    stream_report = stream_out.decode()
    assert stream.returncode == 0, stream_report[-6000:]
    streamed = re.search(r"(\d+) generated, (\d+) passed", stream_report)
    assert streamed and streamed.group(1) == streamed.group(2) and int(streamed.group(1)) > 0, stream_report
