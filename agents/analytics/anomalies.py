"""Anomalies in daily business series (revenue, new subscribers, churn, reply rate), causally: each day is
judged against what the weeks before it predicted, never against the future.

Method: a robust seasonal baseline. The expected value of day t is today's level (the mean of the 7 days before
it, in which every weekday appears once) times the weekday's shape (the median, over the previous `weeks`
weeks, of that weekday's value over the mean of its week), so neither the weekly pattern nor a slow trend
looks like an anomaly. The spread is the median absolute deviation of recent residuals (robust: one past spike
does not widen it). A day is anomalous when |observed - expected| / spread >= `threshold` and the gap is
material (`min_rel` of expected, `min_abs`). Anomalous days are replaced by their expectation in later
baselines, so a spike is not learnt; the same surprise `shift_days` days running is a level shift, and the
new level is learnt from then on.

Why not a library: STL and Prophet-style decompositions fit the whole series (they look ahead and refit each
day), statsmodels would be a new dependency for ~60 lines of numpy, and this detector is measured on labelled
series (`evals/suites/anomalies.yaml`, tests/agents/analytics).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

Series = npt.NDArray[np.float64]

MAD_TO_SIGMA = 1.4826
WARM_UP_RESIDUALS = 14
# Days of history before the first day the default detector judges: `weeks` weeks of baseline, then the
# residual warm-up.
HISTORY_DAYS = 63


@dataclass(frozen=True)
class DetectorConfig:
    weeks: int = 6  # weeks of history for the weekly shape
    threshold: float = 4.0  # robust z-score
    min_rel: float = 0.15  # and at least this relative gap, so tiny wobbles of small numbers are not alarms
    min_abs: float = 1.0  # and at least this absolute gap (counts: one fan is not an anomaly)
    spread_days: int = 28  # residuals used for the spread
    # this many anomalous days in a row, same direction: a level shift, learnt as the norm from then on
    shift_days: int = 3
    # A collapse (at most this share of the expected value) needs less evidence: on a noisy series a day with
    # almost no revenue is the outage everyone wants to hear about, even when the spread is wide.
    collapse_ratio: float = 0.3
    collapse_z: float = 2.5


@dataclass(frozen=True)
class Anomaly:
    index: int
    observed: float
    expected: float
    score: float  # robust z-score, signed

    @property
    def direction(self) -> str:
        return "up" if self.observed > self.expected else "down"


def _is_anomalous(observed: float, expected: float, z: float, cfg: DetectorConfig) -> bool:
    gap = abs(observed - expected)
    if gap < cfg.min_abs:
        return False
    if expected > 0 and observed <= cfg.collapse_ratio * expected and z <= -cfg.collapse_z:
        return True
    return abs(z) >= cfg.threshold and gap >= cfg.min_rel * abs(expected)


def _median(xs: list[float]) -> float:
    ordered = sorted(xs)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def expected_and_scores(values: Series, cfg: DetectorConfig = DetectorConfig()) -> tuple[Series, Series]:
    """Expected value and robust z-score per day (NaN while there is not enough history: `weeks` + 1 weeks for
    the baseline, then two weeks of residuals for the spread).

    Plain Python floats inside the loop: the windows are a few dozen numbers, where numpy's per-call overhead
    costs more than the arithmetic (measured 10x on the overview's four 100-day series)."""
    n = len(values)
    observed = [float(v) for v in values]
    clean = list(observed)  # anomalous days are replaced by their expectation
    expected = np.full(n, np.nan)
    scores = np.full(n, np.nan)
    residuals: list[float] = []
    run, run_sign = 0, 0.0
    start = 7 * (cfg.weeks + 1)
    lags = [7 * k for k in range(1, cfg.weeks + 1)]
    for t in range(start, n):
        # weekly shape from the previous `weeks` weeks (each same weekday over the mean of the 7 days ending
        # with it), times today's level (the mean of the last 7 days, in which every weekday appears once)
        ratios = []
        for k in lags:
            week_mean = sum(clean[t - k - 6 : t - k + 1]) / 7
            ratios.append(clean[t - k] / (week_mean if week_mean > 0 else 1.0))
        exp = _median(ratios) * (sum(clean[t - 7 : t]) / 7)
        resid = observed[t] - exp
        window = residuals[-cfg.spread_days :]
        if len(window) < WARM_UP_RESIDUALS:
            # no spread to judge by yet: learn what normal residuals look like first
            residuals.append(resid)
            continue
        mad = _median([abs(r) for r in window])
        # floor: a perfectly regular history must not make every tiny wobble infinitely surprising
        spread = max(MAD_TO_SIGMA * mad, 0.05 * abs(exp), cfg.min_abs / 2)
        z = resid / spread
        expected[t], scores[t] = exp, z
        anomalous = _is_anomalous(observed[t], exp, z, cfg)
        if anomalous:
            clean[t] = exp
        direction = (1.0 if resid > 0 else -1.0) if anomalous else 0.0
        run = run + 1 if anomalous and direction == run_sign else (1 if anomalous else 0)
        run_sign = direction
        if run >= cfg.shift_days:
            # the same surprise several days running is a new level, not an outlier: learn it
            clean[t - run + 1 : t + 1] = observed[t - run + 1 : t + 1]
        if not anomalous:  # an anomaly must not widen (or, counted as 0, narrow) the spread
            residuals.append(resid)
    return expected, scores


def detect(values: Series, cfg: DetectorConfig = DetectorConfig()) -> list[Anomaly]:
    expected, scores = expected_and_scores(values, cfg)
    out = []
    for t in range(len(values)):
        if np.isnan(scores[t]):
            continue
        if _is_anomalous(float(values[t]), float(expected[t]), float(scores[t]), cfg):
            out.append(Anomaly(t, float(values[t]), float(expected[t]), float(scores[t])))
    return out


# --- recommendations ------------------------------------------------------------------------------

RECOMMENDATIONS = {
    (
        "revenue_cents",
        "down",
    ): "Revenue fell below the usual level for this weekday: send a PPV to your big spenders "
    "and check whether drafts are waiting in the inbox.",
    ("revenue_cents", "up"): "Revenue spiked: find what sold (PPV item, tips) and offer it to similar fans.",
    ("new_subscribers", "down"): "Fewer new subscribers than usual: promote the page or run a trial offer.",
    (
        "new_subscribers",
        "up",
    ): "More new subscribers than usual: welcome them today, while they are most engaged.",
    (
        "churned",
        "up",
    ): "More subscriptions expired than usual: start a win-back for the fans who just expired.",
    ("churned", "down"): "Fewer expiries than usual: nothing to do; keep the renewal reminders going.",
    (
        "reply_rate",
        "down",
    ): "Fewer fan messages were answered than usual: clear the inbox, fans who wait spend less.",
    ("reply_rate", "up"): "More fan messages were answered than usual.",
}
# Good news that asks nothing of the creator: reported in the overview, never put on the Daily Action List.
NOTHING_TO_DO = frozenset({("churned", "down"), ("reply_rate", "up")})


def describe(metric: str, day: date, a: Anomaly) -> dict[str, Any]:
    return {
        "metric": metric,
        "date": day.isoformat(),
        "direction": a.direction,
        "observed": round(a.observed, 4),
        "expected": round(a.expected, 4),
        "score": round(a.score, 2),
        "recommendation": RECOMMENDATIONS[(metric, a.direction)],
        "actionable": (metric, a.direction) not in NOTHING_TO_DO,
    }


# --- labelled synthetic series: the measure of the detector ---------------------------------------


@dataclass(frozen=True)
class Labelled:
    values: Series
    windows: list[tuple[int, int, str]]  # [start, end) of each injected anomaly and its kind


def synthetic_series(seed: int, days: int = 180, kind: str = "amount") -> Labelled:
    """A daily series with a weekly pattern and a slow trend, plus injected, labelled anomalies: spikes and
    drops (one day) and a level shift (a new level that stays). `amount`: revenue-like, level 300-3000 with
    multiplicative noise (6-10 %); `count`: new subscribers or expiries, Poisson with a mean of 40-150 a day."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    weekly = np.array([0.85, 0.9, 0.95, 1.0, 1.15, 1.25, 1.1])[(t + rng.integers(7)) % 7]
    trend = 1 + rng.uniform(-0.15, 0.25) * t / days
    mean = weekly * trend
    if kind == "count":
        mean_level = rng.uniform(40, 150)
        values = np.zeros(days)
        sigma = 1 / np.sqrt(mean_level)  # Poisson noise, relative to the level
    else:
        values = rng.uniform(300, 3000) * mean * rng.lognormal(0, rng.uniform(0.06, 0.1), days)
        sigma = 0.0
    windows: list[tuple[int, int, str]] = []
    taken = np.zeros(days, dtype=bool)
    taken[:HISTORY_DAYS] = True  # the detector needs history; anomalies are injected after it

    def free(a: int, b: int) -> bool:
        return bool(b <= days and not taken[max(a - 7, 0) : min(b + 7, days)].any())

    factor = np.ones(days)  # the injected anomalies, applied to the mean of count series before sampling
    for anomaly in rng.permutation(["spike", "drop", "spike", "drop", "shift"]):
        for _ in range(50):
            start = int(rng.integers(HISTORY_DAYS, days - 30))
            end = start + (21 if anomaly == "shift" else 1)
            if free(start, end):
                break
        else:
            continue
        # amounts: spikes x1.8-3, drops x0.2-0.5; counts: the same in units of the Poisson noise (+6..9 and
        # -5..7 sigma), since half a day's count can be within the noise of a small count
        if anomaly == "spike":
            factor[start] *= 1 + rng.uniform(6, 9) * sigma if kind == "count" else rng.uniform(1.8, 3.0)
        elif anomaly == "drop":
            factor[start] *= (
                max(1 - rng.uniform(5, 7) * sigma, 0.05) if kind == "count" else rng.uniform(0.2, 0.5)
            )
        else:
            factor[start:] *= rng.choice([rng.uniform(0.45, 0.6), rng.uniform(1.6, 2.0)])
        taken[start:end] = True
        windows.append((start, end, str(anomaly)))
    if kind == "count":
        values = rng.poisson(mean_level * mean * factor).astype(np.float64)
    else:
        values = values * factor
    return Labelled(values, sorted(windows))


def score_detections(flagged: list[int], windows: list[tuple[int, int, str]]) -> dict[str, int]:
    """Event-level counts: consecutive flagged days form one detection; a detection overlapping a labelled
    window is a true positive (several detections inside one level shift's window count once), one outside
    every window is a false positive; a window no detection touches is a false negative."""
    detections: list[tuple[int, int]] = []
    for day in sorted(flagged):
        if detections and day == detections[-1][1]:
            detections[-1] = (detections[-1][0], day + 1)
        else:
            detections.append((day, day + 1))
    hit = [False] * len(windows)
    fp = 0
    for a, b in detections:
        overlaps = [i for i, (s, e, _) in enumerate(windows) if a < e and s < b]
        if overlaps:
            for i in overlaps:
                hit[i] = True
        else:
            fp += 1
    tp = sum(hit)
    return {"tp": tp, "fp": fp, "fn": len(windows) - tp}


def days_between(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]
