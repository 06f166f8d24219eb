"""Layer-wise PR with specialised modules, ping-pong halves, and the PR-aware ILP."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ohq.errors import OhqError
from ohq.graph import layer_graph
from ohq.hw import get_device
from ohq.hw.accelerator import macs_per_cycle
from ohq.hw.pr import check_pr, module_peak, pr_plan, reconfig_ms
from ohq.models import create_model
from ohq.quant.resource import Resource
from ohq.search import CostTable, solve
from ohq.search.pr_ilp import solve_pr

DEV = get_device("xc7z020")


@pytest.fixture(scope="module")
def cnn():
    return layer_graph(create_model("small_cnn"), (1, 1, 28, 28))


@pytest.mark.parametrize("resource", list(Resource))
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_specialised_module_is_never_slower(resource, bits):
    if resource in (Resource.SHIFT,) and bits > 5:
        pytest.skip("PoT stops at 5 bits")
    assert module_peak(resource, bits, bits, DEV) >= macs_per_cycle(resource, bits, bits, DEV)


def test_pr_plan_counts_swaps_back_to_back(cnn):
    names = cnn.names
    plan = {n: (4 if i == 1 else 8) for i, n in enumerate(names)}
    p = pr_plan(cnn, plan, DEV)
    assert len(p.groups) == 3 and p.reconfigurations == 2  # last and first modules are the same
    assert p.latency_pr_ms == pytest.approx(sum(p.module_ms.values()) + 2 * p.reconfig_ms)
    assert p.reconfig_pingpong_ms == pytest.approx(reconfig_ms(DEV) / 2)
    ring = pr_plan(cnn, {n: (4 if i == 0 else 8) for i, n in enumerate(names)}, DEV)
    assert ring.reconfigurations == 2  # 4 | 8 ... 8, then back to 4 for the next input
    one = pr_plan(cnn, 8, DEV)
    assert one.reconfigurations == 0 and one.latency_pr_ms <= one.latency_static_ms


def test_device_without_pr():
    bare = dataclasses.replace(DEV, pr_port="none")
    with pytest.raises(OhqError, match="partial-reconfiguration"):
        check_pr(bare)


def test_switch_penalty_groups_layers():
    rng = np.random.default_rng(0)
    n = 10
    t = CostTable([f"l{i}" for i in range(n)], (4, 8),
                  {"size_mib": np.array([[1.0, 2.0]] * n), "latency_ms": np.array([[1.0, 1.5]] * n)})
    value = np.outer(rng.random(n) + 0.5, [4, 8])
    free = solve(t, value, {"size_mib": 15})
    none = solve_pr(t, value, {"size_mib": 15}, 2.0, penalty=0.0)
    assert none.bits == free.bits
    grouped = solve_pr(t, value, {"size_mib": 15}, 2.0)
    assert grouped.extra["switches"] < none.extra["switches"] and grouped.extra["switches"] <= 2
    capped = solve_pr(t, value, {"size_mib": 15, "latency_ms": 14.0}, 2.0, penalty=0.0)
    assert capped.totals["latency_ms"] <= 14.0 + 1e-9
