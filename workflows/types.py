"""Typed workflow and activity I/O. Imported by workflow modules: the standard library and core.types only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core.types import (
    DraftAttempt,
    DraftStatus,
    FollowupKind,
    PolicyReport,
    RouteDecision,
)

SUPERVISOR_GRAPH = "supervisor"
# The supervisor graph's steps, run as local activities inside the fan's workflow task.
ROUTE_BATCH = "route_batch"
RESCORE_FAN = "rescore_fan"
WRITE_DRAFT = "write_draft"
CHECK_OUTBOUND = "check_outbound"


def batch_drafts_queue(task_queue: str) -> str:
    """The task queue of batch-lane drafts (follow-up steps, campaign messages) of the workers on `task_queue`: its
    own worker, its own slots and a rate limit, so batch drafts never take what live replies need."""
    return f"{task_queue}-batch-drafts"


# The supervisor graph run whole inside one regular activity, for batches of batch-lane events only.
RUN_BATCH_GRAPH = "run_batch_graph"


# Activity names, so the workflow module never imports the activities' heavy dependencies.
SAVE_OUTCOME = "save_outcome"
SUPERSEDE_DRAFT = "supersede_draft"
EXPIRE_DRAFT = "expire_draft"
APPLY_DECISION = "apply_decision"
SEND_DRAFT = "send_draft"
# A send that failed for good (its retries ran out): the delivery waits for a human.
MARK_DELIVERY_FAILED = "mark_delivery_failed"
COMPOSE_MESSAGE = "compose_message"
# Approved messages not sent yet give way to the creator's own message on the platform.
WITHDRAW_UNSENT = "withdraw_unsent"


@dataclass
class PendingDraft:
    draft_id: str
    version: int
    status: DraftStatus  # pending_review or blocked
    expires_at: float  # epoch seconds


@dataclass
class BatchGraphInput:
    creator_id: str
    fan_id: str
    event_ids: list[int]


@dataclass
class BatchGraphResult:
    """What the supervisor graph decided for a batch-lane batch (as the live path's graph state carries it)."""

    routing: RouteDecision
    drafting: DraftAttempt | None = None
    policy: PolicyReport | None = None


@dataclass
class ConversationInput:
    creator_id: str
    fan_id: str
    draft_timeout_s: float = 24 * 3600
    debounce_s: float = 3.0
    idle_close_s: float = 600.0
    # Continue-as-new once the history grows past this many events (or when the server suggests it).
    history_limit: int = 2000
    memory_timeout_s: float = 300.0  # one memory extraction (an LLM call per message) may take this long
    # Carried across continue-as-new:
    queued_event_ids: list[int] = field(default_factory=list)
    pending: PendingDraft | None = None
    approved_unsent: list[str] = field(default_factory=list)
    send_hold_until: float = 0.0  # epoch seconds: quiet hours or a cap hold the next send until then
    batch_event_ids: list[int] = field(default_factory=list)  # queued events that came in the batch lane


DecisionAction = Literal["approve", "reject"]


@dataclass
class Decision:
    draft_id: str
    version: int
    action: DecisionAction
    actor: str
    text: str | None = None
    reason: str | None = None


@dataclass
class DecisionResult:
    draft_id: str
    status: DraftStatus
    version: int


@dataclass
class SaveOutcomeInput:
    creator_id: str
    fan_id: str
    workflow_id: str
    event_ids: list[int]
    routing: RouteDecision
    drafting: DraftAttempt | None
    policy: PolicyReport | None
    expires_at: float


@dataclass
class SaveOutcomeResult:
    draft_id: str | None
    version: int
    status: DraftStatus | None


@dataclass
class DraftRef:
    creator_id: str
    fan_id: str
    draft_id: str
    reason: str = ""


@dataclass
class WithdrawInput:
    creator_id: str
    fan_id: str
    draft_ids: list[str]  # the approved messages waiting to be sent, first in line first


@dataclass
class SendInput:
    creator_id: str
    fan_id: str
    draft_id: str
    # The workflow's clock (epoch seconds); the activity uses the later of this and its own.
    now: float


@dataclass
class SendResult:
    draft_id: str
    sent: bool
    not_before: float | None = None  # when held by quiet hours or a cap: try again at this time
    reasons: list[str] = field(default_factory=list)


@dataclass
class ApplyDecisionInput:
    creator_id: str
    fan_id: str
    decision: Decision


DecisionError = Literal["policy_blocked", "conflict"]


@dataclass
class ApplyDecisionResult:
    ok: bool
    status: DraftStatus | None
    version: int
    error_code: DecisionError | None = None
    message: str = ""
    policy: PolicyReport | None = None


@dataclass
class Compose:
    """A message a member wrote to the fan (POST /v1/fans/{id}/messages). `key` makes it idempotent: the same
    key from the same creator is one message, however often it is posted."""

    key: str
    author: str  # the member id: the human who wrote it is the human who decides it
    text: str
    offer: dict[str, Any] | None = None  # {catalog_id, price_cents}, resolved by the API


@dataclass
class ComposeInput:
    creator_id: str
    fan_id: str
    workflow_id: str
    compose: Compose
    pending_draft_id: str | None  # the agent's draft awaiting a decision, superseded by this message


ComposeError = Literal["policy_blocked", "idempotency_conflict"]


@dataclass
class ComposeResult:
    ok: bool
    draft_id: str | None
    status: DraftStatus | None
    error_code: ComposeError | None = None
    message: str = ""
    policy: PolicyReport | None = None
    superseded: str | None = None  # the pending draft this message superseded


@dataclass
class ComposeOutcome:
    """What became of a member's message by the time the update answers."""

    draft_id: str
    state: Literal["sent", "held", "queued"]
    not_before: float | None = None  # held: quiet hours or a cap hold it until then (epoch seconds)
    reasons: list[str] = field(default_factory=list)
    superseded: str | None = None


REFRESH_SEGMENTS = "refresh_segments"


@dataclass
class SegmentationInput:
    creator_id: str


@dataclass
class SegmentationResult:
    run_id: int
    fans: int
    segments: dict[str, int]
    duration_ms: int


REMEMBER_MESSAGES = "remember_messages"


@dataclass
class RememberInput:
    creator_id: str
    fan_id: str
    event_ids: list[int]


@dataclass
class RememberResult:
    inserted: int
    merged: int


# --- follow-up sequences -----------------------------------------------------------------------------------

SYNC_FOLLOWUPS = "sync_followups"  # the follow-up agent's step in the supervisor graph
FOLLOWUP_STEP = "followup_step"
FINISH_FOLLOWUP = "finish_followup"


@dataclass
class FollowupStepSpec:
    after_s: float
    intent: str


@dataclass
class FollowupInput:
    followup_id: str
    creator_id: str
    fan_id: str
    kind: FollowupKind
    steps: list[FollowupStepSpec]
    max_deferrals: int = 48  # a step held by caps or a pending draft is retried this many times, then skipped


@dataclass
class FollowupStepInput:
    followup_id: str
    creator_id: str
    fan_id: str
    step: int
    now: float  # the workflow's clock, epoch seconds


@dataclass
class FollowupStepResult:
    outcome: Literal["drafted", "stop", "defer"]
    reason: str = ""
    retry_at: float | None = None  # for defer
    event_id: int | None = None  # for drafted: the followup_due event handed to the conversation


@dataclass
class FinishFollowupInput:
    followup_id: str
    creator_id: str
    status: Literal["completed", "cancelled"]
    reason: str


# --- campaigns --------------------------------------------------------------------------------------------

DISPATCH_CAMPAIGN = "dispatch_campaign"


@dataclass
class CampaignInput:
    creator_id: str
    campaign_id: str


@dataclass
class CampaignResult:
    dispatched: int


# --- the daily plan -----------------------------------------------------------------------------------------

PLAN_INACTIVE = "plan_inactive_followups"
WRITE_DAILY_PLAN = "write_daily_plan"
EXPIRE_OVERDUE_DRAFTS = "expire_overdue_drafts"


@dataclass
class DailyPlanInput:
    creator_id: str
    refresh_segments: bool = True


@dataclass
class PlanStepInput:
    creator_id: str
    now: float  # the workflow's clock, epoch seconds: the plan's day is its date in the creator's timezone


@dataclass
class PlanInactiveResult:
    started: int


@dataclass
class ExpireOverdueResult:
    expired: int


@dataclass
class DailyPlanResult:
    plan_date: str
    actions: int
    segments_run_id: int | None
    inactive_started: int
    drafts_expired: int = 0


# The creator's assistant: one workflow per (creator, thread), one `ask` Update per request.
ASSISTANT_TURN = "assistant_turn"
ASSISTANT_THREAD = "assistant_thread"  # a run's start: the thread's stored turns


@dataclass
class AssistantThreadInput:
    creator_id: str
    thread_id: str
    idle_close_s: float


@dataclass
class AssistantAsk:
    creator_id: str
    member_id: str
    text: str
    request_id: str = ""  # names the request's progress (the `progress` query); empty: no progress kept
    key: str = ""  # the request's Idempotency-Key, scoped to its member (`<member id>:<key>`); empty: none


@dataclass
class AssistantProgress:
    """One event of a request's progress, signalled by the activity as it happens."""

    request_id: str
    attempt: int  # the activity's attempt: a retry starts the request's events again
    event: dict[str, Any]


@dataclass
class AssistantTurnInput:
    creator_id: str
    thread_id: str
    turn: int
    member_id: str
    text: str
    history: list[dict[str, str]] = field(default_factory=list)  # earlier {text, answer} of the thread
    request_id: str = ""  # where the activity signals its progress (empty: nowhere)
    key: str = ""  # stored with the turn: the request's scoped Idempotency-Key (empty: none)


@dataclass
class AssistantThreadRef:
    creator_id: str
    thread_id: str
    last: int  # how many of the newest turns to read


@dataclass
class AssistantThreadState:
    """Where a thread's run starts: the number of its next turn and its newest stored turns ({text, answer})."""

    next_turn: int
    history: list[dict[str, str]] = field(default_factory=list)


@dataclass
class AssistantReply:
    thread_id: str
    answer: str
    agents: list[str]
    steps: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    removed_numbers: list[str] = field(default_factory=list)
    invalid_calls: int = 0
