"""Signed webhook delivery: HMAC-SHA256 over `timestamp.body`, the draft id as idempotency key.

A creator's URL passes the egress check (connectors/egress.py) before every POST and the request goes to the
address the check approved; redirects are never followed. Errors name a category only ("webhook unreachable",
"webhook answered 500"), never an address, a port or a resolver or connection message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from connectors.egress import REFUSED_MESSAGE, EgressRefused, Unresolved, check_url

SIGNATURE_HEADER = "X-Huntaze-Signature"
TIMESTAMP_HEADER = "X-Huntaze-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryError(RuntimeError):
    """The receiver did not acknowledge; the caller retries with backoff. The message is safe to show owners."""


class WebhookRefused(DeliveryError):
    """The URL's address is not allowed: retrying cannot help. `reason` (which kind of address) is for logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(REFUSED_MESSAGE)
        self.reason = reason


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


async def post_signed(
    url: str,
    secret: str,
    payload: dict[str, Any],
    idempotency_key: str,
    timeout_s: float = 10.0,
    *,
    check_egress: bool = True,
    allow_loopback: bool = False,
) -> int:
    """POST the payload signed. `check_egress=False` only for the operator's own service-wide webhook."""
    status, _ = await post_signed_reply(
        url,
        secret,
        payload,
        idempotency_key,
        timeout_s,
        check_egress=check_egress,
        allow_loopback=allow_loopback,
    )
    return status


async def post_signed_reply(
    url: str,
    secret: str,
    payload: dict[str, Any],
    idempotency_key: str,
    timeout_s: float = 10.0,
    *,
    check_egress: bool = True,
    allow_loopback: bool = False,
) -> tuple[int, bytes]:
    """As post_signed, with the receiver's answer (at most 64 KiB of it: a bridge adapter's receipt)."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, ts, body),
        TIMESTAMP_HEADER: ts,
        IDEMPOTENCY_HEADER: idempotency_key,
    }
    target: httpx.URL | str = url
    extensions: dict[str, Any] = {}
    if check_egress:
        # Resolved again at every send: what a name points at can change after the URL was saved.
        try:
            checked = await check_url(url, allow_loopback=allow_loopback, timeout_s=timeout_s)
        except EgressRefused as exc:
            raise WebhookRefused(exc.reason) from exc
        except (Unresolved, TimeoutError) as exc:
            raise DeliveryError("webhook unreachable") from exc
        target, host_header, extensions = checked.pinned()
        headers.update(host_header)
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
            resp = await client.post(target, content=body, headers=headers, extensions=extensions)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise DeliveryError("webhook unreachable") from exc
    if resp.status_code >= 300:
        # A redirect is an answer, not a new address to call (it could point anywhere).
        raise DeliveryError(f"webhook answered {resp.status_code}")
    return resp.status_code, resp.content[:65536]
