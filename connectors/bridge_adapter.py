"""The reference bridge adapter (`huntaze bridge run --config FILE`): it speaks the bridge contract (docs/bridge.md)
with the service on one side and a small, explicit platform client on the other.

- Sends: it listens for the service's signed send requests, checks the signature and the timestamp, sends once per
  idempotency key through the platform client (a repeated key answers the first receipt without a second send;
  the keys and receipts are kept in the state file), and answers the receipt.
- Events: it asks the platform client for new events and posts each, signed, to the service; the cursor is kept in
  the state file once the service has accepted them.

The platform client is the only platform-specific part: `HttpPlatformClient` talks to a platform API service the
creator subscribes to through the documented HTTP shape below, or a class of one's own (`client.class`:
"package.module:Class", built with `client.options`). The adapter does no scraping and drives no browser: it calls
the API it is given, as its owner's terms allow.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Protocol

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.bridge import CONTRACT_VERSION, CREATOR_HEADER, signed_headers, verify_signed
from connectors.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER

log = logging.getLogger(__name__)


class PlatformError(Exception):
    """The platform did not take the message. `retryable`: the service should try again later (the adapter answers
    503); otherwise the receipt says failed, with this message."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class PlatformClient(Protocol):
    async def send(self, platform_fan_id: str, text: str, offer: dict[str, Any] | None) -> str:
        """Send one message (with its offer: the platform's item id and price); the platform's message id."""
        ...

    async def events(self, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Events after `cursor`, each in the body shape of POST /v1/events, and the cursor after them."""
        ...


class HttpPlatformClient:
    """A platform API service over HTTP, `Authorization: Bearer <api_key>`:
    POST {base_url}/messages {"fan_id", "text", "item_id"?, "price_cents"?} → {"id"};
    GET {base_url}/events?after=<cursor> → {"events": [...], "cursor"}."""

    def __init__(self, base_url: str, api_key: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.timeout_s = timeout_s

    async def send(self, platform_fan_id: str, text: str, offer: dict[str, Any] | None) -> str:
        body: dict[str, Any] = {"fan_id": platform_fan_id, "text": text}
        if offer:
            if not offer.get("platform_item_id"):
                raise PlatformError(
                    "the offer's item has no platform_item_id in the catalog", retryable=False
                )
            body |= {"item_id": offer["platform_item_id"], "price_cents": offer["price_cents"]}
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as http:
                resp = await http.post(f"{self.base_url}/messages", json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            raise PlatformError("platform unreachable", retryable=True) from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            raise PlatformError(f"platform answered {resp.status_code}", retryable=True)
        if resp.status_code >= 300:
            raise PlatformError(f"platform refused the message ({resp.status_code})", retryable=False)
        return str(resp.json()["id"])

    async def events(self, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        async with httpx.AsyncClient(timeout=self.timeout_s) as http:
            resp = await http.get(
                f"{self.base_url}/events", params={"after": cursor} if cursor else {}, headers=self.headers
            )
        resp.raise_for_status()
        doc = resp.json()
        return list(doc["events"]), doc.get("cursor", cursor)


class ClientConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field("http", description="http (HttpPlatformClient) or class")
    base_url: str | None = None
    api_key: SecretStr | None = None
    class_path: str | None = Field(None, alias="class", description="package.module:Class, for kind class")
    options: dict[str, Any] = Field(default_factory=dict)


class AdapterConfig(BaseModel):
    """The adapter's configuration file (JSON)."""

    model_config = ConfigDict(extra="forbid")
    contract_version: int = Field(CONTRACT_VERSION, description="the bridge contract version spoken")
    service_url: str = Field(description="the service's base URL, e.g. https://huntaze.example")
    creator_id: str
    platform: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$")
    secret: SecretStr = Field(
        min_length=16, description="the connection's secret (PUT /v1/connections/{platform})"
    )
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(8090, ge=1, le=65535)
    state_file: Path = Field(
        Path("bridge-state.json"), description="idempotency keys, receipts, event cursor"
    )
    poll_interval_s: float = Field(5.0, gt=0)
    tolerance_s: int = Field(300, ge=1)
    client: ClientConfig


def load_config(path: Path) -> AdapterConfig:
    """The configuration; a ValueError naming the file and the bad field when it is not valid."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror})") from exc
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from exc
    try:
        config = AdapterConfig.model_validate(raw)
    except Exception as exc:  # pydantic's ValidationError: name each field
        errors = getattr(exc, "errors", None)
        if errors is None:
            raise
        lines = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors())
        raise ValueError(f"{path}: {lines}") from None
    if config.contract_version != CONTRACT_VERSION:
        raise ValueError(f"{path}: contract_version {config.contract_version} is not {CONTRACT_VERSION}")
    return config


def build_client(config: ClientConfig) -> PlatformClient:
    if config.kind == "http":
        if not config.base_url or config.api_key is None:
            raise ValueError("client.base_url and client.api_key are needed for an http client")
        return HttpPlatformClient(config.base_url, config.api_key.get_secret_value())
    if config.kind == "class" and config.class_path:
        module, _, name = config.class_path.partition(":")
        try:
            client: PlatformClient = getattr(importlib.import_module(module), name)(**config.options)
        except (ImportError, AttributeError, TypeError) as exc:
            raise ValueError(f"client.class {config.class_path!r} cannot be loaded ({exc})") from None
        return client
    raise ValueError("client.kind must be http, or class with client.class = 'package.module:Class'")


class State:
    """Receipts by idempotency key and the event cursor, in one JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        self.receipts: dict[str, dict[str, Any]] = doc.get("receipts", {})
        self.cursor: str | None = doc.get("cursor")

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"receipts": self.receipts, "cursor": self.cursor}), encoding="utf-8")
        os.replace(tmp, self.path)


class Adapter:
    def __init__(self, config: AdapterConfig, client: PlatformClient) -> None:
        self.config = config
        self.client = client
        self.state = State(config.state_file)
        self.lock = asyncio.Lock()  # one send at a time: a repeated key waits for the first one's receipt
        self.app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        self.app.post("/send")(self._send)

    async def _send(self, request: Request) -> JSONResponse:
        body = await request.body()
        h = request.headers
        secret = self.config.secret.get_secret_value()
        if not verify_signed(
            secret, body, h.get(TIMESTAMP_HEADER), h.get(SIGNATURE_HEADER), self.config.tolerance_s
        ):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        key = h.get(IDEMPOTENCY_HEADER, "")
        try:
            msg = json.loads(body)
            fan, text, offer = msg["platform_fan_id"], msg["text"], msg.get("offer")
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "not a send request"}, status_code=400)
        if not key or msg.get("version") != CONTRACT_VERSION:
            return JSONResponse(
                {"error": f"contract version {CONTRACT_VERSION} and a key needed"}, status_code=400
            )
        async with self.lock:
            done = self.state.receipts.get(key)
            if done is None:
                try:
                    mid = await self.client.send(fan, text, offer)
                    done = {"version": CONTRACT_VERSION, "status": "delivered", "platform_message_id": mid}
                except PlatformError as exc:
                    if exc.retryable:
                        return JSONResponse({"error": str(exc)}, status_code=503)
                    done = {"version": CONTRACT_VERSION, "status": "failed", "error": str(exc)}
                self.state.receipts[key] = done
                self.state.save()
        return JSONResponse(done)

    async def relay_events(self, service: httpx.AsyncClient) -> int:
        """Post the platform's new events to the service, signed; the cursor moves once they are accepted. The
        number posted."""
        events, cursor = await self.client.events(self.state.cursor)
        secret = self.config.secret.get_secret_value()
        url = f"{self.config.service_url.rstrip('/')}/v1/connectors/bridge/{self.config.platform}/events"
        for ev in events:
            body = json.dumps(ev).encode()
            resp = await service.post(
                url,
                content=body,
                headers=signed_headers(secret, body, **{CREATOR_HEADER: self.config.creator_id}),
            )
            if resp.status_code == 422 or resp.status_code == 409:
                log.warning("the service refused event %s: %s", ev.get("event_id"), resp.text[:500])
                continue  # a bad event stays refused: skipped, not retried for ever
            resp.raise_for_status()
        self.state.cursor = cursor
        self.state.save()
        return len(events)

    async def run(self) -> None:
        """Serve sends and relay events until cancelled."""
        server = uvicorn.Server(
            uvicorn.Config(
                self.app, host=self.config.listen_host, port=self.config.listen_port, log_level="info"
            )
        )
        serving = asyncio.create_task(server.serve())
        try:
            async with httpx.AsyncClient(timeout=30) as service:
                while not serving.done():
                    try:
                        await self.relay_events(service)
                    except (httpx.HTTPError, KeyError, ValueError) as exc:
                        log.warning("relaying events failed (%s); trying again", type(exc).__name__)
                    await asyncio.sleep(self.config.poll_interval_s)
        finally:
            server.should_exit = True
            await serving
