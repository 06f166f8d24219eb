import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ohq.errors import OhqError
from ohq.search import CostTable, omega, reachable, solve


def brute_force(table, value, budgets, ties=(), pinned=None):
    best = None
    n = len(table.names)
    for choice in itertools.product(range(len(table.bits)), repeat=n):
        bits = {name: table.bits[c] for name, c in zip(table.names, choice, strict=True)}
        if any(len({bits[x] for x in group}) > 1 for group in ties):
            continue
        if pinned and any(bits[k] != v for k, v in pinned.items()):
            continue
        if any(table.total(m, bits) > lim + 1e-9 for m, lim in budgets.items()):
            continue
        score = sum(value[i, c] for i, c in enumerate(choice))
        best = score if best is None else max(best, score)
    return best


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 5),
    seed=st.integers(0, 10_000),
    frac=st.floats(0.0, 1.0),
)
def test_ilp_matches_brute_force(n, seed, frac):
    rng = np.random.default_rng(seed)
    bits = (2, 4, 8)
    size = rng.uniform(0.1, 1.0, (n, 1)) * np.array(bits) / 8
    latency = rng.uniform(0.1, 1.0, (n, 1)) * np.array([0.5, 0.7, 1.0])
    table = CostTable([f"l{i}" for i in range(n)], bits, {"size_mib": size, "latency_ms": latency})
    value = rng.normal(size=(n, 3))
    lo, hi = reachable(table, "size_mib")
    budgets = {"size_mib": lo + frac * (hi - lo), "latency_ms": latency.sum() * 0.9}
    expected = brute_force(table, value, budgets)
    if expected is None:
        with pytest.raises(OhqError):
            solve(table, value, budgets)
        return
    got = solve(table, value, budgets)
    assert got.objective == pytest.approx(expected, abs=1e-6)
    assert got.totals["size_mib"] <= budgets["size_mib"] + 1e-9


def test_ties_and_pins():
    table = CostTable(["a", "b", "c"], (4, 8), {"size_mib": np.array([[1.0, 2.0]] * 3)})
    value = np.array([[0, 10.0], [5, 0], [0, 1.0]])
    free = solve(table, value, {"size_mib": 6})
    assert free.bits == {"a": 8, "b": 4, "c": 8}
    tied = solve(table, value, {"size_mib": 6}, ties=[["a", "b"]])
    assert tied.bits["a"] == tied.bits["b"] == 8
    pinned = solve(table, value, {"size_mib": 6}, pinned={"c": 4})
    assert pinned.bits["c"] == 4
    with pytest.raises(OhqError, match="not in the model"):
        solve(table, value, {}, pinned={"zzz": 4})
    with pytest.raises(OhqError, match="not a candidate"):
        solve(table, value, {}, pinned={"a": 3})


def test_infeasible_budget_states_the_reachable_range():
    table = CostTable(["a", "b"], (4, 8), {"size_mib": np.array([[1.0, 2.0], [0.5, 1.0]])})
    with pytest.raises(OhqError, match=r"reachable values run from 1\.5 to 3 MiB"):
        solve(table, np.zeros((2, 2)), {"size_mib": 1.0})


def test_size_ratio_reproduces_the_paper_limit():
    table = CostTable(["a", "b"], (4, 8), {"size_mib": np.array([[1.0, 2.0], [0.5, 1.0]])})
    assert table.size_from_ratio(0.5) == pytest.approx(1.5 + 0.5 * 1.5)
    with pytest.raises(OhqError):
        table.size_from_ratio(1.5)


def test_omega_prefers_sensitive_and_cheap_layers():
    w = omega([0.0, 1.0, 0.5], cycles=[10, 10, 1], energy=[5, 5, 1])
    assert w.argmax() == 1 or w.argmax() == 2
    assert w[1] > w[0]  # same cost, more sensitive
    assert w[2] > w[0]  # cheaper and more sensitive
    assert np.allclose(omega([1, 1], [1, 1], [1, 1]), 0)


def test_resnet50_sized_problem_solves_fast():
    rng = np.random.default_rng(0)
    n, bits = 54, (2, 3, 4, 5, 6, 8)
    base = rng.uniform(0.01, 1.0, (n, 1))
    table = CostTable(
        [f"l{i}" for i in range(n)], bits,
        {"size_mib": base * np.array(bits) / 8, "latency_ms": base * (0.5 + np.array(bits) / 16),
         "energy_mj": base * (0.3 + np.array(bits) / 10)},
    )
    value = -rng.uniform(0, 1, (n, 1)) * 2.0 ** (-2 * np.array(bits))
    budgets = {"size_mib": table.uniform_total("size_mib", 5), "latency_ms": table.uniform_total("latency_ms", 6),
               "energy_mj": table.uniform_total("energy_mj", 6)}
    alloc = solve(table, value, budgets)
    assert alloc.solve_ms < 10_000
    assert all(alloc.totals[m] <= budgets[m] + 1e-9 for m in budgets)


def test_paper_objective_fills_the_budget_with_the_best_layers():
    from ohq.search import paper_objective

    table = CostTable(["a", "b", "c"], (4, 8), {"size_mib": np.array([[1.0, 2.0]] * 3)})
    om = omega([0.0, 1.0, 0.2], cycles=[5, 5, 5], energy=[5, 5, 5])  # Ω ≤ 0.5; two layers at 0 or below
    alloc = solve(table, paper_objective(om, table.bits), {"size_mib": 5.0})
    assert alloc.totals["size_mib"] == 5.0  # the room in the budget is used
    assert alloc.bits == {"a": 4, "b": 8, "c": 8}  # by the most sensitive layers
