"""Candidates are scheme configs: one ILP picks each layer's scheme as well as its bits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import ohq
from ohq.errors import BudgetError, OhqError, PlanError
from ohq.hw import PROBES
from ohq.hw.cost import layer_cost
from ohq.hw.plan import scheme_resource
from ohq.hw.target import Target
from ohq.quant import SP2, FixedPoint, Plan, PowerOfTwo, parse_candidates
from ohq.search import CostTable, largest_first, reachable, solve

CANDIDATES = (FixedPoint(4, 4), PowerOfTwo(4, 4), FixedPoint(8, 8))


def _brute(table: CostTable, value: np.ndarray, limit: float) -> float:
    best = -np.inf
    for cols in itertools.product(range(len(table.candidates)), repeat=len(table.names)):
        lat = table.costs["latency_ms"][np.arange(len(cols)), cols].sum()
        if lat <= limit + 1e-9:
            best = max(best, value[np.arange(len(cols)), cols].sum())
    return best


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.lists(st.floats(0.5, 4.0), min_size=n, max_size=n),  # latency of fixed point at 4 bits
    st.lists(st.floats(0.1, 0.9), min_size=n, max_size=n),  # PoT's share of it (cheaper)
    st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n),  # PoT's extra damage
    st.floats(0.0, 1.0))))
def test_the_ilp_takes_the_cheaper_scheme_exactly_where_the_budget_needs_it(case):
    lat4, share, extra, slack = case
    n = len(lat4)
    lat = np.array([[a, a * s, 2 * a] for a, s in zip(lat4, share, strict=True)])
    damage = np.array([[1.0, 1.0 + e, 0.0] for e in extra])
    table = CostTable([f"l{i}" for i in range(n)], CANDIDATES, {"latency_ms": lat})
    low, _ = reachable(table, "latency_ms")
    limit = low + slack * (lat[:, 0].sum() - low)  # from all-PoT up to all fixed-point 4 bits
    alloc = solve(table, -damage, {"latency_ms": limit})
    assert alloc.totals["latency_ms"] <= limit + 1e-9
    assert -damage[np.arange(n), [table.column(alloc.choice[k]) for k in table.names]].sum() == pytest.approx(
        _brute(table, -damage, limit))
    pot = [k for k, c in alloc.choice.items() if c == PowerOfTwo(4, 4)]
    assert alloc.bits == {k: alloc.choice[k].bits for k in table.names}
    if limit < lat[:, 0].sum() - 1e-6:  # all fixed point at 4 bits does not fit: PoT somewhere
        assert pot
    four = CostTable(table.names, CANDIDATES[:2], {"latency_ms": lat[:, :2]})  # without 8 bits
    pot4 = [k for k, c in solve(four, -damage[:, :2], {"latency_ms": limit}).choice.items() if c == CANDIDATES[1]]
    assert bool(pot4) == (limit < lat[:, 0].sum() - 1e-6)  # PoT exactly where the budget needs it


def test_table_columns_are_named_by_bits_or_labels():
    one = CostTable(["a"], (FixedPoint(4, 4), FixedPoint(8, 8)), {"size_mib": np.ones((1, 2))})
    mixed = CostTable(["a"], CANDIDATES, {"size_mib": np.ones((1, 3))})
    assert one.keys == (4, 8) and not one.mixed and one.column(8) == 1
    assert mixed.keys == ("uniform:4", "pot:4", "uniform:8") and mixed.mixed and mixed.column(8) == 2
    assert mixed.column(PowerOfTwo(4, 4)) == mixed.column("pot:4") == 1
    with pytest.raises(BudgetError, match="does not name one candidate"):
        mixed.column(4)
    with pytest.raises(OhqError, match="one scheme"):
        largest_first(mixed, 3.0)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8 * 4 * 4, 10)).eval()


class ShiftsFree:
    """The accelerator model with shift-based products at a third of their time (on the modelled
    xc7z020 fixed point is the fastest at equal bits, so the budget never needs another scheme)."""

    def measure(self, graph, assignments, device):
        out = []
        for layer in graph.layers:
            w, a, scheme = assignments[layer.name]
            cost = layer_cost(layer, w, a, scheme, scheme_resource(scheme), device)
            speed = 1.0 if scheme == "uniform" else 1 / 3
            out.append(type(cost)(**{**vars(cost), "latency_ms": speed * cost.latency_ms}))
        return out


@pytest.fixture
def shifts_free():
    PROBES.register("toy-shifts-free")(ShiftsFree)
    yield Target("xc7z020", "toy-shifts-free")
    PROBES.unregister("toy-shifts-free")


def test_the_allocator_plan_carries_each_layers_scheme(shifts_free):
    net, x = _net(), torch.randn(16, 1, 8, 8)
    cands = [FixedPoint(4, 4), FixedPoint(8, 8), PowerOfTwo(4, 4), SP2(4, 4)]
    alloc = ohq.BitAllocator(budget=ohq.Latency(ms=1e6), sensitivity="layerwise", candidates=cands,
                             probe=shifts_free).fit(net, x)
    assert set(alloc.configs_.values()) <= {FixedPoint(8, 8)}  # no pressure: the least damage
    low, _ = reachable(alloc.table_, "latency_ms")
    alloc.solve(net, ohq.Latency(ms=low * (1 + 1e-9)))  # the cheapest candidate of every layer
    lat = alloc.table_.costs["latency_ms"]
    for i, name in enumerate(alloc.table_.names):
        assert lat[i, alloc.table_.column(alloc.configs_[name])] == pytest.approx(lat[i].min())
    assert {c.scheme for c in alloc.configs_.values()} <= {"pot", "sp2"}  # the budget needs shifts
    q = ohq.quantize(net, alloc.plan_, x)
    assert {n: (s.scheme, s.w_bits) for n, s in q.specs.items()} == {
        n: (c.scheme, c.bits) for n, c in alloc.configs_.items()}
    assert alloc.totals(alloc.configs_)["latency_ms"] <= low * (1 + 1e-9)


def test_mixed_schemes_refuse_what_cannot_compare_them():
    net, x = _net(), torch.randn(8, 1, 8, 8)
    with pytest.raises(OhqError, match="scores bits only"):
        ohq.BitAllocator(budget=ohq.Size(ratio=0.5), objective="paper", sensitivity="layerwise",
                         candidates=list(CANDIDATES)).fit(net, x)
    with pytest.raises(OhqError, match="scheme config"):
        ohq.BitAllocator(candidates=[4, 8]).fit(net, x)


def test_configs_stand_for_specs_and_their_handler_checks_them():
    plan = Plan(FixedPoint(8), {"fc": SP2(4)})
    assert plan.default.scheme == "uniform" and plan.spec_for("fc").scheme == "sp2"
    assert ohq.quant.handler_for(SP2(4)) is ohq.quant.get_scheme("sp2")
    with pytest.raises(PlanError, match="cannot have 8 bits"):
        PowerOfTwo(8)


@pytest.mark.parametrize("text, message", [
    ("uniform4", "scheme:bits"), ("nope:4", "unknown scheme"), ("pot:8", "cannot have 8 bits"),
    ("sp2:4,sp2:4", "twice"), ("uniform:", "scheme:bits"),
])
def test_bad_candidate_strings_are_one_line_errors(text, message):
    with pytest.raises(OhqError, match=message):
        parse_candidates(text)


def test_requests_with_mixed_candidates_refuse_bo_and_the_paper_objective():
    from ohq.codesign import CodesignOptions
    from ohq.pipeline import Request

    mixed = "uniform:4,uniform:8,sp2:4"
    with pytest.raises(OhqError, match="one scheme"):
        Request("digits_cnn", candidates=mixed, latency_ms=1.0, codesign=CodesignOptions(search="bo"))
    with pytest.raises(OhqError, match="scores bits only"):
        Request("digits_cnn", candidates=mixed, size_ratio=0.5, objective="paper")
    one = Request("digits_cnn", candidates="sp2:4,sp2:8", size_ratio=0.5, codesign=CodesignOptions(search="bo"))
    assert one.scheme == "sp2" and one.bits == (4, 8)  # one scheme: the same as --bits 4,8 --scheme sp2
