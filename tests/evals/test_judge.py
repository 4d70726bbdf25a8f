"""The LLM-as-judge grader: skipped (not faked) without a judge; with one, the rubric reaches the judge endpoint
and its 1-5 verdict becomes the grade."""

from __future__ import annotations

import json

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
