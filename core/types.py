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
    # a message the creator (or a chatter) sent on the platform directly, not through a draft
    CREATOR_MESSAGE = "creator_message"
    # the fan paid to unlock an item offered to them
    PPV_UNLOCK = "ppv_unlock"
    # money back on an earlier payment (a purchase, unlock, tip or subscription)
    REFUND = "refund"
    CHARGEBACK = "chargeback"


# Money back on an earlier payment (stored in `refunds`, never as a transaction).
MONEY_BACK_KINDS = (EventKind.REFUND, EventKind.CHARGEBACK)


class Platform(StrEnum):
    """Where a fan is (fans.platform). A fan's platform id is unique per creator and platform."""

    ONLYFANS = "onlyfans"
    FANSLY = "fansly"
    FANVUE = "fanvue"
    INSTAGRAM = "instagram"
    REDDIT = "reddit"
    TIKTOK = "tiktok"
    X = "x"


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


class Lane(StrEnum):
    """Which lane a batch's draft is written in. LIVE: the fan did something (a message, a purchase, a
    subscription): the draft is written at once, inside the fan's workflow task. BATCH: only follow-up steps or
    campaign messages (nobody is waiting): the draft waits its turn on the batch-drafts task queue, at a bounded
    rate, and gives way to the fan's own events."""

    LIVE = "live"
    BATCH = "batch"


class FollowupKind(StrEnum):
    WELCOME = "welcome"
    WIN_BACK = "win_back"
    PPV_REMINDER = "ppv_reminder"
    INACTIVE = "inactive"


class ActionKind(StrEnum):
    """The kinds of agent actions (the dashboard feed, `GET /v1/actions?kind=`). A new kind joins this list: a
    test reads every `record_action` call of the source and fails on a kind missing here."""

    EVENT_RECEIVED = "event_received"
    HISTORY_IMPORTED = "history_imported"
    ROUTED = "routed"
    DRAFTED = "drafted"
    BLOCKED = "blocked"
    DRAFT_FAILED = "draft_failed"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    ESCALATED = "escalated"
    SEND_HELD = "send_held"
    SENT = "sent"
    HANDOFF = "handoff"
    OPT_OUT = "opt_out"
    RESUMED = "resumed"
    REMEMBERED = "remembered"
    POLICY_UPDATED = "policy_updated"
    SEGMENTS_REFRESHED = "segments_refreshed"
    SEGMENTS_REFRESH_FAILED = "segments_refresh_failed"
    SEGMENTS_ROWS_SKIPPED = "segments_rows_skipped"
    FOLLOWUP_STARTED = "followup_started"
    FOLLOWUP_STEP = "followup_step"
    FOLLOWUP_DEFERRED = "followup_deferred"
    FOLLOWUP_COMPLETED = "followup_completed"
    FOLLOWUP_STOPPED = "followup_stopped"
    CAMPAIGN_CREATED = "campaign_created"
    CAMPAIGN_DISPATCHED = "campaign_dispatched"
    DAILY_PLAN = "daily_plan"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERY_RETRIED = "delivery_retried"
    DELIVERY_DISCARDED = "delivery_discarded"
    CREATOR_UPDATED = "creator_updated"
    WRITTEN = "written"
    DELEGATED = (
        "delegated"  # the fan-event supervisor handed a batch's work to an agent (details: agent, reason)
    )
    ASSISTANT_DELEGATED = "assistant_delegated"  # the assistant's supervisor handed a request to an agent
    ASSISTANT_ANSWERED = "assistant_answered"


class AuditAction(StrEnum):
    """The actions of the audit log (`GET /v1/audit?action=`). A new one joins this list (the same test reads
    every `append_audit` call)."""

    MEMBER_ADDED = "member.added"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_GRANTED = "member.granted"
    MEMBER_GRANT_REVOKED = "member.grant_revoked"
    KEY_CREATED = "key.created"
    KEY_REVOKED = "key.revoked"
    STEP_UP = "step_up"
    TOTP_ENROLLED = "totp.enrolled"
    TOTP_CONFIRMED = "totp.confirmed"
    TOTP_RESET = "totp.reset"
    TOTP_FAILED = "totp.failed"
    TOTP_LOCKED = "totp.locked"
    TOTP_REFUSED = "totp.refused"
    SECRETS_ROTATED = "secrets.rotated"
    CONNECTION_UPDATED = "connection.updated"
    ALERTS_CONFIG_UPDATED = "alerts.config_updated"
    POLICY_UPDATED = "policy.updated"
    FOLLOWUP_CONFIG_CHANGED = "followup_config_changed"
    DRAFT_APPROVED = "draft.approved"
    DRAFT_REJECTED = "draft.rejected"
    DRAFT_SUPERSEDED = "draft.superseded"
    DRAFT_EXPIRED = "draft.expired"
    DRAFT_SENT = "draft.sent"
    FAN_HANDOFF = "fan.handoff"
    FAN_OPT_OUT = "fan.opt_out"
    FAN_RESUMED = "fan.resumed"
    FAN_EXPORTED = "fan.exported"
    FAN_NOTE_ADDED = "fan.note_added"
    FAN_TAGS_SET = "fan.tags_set"
    HANDOFF_ASSIGNED = "handoff.assigned"
    HANDOFF_RESOLVED = "handoff.resolved"
    CATALOG_ITEM_CREATED = "catalog.item_created"
    CATALOG_ITEM_UPDATED = "catalog.item_updated"
    DELIVERY_FAILED = "delivery.failed"
    DELIVERY_RETRIED = "delivery.retried"
    DELIVERY_DISCARDED = "delivery.discarded"
    CREATOR_CREATED = "creator.created"
    CREATOR_UPDATED = "creator.updated"
    MESSAGE_WRITTEN = "message.written"


# --- what the supervisor graph decides, as it travels between the graph, the workflow and its activities ------

PolicyOutcome = Literal["pass", "fix", "block"]
# What each outcome word means, for people reading a report (the API's conflict bodies carry it).
OUTCOME_MEANINGS: dict[PolicyOutcome, str] = {
    "pass": "the text breaks no policy",
    "fix": "the text breaks a policy only where a span can be removed (payment, contact, a forbidden word):"
    " `fix_text` is the text with those spans replaced by [removed]; approve that text or your own edit",
    "block": "the text breaks a policy that no redaction can fix (a minor, prohibited content, a meet-up, fraud,"
    " a price outside the bounds, another fan's data): write a new text",
}


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
    lane: Lane = Lane.LIVE
    # the batch's event kinds that change what the fan is worth (a purchase, a tip, a refund...): the segmentation
    # agent re-scores the fan
    rescore: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Offer:
    catalog_id: str
    price_cents: int
    suggested_price_cents: int | None = None  # the fan's suggested price for the item, shown to the approver


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
