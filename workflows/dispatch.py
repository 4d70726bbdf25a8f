"""Wake a fan's ConversationWorkflow with new event ids: the one way events reach a conversation, whether they
come from the platform (the events API) or from inside (follow-up steps, campaign messages)."""

from __future__ import annotations

from temporalio.client import Client

from core import db
from core.settings import Settings
from core.types import conversation_workflow_id
from workflows.types import ConversationInput


async def dispatch_events(
    client: Client, s: Settings, creator_id: str, fan_id: str, event_ids: list[int]
) -> None:
    """Signal-with-start of the fan's workflow (starts it if needed), then mark the events dispatched. A failure
    leaves them undispatched, and dispatching the same ids again is harmless: the workflow ignores ids it saw."""
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
        start_signal_args=[event_ids],
    )
    async with db.pool().connection() as conn, conn.transaction():
        await conn.execute(
            "UPDATE events SET dispatched_at = now() WHERE creator_id = %s AND id = ANY(%s) AND dispatched_at IS NULL",
            [creator_id, event_ids],
        )
