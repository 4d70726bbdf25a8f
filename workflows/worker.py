"""The worker: every workflow (conversation, segmentation, follow-up, campaign, daily plan, delivery retry), their
activities and the supervisor graph on one task queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from workflows.campaign import CampaignWorkflow
from workflows.campaign_activities import CAMPAIGN_ACTIVITIES
from workflows.conversation import ConversationWorkflow
from workflows.conversation_activities import CONVERSATION_ACTIVITIES
from workflows.daily_plan import DailyPlanWorkflow
from workflows.daily_plan_activities import DAILY_PLAN_ACTIVITIES
from workflows.delivery_activities import DELIVERY_ACTIVITIES
from workflows.delivery_retry import DeliveryRetryWorkflow
from workflows.followup import FollowupWorkflow
from workflows.followup_activities import FOLLOWUP_ACTIVITIES
from workflows.memory_activities import MEMORY_ACTIVITIES
from workflows.segmentation import SegmentationWorkflow
from workflows.segmentation_activities import SEGMENTATION_ACTIVITIES
from workflows.shutdown import StopCleanly, quiet_expected_failures
from workflows.supervisor_graph import STEP_ACTIVITIES, graph_plugin

WORKFLOWS = [
    ConversationWorkflow,
    SegmentationWorkflow,
    FollowupWorkflow,
    CampaignWorkflow,
    DailyPlanWorkflow,
    DeliveryRetryWorkflow,
]
ACTIVITIES: list[Callable[..., Any]] = [
    *STEP_ACTIVITIES,
    *CONVERSATION_ACTIVITIES,
    *DELIVERY_ACTIVITIES,
    *MEMORY_ACTIVITIES,
    *SEGMENTATION_ACTIVITIES,
    *FOLLOWUP_ACTIVITIES,
    *CAMPAIGN_ACTIVITIES,
    *DAILY_PLAN_ACTIVITIES,
]


def build_worker(
    client: Client, task_queue: str, *, max_cached_workflows: int = 1000, workflow_task_slots: int = 100
) -> Worker:
    quiet_expected_failures()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,
        max_cached_workflows=max_cached_workflows,
        max_concurrent_workflow_tasks=workflow_task_slots,
        # A draft being written holds its fan's workflow task and the DM agent's local activity together: as many
        # local-activity slots as task slots, so raising one setting raises how many drafts one worker writes at once.
        max_concurrent_local_activities=workflow_task_slots,
        plugins=[graph_plugin()],
        interceptors=[StopCleanly()],  # stops promptly, leaving in-flight steps to the next worker
    )
