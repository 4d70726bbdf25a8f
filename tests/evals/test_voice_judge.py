"""The local pairwise voice judge (authorship attribution, no LLM): it prefers a text in the creator's voice, it
is validated on held-out real replies before it is used, and a judge that cannot tell the creators apart is
reported as uninformative and skipped rather than read as a verdict."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from evals.grade import Grade, Skipped
from evals.graders import apply
from evals.report import write_all
from evals.runner import check_thresholds
from evals.suite import Case, Suite
from evals.voice import AuthorshipJudge, judge_for, local_validation, summary, voice_case

PAST = {
    "Pixie": [
        "hehe so cozy bb~ tea and fairy lights all sunday 🧚",
        "eee thank u bb~ green is my forest color 🧚",
        "nooo bb~ come here, virtual fairy hug for u 🧚",
        "mornin bb~ sleepy fairy still in bed hehe 🧚",
        "hehe naughty kitty bb~ give them a boop from me 🧚",
        "strawberries n honey bb~ fairy food hehe 🧚",
    ],
    "Kat": [
        "Ahoy! Calm waters and a long nap on deck, matey. ⚓",
        "Ahoy, matey! Green suits a sailor. ⚓",
        "Rough waters, matey. Drop anchor and rest. ⚓",
        "Morning, matey! Coffee on the bow already. ⚓",
        "A pirate cat! Guard your plants, matey. ⚓",
        "Fish and chips by the harbour, matey. ⚓",
    ],
    "Rosa": [
        "Oh darling, a slow Sunday among the tulips. 🌷",
        "Oh darling, thank you. Green is the garden's colour. 🌷",
        "Oh darling, even roses have thorny days. Rest. 🌷",
        "Good morning, darling. The daisies say hello. 🌷",
        "Oh darling, cats and pots never agree. Forgive her. 🌷",
        "Oh darling, fresh peas from the garden, always. 🌷",
    ],
}
HELD_OUT = {  # fan message -> each creator's real reply, never a training text
    "how was your sunday?": {
        "Pixie": "hehe lazy n cozy bb~ blankets and cartoons all day 🧚",
        "Kat": "Ahoy! Lazy tides and a long nap on deck, matey. ⚓",
        "Rosa": "Oh darling, slow and sunny. I pruned the hedges with tea in hand. 🌷",
    },
    "rough day at the office today": {
        "Pixie": "aww bb~ sending u the biggest fairy hug 🧚",
        "Kat": "Stormy seas, matey. Hold the wheel, calmer water ahead. ⚓",
        "Rosa": "Oh darling, even the strongest plants droop sometimes. Rest now. 🌷",
    },
}
GENERIC = "Hey you! My day was lovely, I just finished a shoot 😊 How was yours?"


def voice_cases(held_out: dict[str, dict[str, str]] = HELD_OUT) -> list[Case]:
    return [
        Case(
            id=f"{who}-{n}",
            input={
                "creator": {"name": who},
                "voice_history": [{"fan": "hi", "reply": r} for r in PAST[who]],
                "events": [{"kind": "message", "text": fan_text}],
            },
            expect={"reference": replies[who]},
            tags=["voice"],
        )
        for n, (fan_text, replies) in enumerate(held_out.items())
        for who in replies
    ]


def suite_of(cases: list[Case]) -> Suite:
    return Suite(name="t", target="drafting", graders=[{"name": "voice_pairwise_local"}], cases=cases)  # type: ignore[list-item]


def test_the_judge_prefers_the_text_in_her_voice_and_can_prefer_the_wrong_one() -> None:
    others = PAST["Kat"] + PAST["Rosa"]
    pixie = AuthorshipJudge(PAST["Pixie"], others)
    in_voice = "hehe rainy fairy day bb~ stay cozy 🧚"
    assert pixie.prefer(in_voice, GENERIC) == 1.0
    assert pixie.prefer(GENERIC, in_voice) == 0.0  # the order of the two texts does not decide
    assert pixie.prefer(in_voice, in_voice) == 0.5  # a tie within the margin
    # shown another creator's voice as "hers", the same judge picks that one: it reads style, not quality
    kat = AuthorshipJudge(PAST["Kat"], PAST["Pixie"] + PAST["Rosa"])
    assert kat.prefer(in_voice, "Rain? A sailor's lullaby, matey. Stay dry in port. ⚓") == 0.0


def test_the_judge_never_trains_on_a_held_out_reply() -> None:
    cases = tuple(vc for c in voice_cases() if (vc := voice_case(c.id, c.tags, c.input, c.expect)))
    judge = judge_for(cases[0], cases)
    assert judge is not None
    vocabulary = judge.model.named_steps["tfidfvectorizer"].vocabulary_
    # "hedges" appears only in Rosa's held-out reply: had it been a training text its n-grams would be features
    assert "hedg" not in vocabulary and "fair" in vocabulary
    # a draft that repeats one of her past replies is judged on her other replies: not recognised as seen text
    copy = PAST["Pixie"][4]
    blind = judge_for(cases[0], cases, unseen=[f"  {copy.upper()} "])
    assert blind is not None and "boop" not in blind.model.named_steps["tfidfvectorizer"].vocabulary_
    assert blind.probability([copy])[0] < judge.probability([copy])[0]
    assert blind.prefer(copy, GENERIC) == 1.0  # still in her voice
    alone = tuple(c for c in cases if c.creator == "Pixie")
    assert judge_for(alone[0], alone) is None  # no other creator: nothing to tell her from


def test_validation_on_held_out_replies_and_its_failure_when_the_replies_are_not_hers() -> None:
    good = local_validation(
        tuple(vc for c in voice_cases() if (vc := voice_case(c.id, c.tags, c.input, c.expect)))
    )
    assert (
        good.cases == 6 and good.pairs == 12
    )  # each reply against the two other creators' to the same message
    assert good.accuracy == 1.0 and good.informative
    # each creator's "held-out reply" is really the next creator's: the judge rightly does not pick it as hers
    rotated = {msg: {"Pixie": r["Kat"], "Kat": r["Rosa"], "Rosa": r["Pixie"]} for msg, r in HELD_OUT.items()}
    bad = local_validation(
        tuple(vc for c in voice_cases(rotated) if (vc := voice_case(c.id, c.tags, c.input, c.expect)))
    )
    assert bad.accuracy < 0.5 and not bad.informative
    assert "of 12 pairs (6 cases)" in bad.describe()


async def test_grader_prefers_the_draft_in_voice_and_is_skipped_when_the_judge_is_uninformative() -> None:
    cases = voice_cases()
    suite = suite_of(cases)
    pixie = cases[0]
    in_voice = "hehe lazy sunday bb~ cartoons n tea 🧚"

    async def grade(with_voice: str, without: str, s: Suite = suite) -> Any:
        out = {"draft": {"text": with_voice}, "baseline_draft": {"text": without}}
        return await apply("voice_pairwise_local", out, pixie, {}, s)

    wins, loses, tie = (
        await grade(in_voice, GENERIC),
        await grade(GENERIC, in_voice),
        await grade(GENERIC, GENERIC),
    )
    assert isinstance(wins, Grade) and wins.score == 1.0 and wins.passed and "P(hers)" in wins.detail
    assert isinstance(loses, Grade) and loses.score == 0.0 and not loses.passed
    assert isinstance(tie, Grade) and tie.score == 0.5 and tie.passed
    rotated = {msg: {"Pixie": r["Kat"], "Kat": r["Rosa"], "Rosa": r["Pixie"]} for msg, r in HELD_OUT.items()}
    skipped = await grade(in_voice, GENERIC, suite_of(voice_cases(rotated)))
    assert isinstance(skipped, Skipped) and "uninformative" in skipped.reason
    assert await apply("voice_pairwise_local", {"draft": {"text": "x"}}, pixie, {}, suite) is None


def test_summary_reports_the_validation_and_the_local_preference_with_intervals() -> None:
    cases = voice_cases()
    in_voice = {"Pixie": "hehe bb~ so cozy 🧚", "Kat": "Ahoy, matey! ⚓", "Rosa": "Oh darling, lovely. 🌷"}
    results = [
        {
            "id": c.id,
            "tags": c.tags,
            "input": c.input,
            "expect": c.expect,
            "output": {
                "draft": {"text": in_voice[c.input["creator"]["name"]]},
                "baseline_draft": {"text": GENERIC},
            },
            "grades": {"voice_pairwise_local": {"score": score}},
        }
        for c, score in zip(cases, [1.0, 1.0, 1.0, 1.0, 0.5, 0.0], strict=True)
    ]
    m = summary(results)
    assert m["voice:local_judge_acc"] == 1.0 and m["voice:local_judge_informative"] == 1.0
    assert m["voice:local_judge_pairs"] == 12
    # her real reply beats the generic draft every time; against a short draft in her voice it is not sure
    assert m["voice:local_judge_real_vs_without"] == 1.0
    assert m["voice:pairwise_local"] == round(4.5 / 6, 4)
    assert m["voice:pairwise_local_lo"] <= m["voice:pairwise_local"] <= m["voice:pairwise_local_hi"]
    assert "voice:local_judge_real_vs_with" in m


def test_a_skipped_local_judge_threshold_says_why_in_the_json_junit_and_html(tmp_path: Path) -> None:
    """The thresholds on the local judge's preference, when it failed its validation: not "no applicable cases"
    but its validation figure and interval, in every output of a run."""
    rotated = {msg: {"Pixie": r["Kat"], "Kat": r["Rosa"], "Rosa": r["Pixie"]} for msg, r in HELD_OUT.items()}
    results: list[dict[str, Any]] = [
        {"id": c.id, "tags": c.tags, "input": c.input, "expect": c.expect, "output": {}, "grades": {}}
        for c in voice_cases(rotated)
    ]
    metrics = summary(results)
    assert metrics["voice:local_judge_informative"] == 0.0 and "voice:pairwise_local_lo" not in metrics
    acc, lo, hi = (
        metrics[k] for k in ("voice:local_judge_acc", "voice:local_judge_acc_lo", "voice:local_judge_acc_hi")
    )
    local, other = check_thresholds({"voice:pairwise_local_lo": 0.5, "voice:judge_pref_lo": 0.5}, metrics)
    assert local["passed"] is None and other["passed"] is None
    why = local["note"]
    assert why.startswith("skipped: the local voice judge is uninformative"), why
    assert f"in {acc:.2f} [95 % interval {lo:.2f}, {hi:.2f}] of 12 validation pairs" in why, why
    assert other["note"] == "no applicable cases"  # the LLM judge's own reason is elsewhere: no endpoint
    # a suite whose voice cases are all one creator's: nothing to validate against, and the note says so
    alone = [r for r in results if r["input"]["creator"]["name"] == "Pixie"]
    [one] = check_thresholds({"voice:pairwise_local_lo": 0.5}, summary(alone))
    assert "could not be validated" in one["note"], one

    suite = {
        "name": "drafting",
        "description": "voice",
        "target": "drafting",
        "deterministic": False,
        "passed": True,
        "duration_s": 0.1,
        "counts": {"cases": 0, "passed": 0, "failed": 0, "errors": 0},
        "metrics": {"pass_rate": 1.0, **metrics},
        "thresholds": [local],
        "cases": [],
    }
    run = {
        "run_id": "run-voice",
        "passed": True,
        "started_at": "2026-01-01T00:00:00+00:00",
        "duration_s": 0.1,
    }
    paths = write_all({**run, "model": None, "prompts": "built-in", "suites": [suite]}, tmp_path)
    assert json.loads(paths["json"].read_text())["suites"][0]["thresholds"][0]["note"] == why
    [skipped] = ET.parse(paths["junit"]).getroot().iter("skipped")
    assert skipped.get("message") == why
    assert f"[95 % interval {lo:.2f}, {hi:.2f}]" in paths["html"].read_text()
