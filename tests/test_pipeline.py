import numpy as np
import pytest

from ohq.errors import OhqError
from ohq.graph import residual_ties
from ohq.pipeline import Request, prepare, run_pipeline


@pytest.fixture(scope="module")
def result():
    return run_pipeline(Request("digits_cnn", data="digits", size_ratio=0.5, samples=16, calib=64))


def test_pipeline_meets_its_budget_and_reports_every_layer(result):
    assert [row.name for row in result.layers] == [
        "features.0.0", "features.1.0", "features.2.0", "features.3.0", "fc"
    ]
    assert result.totals["mixed"]["size_mib"] <= result.budgets["size_mib"] + 1e-12
    assert result.totals["mixed"]["size_mib"] < result.totals["int8"]["size_mib"]
    assert {row.bits for row in result.layers} <= {4, 8}
    assert all(row.sensitivity >= 0 and np.isfinite(row.omega) for row in result.layers)
    assert result.top1["fp32"] > 0.95 and result.top1["mixed"] > 0.9
    assert set(result.seconds) >= {"graph", "data", "sensitivity", "hardware", "search", "quantize", "evaluate"}
    # The quantized model really has the bits the ILP chose.
    assert {n: s.w_bits for n, s in result.qmodel.specs.items()} == {r.name: r.bits for r in result.layers}
    # the default sensitivity (qmqe) measured its predicted damage on test images for the report
    damage = result.extra["damage"]
    assert damage["bits"] == [4] and np.shape(damage["measured"]) == (len(result.layers), 1)


def test_size_ratio_reproduces_the_paper_limit(result):
    s4 = sum(r.size_mib_by_bits[4] for r in result.layers)
    s8 = sum(r.size_mib_by_bits[8] for r in result.layers)
    assert result.budgets["size_mib"] == pytest.approx(s4 + 0.5 * (s8 - s4))


def test_min_sensitivity_under_a_latency_budget():
    req = Request("digits_cnn", data="digits", objective="min-sensitivity", bits=(2, 4, 8), samples=8,
                  calib=32, latency_ms=0.89)
    prep = prepare(req)
    method = prep.sensitivity("mqe")
    alloc, _ = prep.allocate(method, prep.budgets())
    assert alloc.totals["latency_ms"] <= 0.89
    looser, _ = prep.allocate(method, {"latency_ms": 10.0})
    assert all(b == 8 for b in looser.bits.values())  # no pressure: every layer keeps 8 bits


def test_infeasible_budget_names_the_reachable_range():
    with pytest.raises(OhqError, match="reachable values run from"):
        run_pipeline(Request("digits_cnn", data="digits", size_mib=0.001, samples=4, calib=8))


def test_residual_ties_pair_the_downsample_with_its_conv():
    from ohq.graph import layer_graph
    from ohq.models import create_model

    model = create_model("resnet18", num_classes=10, in_channels=1, small_input=True, width=8)
    ties = residual_ties(model, layer_graph(model, (1, 1, 28, 28)))
    assert {frozenset(group) for group in ties} == {
        frozenset({f"layer{i}.0.conv2", f"layer{i}.0.downsample.0"}) for i in (2, 3, 4)
    }  # only the blocks that downsample add two layer outputs; the others add their input


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"objective": "nope", "size_ratio": 0.5}, "unknown objective"),
        ({"objective": "paper"}, "needs a size budget"),
        ({}, "give a budget"),
        ({"size_mib": 1.0, "size_ratio": 0.5}, "not both"),
        ({"size_ratio": 0.5, "samples": 0}, "at least 1"),
    ],
)
def test_bad_requests(kwargs, message):
    with pytest.raises(OhqError, match=message):
        Request("digits_cnn", **kwargs)


def test_default_objective_spends_the_budget_on_measured_damage_with_four_candidates():
    req = Request("digits_cnn", data="digits", bits=(2, 3, 4, 8), size_ratio=0.5, samples=16, calib=64)
    assert (req.objective, req.sensitivity) == ("min-sensitivity", "qmqe")
    prep = prepare(req)
    method = prep.sensitivity(req.sensitivity)
    assert method.damage_.shape == (5, 4) and method.candidate_bits == (2, 3, 4, 8)
    budgets = prep.budgets()
    alloc, _ = prep.allocate(method, budgets)
    size, bits = prep.table.costs["size_mib"], prep.table.bits
    room = budgets["size_mib"] - alloc.totals["size_mib"]
    assert room >= -1e-12
    for i, name in enumerate(prep.table.names):  # filled: no layer could take the next candidate
        j = bits.index(alloc.bits[name])
        assert j + 1 == len(bits) or size[i, j + 1] - size[i, j] > room
