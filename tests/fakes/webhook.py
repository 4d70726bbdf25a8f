"""A platform's delivery endpoint on loopback: verifies signatures, fails on demand, dedupes by key. `pause_sends()`
holds the answer to the next deliveries it accepts until `release()`."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi import FastAPI, Request, Response

from connectors.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.fakes.loopback import LoopbackServer


class WebhookReceiver:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.fail_next = 0
        self.calls: list[dict[str, Any]] = []
        self.raw: list[dict[str, Any]] = []  # each request's timestamp, signature and body, as received
        self.delivered: dict[str, dict[str, Any]] = {}  # idempotency key -> payload
        self.send_arrived = threading.Event()
        self._paused = False
        self._gate = threading.Event()
        app = FastAPI()
        app.post("/hook")(self._hook)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hook"

    def pause_sends(self) -> None:
        self._paused = True
        self._gate.clear()

    def release(self) -> None:
        self._paused = False
        self._gate.set()

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        ok = verify(
            self.secret,
            request.headers.get(TIMESTAMP_HEADER, ""),
            body,
            request.headers.get(SIGNATURE_HEADER, ""),
        )
        self.calls.append({"key": key, "signature_ok": ok})
        self.raw.append(
            {
                "timestamp": request.headers.get(TIMESTAMP_HEADER, ""),
                "signature": request.headers.get(SIGNATURE_HEADER, ""),
                "body": body,
            }
        )
        if not ok:
            return Response(status_code=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return Response(status_code=503)
        self.delivered.setdefault(key, await request.json())
        self.send_arrived.set()
        if self._paused:
            await asyncio.to_thread(self._gate.wait, 120)
        return Response(status_code=200)
