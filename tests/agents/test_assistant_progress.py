"""The assistant tells its progress as it happens: the supervisor's choice, then each tool call while its agent
is still working (before the model's next call), each step as the answer shows it."""

from __future__ import annotations

from datetime import date
from typing import Any

from agents import llm
from agents.assistant import ask
from core.settings import Settings
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls


async def test_each_step_is_told_before_the_model_is_called_again(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant("prog")
    fake_llm.script(
        {"agents": ["dm", "analytics"]},
        tool_calls(("search_catalog", {"query": "beach"})),
        tool_calls(("search_catalog", {"query": "gym"})),
        "Two items.",
        tool_calls(("campaign_results", {})),
        "No campaigns.",
    )
    start = fake_llm.calls
    told: list[tuple[int, dict[str, Any]]] = []

    async def on_progress(event: dict[str, Any]) -> None:
        told.append((fake_llm.calls - start, event))

    answer = await ask(
        t.creator_id,
        llm.make_chat_model(settings),
        "native",
        "what do I sell, and how did my campaigns do?",
        today=date(2026, 6, 1),
        timezone="UTC",
        on_progress=on_progress,
    )
    assert [(n, e["event"], e.get("tool")) for n, e in told] == [
        (1, "agents", None),  # after the supervisor's call
        (2, "step", "search_catalog"),  # after the model chose it, before its next call
        (3, "step", "search_catalog"),
        (5, "step", "campaign_results"),
    ]
    assert told[0][1]["agents"] == ["dm", "analytics"]
    assert [{k: v for k, v in e.items() if k != "event"} for _, e in told[1:]] == [
        s.public() for s in answer.steps
    ]
