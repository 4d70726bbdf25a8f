"""What the send-crash tests share: a worker process, and waiting until the approval is in the workflow's history."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from core.types import conversation_workflow_id


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


async def approval_recorded(client: Client, creator_id: str, fan_id: str, timeout_s: float = 120) -> None:
    """Until the approve Update's completion is in the conversation's history. The send runs in the workflow task
    that took the approval, so a worker killed before that task is recorded (the SDK records a long task after
    about 8 s) would lose the approval with the task: the crash tests kill during the send, after this."""
    handle = client.get_workflow_handle(conversation_workflow_id(creator_id, fan_id))
    for _ in range(int(timeout_s / 0.2)):
        async for ev in handle.fetch_history_events():
            if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                return
        await asyncio.sleep(0.2)
    raise AssertionError("the approval never reached the workflow's history")
