"""The estimator API: from a model in memory to a mixed-precision quantized model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ohq
from ohq.errors import BudgetError, OhqError


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 10),
    ).eval()


def test_three_lines_from_memory_to_a_mixed_model():
    net, x = _net(), torch.randn(32, 1, 8, 8)
    alloc = ohq.BitAllocator(budget=ohq.Size(ratio=0.5), objective=ohq.Paper(0.5, 0.5), sensitivity="mqe",
                             probe=ohq.FpgaModel("xc7z020")).fit(net, x)
    q = ohq.quantize(net, alloc.plan_, x)
    assert set(alloc.bits_.values()) == {4, 8}  # mixed: the budget sits between all-4 and all-8
    assert alloc.allocation_.totals["size_mib"] <= alloc.budgets_["size_mib"] + 1e-12
    assert {n: s.w_bits for n, s in q.specs.items()} == alloc.bits_
    assert q.size_mib() == pytest.approx(ohq.model_size_mib(net, alloc.plan_))
    assert q(x).shape == (32, 10)


def test_solve_again_with_another_budget_reuses_the_measurements():
    net, x = _net(), torch.randn(16, 1, 8, 8)
    alloc = ohq.BitAllocator(budget=ohq.Size(ratio=1.0), sensitivity="layerwise").fit(net, x)
    assert set(alloc.bits_.values()) == {8}
    scores = alloc.sensitivity_.scores_
    alloc.solve(net, ohq.Size(ratio=0.0))
    assert set(alloc.bits_.values()) == {4} and alloc.sensitivity_.scores_ is scores


def test_objectives_by_name_and_budgets_other_than_size():
    net, x = _net(), torch.randn(16, 1, 8, 8)
    alloc = ohq.BitAllocator(budget=ohq.Latency(ms=1e6), objective="min-sensitivity",
                             sensitivity="layerwise").fit(net, x)
    assert set(alloc.bits_.values()) == {8}  # no pressure: the least damage keeps every layer at 8


@pytest.mark.parametrize("kwargs, error, message", [
    ({"budget": ohq.Latency(ms=1.0), "objective": "paper"}, BudgetError, "needs a size budget"),
    ({"budget": []}, BudgetError, "give a budget"),
    ({"bits": (4, 4)}, OhqError, "distinct"),
    ({"probe": "xc7z020"}, OhqError, "Target such as FpgaModel"),
    ({"objective": "nope"}, OhqError, "unknown objective 'nope'"),
])
def test_bad_parameters_are_one_line_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        ohq.BitAllocator(**kwargs).fit(_net(), torch.randn(4, 1, 8, 8))


def test_size_budget_takes_mib_or_ratio():
    with pytest.raises(BudgetError, match="not both"):
        ohq.Size(mib=1.0, ratio=0.5)
    with pytest.raises(BudgetError, match="either mib or ratio"):
        ohq.Size()


def test_run_pipeline_takes_an_nn_module():
    from ohq.data import load_dataset
    from ohq.models import load_model

    net = load_model("digits_cnn").model
    result = ohq.run_pipeline(net, data="digits", size_ratio=0.5, samples=8, calib=32, masked_top1=False)
    assert result.model_name == type(net).__name__
    assert result.top1["mixed"] > 0.9 and result.input_shape == load_dataset("digits", "test").input_shape
    assert all(row.masked_top1 is None for row in result.layers)
    assert "damage" in result.extra  # masked_top1 is mqe's stage only: qmqe still measured its damage


def test_measured_damage_is_its_own_option():
    result = ohq.run_pipeline("digits_cnn", data="digits", size_ratio=0.5, samples=4, calib=16,
                              measured_damage=False)
    assert "damage" not in result.extra and "measured damage" not in result.seconds
