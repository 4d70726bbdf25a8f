"""The connector interface: what a platform connector takes in, sends out, and the rules a send must respect.

- Inbound: a platform's notification becomes `InboundMessage`s, each stored as the same event `POST /v1/events`
  stores, idempotent on the platform's message id (the event id).
- Outbound: an approved message (`Outbound`, keyed by its draft id) goes to the platform's send call and comes
  back as a `Receipt` with the platform's message id, or raises `SendFailed` (retryable or not).
- Rules: before a send, `rules(context)` says whether the platform allows it now (message windows), with which
  tag, or why not. Rate limits are the platform's answers (a retryable `SendFailed`, retried with backoff).

Credentials per creator and platform are sealed in `connections` with the AES-GCM keyring (core/crypto.py) and
rotated by `huntaze secrets rotate`; a connector is handed the opened credential for one call only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class InboundMessage:
    account_id: str  # the creator's account on the platform (who the notification is for)
    platform_fan_id: str
    message_id: str  # the platform's id: the stored event's id, so a replay stores nothing new
    text: str
    occurred_at: datetime


@dataclass(frozen=True)
class Credential:
    account_id: str
    token: str  # opened from its sealed form for this call only; never logged

    def __repr__(self) -> str:
        return f"Credential(account_id={self.account_id!r})"


@dataclass(frozen=True)
class Outbound:
    draft_id: str
    platform_fan_id: str
    text: str
    offer: dict[str, Any] | None
    tag: str | None = None  # the platform's message tag the rules chose (e.g. HUMAN_AGENT)


@dataclass(frozen=True)
class Receipt:
    platform_message_id: str


@dataclass(frozen=True)
class SendContext:
    """What the rules look at: when the fan last wrote and whether a human wrote this message."""

    now: datetime
    fan_last_wrote_at: datetime | None
    written_by_human: bool


@dataclass(frozen=True)
class SendDecision:
    allowed: bool
    tag: str | None = None
    reason: str = ""  # when not allowed: shown to owners as the delivery's error


class SendFailed(Exception):
    """The platform did not take the message. `retryable`: worth trying again (server error, rate limit, network);
    otherwise it waits for a human. The message names a category, never a token."""

    def __init__(self, message: str, *, retryable: bool, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown  # the call may have reached the platform (a timeout)


class Connector(Protocol):
    platform: str

    def rules(self, ctx: SendContext) -> SendDecision: ...

    async def send(self, credential: Credential, msg: Outbound) -> Receipt: ...
