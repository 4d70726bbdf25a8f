"""Meta's Graph API for Instagram messaging, on loopback: it sends signed messages webhooks (as Meta does, HMAC-SHA256
of the raw body with the app secret) and takes Send API calls checking what the real one checks, built from the
documented shapes: the account's access token (Bearer), the body (recipient.id, message.text, messaging_type, tag),
that the recipient wrote to the account, and the window (RESPONSE within 24 h of the fan's last message,
MESSAGE_TAG + HUMAN_AGENT within 7 days). Errors answer {"error": {"message", "type", "code", "error_subcode"}}.

`pause_sends()` makes the next send wait after it was accepted (recorded), until `release()`: a test kills the
caller meanwhile."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.loopback import LoopbackServer

VERSION = "v23.0"


def _error(status: int, code: int, message: str, subcode: int | None = None) -> JSONResponse:
    err: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "fake"}
    if subcode is not None:
        err["error_subcode"] = subcode
    return JSONResponse({"error": err}, status_code=status)


class FakeGraph:
    def __init__(self, app_secret: str) -> None:
        self.app_secret = app_secret
        self.tokens: dict[str, str] = {}  # account id -> its valid access token
        self.last_wrote: dict[tuple[str, str], datetime] = {}  # (account, user) -> the user's last message
        self.sends: list[dict[str, Any]] = []  # accepted sends
        self.refused: list[dict[str, Any]] = []
        self.send_arrived = threading.Event()
        self._paused = False
        self._gate = threading.Event()
        app = FastAPI()
        app.post(f"/{VERSION}/{{account}}/messages")(self._send)
        self.server = LoopbackServer(app)

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/{VERSION}"

    def connect(self, account: str, token: str) -> None:
        self.tokens[account] = token

    def user_writes(
        self, account: str, user: str, text: str, at: datetime | None = None, mid: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A fan's message: the signed notification Meta would POST (body, headers)."""
        at = at or datetime.now(UTC)
        self.last_wrote[(account, user)] = max(at, self.last_wrote.get((account, user), at))
        body = json.dumps(
            {
                "object": "instagram",
                "entry": [
                    {
                        "id": account,
                        "time": int(time.time() * 1000),
                        "messaging": [
                            {
                                "sender": {"id": user},
                                "recipient": {"id": account},
                                "timestamp": int(at.timestamp() * 1000),
                                "message": {"mid": mid or f"aWdf{uuid.uuid4().hex}", "text": text},
                            }
                        ],
                    }
                ],
            }
        ).encode()
        sig = "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sig}

    def pause_sends(self) -> None:
        self._paused = True
        self._gate.clear()

    def release(self) -> None:
        self._paused = False
        self._gate.set()

    async def _send(self, account: str, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        if token is None or self.tokens.get(account) != token:
            return self._refuse(account, 400, 190, "Invalid OAuth access token")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self._refuse(account, 400, 100, "Invalid JSON")
        problem = _shape_problem(body)
        if problem:
            return self._refuse(account, 400, 100, problem)
        user, kind = body["recipient"]["id"], body["messaging_type"]
        last = self.last_wrote.get((account, user))
        if last is None:
            return self._refuse(account, 400, 100, "No matching user found", 2018001)
        age = datetime.now(UTC) - last
        window = timedelta(days=7) if kind == "MESSAGE_TAG" else timedelta(hours=24)
        if age > window:
            return self._refuse(account, 400, 10, "This message is sent outside of allowed window.", 2018278)
        message_id = f"aWdfbWlk{uuid.uuid4().hex}"
        self.sends.append(
            {
                "account": account,
                "recipient": user,
                "text": body["message"]["text"],
                "messaging_type": kind,
                "tag": body.get("tag"),
                "token": token,
                "message_id": message_id,
            }
        )
        self.send_arrived.set()
        if self._paused:
            await asyncio.to_thread(self._gate.wait, 120)
        return JSONResponse({"recipient_id": user, "message_id": message_id})

    def _refuse(
        self, account: str, status: int, code: int, message: str, subcode: int | None = None
    ) -> JSONResponse:
        self.refused.append({"account": account, "code": code, "subcode": subcode, "message": message})
        return _error(status, code, message, subcode)


def _shape_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the body must be an object"
    extra = set(body) - {"recipient", "message", "messaging_type", "tag"}
    if extra:
        return f"unknown parameters: {sorted(extra)}"
    recipient, message = body.get("recipient"), body.get("message")
    if not isinstance(recipient, dict) or not isinstance(recipient.get("id"), str):
        return "recipient.id is required"
    if not isinstance(message, dict) or not isinstance(message.get("text"), str) or not message["text"]:
        return "message.text is required"
    if len(message["text"].encode()) > 1000:
        return "message.text is longer than 1000 bytes"
    kind = body.get("messaging_type")
    if kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
        return "messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG"
    if kind == "MESSAGE_TAG" and body.get("tag") != "HUMAN_AGENT":
        return "tag must be HUMAN_AGENT"
    if kind != "MESSAGE_TAG" and "tag" in body:
        return "tag is only allowed with messaging_type MESSAGE_TAG"
    return None
