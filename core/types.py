"""Domain vocabulary shared by every layer."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    MESSAGE = "message"
    SUBSCRIPTION_STARTED = "subscription_started"
    SUBSCRIPTION_RENEWED = "subscription_renewed"
    SUBSCRIPTION_EXPIRED = "subscription_expired"
    PURCHASE = "purchase"
    TIP = "tip"


class DraftStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    BLOCKED = "blocked"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    SENT = "sent"


# Drafts a human can still decide on.
DECIDABLE = (DraftStatus.PENDING_REVIEW, DraftStatus.BLOCKED)


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    CHATTER = "chatter"
    VIEWER = "viewer"


class Route(StrEnum):
    REPLY = "reply"
    HANDOFF = "handoff"
    ACKNOWLEDGE = "acknowledge"
    IGNORE = "ignore"


def conversation_workflow_id(creator_id: str, fan_id: str) -> str:
    """One workflow per fan: the id serialises that fan's handling across API processes."""
    return f"conversation-{creator_id}-{fan_id}"
