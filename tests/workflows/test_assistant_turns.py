"""The assistant's turn activity stores each turn once: an attempt run again after its turn committed (its worker
died before reporting the result) answers from the store, without asking the model again and without a second set
of actions; the thread's next run starts after the stored turns."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from core.settings import Settings
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls
from tests.workflows.helpers import fetch
from workflows.assistant_activities import assistant_thread, assistant_turn
from workflows.types import AssistantThreadRef, AssistantTurnInput


async def test_a_turn_run_again_after_its_commit_is_answered_from_the_store(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant("turns")
    env = ActivityEnvironment()
    fresh = await env.run(assistant_thread, AssistantThreadRef(t.creator_id, "th", 2))
    assert fresh.next_turn == 0 and fresh.history == []

    fake_llm.script({"agents": ["analytics"]}, tool_calls(("campaign_results", {})), "No campaigns yet.")
    inp = AssistantTurnInput(t.creator_id, "th", 0, t.members["viewer"], "how did my campaigns do?")
    first = await env.run(assistant_turn, inp)
    calls = fake_llm.calls
    fake_llm.script({"agents": ["dm"]}, tool_calls(("search_catalog", {"query": ""})), "Something else.")
    again = await env.run(assistant_turn, inp)
    assert fake_llm.calls == calls  # the model was not asked again
    assert (again.answer, again.agents, again.steps, again.proposals) == (
        first.answer,
        first.agents,
        first.steps,
        first.proposals,
    )
    assert first.answer.startswith("No campaigns yet.")
    actions = await fetch(
        "SELECT kind FROM agent_actions WHERE creator_id = %s AND kind LIKE 'assistant_%%' ORDER BY kind",
        [t.creator_id],
    )
    assert [a["kind"] for a in actions] == ["assistant_answered", "assistant_delegated"]
    [turn] = await fetch(
        "SELECT turn, member_id, text FROM assistant_turns WHERE creator_id = %s", [t.creator_id]
    )
    assert turn == {"turn": 0, "member_id": t.members["viewer"], "text": "how did my campaigns do?"}

    after = await env.run(assistant_thread, AssistantThreadRef(t.creator_id, "th", 2))
    assert after.next_turn == 1
    assert after.history == [{"text": "how did my campaigns do?", "answer": first.answer}]
    # another creator's thread of the same id is empty
    other = await make_tenant("turns-b")
    assert (await env.run(assistant_thread, AssistantThreadRef(other.creator_id, "th", 2))).next_turn == 0
