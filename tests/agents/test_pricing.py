"""The per-fan price: the fan's own level shrunk towards the anchor by how much history there is, clamped."""

from __future__ import annotations

import pytest

from agents.pricing import PRIOR_WEIGHT, suggest_price


def test_no_history_takes_the_anchor() -> None:
    s = suggest_price([], anchor_cents=1500, anchor="creator_median", min_cents=500, max_cents=5000)
    assert (s.price_cents, s.fan_weight, s.fan_level_cents, s.clamped) == (1500, 0.0, None, None)


def test_no_history_and_no_anchor_takes_the_lower_bound() -> None:
    s = suggest_price([], anchor_cents=None, anchor="creator_median", min_cents=700, max_cents=5000)
    assert (s.price_cents, s.anchor) == (700, "none")


def test_history_moves_the_price_from_the_anchor_towards_the_fans_median() -> None:
    one = suggest_price([3000], anchor_cents=1000, anchor="creator_median", min_cents=1, max_cents=10_000)
    many = suggest_price(
        [3000] * 30, anchor_cents=1000, anchor="creator_median", min_cents=1, max_cents=10_000
    )
    assert one.price_cents == round(1000 + (3000 - 1000) / (1 + PRIOR_WEIGHT))
    assert 1000 < one.price_cents < many.price_cents < 3000
    assert many.fan_weight == round(30 / (30 + PRIOR_WEIGHT), 4)
    # the median: one big bundle does not move a regular buyer
    assert (
        suggest_price(
            [900, 1000, 1100, 9000] * 5,
            anchor_cents=None,
            anchor="creator_median",
            min_cents=1,
            max_cents=10_000,
        ).price_cents
        == 1050
    )


def test_bounds_clamp_and_say_so() -> None:
    high = suggest_price([9000] * 10, anchor_cents=8000, anchor="item_price", min_cents=500, max_cents=5000)
    assert (high.price_cents, high.clamped, high.unclamped_cents > 5000) == (5000, "max", True)
    low = suggest_price([100] * 10, anchor_cents=200, anchor="item_price", min_cents=500, max_cents=5000)
    assert (low.price_cents, low.clamped) == (500, "min")
    with pytest.raises(ValueError):
        suggest_price([], anchor_cents=None, anchor="none", min_cents=10, max_cents=5)
