"""The supervisor graph as the worker runs it: every step a local activity inside the fan's workflow task (the route,
the segmentation agent's re-score, the follow-up agent's sequences, the DM agent's draft, the outbound policy).

A fan message becomes a checked draft in one workflow task, with no round trip through the Temporal server
between the steps. A long LLM call keeps that task open (the SDK heartbeats it); after a worker crash the step is
retried once the workflow task times out. Steps only read and decide, so their at-least-once retries are safe.

A batch of batch-lane events only (follow-up steps, campaign messages: nobody is waiting) runs the same graph whole
inside one regular activity, `run_batch_graph`, on the batch-drafts task queue (`batch_drafts_queue`), whose worker
has its own slots and a rate limit: while it waits its turn no workflow task and no live slot is held, and the
conversation cancels it when the fan's own events arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.langgraph import LangGraphPlugin

from agents import supervisor
from agents.supervisor import (
    BatchRef,
    DraftRequest,
    FollowupOutcome,
    FollowupRequest,
    PolicyRequest,
    ScoringRequest,
    ScoringResult,
    SupervisorSteps,
    build_supervisor_graph,
)
from core.settings import get_settings
from core.types import DraftAttempt, PolicyReport, RouteDecision
from workflows.followup_activities import apply_followups
from workflows.heartbeat import heartbeating
from workflows.segmentation_activities import start_first_refresh
from workflows.types import (
    CHECK_OUTBOUND,
    RESCORE_FAN,
    ROUTE_BATCH,
    RUN_BATCH_GRAPH,
    SUPERVISOR_GRAPH,
    SYNC_FOLLOWUPS,
    WRITE_DRAFT,
    BatchGraphInput,
    BatchGraphResult,
)

QUICK_TIMEOUT = timedelta(seconds=30)
STEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@activity.defn(name=ROUTE_BATCH)
async def route_batch(batch: BatchRef) -> RouteDecision:
    return await supervisor.route(batch)


@activity.defn(name=RESCORE_FAN)
async def rescore_fan(req: ScoringRequest) -> ScoringResult:
    return await _rescore_here(req)


async def _rescore_here(req: ScoringRequest) -> ScoringResult:
    """The segmentation agent's step in an activity: a creator without a run gets its first whole refresh started
    through this activity's client."""
    client = activity.client()
    return await supervisor.rescore(req, first_refresh=lambda c: start_first_refresh(client, c))


@activity.defn(name=WRITE_DRAFT)
async def write_draft(req: DraftRequest) -> DraftAttempt:
    return await supervisor.write_draft(req)


@activity.defn(name=CHECK_OUTBOUND)
async def check_outbound(req: PolicyRequest) -> PolicyReport:
    return await supervisor.check_outbound(req)


# The follow-up agent's step is sync_followups, registered with the follow-up activities.
STEP_ACTIVITIES: list[Callable[..., Any]] = [route_batch, rescore_fan, write_draft, check_outbound]

# The graph as run_batch_graph runs it: its nodes call the supervisor's functions directly. Compiled once per process
# (a compiled graph keeps no state between invocations).
_batch_graph: Any = None


@activity.defn(name=RUN_BATCH_GRAPH)
async def run_batch_graph(inp: BatchGraphInput) -> BatchGraphResult:
    """The supervisor graph for a batch-lane batch, whole, in this activity (route, draft in the LLM's batch lane,
    policy): only reads and decides, like the live path's steps; the conversation saves the outcome. Heartbeats, so
    the conversation's cancel (the fan wrote) reaches it and frees its slot at once."""
    global _batch_graph
    if _batch_graph is None:
        _batch_graph = build_supervisor_graph(
            SupervisorSteps(rescore=_rescore_here, sync_followups=_followups_here)
        ).compile()
    async with heartbeating():
        state = await _batch_graph.ainvoke(
            {"creator_id": inp.creator_id, "fan_id": inp.fan_id, "event_ids": inp.event_ids}
        )
    return BatchGraphResult(state["routing"], state.get("drafting"), state.get("policy"))


async def _followups_here(req: FollowupRequest) -> FollowupOutcome:
    """The follow-up agent's step inside run_batch_graph: this activity's client starts and stops the sequences."""
    return await apply_followups(activity.client(), req)


def local_activity_steps() -> SupervisorSteps:
    """Steps that run the supervisor's functions as local activities (called from the workflow's graph nodes)."""
    settings = get_settings()
    # Every attempt the DM agent may make, plus one for its context reads and validation.
    draft_timeout = timedelta(seconds=settings.llm_timeout_s * (settings.llm_attempts + 1))
    draft_deadline = timedelta(seconds=settings.draft_deadline_s)

    async def route_step(batch: BatchRef) -> RouteDecision:
        return await workflow.execute_local_activity(
            route_batch, batch, start_to_close_timeout=QUICK_TIMEOUT, retry_policy=STEP_RETRY
        )

    async def rescore_step(req: ScoringRequest) -> ScoringResult:
        return await workflow.execute_local_activity(
            rescore_fan, req, start_to_close_timeout=QUICK_TIMEOUT, retry_policy=STEP_RETRY
        )

    async def followup_step(req: FollowupRequest) -> FollowupOutcome:
        out: FollowupOutcome = await workflow.execute_local_activity(
            SYNC_FOLLOWUPS,
            req,
            result_type=FollowupOutcome,
            start_to_close_timeout=QUICK_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        return out

    async def draft_step(req: DraftRequest) -> DraftAttempt:
        try:
            return await workflow.execute_local_activity(
                write_draft,
                req,
                start_to_close_timeout=draft_timeout,
                schedule_to_close_timeout=draft_deadline,
                retry_policy=STEP_RETRY,
            )
        except ActivityError as err:
            # Recorded as draft_failed by the save; the conversation goes on with the fan's next messages.
            return DraftAttempt(
                failure=f"no draft within {draft_deadline.total_seconds():.0f} s: {err.cause or err}"
            )

    async def check_step(req: PolicyRequest) -> PolicyReport:
        return await workflow.execute_local_activity(
            check_outbound, req, start_to_close_timeout=QUICK_TIMEOUT, retry_policy=STEP_RETRY
        )

    return SupervisorSteps(
        route=route_step,
        rescore=rescore_step,
        sync_followups=followup_step,
        write_draft=draft_step,
        check_outbound=check_step,
    )


def graph_plugin() -> LangGraphPlugin:
    """The one supervisor graph, its nodes run in the workflow (each calls its step as a local activity)."""
    graph = build_supervisor_graph(local_activity_steps(), node_metadata={"execute_in": "workflow"})
    return LangGraphPlugin(graphs={SUPERVISOR_GRAPH: graph})
