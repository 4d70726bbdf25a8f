"""The bridge contract (docs/bridge.md), version 1: how an adapter the creator runs joins a platform without a
public messaging API to the service. One HMAC scheme both ways (connectors/webhook.py): `X-Huntaze-Timestamp` and
`X-Huntaze-Signature: sha256=<hex HMAC-SHA256 of "timestamp.body" with the connection's secret>`.

- Events in: POST /v1/connectors/bridge/{platform}/events, signed, `X-Huntaze-Creator: <creator id>`, the body of
  POST /v1/events.
- Sends out: the signed webhook to the connection's URL, `Idempotency-Key: <draft id>` (a human's retry:
  `<draft id>/retry-<n>`), the payload with `version`, the fan, the text and the offer (catalog id, the platform's
  item id, price).
- Receipts back: the adapter's 2xx answer to a send, {"version": 1, "status": "delivered", "platform_message_id"}
  or {"version": 1, "status": "failed", "error"}; or later through POST /v1/deliveries/{draft_id} with a key.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from connectors.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

CONTRACT_VERSION = 1
CREATOR_HEADER = "X-Huntaze-Creator"


def signed_headers(secret: str, body: bytes, **extra: str) -> dict[str, str]:
    ts = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: sign(secret, ts, body),
        **extra,
    }


def verify_signed(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, tolerance_s: int
) -> bool:
    """The signature matches and the timestamp is within `tolerance_s` of now (a captured request cannot be
    replayed later; within the tolerance, the event id or the idempotency key makes a replay harmless)."""
    if not timestamp or not signature or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    return verify(secret, timestamp, body, signature)


@dataclass(frozen=True)
class BridgeReceipt:
    status: str  # delivered | failed
    platform_message_id: str | None = None
    error: str | None = None


def parse_receipt(body: bytes) -> BridgeReceipt | None:
    """The receipt in an adapter's answer to a send, or None when it gave none (it may report later)."""
    try:
        doc = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    status, mid, error = doc.get("status"), doc.get("platform_message_id"), doc.get("error")
    if status == "delivered" and isinstance(mid, str) and 0 < len(mid) <= 200 and "\x00" not in mid:
        return BridgeReceipt("delivered", platform_message_id=mid)
    if status == "failed":
        text = error if isinstance(error, str) and error.strip() else "the platform reported a failure"
        return BridgeReceipt("failed", error=text.replace("\x00", "")[:500])
    return None
