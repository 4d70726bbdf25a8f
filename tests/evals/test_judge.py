"""The LLM-as-judge grader: skipped (not faked) without a judge; with one, the rubric reaches the judge endpoint
and its 1-5 verdict becomes the grade."""

from __future__ import annotations

import json
from typing import Any

from core.settings import Settings, configure
from evals.grade import Grade, Skipped
from evals.graders import apply
from evals.suite import Case, Suite
from tests.fakes.openai_server import FakeOpenAI

SUITE = Suite(name="t", target="drafting", graders=[{"name": "llm_judge"}], rubric="Warm and on topic.")  # type: ignore[list-item]
CASE = Case(id="c", input={"fan": {"name": "Jake"}}, expect={})
OUTPUT = {"draft": {"text": "Hey Jake! How was the gym?", "offer": None}}


async def test_skipped_without_a_judge(settings: Settings) -> None:
    g = await apply("llm_judge", OUTPUT, CASE, {}, SUITE)
    assert isinstance(g, Skipped) and "HUNTAZE_JUDGE_BASE_URL" in g.reason


async def test_judge_scores_against_the_rubric(settings: Settings, fake_llm: FakeOpenAI) -> None:
    configure(settings.model_copy(update={"judge_base_url": fake_llm.base_url, "judge_model": "judge"}))
    fake_llm.script({"score": 5, "reason": "warm"}, {"score": 2, "reason": "generic"})
    good = await apply("llm_judge", OUTPUT, CASE, {}, SUITE)
    bad = await apply("llm_judge", OUTPUT, CASE, {"min": 4}, SUITE)
    assert isinstance(good, Grade) and good.passed and good.score == 1.0
    assert isinstance(bad, Grade) and not bad.passed and bad.score == 0.25 and "generic" in bad.detail
    sent = fake_llm.requests[-1]
    assert sent["model"] == "judge" and sent["temperature"] == 0
    assert "Warm and on topic." in sent["messages"][0]["content"]
    assert json.dumps("Hey Jake! How was the gym?") in sent["messages"][1]["content"]


VOICE_CASE = Case(
    id="v",
    input={
        "voice_history": [{"fan": "good morning!", "reply": "Ahoy, early bird! ⚓"}],
        "events": [{"kind": "message", "text": "good morning beautiful"}],
    },
    expect={"reference": "Ahoy, charmer! ⚓"},
    tags=["voice"],
)
VOICE_OUTPUT = {
    "draft": {"text": "Ahoy there, matey! ⚓"},
    "baseline_draft": {"text": "Good morning to you!"},
}


async def test_pairwise_judge_asks_both_orders_and_a_position_bias_is_a_tie(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    assert isinstance(await apply("voice_pairwise", VOICE_OUTPUT, VOICE_CASE, {}, SUITE), Skipped)
    configure(settings.model_copy(update={"judge_base_url": fake_llm.base_url, "judge_model": "judge"}))
    # with examples is A first, then B: a judge choosing it both times prefers it; one always saying A is a tie
    fake_llm.script({"winner": "A", "reason": "pirate"}, {"winner": "B", "reason": "pirate"})
    wins = await apply("voice_pairwise", VOICE_OUTPUT, VOICE_CASE, {}, SUITE)
    first, second = (r["messages"][1]["content"] for r in list(fake_llm.requests)[-2:])
    assert 'A: "Ahoy there, matey! ⚓"' in first and 'B: "Ahoy there, matey! ⚓"' in second
    assert (
        "Ahoy, early bird!" in first and "Ahoy, charmer" not in first
    )  # her past replies, not the held-out one
    fake_llm.script({"winner": "A", "reason": "first"}, {"winner": "A", "reason": "first"})
    biased = await apply("voice_pairwise", VOICE_OUTPUT, VOICE_CASE, {}, SUITE)
    fake_llm.script({"winner": "B", "reason": "plain"}, {"winner": "A", "reason": "plain"})
    loses = await apply("voice_pairwise", VOICE_OUTPUT, VOICE_CASE, {}, SUITE)
    assert isinstance(wins, Grade) and wins.score == 1.0 and wins.passed
    assert isinstance(biased, Grade) and biased.score == 0.5 and biased.passed
    assert isinstance(loses, Grade) and loses.score == 0.0 and not loses.passed


def test_voice_summary_pairs_the_cases_and_bootstraps_the_difference() -> None:
    from evals.voice import chrf, summary

    ref = "Ahoy! Lazy tides and a nap on deck, matey."
    pairs = [
        ("Ahoy! Lazy tides on deck, matey.", "My Sunday was nice.", 1.0),
        ("Ahoy, a nap on deck, matey.", "I napped today.", 1.0),
        ("Lazy tides, matey.", "Lazy day here.", 0.5),
    ]
    cases: list[dict[str, Any]] = [
        {
            "tags": ["voice"],
            "expect": {"reference": ref},
            "output": {"draft": {"text": w}, "baseline_draft": {"text": wo}},
            "grades": {"voice_pairwise": {"score": p}},
        }
        for w, wo, p in pairs
    ] + [{"tags": [], "expect": {}, "output": {}, "grades": {}}]
    m = summary(cases)
    deltas = [chrf(w, ref) - chrf(wo, ref) for w, wo, _ in pairs]
    assert m["voice:cases"] == 3 and m["voice:chrf_delta"] == round(sum(deltas) / 3, 4)
    assert min(deltas) - 1e-4 <= m["voice:chrf_delta_lo"] <= m["voice:chrf_delta"] <= m["voice:chrf_delta_hi"]
    assert m["voice:chrf_delta_lo"] > 0  # every case improved
    assert m["voice:judge_pref"] == round(2.5 / 3, 4) and m["voice:judge_pref_lo"] >= 0.5
    assert summary([]) == {}
