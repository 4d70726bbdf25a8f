"""Segmentation at scale: a whole refresh (RFM, labels, BG/NBD, Gamma-Gamma, LTV, best hours, written to
fan_scores) against `lifetimes` fitting and predicting BG/NBD + Gamma-Gamma on the same transactions.

    python -m bench.segmentation [--fans 1000000] [--transactions 10000000]

One creator with all the fans (the worst case: one refresh does all the work), in a throwaway embedded
PostgreSQL. The baseline is generous to lifetimes: it starts from the transactions already in a pandas
DataFrame (the database export is not timed) and does less (no RFM, labels, best hours, nor writing back).
Prints one JSON line: both times, the ratio, and both fitted parameter sets (they must agree).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

END = datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)


def generate(url: str, fans: int, transactions: int) -> str:
    """Fans joined over a year; each has a subscription and a heterogeneous number of PPV buys and tips."""
    extra = max(transactions - fans, 0)
    with psycopg.connect(url, autocommit=True) as conn:
        creator = conn.execute(
            "INSERT INTO creators (handle, display_name) VALUES ('bench', 'Bench') RETURNING id::text"
        ).fetchone()
        assert creator
        cid = creator[0]
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(
            "INSERT INTO fans (creator_id, platform_fan_id, display_name, timezone, subscription_status, subscribed_at)"
            " SELECT %s, 'f' || g, 'Fan ' || g,"
            " (ARRAY['America/New_York','America/Los_Angeles','Europe/London','Europe/Berlin','Australia/Sydney'])"
            "   [1 + (g %% 5)],"
            " CASE WHEN random() < 0.6 THEN 'active' ELSE 'expired' END,"
            " %s - (random() * 365) * interval '1 day'"
            " FROM generate_series(1, %s) g",
            [cid, END, fans],
        )
        conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, occurred_at)"
            " SELECT creator_id, id, 'subscription', 999, subscribed_at FROM fans WHERE creator_id = %s",
            [cid],
        )
        # buys per fan ~ a skewed share of `extra` (many buy little, a few buy a lot), on random days while the
        # fan is still buying: each fan stops after an exponential lifetime (mean 120 days), so churn is real
        conn.execute(
            "CREATE TEMP TABLE k AS SELECT id, subscribed_at,"
            " least(%s, subscribed_at - ln(1 - random()) * 120 * interval '1 day') AS stops,"
            " floor(power(random(), 3) * 4 * %s::float8 / %s)::int AS n FROM fans WHERE creator_id = %s",
            [END, extra, fans, cid],
        )
        conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, occurred_at)"
            " SELECT %s, k.id, CASE WHEN random() < 0.7 THEN 'ppv' ELSE 'tip' END,"
            " 500 + floor(random() * 4500)::int,"
            " k.subscribed_at + random() * (k.stops - k.subscribed_at)"
            " FROM k, generate_series(1, k.n)",
            [cid],
        )
        conn.execute("ANALYZE")
    return str(cid)


def lifetimes_baseline(url: str, creator_id: str) -> tuple[float, dict[str, float], dict[str, float]]:
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    buf = io.StringIO()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        # the same purchases our model counts: a fan's first transaction, then discretionary buys
        with cur.copy(
            "COPY (SELECT fan_id, (occurred_at AT TIME ZONE 'UTC')::date, amount_cents FROM transactions"
            " WHERE creator_id = %s AND kind <> 'renewal') TO STDOUT WITH (FORMAT csv)",
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
    gg.fit(f[rep], s["monetary_value"].to_numpy()[rep])
    gg.conditional_expected_average_profit(f[rep], s["monetary_value"].to_numpy()[rep])
    elapsed = time.perf_counter() - start
    return elapsed, {k: float(v) for k, v in bg.params_.items()}, {k: float(v) for k, v in gg.params_.items()}


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
    ap.add_argument("--transactions", type=int, default=10_000_000)
    args = ap.parse_args()

    from cli.services import start_postgres, stop_postgres
    from core.migrate import migrate

    root = Path(tempfile.mkdtemp(prefix="hz-bench-seg-"))
    try:
        url = start_postgres(root)
        migrate(url)
        t0 = time.perf_counter()
        creator_id = generate(url, args.fans, args.transactions)
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM transactions").fetchone()
        n_txn = int(row[0]) if row else 0
        gen_s = time.perf_counter() - t0
        ours_s, model = asyncio.run(ours(url, creator_id))
        base_s, base_bg, base_gg = lifetimes_baseline(url, creator_id)
        print(
            json.dumps(
                {
                    "bench": "segmentation",
                    "fans": args.fans,
                    "transactions": n_txn,
                    "generate_s": round(gen_s, 1),
                    "ours_s": round(ours_s, 2),
                    "lifetimes_s": round(base_s, 2),
                    "ratio": round(base_s / ours_s, 1),
                    "ours_bgnbd": {k: round(v, 4) for k, v in (model.get("bgnbd") or {}).items()},
                    "lifetimes_bgnbd": {k: round(v, 4) for k, v in base_bg.items()},
                    "ours_gamma_gamma": {k: round(v, 3) for k, v in (model.get("gamma_gamma") or {}).items()},
                    "lifetimes_gamma_gamma": {k: round(v, 3) for k, v in base_gg.items()},
                    "targets": "ours <= 60 s and >= 10x faster than lifetimes at 1M fans / 10M transactions",
                }
            )
        )
    finally:
        stop_postgres(root)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
