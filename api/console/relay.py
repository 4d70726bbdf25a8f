"""A request to the in-process API whose response is relayed as it comes, chunk by chunk.

The console calls the API through httpx's ASGI transport, which reads a whole response before returning it; an
event stream needs its events as they are sent. This calls the app as an ASGI server would and hands back the
status, the headers and an iterator over the body's chunks; when the iterator is closed (the browser went away),
the API's request sees the client disconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Message = MutableMapping[str, Any]
ASGIApp = Callable[..., Awaitable[None]]


@dataclass
class Relayed:
    status: int
    headers: dict[str, str]
    chunks: AsyncIterator[bytes]


async def relay(app: ASGIApp, method: str, path: str, headers: dict[str, str], body: bytes) -> Relayed:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"console.internal")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 0),
        "server": ("console.internal", 80),
    }
    messages: asyncio.Queue[Message] = asyncio.Queue()
    gone = asyncio.Event()
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        await messages.put(message)

    task: asyncio.Future[None] = asyncio.ensure_future(app(scope, receive, send))

    async def next_message() -> Message:
        getter: asyncio.Future[Message] = asyncio.ensure_future(messages.get())
        waited: set[asyncio.Future[Any]] = {getter, task}
        await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()
        task.result()  # the app failed: its error is raised here
        raise RuntimeError(f"{method} {path} ended without a complete response")

    try:
        start = await next_message()
        while start["type"] != "http.response.start":
            start = await next_message()
    except BaseException:
        gone.set()
        task.cancel()
        raise

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while True:
                message = await next_message()
                if message["type"] != "http.response.body":
                    continue
                if message.get("body"):
                    yield bytes(message["body"])
                if not message.get("more_body", False):
                    break
        finally:
            gone.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), 5)
            except Exception:  # not done in time, or failed after its response: nothing more to relay
                task.cancel()

    hdrs = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    return Relayed(int(start["status"]), hdrs, chunks())
