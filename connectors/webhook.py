"""Signed webhook delivery: HMAC-SHA256 over `timestamp.body`, the draft id as idempotency key."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Huntaze-Signature"
TIMESTAMP_HEADER = "X-Huntaze-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryError(RuntimeError):
    """The receiver did not acknowledge; the caller retries with backoff."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


async def post_signed(
    url: str, secret: str, payload: dict[str, Any], idempotency_key: str, timeout_s: float = 10.0
) -> int:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, ts, body),
        TIMESTAMP_HEADER: ts,
        IDEMPOTENCY_HEADER: idempotency_key,
    }
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            resp = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from exc
    if resp.status_code >= 300:
        raise DeliveryError(f"webhook answered {resp.status_code}")
    return resp.status_code
