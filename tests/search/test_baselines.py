"""Reference allocations: seeded random ones and largest-layers-first fill the size budget."""

from __future__ import annotations

import numpy as np
import pytest

from ohq.errors import OhqError
from ohq.search import CostTable, largest_first, random_allocation


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    weights = rng.integers(100, 10_000, size=12).astype(float)
    bits = (2, 3, 4, 8)
    return CostTable([f"l{i}" for i in range(12)], bits, {"size_mib": np.outer(weights, bits) / 8 / 2**20})


def _step(table):  # the largest single upgrade step: what "filled" may leave unused
    return float(np.diff(table.costs["size_mib"], axis=1).max())


@pytest.mark.parametrize("ratio", [0.1, 0.5, 0.9])
def test_random_allocations_fill_the_budget_and_depend_on_the_seed(table, ratio):
    lo, hi = table.uniform_total("size_mib", 2), table.uniform_total("size_mib", 8)
    limit = lo + ratio * (hi - lo)
    allocs = [random_allocation(table, limit, seed) for seed in range(5)]
    for bits in allocs:
        used = table.total("size_mib", bits)
        assert used <= limit + 1e-12 and limit - used < _step(table)
    assert allocs[0] == random_allocation(table, limit, 0)
    assert len({tuple(a.values()) for a in allocs}) > 1


@pytest.mark.parametrize("ratio", [0.1, 0.5, 0.9])
def test_largest_first_meets_the_budget_and_cuts_the_largest_layer(table, ratio):
    lo, hi = table.uniform_total("size_mib", 2), table.uniform_total("size_mib", 8)
    limit = lo + ratio * (hi - lo)
    bits = largest_first(table, limit)
    used = table.total("size_mib", bits)
    assert used <= limit + 1e-12 and limit - used < _step(table)
    largest = table.names[int(np.argmax(table.costs["size_mib"][:, -1]))]
    assert bits[largest] == min(bits.values())


def test_a_budget_below_the_smallest_model_is_an_error(table):
    with pytest.raises(OhqError, match="below the all-2-bit size"):
        random_allocation(table, 0.0, 0)
