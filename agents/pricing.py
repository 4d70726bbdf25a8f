"""A per-fan PPV price: what this fan has paid, shrunk towards an anchor when their history is thin, inside the
creator's PPV price bounds.

    fan level = the FAN_QUANTILE quantile of the fan's own PPV prices (net of refunds and chargebacks)
    anchor    = the item's list price when an item is named, else the creator's median PPV price
    weight    = n / (n + PRIOR_WEIGHT)          (n: the fan's PPV purchases)
    price     = weight * fan level + (1 - weight) * anchor, rounded to the cent, clamped to [min, max]

With no history the anchor alone decides; with neither (a creator who never sold PPV, no item) the creator's
lower bound. `pricing` in evals backtests it on held-out purchases against the creator's median.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

# The fan's typical price: the median of what they paid (robust to one big bundle).
FAN_QUANTILE = 0.5
# How many purchases' worth of weight the anchor carries: one purchase moves a new fan a quarter of the way.
PRIOR_WEIGHT = 3.0

Anchor = Literal["item_price", "creator_median", "none"]


@dataclass(frozen=True)
class Suggestion:
    price_cents: int
    fan_purchases: int
    fan_level_cents: int | None  # the quantile of the fan's own prices (None without history)
    anchor: Anchor
    anchor_cents: int | None
    fan_weight: float  # the share of the price that comes from the fan's own history
    unclamped_cents: int
    clamped: Literal["min", "max"] | None
    min_cents: int
    max_cents: int

    def public(self) -> dict[str, Any]:
        return {**asdict(self), "fan_quantile": FAN_QUANTILE, "prior_weight": PRIOR_WEIGHT}


def suggest_price(
    paid_cents: Sequence[int],
    *,
    anchor_cents: int | None,
    anchor: Anchor,
    min_cents: int,
    max_cents: int,
) -> Suggestion:
    """The price for one fan from the prices they paid (any order), the anchor and the creator's bounds."""
    if min_cents > max_cents:
        raise ValueError(f"min_cents {min_cents} is above max_cents {max_cents}")
    n = len(paid_cents)
    level = round(float(np.quantile(np.asarray(paid_cents, dtype=np.float64), FAN_QUANTILE))) if n else None
    if anchor_cents is None:
        anchor = "none"
    weight = 1.0 if anchor_cents is None else n / (n + PRIOR_WEIGHT)
    if level is None:
        raw = anchor_cents if anchor_cents is not None else min_cents
        weight = 0.0
    else:
        raw = round(weight * level + (1 - weight) * (anchor_cents or 0))
    price = min(max(raw, min_cents), max_cents)
    clamped: Literal["min", "max"] | None = "min" if raw < min_cents else "max" if raw > max_cents else None
    return Suggestion(
        price_cents=price,
        fan_purchases=n,
        fan_level_cents=level,
        anchor=anchor,
        anchor_cents=anchor_cents,
        fan_weight=round(weight, 4),
        unclamped_cents=raw,
        clamped=clamped,
        min_cents=min_cents,
        max_cents=max_cents,
    )


def suggest_for(
    paid_cents: Sequence[int],
    *,
    item_cents: int | None,
    creator_median_cents: int | None,
    min_cents: int,
    max_cents: int,
) -> Suggestion:
    """The suggestion for one fan, anchored on the item's list price when an item is named, else on the creator's
    median PPV price: what the `suggest_price` tool and the DM agent's prompt both use."""
    anchor: Anchor = "item_price" if item_cents is not None else "creator_median"
    return suggest_price(
        paid_cents,
        anchor_cents=item_cents if item_cents is not None else creator_median_cents,
        anchor=anchor,
        min_cents=min_cents,
        max_cents=max_cents,
    )
