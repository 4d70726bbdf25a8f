"""The anomaly detector on labelled synthetic series (spikes, drops, level shifts; revenue-like amounts and
Poisson counts): precision, recall and F1 at event level, and the behaviour on simple cases."""

from __future__ import annotations

from datetime import date

import numpy as np

from agents.analytics.anomalies import (
    HISTORY_DAYS,
    describe,
    detect,
    expected_and_scores,
    score_detections,
    synthetic_series,
)

SEEDS = range(100)


def _measure(kind: str) -> dict[str, float]:
    tot = {"tp": 0, "fp": 0, "fn": 0}
    for seed in SEEDS:
        s = synthetic_series(seed, kind=kind)
        counts = score_detections([a.index for a in detect(s.values)], s.windows)
        for k in tot:
            tot[k] += counts[k]
    p = tot["tp"] / (tot["tp"] + tot["fp"])
    r = tot["tp"] / (tot["tp"] + tot["fn"])
    return {**tot, "precision": p, "recall": r, "f1": 2 * p * r / (p + r)}


def test_f1_on_labelled_series() -> None:
    amount, count = _measure("amount"), _measure("count")
    pooled = {k: amount[k] + count[k] for k in ("tp", "fp", "fn")}
    p = pooled["tp"] / (pooled["tp"] + pooled["fp"])
    r = pooled["tp"] / (pooled["tp"] + pooled["fn"])
    f1 = 2 * p * r / (p + r)
    # 200 series, ~1,000 labelled anomalies: figures reported in the README
    assert f1 >= 0.9, (amount, count)
    assert amount["f1"] >= 0.95 and amount["precision"] >= 0.95, amount
    assert count["precision"] >= 0.95, count  # few false alarms even where recall is lower


def test_a_clean_weekly_series_raises_nothing() -> None:
    rng = np.random.default_rng(3)
    weekly = np.tile([100.0, 90, 95, 110, 130, 150, 120], 26)
    values = weekly * rng.lognormal(0, 0.03, len(weekly))
    assert detect(values) == []
    expected, scores = expected_and_scores(values)
    assert np.isnan(scores[: HISTORY_DAYS - 1]).all()  # no judgement without history
    judged = ~np.isnan(expected)
    assert np.allclose(expected[judged], values[judged], rtol=0.15)  # the weekly pattern is expected


def test_a_spike_a_drop_and_a_level_shift() -> None:
    weekly = np.tile([100.0, 90, 95, 110, 130, 150, 120], 26)
    values = weekly * np.random.default_rng(4).lognormal(0, 0.03, len(weekly))
    values[80] *= 3
    values[100] *= 0.3
    values[130:] *= 0.5
    found = {a.index: a for a in detect(values)}
    assert found[80].direction == "up" and found[100].direction == "down"
    assert 130 in found and found[130].direction == "down"
    # the new level is learnt: the shift is not flagged for the rest of the series
    assert max(found) < 140, sorted(found)
    assert set(found) <= {80, 100, *range(130, 140)}
    report = describe("revenue_cents", date(2026, 5, 1), found[100])
    assert report["direction"] == "down" and report["expected"] > report["observed"]
    assert "Revenue fell" in report["recommendation"] and report["actionable"]
    # good news that asks nothing of the creator is marked so (the daily plan leaves it out)
    assert not describe("churned", date(2026, 5, 1), found[100])["actionable"]
    assert not describe("reply_rate", date(2026, 5, 1), found[80])["actionable"]
    assert describe("revenue_cents", date(2026, 5, 1), found[80])["actionable"]


def test_scoring_counts_events_not_days() -> None:
    windows = [(10, 11, "spike"), (50, 71, "shift")]
    assert score_detections([10, 50, 51, 52, 60, 90], windows) == {"tp": 2, "fp": 1, "fn": 0}
    assert score_detections([], windows) == {"tp": 0, "fp": 0, "fn": 2}
