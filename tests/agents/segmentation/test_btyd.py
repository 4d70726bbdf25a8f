"""BG/NBD and Gamma-Gamma against the published CDNOW estimates and against `lifetimes` on the same summary."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter

from agents.segmentation.btyd import BGNBD, FitError, GammaGamma, Summary, summarise
from cli.main import main

from .cdnow import CALIBRATION_END, PAPER_BGNBD, PAPER_GAMMA_GAMMA, raw_rows, write_csv


@pytest.fixture(scope="module")
def cdnow() -> Summary:
    rows = raw_rows()
    _, fan_idx = np.unique([r[0] for r in rows], return_inverse=True)
    days = np.array([date.fromisoformat(r[1]).toordinal() for r in rows])
    amounts = np.array([r[2] for r in rows])
    end = date.fromisoformat(CALIBRATION_END).toordinal()
    _, summary = summarise(fan_idx.astype(np.int64), days, amounts, calibration_end_day=end, unit_days=7.0)
    return summary


def within(value: float, paper: float, tol: float = 0.01) -> bool:
    return abs(value - paper) / paper <= tol


def test_cdnow_cli_reproduces_the_paper(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = write_csv(tmp_path / "cdnow.csv")
    rc = main(
        [
            "segments",
            "fit",
            "--transactions",
            str(csv),
            "--calibration-end",
            CALIBRATION_END,
            "--time-unit",
            "weeks",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["customers"] == 2357
    for k, v in PAPER_BGNBD.items():
        assert within(out["bgnbd"][k], v), (k, out["bgnbd"][k], v)
    for k, v in PAPER_GAMMA_GAMMA.items():
        assert within(out["gamma_gamma"][k], v), (k, out["gamma_gamma"][k], v)


def test_summary_matches_the_published_cdnow_summary(cdnow: Summary) -> None:
    from lifetimes.datasets import load_cdnow_summary

    ref = load_cdnow_summary(index_col=[0])
    assert len(cdnow) == len(ref) == 2357
    assert cdnow.frequency.sum() == ref["frequency"].sum()
    # the published summary rounds to 2 decimals
    assert np.allclose(np.sort(cdnow.T), np.sort(ref["T"].to_numpy()), atol=0.006)
    assert np.allclose(np.sort(cdnow.recency), np.sort(ref["recency"].to_numpy()), atol=0.006)


def test_predictions_match_lifetimes_on_the_same_parameters(cdnow: Summary) -> None:
    ours = BGNBD.fit(cdnow)
    ref = BetaGeoFitter()
    ref.fit(cdnow.frequency, cdnow.recency, cdnow.T)
    for k, v in ours.as_dict().items():
        assert within(v, float(ref.params_[k]), 0.002), k
    ref.params_ = ref.params_.copy()
    for k, v in ours.as_dict().items():
        ref.params_[k] = v
    p_ref = ref.conditional_probability_alive(cdnow.frequency, cdnow.recency, cdnow.T)
    e_ref = ref.conditional_expected_number_of_purchases_up_to_time(
        39, cdnow.frequency, cdnow.recency, cdnow.T
    )
    assert np.allclose(ours.p_alive(cdnow), p_ref, rtol=1e-6)
    assert np.allclose(ours.expected_purchases(cdnow, 39), e_ref, rtol=1e-6)
    # out of sample: the 39 weeks after calibration hold 1,882 purchase days; the model predicts 1,653 (-12%)
    actual = len({(c, d) for c, d, _ in raw_rows() if "1997-10-01" <= d <= "1998-06-29"})
    predicted = ours.expected_purchases(cdnow, 39).sum()
    assert abs(predicted - actual) / actual < 0.15, (predicted, actual)


def test_gamma_gamma_matches_lifetimes(cdnow: Summary) -> None:
    ours = GammaGamma.fit(cdnow)
    repeat = cdnow.frequency > 0
    ref = GammaGammaFitter()
    ref.fit(cdnow.frequency[repeat], cdnow.monetary[repeat])
    for k, v in ours.as_dict().items():
        assert within(v, float(ref.params_[k]), 0.002), k
    ref.params_ = ref.params_.copy()
    for k, v in ours.as_dict().items():
        ref.params_[k] = v
    e_ref = ref.conditional_expected_average_profit(cdnow.frequency[repeat], cdnow.monetary[repeat])
    assert np.allclose(ours.expected_value(cdnow)[repeat], e_ref, rtol=1e-6)


@pytest.mark.parametrize("at", [[0.0, 1.0, 0.0, 1.0], [-1.4, 1.5, -0.2, 0.9], [0.5, 3.0, 1.0, 2.5]])
def test_bgnbd_objective_is_the_mean_likelihood_and_its_gradient(cdnow: Summary, at: list[float]) -> None:
    """The fitted objective sums its terms per distinct purchase count: it must equal the per-customer likelihood
    written out (log_likelihood), and its analytic gradient the finite differences."""
    from scipy.optimize import approx_fprime

    weights = (np.arange(len(cdnow)) % 4 + 1).astype(np.float64)
    nll = BGNBD._objective(cdnow.frequency, cdnow.recency, cdnow.T, weights)
    log_params = np.array(at)
    value, grad = nll(log_params)
    direct = BGNBD.log_likelihood(np.exp(log_params), cdnow.frequency, cdnow.recency, cdnow.T)
    assert value == pytest.approx(-float(np.average(direct, weights=weights)), rel=1e-10)
    numeric = approx_fprime(log_params, lambda v: nll(v)[0], 1e-7)
    assert np.allclose(grad, numeric, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("at", [[0.0, 0.0, 3.0], [1.8, 1.3, 2.7], [-0.5, 2.0, 0.0]])
def test_gamma_gamma_objective_is_the_mean_likelihood_and_its_gradient(
    cdnow: Summary, at: list[float]
) -> None:
    from scipy.optimize import approx_fprime

    repeat = cdnow.frequency > 0
    x, m = cdnow.frequency[repeat], cdnow.monetary[repeat]
    weights = (np.arange(len(x)) % 3 + 1).astype(
        np.float64
    )  # collapsed rows carry counts: the weights must be honoured
    nll = GammaGamma._objective(x, m, weights)
    log_params = np.array(at)
    value, grad = nll(log_params)
    direct = GammaGamma.log_likelihood(np.exp(log_params), x, m)
    assert value == pytest.approx(-float(np.average(direct, weights=weights)), rel=1e-10)
    numeric = approx_fprime(log_params, lambda v: nll(v)[0], 1e-7)
    assert np.allclose(grad, numeric, rtol=1e-4, atol=1e-6)


def test_same_day_purchases_count_once_and_sum() -> None:
    customer = np.array([0, 0, 0, 1], dtype=np.int64)
    day = np.array([10, 10, 17, 12], dtype=np.int64)
    amount = np.array([5.0, 7.0, 3.0, 9.0])
    ids, s = summarise(customer, day, amount, calibration_end_day=24, unit_days=7.0)
    assert list(ids) == [0, 1]
    assert list(s.frequency) == [1.0, 0.0]
    assert s.recency[0] == pytest.approx(1.0) and s.T[0] == pytest.approx(2.0)
    assert s.monetary[0] == 3.0  # the first purchase day is excluded from the repeat mean


def test_too_little_data_is_a_fit_error() -> None:
    s = Summary(np.zeros(20), np.zeros(20), np.full(20, 5.0), np.zeros(20))
    with pytest.raises(FitError, match="repeat purchases"):
        BGNBD.fit(s)
    with pytest.raises(FitError):
        GammaGamma.fit(s)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("customer,occurred_at,amount\n1,2020-01-01,5\n", "missing column"),
        ("fan_id,occurred_at,amount\n1,yesterday,5\n", "line 2: occurred_at 'yesterday'"),
        ("fan_id,occurred_at,amount\n1,2020-01-01,-5\n", "line 2: amount '-5'"),
        ("fan_id,occurred_at,amount\n1,2020-01-01,five\n", "line 2: amount 'five'"),
        ("fan_id,occurred_at,amount\n", "no transactions"),
    ],
)
def test_bad_csv_names_the_line_and_field(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "t.csv"
    f.write_text(content)
    with pytest.raises(SystemExit, match=message):
        main(["segments", "fit", "--transactions", str(f), "--calibration-end", "2020-12-31"])
