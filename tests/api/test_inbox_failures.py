"""A batch that got no draft (the model failed or timed out) shows in the inbox until the fan is answered."""

from __future__ import annotations

import httpx
from temporalio.testing import ActivityEnvironment

from core.types import (
    DraftAttempt,
    DraftProposal,
)
from tests.factories import add_message_event, make_tenant
from tests.workflows.helpers import reply_outcome
from workflows.conversation_activities import save_outcome


async def test_failed_drafts_show_in_the_inbox_until_the_fan_is_answered(api: httpx.AsyncClient) -> None:
    t, other = await make_tenant(), await make_tenant("other")
    env = ActivityEnvironment()
    e1 = await add_message_event(t, t.fans[0], "are you there?", "e1")
    await env.run(
        save_outcome,
        reply_outcome(t.creator_id, t.fans[0], [e1], DraftAttempt(failure="no draft within 900 s")),
    )
    got = (await api.get("/v1/inbox/failures", headers=t.auth("chatter"))).json()
    assert [(i["fan_id"], i["reason"]) for i in got["items"]] == [(t.fans[0], "no draft within 900 s")]
    assert (await api.get("/v1/inbox/failures", headers=other.auth())).json() == {"items": []}
    bad = await api.get("/v1/inbox/failures?since_hours=0", headers=t.auth())
    assert bad.status_code == 422
    # The fan's next message got a draft: nothing is left unanswered.
    e2 = await add_message_event(t, t.fans[0], "hello?", "e2")
    await env.run(
        save_outcome, reply_outcome(t.creator_id, t.fans[0], [e2], DraftAttempt(DraftProposal("hey you")))
    )
    assert (await api.get("/v1/inbox/failures", headers=t.auth())).json() == {"items": []}
