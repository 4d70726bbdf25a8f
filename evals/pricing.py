"""The `pricing` suite's backtest of the DM agent's price suggestion (`agents.pricing`).

For one creator, every fan's PPV purchases are read through the same query the `suggest_price` tool reads
(`core.store.transactions.ppv_paid`: net of refunds and chargebacks); per fan the last `holdout` purchases are
hidden, the price is suggested from the rest, and compared with each hidden price. The baseline is one constant
price, the creator's median over the purchases that are not hidden (the same anchor the suggestion shrinks
towards), clamped to the same bounds. Fans with no purchase left before the hidden ones are skipped (both would
answer the same median).

Two worlds: the seeded business (`devstack.seed`, whose fans pick catalog items uniformly at list price, so a
fan's history says nothing about their next price: the suggestion should not lose to the constant), and a
generated history (`write_generated`) where each fan has a price level and buys items priced near it, with
some purchases charged back.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from agents.pricing import suggest_price
from core import db
from core.store import creators, transactions
from core.store.creators import NewCreator

# A price within this share of the real one counts as close.
WITHIN = 0.20
# The generated world's catalog: list prices in cents (the seeded business's own, see devstack.seed).
CATALOG_PRICES = (599, 799, 999, 999, 1299, 1499, 1499, 1799, 1999, 2999, 3999, 4999)


async def backtest(creator_id: str, holdout: int = 1) -> dict[str, float]:
    async with db.pool().connection() as conn:
        creator = await creators.get(conn, creator_id)
        paid = await transactions.ppv_paid(conn, creator_id)
    if creator is None:
        raise LookupError(f"no creator {creator_id}")
    by_fan: dict[str, list[int]] = defaultdict(list)
    for p in paid:  # oldest first
        by_fan[p.fan_id].append(p.net_cents)
    train = {f: prices[:-holdout] for f, prices in by_fan.items() if len(prices) > holdout}
    test = {f: by_fan[f][-holdout:] for f in train}
    median = round(float(np.median([c for prices in train.values() for c in prices]))) if train else None
    lo, hi = creator.ppv_min_cents, creator.ppv_max_cents
    base = min(max(median or lo, lo), hi)
    err, base_err, close, base_close = [], [], 0, 0
    for fan, history in train.items():
        s = suggest_price(history, anchor_cents=median, anchor="creator_median", min_cents=lo, max_cents=hi)
        for actual in test[fan]:
            err.append(abs(s.price_cents - actual))
            base_err.append(abs(base - actual))
            close += abs(s.price_cents - actual) <= WITHIN * actual
            base_close += abs(base - actual) <= WITHIN * actual
    n = len(err)
    if n == 0:
        raise ValueError(f"creator {creator_id} has no fan with more than {holdout} PPV purchases")
    mae, base_mae = float(np.mean(err)), float(np.mean(base_err))
    return {
        "fans": float(len(train)),
        "held_out": float(n),
        "baseline_cents": float(base),
        "mae_cents": round(mae, 1),
        "baseline_mae_cents": round(base_mae, 1),
        "mae_ratio": round(mae / base_mae, 4) if base_mae else 0.0,
        "within_20": round(close / n, 4),
        "baseline_within_20": round(base_close / n, 4),
        "within_20_gain": round((close - base_close) / n, 4),
    }


async def write_generated(
    *, fans: int, seed: int, spread: float, noise: float, chargeback_rate: float, until: datetime
) -> str:
    """A creator whose fans each have a price level (log-normal around the catalog's median, `spread` its log
    standard deviation) and buy 1-15 items, each chosen with weights that fall off with the log distance of its
    price from the fan's level (`noise`: the width); a share of purchases is charged back in full. Returns the
    creator id."""
    rng = random.Random(seed)
    handle = f"eval-pricing-{seed}-{uuid.uuid4().hex[:8]}"
    centre = math.log(float(np.median(CATALOG_PRICES)))
    async with db.pool().connection() as conn, conn.transaction():
        created = await creators.create(
            conn,
            NewCreator(
                handle=handle, display_name=handle, timezone="UTC", ppv_min_cents=500, ppv_max_cents=5000
            ),
        )
        c = created.creator_id
        items = []
        for i, price in enumerate(CATALOG_PRICES):
            cur = await conn.execute(
                "INSERT INTO catalog (creator_id, title, price_cents) VALUES (%s, %s, %s) RETURNING id",
                [c, f"item {i}", price],
            )
            row = await cur.fetchone()
            assert row
            items.append(row["id"])
        for k in range(fans):
            level = math.exp(rng.gauss(centre, spread))
            cur = await conn.execute(
                "INSERT INTO fans (creator_id, platform_fan_id, display_name, subscription_status)"
                " VALUES (%s, %s, %s, 'active') RETURNING id",
                [c, f"f{k}", f"fan {k}"],
            )
            fan = await cur.fetchone()
            assert fan
            weights = [
                math.exp(-((math.log(p) - math.log(level)) ** 2) / (2 * noise**2)) for p in CATALOG_PRICES
            ]
            start = until - timedelta(days=180)
            for j in range(rng.randint(1, 15)):
                i = rng.choices(range(len(CATALOG_PRICES)), weights)[0]
                at = start + timedelta(days=12 * j, hours=rng.randrange(24))
                cur = await conn.execute(
                    "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, catalog_id, occurred_at)"
                    " VALUES (%s, %s, 'ppv', %s, %s, %s) RETURNING id",
                    [c, fan["id"], CATALOG_PRICES[i], items[i], at],
                )
                txn = await cur.fetchone()
                assert txn
                if rng.random() < chargeback_rate:
                    cur = await conn.execute(
                        "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
                        " VALUES (%s, %s, %s, 'purchase', '{}', %s) RETURNING id",
                        [c, fan["id"], f"cb-{k}-{j}", at + timedelta(days=1)],
                    )
                    ev = await cur.fetchone()
                    assert ev
                    await conn.execute(
                        "INSERT INTO refunds (creator_id, fan_id, kind, transaction_id, amount_cents, event_id,"
                        " occurred_at) VALUES (%s, %s, 'chargeback', %s, %s, %s, %s)",
                        [c, fan["id"], txn["id"], CATALOG_PRICES[i], ev["id"], at + timedelta(days=1)],
                    )
    return str(c)


async def run_case(inp: dict[str, Any], database_url: str) -> dict[str, Any]:
    """A case's world and its backtest: `{"kind": "seeded", fans, days, seed}` or `{"kind": "generated", fans,
    seed, spread, noise, chargeback_rate}`; `holdout` purchases hidden per fan (default 1)."""
    import asyncio

    from devstack.seed import seed_business

    until = datetime(2026, 6, 1, tzinfo=UTC)
    kind = inp.get("kind")
    if kind == "seeded":
        res = await asyncio.to_thread(
            seed_business,
            database_url,
            fans=int(inp.get("fans", 300)),
            days=int(inp.get("days", 120)),
            seed=int(inp.get("seed", 29)),
            until=until.date(),
            handle=f"eval-pricing-seeded-{uuid.uuid4().hex[:8]}",
        )
        creator_id = str(res.creator_id)
    elif kind == "generated":
        creator_id = await write_generated(
            fans=int(inp.get("fans", 300)),
            seed=int(inp.get("seed", 1)),
            spread=float(inp.get("spread", 0.5)),
            noise=float(inp.get("noise", 0.3)),
            chargeback_rate=float(inp.get("chargeback_rate", 0.03)),
            until=until,
        )
    else:
        raise ValueError(f"input.kind must be seeded or generated, not {kind!r}")
    return {"numbers": await backtest(creator_id, int(inp.get("holdout", 1)))}
