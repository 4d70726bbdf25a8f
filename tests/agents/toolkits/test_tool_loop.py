"""The tool-choosing loop on both paths, against the loopback OpenAI-compatible fake: native tool calls
(bind_tools; the fake answers in OpenAI's tool_calls format) and the grammar-constrained JSON choice."""

from __future__ import annotations

import json

import pytest

from agents import llm
from agents.tool_loop import FINISH, run_agent
from agents.toolkits import tools_for
from core.settings import Settings
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls


async def test_native_tool_calls_run_the_chosen_tool(settings: Settings, fake_llm: FakeOpenAI) -> None:
    t = await make_tenant("nat")
    fake_llm.script(tool_calls(("search_catalog", {"query": "beach"})), "You have one beach set.")
    tools = tools_for("dm", t.creator_id)
    run = await run_agent(
        "dm",
        "reads fans",
        llm.make_chat_model(settings),
        tools,
        "what beach content do I sell?",
        "",
        "native",
    )
    assert [(s.tool, s.args) for s in run.steps] == [("search_catalog", {"query": "beach"})]
    assert run.steps[0].result is not None
    assert [(i["id"], i["price_cents"]) for i in run.steps[0].result["items"]] == [(t.catalog[0], 1500)]
    assert run.note == "You have one beach set."
    first, second = list(fake_llm.requests)[-2:]
    assert {f["function"]["name"] for f in first["tools"]} == {x.name for x in tools}
    # the tool's result went back to the model as a tool message answering the call
    tool_msg = [m for m in second["messages"] if m["role"] == "tool"]
    assert len(tool_msg) == 1 and t.catalog[0] in tool_msg[0]["content"]


async def test_native_invalid_call_is_sent_back_and_not_run(settings: Settings, fake_llm: FakeOpenAI) -> None:
    t = await make_tenant("nav")
    other = await make_tenant("oth")
    fake_llm.script(
        tool_calls(("fan_profile", {"fan_id": "not-a-uuid"})),
        tool_calls(("fan_profile", {"fan_id": other.fans[0]})),
        "done",
    )
    run = await run_agent(
        "dm", "reads fans", llm.make_chat_model(settings), tools_for("dm", t.creator_id), "who?", "", "native"
    )
    assert run.invalid_calls == 1
    # the well-formed id of another creator's fan runs and fails: no row of theirs comes back
    assert [(s.tool, s.error) for s in run.steps] == [("fan_profile", f"no fan {other.fans[0]}")]
    assert run.steps[0].result is None


async def test_json_choice_over_the_union_of_tool_schemas(settings: Settings, fake_llm: FakeOpenAI) -> None:
    t = await make_tenant("jsn")
    fake_llm.script(
        {"tool": "search_catalog", "args": {"query": "gym"}},
        {"tool": FINISH, "args": {}},
    )
    tools = tools_for("dm", t.creator_id)
    run = await run_agent(
        "dm", "reads fans", llm.make_chat_model(settings), tools, "gym videos?", "", "json", max_steps=3
    )
    assert [s.tool for s in run.steps] == ["search_catalog"]
    assert run.steps[0].result is not None
    assert [i["id"] for i in run.steps[0].result["items"]] == [t.catalog[1]]
    first, second = list(fake_llm.requests)[-2:]
    assert "tools" not in first
    options = first["response_format"]["json_schema"]["schema"]["anyOf"]
    assert [o["properties"]["tool"]["const"] for o in options] == [x.name for x in tools]  # no finish yet
    fan_args = next(o for o in options if o["properties"]["tool"]["const"] == "fan_profile")["properties"][
        "args"
    ]
    assert fan_args["required"] == ["fan_id"] and fan_args["additionalProperties"] is False
    later = second["response_format"]["json_schema"]["schema"]["anyOf"]
    assert later[-1]["properties"]["tool"]["const"] == FINISH
    assert "Beach set" not in json.dumps(second["messages"]) and "Gym video" in json.dumps(second["messages"])


async def test_json_invalid_choices_are_retried_then_given_up(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant("jsi")
    fake_llm.script(
        {"tool": "drop_tables", "args": {}},
        {"tool": "top_fans", "args": {"segment": "everyone"}},
        {"tool": "top_fans", "args": {"segment": "whale", "limit": 5, "creator_id": "x"}},
    )
    run = await run_agent(
        "segmentation",
        "scores fans",
        llm.make_chat_model(settings),
        tools_for("segmentation", t.creator_id),
        "my whales",
        "",
        "json",
        attempts=3,
    )
    assert run.steps == [] and run.invalid_calls == 3
    assert "rejected" in json.dumps(list(fake_llm.requests)[-1]["messages"])


def test_auto_mode_is_json_for_the_local_engine_and_native_otherwise() -> None:
    from agents.tool_loop import tool_mode

    local = Settings(llm_base_url=None)
    assert tool_mode(local) == "json"
    # `huntaze up` and the evals point LLM_BASE_URL at the engine they started: still the local engine
    assert tool_mode(local.model_copy(update={"llm_base_url": local.local_llm_base_url})) == "json"
    assert tool_mode(local.model_copy(update={"llm_base_url": "https://api.example/v1"})) == "native"
    assert tool_mode(local.model_copy(update={"tool_calling": "native"})) == "native"


async def test_a_plan_runs_in_order_and_the_model_fills_arguments_only(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant("pln")
    fake_llm.script({"name": "Fan 1"}, {"name": "Fan"}, {"fan_id": t.fans[0], "limit": 2})
    before = fake_llm.calls
    model = llm.make_chat_model(settings)
    # refresh_segments is segmentation's: a label this agent has no tool for is skipped
    plan = ["find_fans", "refresh_segments", "fan_profile"]
    run = await run_agent(
        "dm", "reads fans", model, tools_for("dm", t.creator_id), "Fan 1?", "", "json", plan=plan
    )
    assert [(s.tool, s.args, s.mode) for s in run.steps] == [
        ("find_fans", {"name": "Fan 1"}, "router"),
        ("fan_profile", {"fan_id": t.fans[1]}, "router"),  # the one fan found: no model call
    ]
    assert run.steps[1].result is not None and run.steps[1].result["display_name"] == "Fan 1"
    assert fake_llm.calls - before == 1 and run.invalid_calls == 0
    fill = list(fake_llm.requests)[-1]
    assert "tools" not in fill and fill["temperature"] == 0
    assert fill["response_format"]["json_schema"]["name"] == "ToolArgs"
    assert fill["response_format"]["json_schema"]["schema"]["properties"].keys() == {"name"}
    # two fans found: the model fills the fan id too
    run = await run_agent(
        "dm",
        "reads fans",
        model,
        tools_for("dm", t.creator_id),
        "Fan?",
        "",
        "json",
        plan=["find_fans", "recent_messages"],
    )
    assert [(s.tool, s.args) for s in run.steps] == [
        ("find_fans", {"name": "Fan"}),
        ("recent_messages", {"fan_id": t.fans[0], "limit": 2}),
    ]
    assert fake_llm.calls - before == 3
    assert list(fake_llm.requests)[-1]["response_format"]["json_schema"]["schema"]["required"] == ["fan_id"]


async def test_an_arg_less_planned_tool_needs_no_model_call(settings: Settings, fake_llm: FakeOpenAI) -> None:
    t = await make_tenant("pla")
    before = fake_llm.calls
    model = llm.make_chat_model(settings)
    tools = tools_for("segmentation", t.creator_id)
    run = await run_agent(
        "segmentation", "scores", model, tools, "segments?", "", "json", plan=["segment_sizes"]
    )
    assert [(s.tool, s.args, s.mode) for s in run.steps] == [("segment_sizes", {}, "router")]
    assert run.steps[0].result is not None and fake_llm.calls == before
    with pytest.raises(ValueError, match="json mode only"):
        await run_agent(
            "segmentation", "scores", model, tools, "segments?", "", "native", plan=["segment_sizes"]
        )
