"""Request limits: a body size cap and token-bucket rate limits per API key and per creator.

The buckets live in the API process (one `huntaze up` serves the API from one process). A small token
bucket is all this needs; a limiter library would bring storage back-ends we do not use. Behind several
API processes, each enforces its own share.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class TokenBuckets:
    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is available."""
        if self.per_minute <= 0:
            return 0.0
        now = self.clock()
        rate = self.per_minute / 60.0
        tokens, at = self._state.get(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - at) * rate)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1.0 - tokens) / rate


@dataclass
class RateLimits:
    per_key: TokenBuckets
    per_creator: TokenBuckets

    def check(self, key_id: str, creator_id: str) -> tuple[str, float] | None:
        """None when allowed, else (which limit, seconds to wait)."""
        wait = self.per_key.take(key_id)
        if wait > 0:
            return "api key", wait
        wait = self.per_creator.take(creator_id)
        if wait > 0:
            return "creator", wait
        return None


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413, whether or not Content-Length is sent. `streamed` paths
    are passed through unread: their handlers read the body as a stream and bound what they hold themselves."""

    def __init__(self, app: ASGIApp, max_bytes: int, streamed: frozenset[str] = frozenset()) -> None:
        self.app, self.max_bytes, self.streamed = app, max_bytes, streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.streamed:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        # Read the whole body first (it is small by definition), refusing as soon as it grows too large;
        # then hand the app exactly what arrived.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(
            scope,
            _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}], receive),
            send,
        )

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "body_too_large",
                    "message": f"request bodies are limited to {self.max_bytes} bytes",
                    "details": {"max_bytes": self.max_bytes},
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], then: Receive) -> Receive:
    """The messages already read, then the real channel (so a later disconnect is still seen)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive
