"""Wake a fan's ConversationWorkflow with new event ids: the one way events reach a conversation, whether they
come from the platform (the events API) or from inside (follow-up steps, campaign messages)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import Priority

from core import db
from core.settings import Settings
from core.types import Lane, conversation_workflow_id
from workflows.types import ConversationInput

BATCH_PRIORITY = Priority(priority_key=5)


async def dispatch_events(
    client: Client,
    s: Settings,
    creator_id: str,
    fan_id: str,
    event_ids: list[int],
    lane: Lane = Lane.LIVE,
) -> None:
    """Signal-with-start of the fan's workflow (starts it if needed), then mark the events dispatched. A failure
    leaves them undispatched, and dispatching the same ids again is harmless: the workflow ignores ids it saw.

    lane: BATCH for follow-up steps and campaign messages (nobody waits for them; their drafts take the batch
    lane and give way to the fan's own events), LIVE for everything from the platform."""
    await client.start_workflow(
        "ConversationWorkflow",
        ConversationInput(
            creator_id=creator_id,
            fan_id=fan_id,
            draft_timeout_s=s.draft_timeout_s,
            debounce_s=s.debounce_s,
            idle_close_s=s.idle_close_s,
        ),
        id=conversation_workflow_id(creator_id, fan_id),
        task_queue=s.task_queue,
        start_signal="new_events",
        start_signal_args=[event_ids, lane.value],
        # A conversation started by batch work has its workflow tasks matched after live ones (Temporal's task
        # priority: 1 first, 3 by default): a campaign's hundreds of first tasks do not queue before a fan's reply.
        priority=BATCH_PRIORITY if lane == Lane.BATCH else Priority.default,
    )
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute(
            "UPDATE events SET dispatched_at = now() WHERE creator_id = %s AND id = ANY(%s) AND dispatched_at IS NULL",
            [creator_id, event_ids],
        )
