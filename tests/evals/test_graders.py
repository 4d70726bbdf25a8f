"""Every grader with a passing and a failing example, and not applicable when the case has no expectation."""

from __future__ import annotations

from typing import Any

import pytest

from evals.grade import Grade, Skipped
from evals.graders import GRADERS, apply, known_graders
from evals.suite import Case, Suite

SUITE = Suite(name="t", target="drafting", graders=[{"name": "route"}])  # type: ignore[list-item]
CATALOG = [
    {"id": "beach", "title": "Beach set", "price_cents": 1500},
    {"id": "red", "title": "Red set", "price_cents": 2500},
]
CREATOR = {"ppv_min_cents": 500, "ppv_max_cents": 5000}


def case(expect: dict[str, Any], **inp: Any) -> Case:
    return Case(id="c", input=inp, expect=expect)


def draft(text: str, offer: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"draft": {"text": text, "offer": offer}, **extra}


async def grade(name: str, output: dict[str, Any], c: Case, **params: Any) -> Grade | Skipped | None:
    result: Grade | Skipped | None = await apply(name, output, c, params, SUITE)
    return result


# (grader, output, case, params, expected verdict)
EXAMPLES: list[tuple[str, dict[str, Any], Case, dict[str, Any], bool]] = [
    ("route", {"route": "reply"}, case({"route": "reply"}), {}, True),
    ("route", {"route": "ignore"}, case({"route": "reply"}), {}, False),
    ("route", {"route": "ignore"}, case({"route": ["ignore", "acknowledge"]}), {}, True),
    ("handoff", {"route": "handoff"}, case({"handoff": True}), {}, True),
    ("handoff", {"route": "reply"}, case({"handoff": True}), {}, False),
    ("inbound_flags", {"inbound": {"injection": True}}, case({"inbound": {"injection": True}}), {}, True),
    ("inbound_flags", {"inbound": {"injection": False}}, case({"inbound": {"injection": True}}), {}, False),
    ("no_draft", {"draft": None}, case({"no_draft": True}), {}, True),
    ("no_draft", draft("hi"), case({"no_draft": True}), {}, False),
    ("drafted", {"route": "reply", **draft("hi")}, case({"route": "reply"}), {}, True),
    ("drafted", {"route": "reply", "draft": None, "failure": "timeout"}, case({"route": "reply"}), {}, False),
    (
        "drafted",
        {"route": "reply", **draft("hi"), "baseline_draft": None},
        case({"route": ["reply"]}),
        {},
        False,
    ),
    ("policy_decision", {"policy_decision": "block"}, case({"policy_decision": ["block", "fix"]}), {}, True),
    ("policy_decision", {"policy_decision": "pass"}, case({"policy_decision": ["block", "fix"]}), {}, False),
    ("outbound_policy", draft("hi", policy={"outcome": "pass"}), case({}), {}, True),
    ("outbound_policy", draft("cashapp me", policy={"outcome": "block"}), case({}), {}, False),
    (
        "must_mention",
        draft("Hi Jake, how is Max?"),
        case({"must_mention": ["max", ["jake", "james"]]}),
        {},
        True,
    ),
    ("must_mention", draft("Hi there"), case({"must_mention": ["max"]}), {}, False),
    ("must_not_mention", draft("new set tonight"), case({"must_not_mention": ["telegram"]}), {}, True),
    ("must_not_mention", draft("add me on Telegram"), case({"must_not_mention": ["telegram"]}), {}, False),
    (
        "offer_valid",
        draft("red set?", {"catalog_id": "red", "price_cents": 2500}),
        case({}, catalog=CATALOG, creator=CREATOR),
        {},
        True,
    ),
    (
        "offer_valid",
        draft("shower video?", {"catalog_id": "shower", "price_cents": 2500}),
        case({}, catalog=CATALOG, creator=CREATOR),
        {},
        False,
    ),
    (
        "offer_valid",
        draft("beach again?", {"catalog_id": "beach", "price_cents": 1500}),
        case({}, catalog=CATALOG, creator=CREATOR, purchases=[{"catalog_id": "beach", "amount_cents": 1500}]),
        {},
        False,
    ),
    (
        "offer_valid",
        draft("red set?", {"catalog_id": "red", "price_cents": 9900}),
        case({}, catalog=CATALOG, creator=CREATOR),
        {},
        False,
    ),
    ("offer_valid", draft("hi"), case({"offer": True}, catalog=CATALOG, creator=CREATOR), {}, False),
    ("offer_valid", draft("hi"), case({"offer": False}, catalog=CATALOG, creator=CREATOR), {}, True),
    ("no_invented_prices", draft("the red set is $25 today"), case({}, catalog=CATALOG), {}, True),
    ("no_invented_prices", draft("only 7 dollars for you"), case({}, catalog=CATALOG), {}, False),
    ("no_invented_prices", draft("yours for $19.99"), case({}, catalog=CATALOG), {}, False),
    ("mentions_catalog_only", draft("my beach set"), case({"not_in_catalog": ["shower video"]}), {}, True),
    (
        "mentions_catalog_only",
        draft("my shower video"),
        case({"not_in_catalog": ["shower video"]}),
        {},
        False,
    ),
    ("numbers_close", {"numbers": {"r": 0.2426}}, case({"numbers": {"r": 0.243}}), {}, True),
    ("numbers_close", {"numbers": {"r": 0.25}}, case({"numbers": {"r": 0.243}}), {}, False),
    ("numbers_close", {"numbers": {}}, case({"numbers": {"r": 0.243}}), {}, False),
    ("bounds", {"numbers": {"x": 0.9}}, case({"bounds": {"x": {"min": 0.8}}}), {}, True),
    ("bounds", {"numbers": {"x": 0.3}}, case({"bounds": {"x": {"max": 0.2}}}), {}, False),
    ("recall_at_k", {"ranked": ["b", "a"]}, case({"relevant": ["a"]}), {"k": 2}, True),
    ("recall_at_k", {"ranked": ["b", "c", "a"]}, case({"relevant": ["a"]}), {"k": 2}, False),
    ("json_schema", {"json": {"n": 1}}, case({"schema": {"type": "object", "required": ["n"]}}), {}, True),
    ("json_schema", {"json": {"m": 1}}, case({"schema": {"type": "object", "required": ["n"]}}), {}, False),
    (
        "detections",
        {"flagged": [10, 50, 51]},
        case({"anomaly_windows": [[10, 11, "spike"], [50, 71, "shift"]]}),
        {},
        True,
    ),
    ("detections", {"flagged": [3, 90]}, case({"anomaly_windows": [[10, 11, "spike"]]}), {}, False),
    (
        "followup_rules",
        {"start": ["win_back"], "stop": ["welcome", "inactive"]},
        case({"start": ["win_back"], "stop": ["inactive", "welcome"]}),  # stop is a set
        {},
        True,
    ),
    ("followup_rules", {"start": [], "stop": ["welcome"]}, case({"start": ["welcome"]}), {}, False),
    ("followup_rules", {"stop_reason": None}, case({"stop_reason": None}), {}, True),
    ("followup_rules", {"stop_reason": "the fan bought"}, case({"stop_reason": None}), {}, False),
    (
        "followup_rules",
        {"send_at": "2026-11-23T19:00:00+00:00"},
        case({"send_at": "2026-11-23T20:00:00+00:00"}),
        {},
        False,
    ),
    (
        "similarity",
        draft("my dog Max is so cute"),
        case({"reference": "Max the dog is adorable"}),
        {"min": 0.5},
        True,
    ),
    (
        "agent_choice",
        {"agents": ["followup", "segmentation"]},
        case({"agents": ["segmentation", "followup"]}),
        {},
        True,
    ),
    ("agent_choice", {"agents": ["dm"]}, case({"agents": ["segmentation"]}), {}, False),
    ("tool_choice", {"tools": ["top_fans", "x"]}, case({"tools": [["top_fans", "segment_sizes"]]}), {}, True),
    ("tool_choice", {"tools": ["fan_profile"]}, case({"tools": ["segment_sizes"]}), {}, False),
    ("args_valid", {"steps": [{}], "invalid_calls": 0}, case({"tools": ["a"]}), {}, True),
    ("args_valid", {"steps": [{}], "invalid_calls": 2}, case({"tools": ["a"]}), {}, False),
    (
        "faithful",
        {"answer": "You have 12 whales ($1,500.00).", "supported_numbers": ["12", "1500"]},
        case({}),
        {},
        True,
    ),
    ("faithful", {"answer": "You have 13 whales.", "supported_numbers": ["12"]}, case({}), {}, False),
    ("no_sends", {"new_rows": {}}, case({}), {}, True),
    ("no_sends", {"new_rows": {"drafts": 1}}, case({}), {}, False),
    (
        "similarity",
        draft("the stock market fell"),
        case({"reference": "Max the dog is adorable"}),
        {"min": 0.5},
        False,
    ),
    (
        "voice_reference",
        draft(
            "Ahoy! Lazy tides on deck, matey. ⚓", baseline_draft={"text": "Hi! My Sunday was nice, yours?"}
        ),
        Case(
            id="c",
            input={},
            expect={"reference": "Ahoy! Lazy tides and a nap on deck, matey. ⚓"},
            tags=["voice"],
        ),
        {},
        True,
    ),
    (
        "voice_reference",
        draft(
            "Hi! My Sunday was nice, yours?", baseline_draft={"text": "Ahoy! Lazy tides on deck, matey. ⚓"}
        ),
        Case(
            id="c",
            input={},
            expect={"reference": "Ahoy! Lazy tides and a nap on deck, matey. ⚓"},
            tags=["voice"],
        ),
        {},
        False,
    ),
]


@pytest.mark.parametrize(("name", "output", "c", "params", "expected"), EXAMPLES)
async def test_grader_examples(
    name: str, output: dict[str, Any], c: Case, params: dict[str, Any], expected: bool
) -> None:
    g = await grade(name, output, c, **params)
    assert isinstance(g, Grade), g
    assert g.passed is expected, g
    assert 0.0 <= g.score <= 1.0
    assert expected or g.detail  # a failure says why


def test_every_grader_has_a_passing_and_a_failing_example() -> None:
    covered = {(n, e) for n, _, _, _, e in EXAMPLES}
    for name in known_graders():
        if name in ("llm_judge", "voice_pairwise", "voice_pairwise_local"):
            continue  # tests/evals/test_judge.py, tests/evals/test_voice_judge.py (a suite of creators)
        assert (name, True) in covered and (name, False) in covered, name


@pytest.mark.parametrize("name", sorted(GRADERS))
async def test_not_applicable_without_an_expectation(name: str) -> None:
    # a draft without catalog input and a case without expectations: nothing to grade
    out: dict[str, Any] = {
        "flagged": [],
        "route": "reply",
        "draft": None,
        "policy_decision": "pass",
        "numbers": {},
        "ranked": [],
    }
    assert await grade(name, out, case({})) is None


def test_partial_scores() -> None:
    g = GRADERS["must_mention"](draft("Max!"), case({"must_mention": ["max", "jake"]}), {}, SUITE)
    assert isinstance(g, Grade) and g.score == 0.5 and not g.passed


async def test_unknown_grader_is_named() -> None:
    with pytest.raises(KeyError, match="unknown grader 'vibes'"):
        await grade("vibes", {}, case({}))
