"""The assistant's semantic router, fitted on a small slice of the routing data (a few rows of each combination of
agents): fitted once then loaded from the cache, its plans hold only tools that exist; and the assistant's graph
in json mode follows its choice through the loopback OpenAI-compatible fake, the model only filling arguments."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import agents.router as router_module
from agents import llm
from agents.assistant import ask
from agents.router import (
    C_FIT,
    DATA_DIR,
    DEV_FILE,
    TRAIN_FILES,
    AssistantRouter,
    Example,
    RouterUnavailable,
    data_key,
    read_examples,
    toolsets,
)
from core.settings import Settings
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI

ROWS_PER_COMBINATION = 3


def _slice(name: str, out: Path) -> list[Example]:
    kept: list[str] = []
    seen: dict[tuple[str, ...], int] = {}
    for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        key = tuple(json.loads(line)["expect"]["agents"])
        if seen.get(key, 0) < ROWS_PER_COMBINATION:
            seen[key] = seen.get(key, 0) + 1
            kept.append(line)
    (out / name).write_text("\n".join(kept) + "\n", encoding="utf-8")
    return read_examples(out / name)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[AssistantRouter, list[Example], Path]:
    data, cache = tmp_path_factory.mktemp("route-data"), tmp_path_factory.mktemp("route-cache")
    train = [r for name in TRAIN_FILES for r in _slice(name, data)]
    _slice(DEV_FILE, data)
    return AssistantRouter(Settings(), data_dir=data, cache_dir=cache), train, data


def test_fitted_once_then_cached_and_plans_hold_only_existing_tools(
    small: tuple[AssistantRouter, list[Example], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    router, train, data = small
    assert router.path.is_file() and router.path.parent.glob("*.pkl")
    # fitted on every training file's rows and dev together, its thresholds chosen out of fold
    dev = read_examples(data / DEV_FILE)
    assert router.router.cv["rows"] == len(train) + len(dev)
    assert {r.id[:5] for r in train} >= {"rt-tr", "rt-fr", "rt-op"}
    assert router.router.cv["folds"] == 5 and router.router.c == C_FIT
    assert 0 <= router.router.cv["agent_choice"] <= 1 and "en_agent_choice" in router.router.cv
    partial = data.parent / "route-data-partial"
    partial.mkdir(exist_ok=True)
    for name in (TRAIN_FILES[0], DEV_FILE):
        (partial / name).write_bytes((data / name).read_bytes())
    with pytest.raises(RouterUnavailable, match=TRAIN_FILES[1]):
        AssistantRouter(Settings(), data_dir=partial, cache_dir=router.path.parent)
    monkeypatch.setattr(router_module, "fit", lambda *a, **k: pytest.fail("fitted again"))
    again = AssistantRouter(Settings(), data_dir=data, cache_dir=router.path.parent)
    assert again.router.data_key == router.router.data_key and again.router.cv == router.router.cv

    owned = toolsets()
    routes = [router.route(r.text) for r in train]
    for route in routes:
        assert 1 <= len(route.agents) <= 3 and list(route.plans) == route.agents
        for agent, plan in route.plans.items():
            assert set(plan) <= set(owned[agent]), (agent, plan)
    # fitted on these rows: it gives them back
    agreed = [set(route.agents) == set(r.agents) for route, r in zip(routes, train, strict=True)]
    assert sum(agreed) >= 0.9 * len(train), [r.id for r, ok in zip(train, agreed, strict=True) if not ok]
    multi = [(route, r) for route, r in zip(routes, train, strict=True) if len(r.agents) > 1]
    assert any(route.agents == list(r.agents) for route, r in multi)  # in the data's order

    # a label whose tool is gone (or not built yet) is skipped; the agent falls back to its best other tool
    route, row = next((rt, r) for rt, r in zip(routes, train, strict=True) if len(owned[rt.agents[0]]) > 1)
    first = route.agents[0]
    dropped = route.plans[first][0]
    fewer = {a: [t for t in tools if t != dropped] for a, tools in owned.items()}
    again_route = router.route(row.text, fewer)
    assert dropped not in again_route.plans[first] and again_route.plans[first]


def test_the_router_reads_requests_with_the_bundled_multilingual_encoder_too(
    small: tuple[AssistantRouter, list[Example], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    router, _, data = small
    # MiniLM's 384 columns, then multilingual-e5-small's (from the package's own weights: tests run offline)
    v = router.encoder.encode(
        ["how much did I make last week?", "combien j'ai gagné la semaine dernière ?", "refresh my segments"]
    )
    assert v.shape == (3, 768) and np.allclose(np.linalg.norm(v[:, 384:], axis=1), 1.0, atol=1e-3)
    e5 = v[:, 384:]
    assert e5[0] @ e5[1] > e5[0] @ e5[2] and e5[1] @ e5[0] > e5[1] @ e5[2]
    # the cached router is keyed by the encoder package's version too
    key = data_key(data)
    monkeypatch.setattr(router_module, "_version", lambda package: "9.9.9")
    assert data_key(data) != key


def test_a_fan_found_with_nothing_asked_gets_the_likeliest_fan_tool(
    small: tuple[AssistantRouter, list[Example], Path],
) -> None:
    r = small[0].router
    owned = toolsets()

    def route(agents: dict[str, float], tools: dict[str, float]) -> tuple[list[str], dict[str, list[str]]]:
        agent_p = np.array([agents.get(a, 0.0) for a in r.agent_labels])
        tool_p = np.array([tools.get(t, 0.01) for t in r.tool_labels])
        decided = r.decide(agent_p, tool_p, owned)
        return decided.agents, decided.plans

    # every threshold of the grids is above 0.05: without the rule this is find_fans alone
    assert route({"dm": 0.9}, {"find_fans": 0.95, "fan_scores": 0.05}) == (
        ["dm", "segmentation"],
        {"dm": ["find_fans"], "segmentation": ["fan_scores"]},
    )
    assert route({"dm": 0.9}, {"find_fans": 0.95, "recall_memories": 0.05, "fan_scores": 0.03}) == (
        ["dm"],
        {"dm": ["find_fans", "recall_memories"]},
    )
    # a fan tool already planned: nothing joins
    agents, plans = route({"dm": 0.9}, {"find_fans": 0.95, "recent_messages": 0.9, "fan_scores": 0.05})
    assert agents == ["dm"] and set(plans["dm"]) == {"find_fans", "recent_messages"}
    # three agents already: no fourth
    agents, plans = route(
        {"dm": 0.9, "followup": 0.9, "analytics": 0.9}, {"find_fans": 0.95, "fan_scores": 0.05}
    )
    assert set(agents) == {"dm", "followup", "analytics"} and "fan_scores" not in plans["dm"]


def _value(schema: dict[str, Any], defs: dict[str, Any], fan: str) -> Any:
    """A valid value for one argument's schema: what the fake model answers."""
    if "$ref" in schema:
        return _value(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, fan)
    if "anyOf" in schema:
        return _value(next(s for s in schema["anyOf"] if s.get("type") != "null"), defs, fan)
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("format") == "uuid":
        return fan
    if schema.get("format") == "date":
        return date.today().isoformat()
    if schema.get("type") == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    return "Fan 0"


def _fill(fan: str) -> Any:
    def respond(body: dict[str, Any]) -> str:
        schema = body["response_format"]["json_schema"]["schema"]
        defs = schema.get("$defs", {})
        props = schema.get("properties", {})
        return json.dumps({k: _value(props[k], defs, fan) for k in schema.get("required", [])})

    return respond


async def test_the_assistant_in_json_mode_follows_the_router(
    small: tuple[AssistantRouter, list[Example], Path], settings: Settings, fake_llm: FakeOpenAI
) -> None:
    router, train, _ = small
    t = await make_tenant("rtr")
    fake_llm.responder = _fill(t.fans[0])
    text = next(r.text for r in train if len(r.agents) > 1)
    route = router.route(text)
    before = fake_llm.calls
    answer = await ask(
        t.creator_id,
        llm.make_chat_model(settings),
        "json",
        text,
        today=date.today(),
        timezone="UTC",
        router=router,
    )
    assert answer.routed_by == "router" and answer.agents == route.agents and answer.supervisor_error is None
    planned = [(a, tool) for a in route.agents for tool in route.plans[a][:3]]
    assert [(s.agent, s.tool) for s in answer.steps] == planned
    assert {s.mode for s in answer.steps} == {"router"} and answer.invalid_calls == 0
    requests = list(fake_llm.requests)[-(fake_llm.calls - before) :] if fake_llm.calls > before else []
    # no model call chose anything: each one filled the arguments of one planned tool
    assert all(r["response_format"]["json_schema"]["name"] == "ToolArgs" for r in requests)
    assert len(requests) <= len(planned)
    with pytest.raises(ValueError, match="json mode only"):
        await ask(
            t.creator_id,
            llm.make_chat_model(settings),
            "native",
            text,
            today=date.today(),
            timezone="UTC",
            router=router,
        )


def test_route_suite_grades_the_routes_as_the_suite_graders_do(
    small: tuple[AssistantRouter, list[Example], Path],
) -> None:
    from evals.case import Case
    from evals.route_look import MAX_STEPS, route_suite
    from evals.suite import Suite

    router, train, _ = small
    rows = train[:12]
    cases = [
        Case(
            id=r.id,
            input={"text": r.text},
            expect={"agents": list(r.agents), "tools": list(r.tools)},
            tags=[r.lang],
        )
        for r in rows
    ]
    suite = Suite(name="look", target="assistant", graders=["agent_choice", "tool_choice"], cases=cases)
    out = route_suite(router, suite)
    routes = [router.route(r.text) for r in rows]
    agents = [set(rt.agents) == set(r.agents) for rt, r in zip(routes, rows, strict=True)]
    tools = [
        sum(t in {x for a in rt.agents for x in rt.plans[a][:MAX_STEPS]} for t in r.tools) / len(r.tools)
        for rt, r in zip(routes, rows, strict=True)
        if r.tools
    ]
    assert out["all"] == {
        "cases": 12.0,
        "agent_choice": round(sum(agents) / len(agents), 4),
        "tool_choice": round(sum(tools) / len(tools), 4),
    }
    langs = {r.lang for r in rows} & {"en", "fr", "es"}
    assert set(out) == {"suite", "max_steps", "all", *langs}
    assert sum(out[lang]["cases"] for lang in langs) == sum(r.lang in langs for r in rows)


def test_cross_validation_scores_the_fitted_settings_and_the_best_of_the_grids(
    small: tuple[AssistantRouter, list[Example], Path],
) -> None:
    from evals.route_cv import cross_validate, folds_of

    router, train, data = small
    fold = folds_of(23, 5)
    assert sorted(int((fold == f).sum()) for f in range(5)) == [4, 4, 5, 5, 5]
    assert (folds_of(23, 5) == fold).all()
    out = cross_validate(router, data_dir=data)
    fitted, chosen = out["fitted"], out["chosen"]
    assert out["rows"] == len(train) + len(read_examples(data / DEV_FILE)) and out["folds"] == 5
    assert (fitted["c"], fitted["agent_threshold"], fitted["tool_threshold"]) == (
        router.router.c,
        router.router.agent_threshold,
        router.router.tool_threshold,
    )
    for figures in (fitted, chosen):
        assert figures["rows"] == out["rows"]
        assert 0 <= figures["agent_choice"] <= 1 and 0 <= figures["tool_choice"] <= 1
    # the fitted settings are among the grids': the chosen ones choose agents at least as well out of fold
    assert chosen["agent_choice"] >= fitted["agent_choice"]
