"""No agent tool can reach another creator's rows: every tool of creator A, called with arguments that name
creator B's fans (where it takes a fan) or listing what it lists, answers from A's rows only."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from agents.toolkits import AGENTS, ToolFailed, tools_for
from tests.agents.toolkits.conftest import UNTIL, Business


def _args(tool: str, b: Business, fan: str) -> dict[str, Any]:
    args: dict[str, dict[str, Any]] = {
        "find_fans": {"name": b.fan_names[0][:3]},
        "fan_profile": {"fan_id": fan},
        "recent_messages": {"fan_id": fan},
        "purchases": {"fan_id": fan},
        "recall_memories": {"fan_id": fan, "query": "beach"},
        "search_catalog": {"query": ""},
        "segment_sizes": {},
        "top_fans": {"segment": "regular", "limit": 50},
        "fan_scores": {"fan_id": fan},
        "list_sequences": {},
        "propose_start_sequence": {"kind": "win_back", "segment": "all"},
        "propose_stop_sequence": {"kind": "win_back"},
        "period_overview": {"start": str(UNTIL - timedelta(days=30)), "end": str(UNTIL)},
        "anomalies": {"days": 30},
        "campaign_results": {},
        "cohorts": {"months": 6},
        "refresh_segments": {},
        "suggest_price": {"fan_id": fan},
        "similar_replies": {"text": "beach pics tonight?", "k": 10},
    }
    return args[tool]


def _ids(b: Business) -> set[str]:
    return {str(i) for i in (b.creator_id, *b.fans, *b.catalog, b.campaign_id, b.followup_id)}


async def test_every_tool_answers_from_its_own_creator_only(
    two_businesses: tuple[Business, Business],
) -> None:
    a, b = two_businesses
    seen: set[str] = set()
    for agent in AGENTS:
        for tool in tools_for(agent, a.creator_id):
            seen.add(tool.name)
            own = await tool.ainvoke(_args(tool.name, a, a.fans[0]))
            text = json.dumps(own)
            # A's own rows are there (the tool works), B's never are
            assert not any(i in text for i in _ids(b)), tool.name
            assert "bravo" not in text, tool.name
            if "fan_id" in _args(tool.name, a, a.fans[0]):
                assert a.fans[0] in text or tool.name in ("recent_messages", "recall_memories", "purchases")
                with pytest.raises(ToolFailed):
                    await tool.ainvoke(_args(tool.name, b, b.fans[0]))
    assert seen == {
        "find_fans",
        "fan_profile",
        "recent_messages",
        "purchases",
        "recall_memories",
        "search_catalog",
        "segment_sizes",
        "top_fans",
        "fan_scores",
        "list_sequences",
        "propose_start_sequence",
        "propose_stop_sequence",
        "period_overview",
        "anomalies",
        "campaign_results",
        "cohorts",
        "refresh_segments",
        "suggest_price",
        "similar_replies",
    }


async def test_tools_return_the_creators_own_rows(two_businesses: tuple[Business, Business]) -> None:
    a, _ = two_businesses
    tools = {t.name: t for agent in AGENTS for t in tools_for(agent, a.creator_id)}
    memories = await tools["recall_memories"].ainvoke({"fan_id": a.fans[0], "query": "beach"})
    assert [m["text"] for m in memories["memories"]] == ["alpha fan loves beach sets"]
    assert (await tools["purchases"].ainvoke({"fan_id": a.fans[0]}))["by_kind"]["ppv"]["count"] >= 1
    assert (await tools["recent_messages"].ainvoke({"fan_id": a.fans[0]}))["messages"]
    found = await tools["find_fans"].ainvoke({"name": a.fan_names[0]})
    assert a.fans[0] in [f["id"] for f in found["fans"]]
    items = (await tools["search_catalog"].ainvoke({"query": ""}))["items"]
    assert {i["id"] for i in items} <= set(a.catalog) and items
    sizes = await tools["segment_sizes"].ainvoke({})
    assert sizes["total_fans"] == 40
    assert [s["id"] for s in (await tools["campaign_results"].ainvoke({}))["campaigns"]] == [a.campaign_id]
    assert [s["id"] for s in (await tools["list_sequences"].ainvoke({}))["sequences"]] == [a.followup_id]
    start = await tools["propose_start_sequence"].ainvoke({"kind": "win_back", "segment": "all"})
    assert start["proposal"]["request"]["path"] == "/v1/campaigns"
    assert start["proposal"]["audience"]["segment_size"] == 40
    scores = await tools["fan_scores"].ainvoke({"fan_id": a.fans[0]})
    assert scores["scored"] and scores["explanation"]["segment"].startswith(scores["segment"])


async def test_bad_arguments_are_refused_before_any_query(two_businesses: tuple[Business, Business]) -> None:
    a, _ = two_businesses
    tools = {t.name: t for agent in AGENTS for t in tools_for(agent, a.creator_id)}
    from pydantic import ValidationError

    for name, args in (
        ("fan_profile", {"fan_id": "x' OR 1=1"}),
        ("top_fans", {"segment": "everyone"}),
        ("period_overview", {"start": "2026-02-01", "end": "2026-01-01"}),
        ("recent_messages", {"fan_id": a.fans[0], "limit": 10_000}),
        ("fan_profile", {"fan_id": a.fans[0], "creator_id": "x"}),
        ("cohorts", {"months": 0}),
        ("similar_replies", {"text": "hi", "k": 11}),
        ("similar_replies", {"text": ""}),
        ("suggest_price", {"fan_id": a.fans[0], "catalog_id": a.catalog[0], "platform_item_id": "x"}),
    ):
        with pytest.raises(ValidationError):
            await tools[name].ainvoke(args)
