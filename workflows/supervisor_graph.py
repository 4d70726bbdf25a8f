"""The supervisor graph as the worker runs it: every step a local activity inside the fan's workflow task.

A fan message becomes a checked draft in one workflow task, with no round trip through the Temporal server
between the steps. A long LLM call keeps that task open (the SDK heartbeats it); after a worker crash the step is
retried once the workflow task times out. Steps only read and decide, so their at-least-once retries are safe.
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
from agents.supervisor import BatchRef, DraftRequest, PolicyRequest, SupervisorSteps, build_supervisor_graph
from core.settings import get_settings
from core.types import DraftAttempt, PolicyReport, RouteDecision
from workflows.types import CHECK_OUTBOUND, ROUTE_BATCH, SUPERVISOR_GRAPH, WRITE_DRAFT

QUICK_TIMEOUT = timedelta(seconds=30)
STEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@activity.defn(name=ROUTE_BATCH)
async def route_batch(batch: BatchRef) -> RouteDecision:
    return await supervisor.route(batch)


@activity.defn(name=WRITE_DRAFT)
async def write_draft(req: DraftRequest) -> DraftAttempt:
    return await supervisor.write_draft(req)


@activity.defn(name=CHECK_OUTBOUND)
async def check_outbound(req: PolicyRequest) -> PolicyReport:
    return await supervisor.check_outbound(req)


STEP_ACTIVITIES: list[Callable[..., Any]] = [route_batch, write_draft, check_outbound]


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

    return SupervisorSteps(route=route_step, write_draft=draft_step, check_outbound=check_step)


def graph_plugin() -> LangGraphPlugin:
    """The one supervisor graph, its nodes run in the workflow (each calls its step as a local activity)."""
    graph = build_supervisor_graph(local_activity_steps(), node_metadata={"execute_in": "workflow"})
    return LangGraphPlugin(graphs={SUPERVISOR_GRAPH: graph})
