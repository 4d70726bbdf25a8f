"""What the tests with a worker process (`huntaze up --worker-only`) share: its environment, starting and stopping
it, and waiting until an approval is in the workflow's history."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Protocol

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from core.types import conversation_workflow_id
from tests.conftest import TEST_KEYS
from tests.factories import Tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch, wait_until


def worker_env(
    settings: Settings,
    temporal: WorkflowEnvironment,
    llm: FakeOpenAI,
    queue: str,
    tmp_path: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """A worker process's environment: this test's database, Temporal, fake LLM, task queue, data directory and
    keys, then `extra`."""
    return {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
        "LLM_BASE_URL": llm.base_url,
        "LLM_MODEL": "fake",
        "HUNTAZE_TASK_QUEUE": queue,
        "HUNTAZE_DATA_DIR": str(tmp_path / "data"),
        "HUNTAZE_ENCRYPTION_KEYS": TEST_KEYS,
        **(extra or {}),
    }


def queue_and_env(
    name: str,
    t: Tenant,
    settings: Settings,
    temporal: WorkflowEnvironment,
    llm: FakeOpenAI,
    tmp_path: Path,
    **extra: str,
) -> tuple[str, dict[str, str]]:
    """A task queue of the test's own (`name`, this process, the creator) and its worker processes' environment
    (`worker_env`) without debounce, so each fan event is handled at once, then `extra`."""
    queue = f"{name}-{os.getpid()}-{t.creator_id[:8]}"
    return queue, worker_env(settings, temporal, llm, queue, tmp_path, {"HUNTAZE_DEBOUNCE_S": "0", **extra})


async def worker(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "up",
        "--worker-only",
        env=env,
        stdout=log.open("ab"),
        stderr=asyncio.subprocess.STDOUT,
    )


async def stop(*procs: asyncio.subprocess.Process | None) -> None:
    """End the worker processes still running: terminated, killed after 20 s."""
    for proc in procs:
        if proc is None or proc.returncode is not None:
            continue
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def approval_recorded(client: Client, creator_id: str, fan_id: str, timeout_s: float = 120) -> None:
    """Until the approve Update's completion is in the conversation's history (the SDK records a workflow task that
    runs long, as one holding a send does, after about 8 s): the crash tests that kill during the send wait for
    this first. A worker killed before it loses nothing either: the server hands the Update to the next worker
    (tests/api/test_approval_crash.py)."""
    handle = client.get_workflow_handle(conversation_workflow_id(creator_id, fan_id))
    for _ in range(int(timeout_s / 0.2)):
        async for ev in handle.fetch_history_events():
            if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                return
        await asyncio.sleep(0.2)
    raise AssertionError("the approval never reached the workflow's history")


class HeldSends(Protocol):
    """A fake platform that can hold a send it received (FakePlatform, FakeGraph)."""

    send_arrived: threading.Event

    def pause_sends(self) -> None: ...

    def release(self) -> None: ...


async def kill_during_send(
    api: httpx.AsyncClient,
    client: Client,
    t: Tenant,
    platform: HeldSends,
    first: asyncio.subprocess.Process,
    log: Path,
) -> tuple[dict[str, Any], asyncio.Task[httpx.Response]]:
    """Approve the fan's pending draft, and SIGKILL the worker while the platform holds its send (the platform has
    the message, the service no answer); then let the platform answer again. The draft, and the approve request
    still waiting for its answer."""
    await wait_until(
        "SELECT count(*) > 0 FROM drafts WHERE creator_id = %s AND status = 'pending_review'",
        [t.creator_id],
        timeout_s=120,
    )
    [draft] = await fetch(
        "SELECT id::text AS id, fan_id::text AS fan_id FROM drafts WHERE creator_id = %s",
        [t.creator_id],
    )
    platform.pause_sends()
    approve = asyncio.create_task(
        api.post(
            f"/v1/drafts/{draft['id']}/approve",
            json={"version": 1},
            headers=t.auth("chatter"),
            timeout=400,
        )
    )
    arrived = await asyncio.to_thread(platform.send_arrived.wait, 120)
    assert arrived, (await asyncio.to_thread(log.read_text))[-3000:]
    await approval_recorded(client, t.creator_id, draft["fan_id"])
    first.send_signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    platform.release()
    return draft, approve


async def two_pending_drafts(api: httpx.AsyncClient, t: Tenant) -> list[dict[str, Any]]:
    """A message from each of two fans (`f1`, `f2`) through the API, then their drafts once both wait for review:
    `id` and `workflow_id`, in the fans' order."""
    for fan in ("f1", "f2"):
        r = await api.post(
            "/v1/events",
            json={
                "event_id": f"m-{fan}",
                "kind": "message",
                "text": "hey you",
                "fan": {"platform_fan_id": fan},
            },
            headers=t.auth(),
        )
        assert r.status_code == 202, r.text
    await wait_until(
        "SELECT count(*) = 2 FROM drafts WHERE creator_id = %s AND status = 'pending_review'",
        [t.creator_id],
        timeout_s=120,
    )
    return await fetch(
        "SELECT d.id::text AS id, d.workflow_id FROM drafts d JOIN fans f ON f.creator_id = d.creator_id"
        " AND f.id = d.fan_id WHERE d.creator_id = %s ORDER BY f.platform_fan_id",
        [t.creator_id],
    )
