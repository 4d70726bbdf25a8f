"""The pricing backtest on a small history computed by hand: the last purchase of each fan hidden, the suggestion
and the constant median compared on the same purchases; a charged-back purchase and a one-purchase fan left
out."""

from __future__ import annotations

import pytest

from core import db
from evals.pricing import backtest
from tests.factories import add_event, make_tenant


@pytest.mark.usefixtures("database_url")
async def test_backtest_against_the_creators_median() -> None:
    t = await make_tenant(fans=4)
    history = {0: [3000, 3000, 3000, 3000], 1: [600, 5000, 800, 700], 2: [1000, 1000], 3: [4000]}
    for fan, prices in history.items():
        for i, cents in enumerate(prices):
            await add_event(t, t.fans[fan], "purchase", f"p-{fan}-{i}", amount_cents=cents)
    # the 5000 purchase is charged back in full: the fan did not keep it
    async with db.pool().connection() as conn:
        await conn.execute(
            "INSERT INTO refunds (creator_id, fan_id, kind, transaction_id, amount_cents, event_id, occurred_at)"
            " SELECT creator_id, fan_id, 'chargeback', id, amount_cents, event_id, now() FROM transactions"
            " WHERE creator_id = %s AND platform_txn_id = 'p-1-1'",
            [t.creator_id],
        )
    got = await backtest(t.creator_id)
    # kept before the hidden ones: 3000 x3 | 600, 800 | 1000 -> the creator's median (1000 + 3000) / 2 = 2000
    # fan 0: level 3000, weight 3/6 -> 2500 (off by 500); fan 1: level 700, weight 2/5 -> 1480 (off by 780);
    # fan 2: level 1000, weight 1/4 -> 1750 (off by 750); the median is off by 1000, 1300 and 1000
    assert got == {
        "fans": 3.0,
        "held_out": 3.0,
        "baseline_cents": 2000.0,
        "mae_cents": 676.7,
        "baseline_mae_cents": 1100.0,
        "mae_ratio": round(2030 / 3300, 4),
        "within_20": round(1 / 3, 4),
        "baseline_within_20": 0.0,
        "within_20_gain": round(1 / 3, 4),
    }
