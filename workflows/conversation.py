"""ConversationWorkflow: one per fan. Serialises that fan's events, drafts, decisions and sends.

Lean on purpose: this module imports only temporalio and its own dataclasses; activities are called
by name and LangGraph runs through the temporalio-langgraph plugin.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta
from typing import Any, cast

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from temporalio.langgraph import graph as temporal_graph

    from core.types import DraftAttempt, DraftStatus, Lane, PolicyReport, Route, RouteDecision
    from workflows.types import (
        APPLY_DECISION,
        COMPOSE_MESSAGE,
        EXPIRE_DRAFT,
        MARK_DELIVERY_FAILED,
        REMEMBER_MESSAGES,
        RUN_BATCH_GRAPH,
        SAVE_OUTCOME,
        SEND_DRAFT,
        SUPERSEDE_DRAFT,
        SUPERVISOR_GRAPH,
        WITHDRAW_UNSENT,
        ApplyDecisionInput,
        ApplyDecisionResult,
        BatchGraphInput,
        BatchGraphResult,
        Compose,
        ComposeInput,
        ComposeOutcome,
        ComposeResult,
        ConversationInput,
        Decision,
        DecisionResult,
        DraftRef,
        PendingDraft,
        RememberInput,
        RememberResult,
        SaveOutcomeInput,
        SaveOutcomeResult,
        SendInput,
        SendResult,
        WithdrawInput,
        batch_drafts_queue,
    )

DB_TIMEOUT = timedelta(seconds=30)
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
# Delivery retries with backoff for up to a day; the idempotency key makes every retry safe.
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["NotApproved"],
)
# Every retry of a failed send is a durable timer in the workflow, never a backoff inside the worker: the SDK core
# (temporalio 1.35) leaves the start-to-close timer of each attempt it retries in the worker running, and one that
# fires after its worker was dropped panics on stderr ("local_activities.rs ... receive half not dropped").
SEND_LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=500)
MAX_DEBOUNCE_ROUNDS = 10
# Memory is a nicety for later replies: a few quick tries, then the conversation goes on without it.
MEMORY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)
# The activity heartbeats every few seconds: a killed worker holds the fan up this long, not memory_timeout_s.
MEMORY_HEARTBEAT = timedelta(seconds=20)
# Only messages the agents answer are worth remembering; a hand-off, an opt-out or an ignored batch is not
# read by the LLM at all.
REMEMBER_ROUTES = (Route.REPLY, Route.ACKNOWLEDGE)
DRAFT_AWAITING = (DraftStatus.PENDING_REVIEW, DraftStatus.BLOCKED)
# A batch-lane batch's graph, once its turn comes: the whole draft (its own LLM retries included), a few tries. The
# wait for the turn counts against none of this; the heartbeat notices a dead worker.
BATCH_GRAPH_TIMEOUT = timedelta(minutes=15)
BATCH_GRAPH_HEARTBEAT = timedelta(seconds=20)
BATCH_GRAPH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30), maximum_attempts=3
)
# A member's message: how long its update waits to say "sent" or "held" before it answers "queued" (the
# workflow sends it all the same).
COMPOSE_WAIT = timedelta(seconds=30)


def _refusal(message: str, error_code: str | None, policy: PolicyReport | None) -> ApplicationError:
    """A decision or a member's message refused: the Update's caller gets the code and the policy report."""
    return ApplicationError(
        message,
        {"code": error_code, "policy": policy.to_json() if policy else None},
        type=error_code or "conflict",
        non_retryable=True,
    )


# Outside the sandbox, which every fan event would pay for (see docs/benchmarks.md): what it would catch is kept out
# by construction (this module imports only temporalio and plain dataclasses; I/O and clocks go through activities
# and workflow.now()), and tests/workflows/test_replay.py replays a recorded history through it.
@workflow.defn(sandboxed=False)
class ConversationWorkflow:
    @workflow.init
    def __init__(self, inp: ConversationInput) -> None:
        self.inp = inp
        self.queue: list[int] = list(inp.queued_event_ids)
        self.seen: set[int] = set(self.queue)
        self.pending: PendingDraft | None = inp.pending
        self.to_send: list[str] = list(inp.approved_unsent)
        # Queued events that came in the batch lane (follow-up steps, campaign messages): a batch of only these is
        # drafted on the batch-drafts queue and gives way to anything newer.
        self.batch_lane: set[int] = set(inp.batch_event_ids)
        self.hold_until: float = inp.send_hold_until
        self.hold_reasons: list[str] = []  # why the first message in line is held (not carried: informative)
        self.deciding = False
        # Take the graph in the activation in which the plugin registered it for this run: the plugin keys its
        # registry by run id, and tearing down an evicted instance of the same run removes that entry.
        self.supervisor = temporal_graph(SUPERVISOR_GRAPH)

    # --- messages in ----------------------------------------------------------------------------

    @workflow.signal
    def new_events(self, event_ids: list[int], lane: str = Lane.LIVE) -> None:
        for eid in event_ids:
            if eid not in self.seen:
                self.seen.add(eid)
                self.queue.append(eid)
                if lane == Lane.BATCH:
                    self.batch_lane.add(eid)

    @workflow.query
    def pending_draft(self) -> PendingDraft | None:
        return self.pending

    @workflow.update
    async def decide(self, decision: Decision) -> DecisionResult:
        return await self._apply_decision(decision)

    async def _apply_decision(self, decision: Decision) -> DecisionResult:
        self.deciding = True
        try:
            # A local activity: the decision and its send complete in one workflow task. Idempotent, so the
            # at-least-once retry of a local activity after a crash changes nothing.
            res = await workflow.execute_local_activity(
                APPLY_DECISION,
                ApplyDecisionInput(self.inp.creator_id, self.inp.fan_id, decision),
                result_type=ApplyDecisionResult,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )
        finally:
            self.deciding = False
        if not res.ok or res.status is None:
            raise _refusal(res.message, res.error_code, res.policy)
        if res.status == DraftStatus.APPROVED:
            self.to_send.append(decision.draft_id)
        if self.pending is not None and self.pending.draft_id == decision.draft_id:
            self.pending = None
        return DecisionResult(draft_id=decision.draft_id, status=res.status, version=res.version)

    @workflow.signal
    async def decide_again(self, decision: Decision) -> None:
        """A decision whose Update no worker took in time (or whose caller went away), sent again as a signal: the
        server keeps an Update no worker has taken in memory only (a failed workflow task or a restart drops it),
        but writes a signal to the history when it accepts it. Applied as the Update would be when the draft still
        awaits this decision; dropped when it was decided since (by the Update itself, or another decision)."""
        await workflow.wait_condition(lambda: not self.deciding)
        p = self.pending
        if p is None or p.draft_id != decision.draft_id or p.version != decision.version:
            return
        try:
            self._validate_decision(decision)
            await self._apply_decision(decision)
        except ApplicationError as exc:  # refused as the Update would have been: nothing applied
            workflow.logger.info("queued decision on %s not applied: %s", decision.draft_id, exc.message)

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        p = self.pending
        if self.deciding:
            raise ApplicationError("another decision on this conversation is in progress", type="conflict")
        if p is None or p.draft_id != decision.draft_id:
            raise ApplicationError("this draft is not awaiting a decision", type="not_pending")
        if p.version != decision.version:
            raise ApplicationError(
                f"stale version {decision.version}; the draft is at version {p.version}", type="stale_version"
            )
        if decision.action not in ("approve", "reject"):
            raise ApplicationError(f"unknown action {decision.action!r}", type="bad_action")
        if decision.action == "approve" and p.status == DraftStatus.BLOCKED and not decision.text:
            raise ApplicationError(
                "a blocked draft can only be approved with an edit that passes policy",
                type="blocked_requires_edit",
            )

    @workflow.update
    async def compose(self, msg: Compose) -> ComposeOutcome:
        """A message a member wrote: checked by policy and stored approved by its author (one local activity,
        idempotent by the message's key), then sent by the loop like any approved draft, under the same quiet
        hours and caps. Answers once it is sent or held (or, after COMPOSE_WAIT, queued). It never touches the
        fan's hand-off or opt-out: a frozen fan stays frozen for the agent."""
        self.deciding = True
        try:
            res = await workflow.execute_local_activity(
                COMPOSE_MESSAGE,
                ComposeInput(
                    self.inp.creator_id,
                    self.inp.fan_id,
                    workflow.info().workflow_id,
                    msg,
                    self.pending.draft_id if self.pending is not None else None,
                ),
                result_type=ComposeResult,
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )
        finally:
            self.deciding = False
        if not res.ok or res.draft_id is None:
            raise _refusal(res.message, res.error_code, res.policy)
        draft_id = res.draft_id
        if self.pending is not None and self.pending.draft_id == res.superseded:
            self.pending = None
        if res.status == DraftStatus.APPROVED and draft_id not in self.to_send:
            self.to_send.append(draft_id)
        try:
            await workflow.wait_condition(
                functools.partial(self._sent_or_held, draft_id), timeout=COMPOSE_WAIT
            )
        except TimeoutError:
            return ComposeOutcome(draft_id, "queued", superseded=res.superseded)
        if draft_id in self.to_send:
            return ComposeOutcome(
                draft_id, "held", self.hold_until, list(self.hold_reasons), superseded=res.superseded
            )
        return ComposeOutcome(draft_id, "sent", superseded=res.superseded)

    @compose.validator
    def _validate_compose(self, msg: Compose) -> None:
        if self.deciding:
            raise ApplicationError("another decision on this conversation is in progress", type="conflict")
        if not msg.text.strip():
            raise ApplicationError("the message is empty", type="empty_message")

    def _sent_or_held(self, draft_id: str) -> bool:
        return draft_id not in self.to_send or self._hold_left() is not None

    # --- the loop -------------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ConversationInput) -> str:
        while True:
            await self._withdraw_unsent()
            await self._send_approved()
            if self.pending is None and not self.queue:
                held = self._hold_left()
                try:
                    await workflow.wait_condition(
                        lambda: bool(self.queue) or self._can_send(),
                        timeout=timedelta(seconds=held if held is not None else inp.idle_close_s),
                    )
                except TimeoutError:
                    if self.to_send:  # a held send's time has come; never close with approved messages unsent
                        continue
                    break
                continue
            if self.queue and not self.deciding:
                await self._handle_batch()
            elif self.pending is not None:
                await self._await_decision()
            else:
                await workflow.wait_condition(lambda: not self.deciding)
            if self._history_too_long():
                await workflow.wait_condition(lambda: not self.deciding and workflow.all_handlers_finished())
                workflow.continue_as_new(self._carry())
        # A member's message accepted while this run closes waits for its send: send while handlers finish.
        while True:
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() or self._can_send())
            await self._send_approved()
            if workflow.all_handlers_finished():
                break
        if (
            self.queue or self.to_send
        ):  # signalled or approved while this run was closing: a fresh run takes them
            workflow.continue_as_new(self._carry())
        return "idle"

    async def _handle_batch(self) -> None:
        await self._debounce()
        batch, self.queue = self.queue, []
        if self.pending is not None:
            await workflow.execute_local_activity(
                SUPERSEDE_DRAFT,
                DraftRef(
                    self.inp.creator_id, self.inp.fan_id, self.pending.draft_id, "a newer fan message arrived"
                ),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )
            self.pending = None
        if all(e in self.batch_lane for e in batch):
            outcome = await self._batch_graph(batch)
            if outcome is None:  # gave way: handled again with what came meanwhile
                self.queue = batch + self.queue
                return
            state: dict[str, Any] = {
                "routing": outcome.routing,
                "drafting": outcome.drafting,
                "policy": outcome.policy,
            }
        else:
            state = await _compiled(self.supervisor).ainvoke(
                {"creator_id": self.inp.creator_id, "fan_id": self.inp.fan_id, "event_ids": batch}
            )
        self.batch_lane.difference_update(batch)
        routing = cast(RouteDecision, state["routing"])
        expires_at = workflow.now().timestamp() + self.inp.draft_timeout_s
        saved = await workflow.execute_local_activity(
            SAVE_OUTCOME,
            SaveOutcomeInput(
                self.inp.creator_id,
                self.inp.fan_id,
                workflow.info().workflow_id,
                batch,
                routing,
                cast(DraftAttempt | None, state.get("drafting")),
                cast(PolicyReport | None, state.get("policy")),
                expires_at,
            ),
            result_type=SaveOutcomeResult,
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        if saved.draft_id and saved.status in DRAFT_AWAITING:
            self.pending = PendingDraft(saved.draft_id, saved.version, saved.status, expires_at)
        if routing.route in REMEMBER_ROUTES:
            try:
                # after the draft is saved, so the human can already review it while this runs
                await workflow.execute_activity(
                    REMEMBER_MESSAGES,
                    RememberInput(self.inp.creator_id, self.inp.fan_id, batch),
                    result_type=RememberResult,
                    start_to_close_timeout=timedelta(seconds=self.inp.memory_timeout_s),
                    heartbeat_timeout=MEMORY_HEARTBEAT,
                    retry_policy=MEMORY_RETRY,
                )
            except ActivityError as err:
                workflow.logger.info(
                    "fan %s: memory not updated for events %s (the conversation goes on): %s",
                    self.inp.fan_id,
                    batch,
                    err.cause,
                )

    async def _batch_graph(self, batch: list[int]) -> BatchGraphResult | None:
        """The graph for a batch of batch-lane events, on the batch-drafts queue (its own worker, slots and rate).
        None when the fan's own events (or a held send now due) came first: the activity is cancelled, whether it
        still waited for its turn or was drafting, so a live reply never waits for a batch draft."""
        handle = workflow.start_activity(
            RUN_BATCH_GRAPH,
            BatchGraphInput(self.inp.creator_id, self.inp.fan_id, batch),
            result_type=BatchGraphResult,
            task_queue=batch_drafts_queue(workflow.info().task_queue),
            start_to_close_timeout=BATCH_GRAPH_TIMEOUT,
            heartbeat_timeout=BATCH_GRAPH_HEARTBEAT,
            retry_policy=BATCH_GRAPH_RETRY,
        )
        await workflow.wait_condition(lambda: handle.done() or bool(self.queue) or self._can_send())
        if not handle.done():
            handle.cancel()
            try:
                await handle
            except (asyncio.CancelledError, ActivityError):
                pass
            return None
        try:
            done: BatchGraphResult = await handle
            return done
        except ActivityError as err:
            # Saved as draft_failed like a live draft that failed; the fan's next events are handled.
            return BatchGraphResult(
                RouteDecision(Route.REPLY, "a follow-up or campaign message", lane=Lane.BATCH),
                DraftAttempt(
                    failure=f"no batch-lane draft after {BATCH_GRAPH_RETRY.maximum_attempts} tries: {err.cause or err}"
                ),
            )

    async def _debounce(self) -> None:
        """Bursts of fan messages become one batch: wait until the fan pauses (bounded)."""
        if self.inp.debounce_s <= 0:
            return
        for _ in range(MAX_DEBOUNCE_ROUNDS):
            seen = len(self.queue)
            try:
                await workflow.wait_condition(
                    functools.partial(self._grew_past, seen), timeout=timedelta(seconds=self.inp.debounce_s)
                )
            except TimeoutError:
                return

    def _grew_past(self, seen: int) -> bool:
        return len(self.queue) > seen

    async def _await_decision(self) -> None:
        p = self.pending
        assert p is not None
        remaining = p.expires_at - workflow.now().timestamp()
        held = self._hold_left()
        try:
            if remaining <= 0:
                raise TimeoutError
            await workflow.wait_condition(
                lambda: self.pending is not p or (bool(self.queue) and not self.deciding) or self._can_send(),
                timeout=timedelta(seconds=min(remaining, held) if held is not None else remaining),
            )
        except TimeoutError:
            if self.deciding or workflow.now().timestamp() < p.expires_at:
                return  # a decision is under way, or a held send is due: the loop goes round
            await workflow.execute_activity(
                EXPIRE_DRAFT,
                DraftRef(self.inp.creator_id, self.inp.fan_id, p.draft_id, "decision timeout"),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_RETRY,
            )
            self.pending = None

    async def _withdraw_unsent(self) -> None:
        """Before sending, with the fan's events still to handle: approved drafts that the creator's own message
        on the platform (among those events) made needless are withdrawn, never sent."""
        if not (self.queue and self.to_send):
            return
        withdrawn = await workflow.execute_local_activity(
            WITHDRAW_UNSENT,
            WithdrawInput(self.inp.creator_id, self.inp.fan_id, list(self.to_send)),
            result_type=list[str],
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_RETRY,
        )
        if withdrawn:
            self.to_send = [d for d in self.to_send if d not in withdrawn]
            if not self.to_send:
                self.hold_until, self.hold_reasons = 0.0, []

    def _can_send(self) -> bool:
        return bool(self.to_send) and workflow.now().timestamp() >= self.hold_until

    def _hold_left(self) -> float | None:
        """Seconds until a held send may be tried again; None when nothing is held."""
        if not self.to_send or self.hold_until <= workflow.now().timestamp():
            return None
        return self.hold_until - workflow.now().timestamp()

    async def _send_approved(self) -> None:
        while self._can_send():
            draft_id = self.to_send[0]
            try:
                res = await workflow.execute_local_activity(
                    SEND_DRAFT,
                    SendInput(self.inp.creator_id, self.inp.fan_id, draft_id, workflow.now().timestamp()),
                    result_type=SendResult,
                    start_to_close_timeout=timedelta(seconds=60),
                    schedule_to_close_timeout=timedelta(days=1),
                    retry_policy=SEND_RETRY,
                    local_retry_threshold=SEND_LOCAL_RETRY_THRESHOLD,
                )
                if not res.sent and res.not_before is not None:
                    # Quiet hours or a cap: keep it first in line and wait durably (a timer, not a poll).
                    self.hold_until = res.not_before
                    self.hold_reasons = list(res.reasons)
                    return
            # A local activity's non-retryable refusal (a platform's rules held the send) arrives as the
            # ApplicationError itself, not wrapped: uncaught, it would fail the whole conversation.
            except (ActivityError, ApplicationError) as err:
                cause = err.cause if isinstance(err, ActivityError) else err
                workflow.logger.error("delivery of draft %s failed for good: %s", draft_id, cause)
                # A delivery left pending is now failed, for a human (a refused send has none: nothing to mark).
                await workflow.execute_local_activity(
                    MARK_DELIVERY_FAILED,
                    SendInput(self.inp.creator_id, self.inp.fan_id, draft_id, workflow.now().timestamp()),
                    result_type=bool,
                    start_to_close_timeout=DB_TIMEOUT,
                    retry_policy=DB_RETRY,
                )
            self.to_send.pop(0)

    def _history_too_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested() or info.get_current_history_length() > self.inp.history_limit
        )

    def _carry(self) -> ConversationInput:
        return ConversationInput(
            creator_id=self.inp.creator_id,
            fan_id=self.inp.fan_id,
            draft_timeout_s=self.inp.draft_timeout_s,
            debounce_s=self.inp.debounce_s,
            idle_close_s=self.inp.idle_close_s,
            history_limit=self.inp.history_limit,
            memory_timeout_s=self.inp.memory_timeout_s,
            queued_event_ids=list(self.queue),
            pending=self.pending,
            approved_unsent=list(self.to_send),
            send_hold_until=self.hold_until,
            batch_event_ids=[e for e in self.queue if e in self.batch_lane],
        )


# Compiled graphs by the registered graph they come from: the plugin hands every run the same graph, and a compiled
# graph keeps no state between invocations, so each worker compiles it once.
_COMPILED: dict[int, tuple[Any, Any]] = {}


def _compiled(graph: Any) -> Any:
    hit = _COMPILED.get(id(graph))
    if hit is None or hit[0] is not graph:  # the id of a graph since collected may have been reused
        hit = (graph, graph.compile())
        _COMPILED[id(graph)] = hit
    return hit[1]


__all__ = ["ConversationWorkflow"]
