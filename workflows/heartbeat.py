"""Heartbeats for activities whose work gives no natural point to send them (an LLM call, a long refresh)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import activity

# A worker that dies mid-activity is noticed within the workflow's heartbeat timeout, not the whole
# start-to-close timeout.
HEARTBEAT_EVERY_S = 5.0


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat in the background while the body runs (an LLM call gives no natural point to do it)."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
