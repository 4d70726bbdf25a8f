"""Domain vocabulary shared by every layer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal


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


class FollowupKind(StrEnum):
    WELCOME = "welcome"
    WIN_BACK = "win_back"
    PPV_REMINDER = "ppv_reminder"
    INACTIVE = "inactive"


# --- what the supervisor graph decides, as it travels between the graph, the workflow and its activities ------

PolicyOutcome = Literal["pass", "fix", "block"]


@dataclass(frozen=True)
class PolicyFinding:
    rule: str
    reason: str
    span: tuple[int, int] | None = None
    severity: Literal["block", "warn"] = "block"


@dataclass(frozen=True)
class SendWindowNote:
    """Quiet hours or a cap would hold an approval's send until `not_before` (ISO 8601)."""

    not_before: str
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PolicyReport:
    outcome: PolicyOutcome
    findings: list[PolicyFinding] = field(default_factory=list)
    rules_checked: list[str] = field(default_factory=list)
    # With outcome "fix": the redacted text offered to the human. Never applied without their approval.
    fix_text: str | None = None
    # Set by the supervisor's outbound check: when an approval now would be held (the send step decides again).
    send_window: SendWindowNote | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored and served form (drafts.policy_report)."""
        return asdict(self)


@dataclass(frozen=True)
class InboundVerdict:
    """What the deterministic inbound checks decided before any agent sees the message."""

    opt_out: bool = False
    handoff_reason: str | None = None
    injection: bool = False
    findings: list[PolicyFinding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FollowupDirectives:
    """Which follow-up sequences a batch starts, and which it stops (kind -> why)."""

    start: list[str] = field(default_factory=list)
    stop: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteDecision:
    """The supervisor's decision for one batch of a fan's events."""

    route: Route
    reason: str
    fan_text: str = ""
    inbound: InboundVerdict | None = None
    opt_out: bool = False
    followups: FollowupDirectives = field(default_factory=FollowupDirectives)


@dataclass(frozen=True)
class Offer:
    catalog_id: str
    price_cents: int


@dataclass(frozen=True)
class DraftProposal:
    """A validated draft from the DM agent (not yet checked by the outbound policy)."""

    text: str
    offer: Offer | None = None
    rationale: str = ""
    attempts: int = 0


@dataclass(frozen=True)
class DraftAttempt:
    """What the DM agent produced: a proposal, or why it could not."""

    draft: DraftProposal | None = None
    failure: str | None = None


def conversation_workflow_id(creator_id: str, fan_id: str) -> str:
    """One workflow per fan: the id serialises that fan's handling across API processes."""
    return f"conversation-{creator_id}-{fan_id}"
