"""A synthetic history in the import format (docs/import.md): JSON lines, each a `POST /v1/events` body with its
`occurred_at` in the past, oldest first. Used by examples/make_history.py, the import benchmark and its tests."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

_FAN_LINES = [
    "hey, how was your weekend?",
    "loved the last set!!",
    "what are you up to tonight",
    "good morning beautiful",
    "any new videos soon?",
    "you made my day",
    "haha that's so cute",
    "do you do custom requests?",
]
_CREATOR_LINES = [
    "thank you babe, that means a lot",
    "new set dropping this week, stay tuned",
    "just got back from the gym, so tired",
    "glad you liked it!",
]
_TIMEZONES = ["UTC", "Europe/Paris", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"]
_OTHER_PLATFORMS = ["fansly", "fanvue"]

# The catalog a history's purchases and unlocks name by the platform's own id (create these items first).
CATALOG: list[dict[str, Any]] = [
    {"platform_item_id": "item-beach", "title": "Beach set", "price_cents": 1500, "media_type": "photo_set"},
    {"platform_item_id": "item-gym", "title": "Gym video", "price_cents": 2500, "media_type": "video"},
    {
        "platform_item_id": "item-bts",
        "title": "Behind the scenes",
        "price_cents": 900,
        "media_type": "photo_set",
    },
]


def history_events(
    *,
    fans: int,
    events: int,
    seed: int = 7,
    until: datetime | None = None,
    days: int = 180,
    prefix: str = "h",
    catalog_ids: list[str] | None = None,
    platform_item_ids: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """About `events` events of `fans` fans over the `days` before `until` (default: an hour ago), oldest first.
    Every fan subscribes first; then messages both ways, tips, purchases and unlocks (naming `catalog_ids`, else
    `platform_item_ids`, when given: without either, purchases name no item and there are no unlocks), renewals
    every 30 days, for some an expiry, and now and then a refund or a chargeback of an earlier payment. Some fans
    are on other platforms than OnlyFans."""
    rng = random.Random(seed)
    end = until or datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=days)
    span = (end - start).total_seconds()
    per_fan = max(1, events // max(1, fans))
    out: list[tuple[datetime, dict[str, Any]]] = []

    def item() -> dict[str, Any]:
        if catalog_ids:
            return {"catalog_id": rng.choice(catalog_ids)}
        if platform_item_ids:
            return {"platform_item_id": rng.choice(platform_item_ids)}
        return {}

    for f in range(fans):
        fan: dict[str, Any] = {"platform_fan_id": f"{prefix}-fan-{f:05d}", "display_name": f"Fan {f}"}
        if f % 3 == 0:
            fan["timezone"] = _TIMEZONES[f % len(_TIMEZONES)]
        if f % 5 == 3:
            fan["platform"] = _OTHER_PLATFORMS[f % len(_OTHER_PLATFORMS)]
        joined = start + timedelta(seconds=rng.uniform(0, span * 0.5))
        left = end if f % 4 else joined + timedelta(seconds=rng.uniform(0, (end - joined).total_seconds()))
        mine: list[tuple[datetime, dict[str, Any]]] = [
            (joined, {"kind": "subscription_started", "amount_cents": 999, "fan": fan})
        ]
        renew = joined + timedelta(days=30)
        while renew < left:
            mine.append((renew, {"kind": "subscription_renewed", "amount_cents": 999, "fan": fan}))
            renew += timedelta(days=30)
        if left < end:
            mine.append((left, {"kind": "subscription_expired", "fan": fan}))
        life = (left - joined).total_seconds()
        for _ in range(per_fan - len(mine)):
            at = joined + timedelta(seconds=rng.uniform(1, max(2.0, life)))
            roll = rng.random()
            ev: dict[str, Any]
            if roll < 0.6:
                ev = {"kind": "message", "text": rng.choice(_FAN_LINES), "fan": fan}
            elif roll < 0.8:
                ev = {"kind": "creator_message", "text": rng.choice(_CREATOR_LINES), "fan": fan}
            elif roll < 0.88:
                ev = {"kind": "tip", "amount_cents": rng.choice([200, 500, 1000, 2500]), "fan": fan}
            elif roll < 0.95 or not (catalog_ids or platform_item_ids):
                ev = {"kind": "purchase", "amount_cents": rng.choice([900, 1500, 2500]), "fan": fan, **item()}
            else:
                ev = {"kind": "ppv_unlock", "amount_cents": rng.choice([900, 1500]), "fan": fan, **item()}
            mine.append((at, ev))
        mine.sort(key=lambda p: p[0])
        for j, (at, ev) in enumerate(list(mine)):
            ev["event_id"] = f"{prefix}-{f:05d}-{j:04d}"
            # about one payment in 40 is given back a day later: mostly refunds, some chargebacks
            paid = ev["kind"] in ("tip", "purchase", "ppv_unlock")
            if paid and rng.random() < 0.025 and at + timedelta(days=1) < end:
                kind = "chargeback" if rng.random() < 0.3 else "refund"
                back = ev["amount_cents"] if kind == "chargeback" else ev["amount_cents"] // 2
                mine.append(
                    (
                        at + timedelta(days=1),
                        {
                            "event_id": f"{ev['event_id']}-{kind}",
                            "kind": kind,
                            "original_event_id": ev["event_id"],
                            "amount_cents": back,
                            "fan": fan,
                        },
                    )
                )
        out.extend(mine)
    out.sort(key=lambda p: p[0])
    for at, ev in out:
        yield {
            "event_id": ev.pop("event_id"),
            **ev,
            "occurred_at": at.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        }


def history_lines(**kwargs: Any) -> Iterator[str]:
    """history_events as JSON lines (without their newline)."""
    for ev in history_events(**kwargs):
        yield json.dumps(ev, separators=(",", ":"))
