"""The worker: every workflow (conversation, segmentation, follow-up, campaign, daily plan), their activities and
the supervisor graph on one task queue."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.langgraph import LangGraphPlugin
from temporalio.worker import Worker

from agents.supervisor import LOCAL_NODE_ACTIVITIES, build_supervisor_graph
from workflows.activities import ALL_ACTIVITIES
from workflows.campaign import CampaignWorkflow
from workflows.conversation import ConversationWorkflow
from workflows.daily_plan import DailyPlanWorkflow
from workflows.followup import FollowupWorkflow
from workflows.segmentation import SegmentationWorkflow
from workflows.types import SUPERVISOR_GRAPH, SUPERVISOR_INLINE_GRAPH, SUPERVISOR_LOCAL_GRAPH


def graph_plugin() -> LangGraphPlugin:
    """The supervisor graph in its three shapes: new histories run it inline; those written before LOCAL_DM_PATCH
    replay the one with the DM agent as an activity, those before LOCAL_GRAPH_PATCH the all-activity one."""
    return LangGraphPlugin(
        graphs={
            SUPERVISOR_GRAPH: build_supervisor_graph(),
            SUPERVISOR_LOCAL_GRAPH: build_supervisor_graph(local_nodes=True),
            SUPERVISOR_INLINE_GRAPH: build_supervisor_graph(local_nodes=True, local_dm=True),
        }
    )


def build_worker(
    client: Client, task_queue: str, *, max_cached_workflows: int = 1000, workflow_task_slots: int = 100
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            ConversationWorkflow,
            SegmentationWorkflow,
            FollowupWorkflow,
            CampaignWorkflow,
            DailyPlanWorkflow,
        ],
        activities=[*ALL_ACTIVITIES, *LOCAL_NODE_ACTIVITIES],
        max_cached_workflows=max_cached_workflows,
        max_concurrent_workflow_tasks=workflow_task_slots,
        # A draft being written holds its fan's workflow task and the DM agent's local activity together: as many
        # local-activity slots as task slots, so raising one setting raises how many drafts one worker writes at once.
        max_concurrent_local_activities=workflow_task_slots,
        plugins=[graph_plugin()],
    )
