"""A platform API service on loopback in the shape the reference adapter's HttpPlatformClient speaks
(connectors/bridge_adapter.py): POST /messages sends (checked: the key, the body), GET /events?after= lists the
fans' events after a cursor. `pause_sends()` holds the next accepted send's answer until `release()`."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.loopback import LoopbackServer


class FakePlatform:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.sends: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.send_arrived = threading.Event()
        self._paused = False
        self._gate = threading.Event()
        app = FastAPI()
        app.post("/messages")(self._send)
        app.get("/events")(self._events)
        self.server = LoopbackServer(app)

    @property
    def url(self) -> str:
        return self.server.url

    def fan_writes(self, fan: str, text: str) -> str:
        event_id = f"of-{uuid.uuid4().hex[:12]}"
        self.events.append(
            {
                "event_id": event_id,
                "kind": "message",
                "text": text,
                "occurred_at": datetime.now(UTC).isoformat(),
                "fan": {"platform_fan_id": fan, "platform": "onlyfans"},
            }
        )
        return event_id

    def pause_sends(self) -> None:
        self._paused = True
        self._gate.clear()

    def release(self) -> None:
        self._paused = False
        self._gate.set()

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    async def _send(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        body = json.loads(await request.body())
        if (
            set(body) - {"fan_id", "text", "item_id", "price_cents"}
            or not body.get("fan_id")
            or not body.get("text")
        ):
            return JSONResponse({"error": "bad request"}, status_code=400)
        if ("item_id" in body) != ("price_cents" in body):
            return JSONResponse({"error": "an item needs its price"}, status_code=400)
        mid = f"of-msg-{len(self.sends) + 1}"
        self.sends.append({**body, "id": mid})
        self.send_arrived.set()
        if self._paused:
            await asyncio.to_thread(self._gate.wait, 120)
        return JSONResponse({"id": mid})

    async def _events(self, request: Request, after: str | None = None) -> JSONResponse:
        if not self._authorized(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        start = int(after) if after else 0
        return JSONResponse({"events": self.events[start:], "cursor": str(len(self.events))})
