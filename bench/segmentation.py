"""Segmentation at scale: a whole refresh (RFM, labels, BG/NBD, Gamma-Gamma, LTV, best hours, written to
fan_scores) against `lifetimes` fitting and predicting BG/NBD + Gamma-Gamma on the same transactions.

    python -m bench.segmentation [--fans 1000000]

One creator with all the fans (the worst case: one refresh does all the work), in a throwaway embedded
PostgreSQL. The baseline is generous to lifetimes: it starts from the transactions already in a pandas
DataFrame (the database export is not timed) and does less (no RFM, labels, best hours, nor writing back).
Prints one JSON line: the whole refresh (with where it spent its time), then again over the scores it wrote
(the daily case: every row replaced), the modelling step alone done by our
numpy code and by lifetimes from the same DataFrame (summary, both fits, predictions) with their ratio, and
both fitted parameter sets (they must agree). Our two fits run at once on the machine's cores, as in the refresh;
lifetimes' are sequential: in two threads its fits gained 7 % (5.1 s -> 4.7 s at 300,000 fans), its autograd
steps hold the GIL. lifetimes' unpenalised Gamma-Gamma fit may fail to converge on these
data; it is then refitted with its advised small penalizer, and the failed attempt is reported apart, not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg

from bench.scratch_db import scratch_database

END = datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)


# The BG/NBD + Gamma-Gamma process itself, so both fitters have a model that holds (and the fitted
# parameters can be compared with the truth): purchase rate ~ Gamma(r, alpha) per week, drop-out after each
# purchase ~ Beta(a, b), spend per purchase ~ Gamma(p, nu) with nu ~ Gamma(q, gamma). Denser than CDNOW (fans
# of a creator buy more often than CD shoppers), so 1M fans make ~10M transactions.
TRUE_BGNBD = {"r": 1.6, "alpha": 2.0, "a": 1.0, "b": 10.0}
TRUE_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 1544.0}  # cents


def simulate(fans: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per transaction: fan index, day offset before END, amount in cents; plus each fan's join offset."""
    t = TRUE_BGNBD
    lam = rng.gamma(t["r"], 1.0 / t["alpha"], fans)  # purchases per week
    p_drop = rng.beta(t["a"], t["b"], fans)
    g = TRUE_GAMMA_GAMMA
    nu = rng.gamma(g["q"], 1.0 / g["v"], fans)
    join_days = rng.integers(0, 365, fans)  # days before END
    horizon = join_days / 7.0
    fan_idx, week = [np.arange(fans)], [np.zeros(fans)]
    alive = rng.random(fans) > p_drop  # may drop right after the first purchase
    at = np.zeros(fans)
    idx = np.arange(fans)
    while idx.size:
        at_i = at[idx] + rng.exponential(1.0 / lam[idx])
        inside = (at_i < horizon[idx]) & alive[idx]
        idx, at_i = idx[inside], at_i[inside]
        at[idx] = at_i
        fan_idx.append(idx)
        week.append(at_i)
        alive[idx] = rng.random(idx.size) > p_drop[idx]
        idx = idx[alive[idx]]
    fi = np.concatenate(fan_idx)
    days_after_join = np.floor(np.concatenate(week) * 7).astype(np.int64)
    amount = np.maximum(rng.gamma(g["p"], 1.0 / nu[fi]), 1).round().astype(np.int64)
    return fi, join_days[fi] - days_after_join, amount, join_days


def generate(url: str, fans: int, seed: int = 11) -> str:
    import pandas as pd

    rng = np.random.default_rng(seed)
    fi, days_before_end, amount, join_days = simulate(fans, rng)
    first = np.zeros(len(fi), dtype=bool)
    first[np.unique(fi, return_index=True)[1]] = True
    with psycopg.connect(url, autocommit=True) as conn:
        creator = conn.execute(
            "INSERT INTO creators (handle, display_name) VALUES ('bench', 'Bench') RETURNING id::text"
        ).fetchone()
        assert creator
        cid = creator[0]
        conn.execute(
            "INSERT INTO fans (creator_id, platform_fan_id, display_name, timezone, subscription_status, subscribed_at)"
            " SELECT %s, g::text, 'Fan ' || g,"
            " (ARRAY['America/New_York','America/Los_Angeles','Europe/London','Europe/Berlin','Australia/Sydney'])"
            "   [1 + (g %% 5)],"
            " CASE WHEN random() < 0.6 THEN 'active' ELSE 'expired' END,"
            " %s - j * interval '1 day'"
            " FROM unnest(%s::int[]) WITH ORDINALITY AS u(j, g)",
            [cid, END, join_days.tolist()],
        )
        ids: dict[int, str] = dict(
            conn.execute("SELECT platform_fan_id::int - 1, id::text FROM fans").fetchall()
        )
        fan_uuid = pd.Series([ids[i] for i in range(fans)]).to_numpy()
        hours = rng.integers(0, 24 * 3600, len(fi))
        at = (
            pd.Timestamp(END.date())
            - pd.to_timedelta(days_before_end, unit="D")
            + pd.to_timedelta(hours, unit="s")
        )
        kinds = np.where(first, "subscription", np.where(rng.random(len(fi)) < 0.7, "ppv", "tip"))
        frame = pd.DataFrame(
            {
                "creator_id": cid,
                "fan_id": fan_uuid[fi],
                "kind": kinds,
                "amount_cents": np.where(first, 999, amount),
                "occurred_at": at.strftime("%Y-%m-%d %H:%M:%S+00"),
            }
        )
        buf = io.StringIO()
        frame.to_csv(buf, index=False, header=False)
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY transactions (creator_id, fan_id, kind, amount_cents, occurred_at) FROM STDIN WITH (FORMAT csv)"
            ) as copy,
        ):
            copy.write(buf.getvalue())
        conn.execute("ANALYZE")
    return str(cid)


def lifetimes_baseline(
    url: str, creator_id: str
) -> tuple[float, float, float, dict[str, float], dict[str, float]]:
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import ConvergenceError, summary_data_from_transaction_data

    buf = io.StringIO()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        # the same purchases our model counts: a fan's first transaction, then discretionary buys. Customers by
        # an integer id, as in CDNOW and lifetimes' examples: hashing ten million uuid strings costs pandas ~5 s
        # whichever model follows, and is not modelling.
        with cur.copy(
            "COPY (SELECT f.platform_fan_id::int, (t.occurred_at AT TIME ZONE 'UTC')::date, t.amount_cents"
            " FROM transactions t JOIN fans f ON f.id = t.fan_id"
            " WHERE t.creator_id = %s AND t.kind <> 'renewal') TO STDOUT WITH (FORMAT csv)",
            [creator_id],
        ) as copy:
            for block in copy:
                buf.write(bytes(block).decode())
    buf.seek(0)
    df = pd.read_csv(buf, names=["fan", "day", "amount"], parse_dates=["day"])
    start = time.perf_counter()
    # purchases aggregated per day, time in weeks: the paper's convention, and ours
    s = summary_data_from_transaction_data(
        df, "fan", "day", monetary_value_col="amount", observation_period_end=END.date().isoformat(), freq="D"
    )
    f, r, t = s["frequency"].to_numpy(), s["recency"].to_numpy() / 7, s["T"].to_numpy() / 7
    bg = BetaGeoFitter()
    bg.fit(f, r, t)
    bg.conditional_probability_alive(f, r, t)
    bg.conditional_expected_number_of_purchases_up_to_time(180 / 7, f, r, t)
    rep = f > 0
    gg = GammaGammaFitter()
    failed_s = 0.0
    try:
        attempt = time.perf_counter()
        gg.fit(f[rep], s["monetary_value"].to_numpy()[rep])
    except ConvergenceError:
        # lifetimes' optimiser sometimes stops short on these data; its own advice is a small penalizer. The
        # failed attempt is left out of lifetimes' time (reported apart): the baseline is its best case.
        failed_s = time.perf_counter() - attempt
        gg = GammaGammaFitter(penalizer_coef=1e-6)
        gg.fit(f[rep], s["monetary_value"].to_numpy()[rep])
    gg.conditional_expected_average_profit(f[rep], s["monetary_value"].to_numpy()[rep])
    elapsed = time.perf_counter() - start - failed_s
    # the same modelling step done by our numpy code, from the same DataFrame: summary, both fits, predictions
    from agents.segmentation.btyd import BGNBD, GammaGamma, summarise

    start = time.perf_counter()
    codes = df["fan"].to_numpy().astype(np.int64)
    days = (df["day"].to_numpy().astype("datetime64[D]").astype(np.int64)).astype(np.int64)
    end_day = int(np.datetime64(END.date().isoformat(), "D").astype(np.int64))
    _, summary = summarise(
        codes, days, df["amount"].to_numpy().astype(np.float64), calibration_end_day=end_day
    )
    # both fits at once, as the refresh does them (a thread each; numpy releases the GIL)
    with ThreadPoolExecutor(2) as pool:
        bg_fit, gg_fit = pool.submit(BGNBD.fit, summary), pool.submit(GammaGamma.fit, summary)
        ours_bg, ours_gg = bg_fit.result(), gg_fit.result()
    ours_bg.p_alive(summary)
    ours_bg.expected_purchases(summary, 180 / 7)
    ours_gg.expected_value(summary)
    ours_model_s = time.perf_counter() - start
    return (
        elapsed,
        failed_s,
        ours_model_s,
        {k: float(v) for k, v in bg.params_.items()},
        {k: float(v) for k, v in gg.params_.items()},
    )


async def ours(url: str, creator_id: str) -> tuple[float, dict[str, Any]]:
    from psycopg import AsyncConnection
    from psycopg.rows import dict_row

    from agents.segmentation.refresh import refresh_segments

    async with await AsyncConnection.connect(url, row_factory=dict_row) as conn:
        start = time.perf_counter()
        async with conn.transaction():
            res = await refresh_segments(conn, creator_id, as_of=END)
        return time.perf_counter() - start, res.model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fans", type=int, default=1_000_000)
    args = ap.parse_args()

    with scratch_database("hz-bench-seg-") as url:
        t0 = time.perf_counter()
        creator_id = generate(url, args.fans)
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM transactions").fetchone()
        n_txn = int(row[0]) if row else 0
        gen_s = time.perf_counter() - t0
        ours_s, model = asyncio.run(ours(url, creator_id))
        # the daily case: the creator's scores exist and are replaced
        again_s, again_model = asyncio.run(ours(url, creator_id))
        # printed now too, so a failing baseline does not lose the figure
        print(json.dumps({"refresh_s": round(ours_s, 2), "refresh_again_s": round(again_s, 2)}), flush=True)
        base_s, base_failed_s, ours_model_s, base_bg, base_gg = lifetimes_baseline(url, creator_id)
        print(
            json.dumps(
                {
                    "bench": "segmentation",
                    "fans": args.fans,
                    "transactions": n_txn,
                    "generate_s": round(gen_s, 1),
                    "refresh_s": round(ours_s, 2),
                    "refresh_timings_ms": model.get("timings"),
                    "refresh_again_s": round(again_s, 2),
                    "refresh_again_timings_ms": again_model.get("timings"),
                    "models_ours_s": round(ours_model_s, 2),
                    "models_lifetimes_s": round(base_s, 2),
                    "models_ratio": round(base_s / ours_model_s, 1),
                    "lifetimes_failed_gamma_gamma_fit_s": round(base_failed_s, 2),
                    "refresh_vs_lifetimes_ratio": round(base_s / ours_s, 2),
                    "ours_bgnbd": {k: round(v, 4) for k, v in (model.get("bgnbd") or {}).items()},
                    "lifetimes_bgnbd": {k: round(v, 4) for k, v in base_bg.items()},
                    "ours_gamma_gamma": {k: round(v, 3) for k, v in (model.get("gamma_gamma") or {}).items()},
                    "lifetimes_gamma_gamma": {k: round(v, 3) for k, v in base_gg.items()},
                    "true_bgnbd": TRUE_BGNBD,
                    "true_gamma_gamma": TRUE_GAMMA_GAMMA,
                    "targets": "ours <= 60 s and >= 10x faster than lifetimes at 1M fans / 10M transactions",
                }
            )
        )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
