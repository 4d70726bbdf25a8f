"""Instagram Messaging on Meta's Graph API (docs/connectors.md cites the documentation each part follows).

- Webhooks: Meta signs every notification with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with
  the app secret>`; the subscription handshake echoes `hub.challenge` when `hub.verify_token` matches.
- Messages webhook: {"object": "instagram", "entry": [{"id": <account id>, "time", "messaging": [{"sender": {"id"},
  "recipient": {"id"}, "timestamp": <ms>, "message": {"mid", "text", "is_echo"?, ...}}]}]}.
- Send API: POST {graph}/{account id}/messages, `Authorization: Bearer <token>`, body {"recipient": {"id"},
  "message": {"text"}, "messaging_type": "RESPONSE" | "MESSAGE_TAG", "tag"?: "HUMAN_AGENT"}; answers
  {"recipient_id", "message_id"} or {"error": {"message", "type", "code", "error_subcode"?}}.
- Windows: a reply within 24 hours of the fan's last message (standard messaging); a human agent's reply within
  7 days with the HUMAN_AGENT tag; nothing later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.base import (
    Credential,
    InboundMessage,
    Outbound,
    Receipt,
    SendContext,
    SendDecision,
    SendFailed,
)

PLATFORM = "instagram"
SIGNATURE_HEADER = "X-Hub-Signature-256"
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
HUMAN_AGENT = "HUMAN_AGENT"
# Graph error codes that mean "too many calls": worth retrying later.
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
_OUTSIDE_WINDOW_SUBCODE = 2018278


def sign(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str, body: bytes, header: str | None) -> bool:
    """The header must be exactly `sha256=` and the hex HMAC of the raw body (constant-time comparison)."""
    return bool(header) and hmac.compare_digest(sign(app_secret, body), header or "")


class PayloadError(ValueError):
    """A signed notification that is not the documented shape (the message says which part)."""


def _str(v: Any, where: str) -> str:
    if isinstance(v, str) and v and "\x00" not in v and len(v) <= 200:
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    raise PayloadError(f"{where} must be a string of 1 to 200 characters")


def parse_messages(body: bytes) -> list[InboundMessage]:
    """The fans' text messages of a messages notification. Echoes (the account's own messages, including the
    ones this service sent), deleted and unsupported messages, and messages without text are left out."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("the body is not JSON") from exc
    if not isinstance(doc, dict) or doc.get("object") != "instagram":
        raise PayloadError("object must be 'instagram'")
    entries = doc.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("entry must be a list")
    found: list[InboundMessage] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise PayloadError(f"entry[{i}] must be an object")
        account = _str(entry.get("id"), f"entry[{i}].id")
        items = entry.get("messaging", [])
        if not isinstance(items, list):
            raise PayloadError(f"entry[{i}].messaging must be a list")
        for j, item in enumerate(items):
            where = f"entry[{i}].messaging[{j}]"
            if not isinstance(item, dict):
                raise PayloadError(f"{where} must be an object")
            msg = item.get("message")
            if msg is None:
                continue  # reactions, reads, postbacks: not messages
            if not isinstance(msg, dict):
                raise PayloadError(f"{where}.message must be an object")
            if msg.get("is_echo") or msg.get("is_deleted") or msg.get("is_unsupported"):
                continue
            text = msg.get("text")
            text = text.replace("\x00", "") if isinstance(text, str) else None
            if not text or not text.strip():
                continue  # attachments only
            sender, ts = item.get("sender"), item.get("timestamp")
            if not isinstance(sender, dict):
                raise PayloadError(f"{where}.sender must be an object")
            if not isinstance(ts, int) or isinstance(ts, bool) or ts <= 0:
                raise PayloadError(f"{where}.timestamp must be milliseconds since the epoch")
            try:
                at = datetime.fromtimestamp(ts / 1000, UTC)
            except (OverflowError, OSError, ValueError) as exc:
                raise PayloadError(f"{where}.timestamp is out of range") from exc
            found.append(
                InboundMessage(
                    account_id=account,
                    platform_fan_id=_str(sender.get("id"), f"{where}.sender.id"),
                    message_id=_str(msg.get("mid"), f"{where}.message.mid"),
                    text=text[:4000],
                    occurred_at=at,
                )
            )
    return found


def window_rules(ctx: SendContext) -> SendDecision:
    """Standard messaging within 24 h of the fan's last message; a human's own message within 7 days with the
    HUMAN_AGENT tag; otherwise not allowed, and why."""
    if ctx.fan_last_wrote_at is None:
        return SendDecision(
            False, reason="held: the fan has not written on Instagram, so no message can be sent"
        )
    age = ctx.now - ctx.fan_last_wrote_at
    if age <= STANDARD_WINDOW:
        return SendDecision(True)
    if ctx.written_by_human and age <= HUMAN_AGENT_WINDOW:
        return SendDecision(True, tag=HUMAN_AGENT)
    last = ctx.fan_last_wrote_at.strftime("%Y-%m-%d %H:%M UTC")
    if ctx.written_by_human:
        return SendDecision(
            False,
            reason=f"held: outside Instagram's 7-day human agent window (the fan last wrote {last});"
            " it can be sent once the fan writes again",
        )
    return SendDecision(
        False,
        reason=f"held: outside Instagram's 24-hour messaging window (the fan last wrote {last}); a team"
        " member's own message can still go within 7 days, or retry once the fan writes again",
    )


class InstagramConnector:
    platform = PLATFORM

    def __init__(self, graph_url: str, timeout_s: float = 10.0) -> None:
        self.graph_url = graph_url.rstrip("/")
        self.timeout_s = timeout_s

    def rules(self, ctx: SendContext) -> SendDecision:
        return window_rules(ctx)

    async def send(self, credential: Credential, msg: Outbound) -> Receipt:
        if msg.offer:
            # Instagram has no paid media: an offer cannot travel here.
            raise SendFailed("Instagram cannot carry a PPV offer", retryable=False)
        body: dict[str, Any] = {
            "recipient": {"id": msg.platform_fan_id},
            "message": {"text": msg.text},
            "messaging_type": "MESSAGE_TAG" if msg.tag else "RESPONSE",
        }
        if msg.tag:
            body["tag"] = msg.tag
        url = f"{self.graph_url}/{credential.account_id}/messages"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client:
                resp = await client.post(
                    url, json=body, headers={"Authorization": f"Bearer {credential.token}"}
                )
        except httpx.TimeoutException as exc:
            raise SendFailed(
                "Instagram did not answer in time", retryable=False, outcome_unknown=True
            ) from exc
        except httpx.HTTPError as exc:
            raise SendFailed("Instagram unreachable", retryable=True) from exc
        return _receipt(resp)


def _receipt(resp: httpx.Response) -> Receipt:
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    if resp.status_code == 200 and isinstance(doc, dict) and isinstance(doc.get("message_id"), str):
        return Receipt(platform_message_id=doc["message_id"])
    err = doc.get("error") if isinstance(doc, dict) else None
    code = err.get("code") if isinstance(err, dict) else None
    subcode = err.get("error_subcode") if isinstance(err, dict) else None
    if code in _RATE_LIMIT_CODES or resp.status_code == 429:
        raise SendFailed("Instagram rate limit reached", retryable=True)
    if code == 190:
        raise SendFailed("Instagram refused the access token: reconnect the account", retryable=False)
    if code == 10 and subcode == _OUTSIDE_WINDOW_SUBCODE:
        raise SendFailed("Instagram refused it: outside the messaging window", retryable=False)
    if resp.status_code >= 500:
        raise SendFailed(f"Instagram answered {resp.status_code}", retryable=True)
    raise SendFailed(
        f"Instagram refused the message (error {code if code is not None else resp.status_code})",
        retryable=False,
    )
