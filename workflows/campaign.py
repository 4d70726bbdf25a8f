"""CampaignWorkflow: hands every recipient's `campaign_message` event to that fan's ConversationWorkflow.

The campaign, its recipients and their events were written in one transaction by the API; this workflow only
dispatches, so a crash or a Temporal outage mid-way loses nothing: the activity resumes with the events not yet
dispatched. Drafts are written, policy-checked and approved in each fan's conversation, never here.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.types import DISPATCH_CAMPAIGN, CampaignInput, CampaignResult


@workflow.defn
class CampaignWorkflow:
    @workflow.run
    async def run(self, inp: CampaignInput) -> CampaignResult:
        result: CampaignResult = await workflow.execute_activity(
            DISPATCH_CAMPAIGN,
            inp,
            result_type=CampaignResult,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1)
            ),
        )
        return result
