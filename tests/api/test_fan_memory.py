"""Fan memory end to end: a fan's message is remembered by the worker (rule-found boundary, grounded LLM
proposals only), the next draft's prompt quotes it, and the fan page shows it."""

from __future__ import annotations

import httpx

from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.workflows.helpers import fetch, wait_until


def msg(event_id: str, text: str) -> dict[str, object]:
    return {"event_id": event_id, "kind": "message", "text": text, "fan": {"platform_fan_id": "of-1"}}


async def test_memories_are_extracted_recalled_and_shown(
    api: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant()
    fake_llm.script_memories(
        {
            "memories": [
                {"kind": "fact", "text": "Has a dog named Max", "importance": 0.6},
                {"kind": "life_event", "text": "Won the lottery yesterday", "importance": 1.0},  # not said
            ]
        }
    )
    r = await api.post(
        "/v1/events", json=msg("m-1", "my dog Max ate my homework lol. no feet pics please"), headers=t.auth()
    )
    assert r.status_code == 202
    await wait_until("SELECT count(*) = 2 FROM fan_memories", [])
    rows = await fetch(
        "SELECT kind, text, source_message_id IS NOT NULL AS sourced FROM fan_memories ORDER BY kind", []
    )
    assert rows == [
        {"kind": "boundary", "text": "Said: no feet pics", "sourced": True},
        {"kind": "fact", "text": "Has a dog named Max", "sourced": True},
    ]
    actions = await fetch(
        "SELECT details->>'by' AS by, summary FROM agent_actions WHERE kind = 'remembered' ORDER BY id", []
    )
    # the rule-found boundary is saved first, without waiting for the model; the model's notes after
    assert [a["by"] for a in actions] == ["rules", "llm"]
    assert "no feet pics" in actions[0]["summary"] and "dog named Max" in actions[1]["summary"]

    # the next reply's prompt carries the boundary and the relevant memory
    await api.post("/v1/events", json=msg("m-2", "the pup is chewing my shoes now haha"), headers=t.auth())
    await wait_until("SELECT count(*) = 2 FROM events WHERE processed_at IS NOT NULL", [])
    await wait_until(
        "SELECT count(*) >= 1 FROM agent_actions WHERE kind = 'routed' AND details->'event_ids' @> '[2]'", []
    )
    last = "\n".join(str(m["content"]) for m in fake_llm.draft_requests()[-1]["messages"])
    assert '- BOUNDARY: "Said: no feet pics"' in last
    assert '- "Has a dog named Max"' in last and "Won the lottery" not in last

    [row] = await fetch("SELECT id::text AS id FROM fans WHERE platform_fan_id = 'of-1'", [])
    fan = (await api.get(f"/v1/fans/{row['id']}", headers=t.auth())).json()
    assert [m["kind"] for m in fan["memories"]] == ["boundary", "fact"]


async def test_handoffs_and_opt_outs_are_not_read_for_memory(
    api: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant()
    await api.post(
        "/v1/events", json=msg("h-1", "i'm 15 and my dog Max is cute, no feet pics"), headers=t.auth()
    )
    await wait_until("SELECT count(*) = 1 FROM events WHERE processed_at IS NOT NULL", [])
    assert await fetch("SELECT 1 FROM fan_memories", []) == []
    assert list(fake_llm.requests) == []
