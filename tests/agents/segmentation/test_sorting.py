import numpy as np
import pytest

from agents.segmentation.activity import _descending_rank
from agents.segmentation.sorting import lexsort_ints, sort_rows


@pytest.mark.parametrize(
    "ranges",
    [
        [(0, 1000), (0, 400)],  # fan, day: packed
        [(-50, 50), (7, 8), (-3, 3)],  # negative values and a constant column
        [(0, 2**40), (0, 2**30)],  # too wide to pack: np.lexsort
    ],
)
def test_lexsort_ints_is_a_stable_lexsort(ranges: list[tuple[int, int]]) -> None:
    rng = np.random.default_rng(4)
    keys = [rng.integers(lo, hi, 20_000) for lo, hi in ranges]
    want = np.lexsort(keys[::-1])
    got = lexsort_ints(*keys)
    assert got.dtype == np.int64 and (got == want).all()


def test_lexsort_ints_edges() -> None:
    assert lexsort_ints(np.zeros(0, np.int64)).shape == (0,)
    assert lexsort_ints(np.array([3, 1, 2, 1])).tolist() == [1, 3, 2, 0]
    with pytest.raises(ValueError, match="length"):
        lexsort_ints(np.arange(3), np.arange(4))
    with pytest.raises(ValueError, match="no keys"):
        lexsort_ints()


@pytest.mark.parametrize("top_count", [30, 100_000])  # a table of (count, hour), then sorting the weights
def test_descending_rank_orders_as_the_weights_do(top_count: int) -> None:
    rng = np.random.default_rng(6)
    p = rng.dirichlet(np.ones(168))
    p[5] = p[9]  # equal weights must tie
    n, prior = 50_000, 4.0
    fan = rng.integers(0, 2000, n)
    how = rng.integers(0, 168, n)
    count = rng.integers(0, top_count, n)
    count[rng.random(n) < 0.3] = 0
    w = count + prior * p[how]
    rank = _descending_rank(w, count, how, p, prior)
    assert (lexsort_ints(fan, rank, how) == np.lexsort((how, -w, fan))).all()


@pytest.mark.parametrize("high", [400, 2**40])  # packed, then np.lexsort
def test_sort_rows_returns_the_keys_in_order(high: int) -> None:
    rng = np.random.default_rng(8)
    keys = [rng.integers(-5, 1000, 5000), rng.integers(0, high, 5000)]
    order, sorted_keys = sort_rows(*keys)
    assert (order == np.lexsort(keys[::-1])).all()
    for key, got in zip(keys, sorted_keys, strict=True):
        assert got.dtype == np.int64 and (got == key[order]).all()
