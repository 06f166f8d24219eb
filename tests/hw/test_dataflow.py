"""Per-layer dataflow (the mixed-dataflow paper): traffic, BRAM, zero skipping, the whole model in BRAM."""

from __future__ import annotations

import dataclasses

import pytest

from ohq.errors import OhqError
from ohq.graph import Layer, layer_graph
from ohq.hw import STEPS, get_device, list_devices
from ohq.hw.cost import layer_cost
from ohq.hw.dataflow import DATAFLOWS, WeightStore, dense_store, flow_cost, pick, weight_count
from ohq.hw.onchip import FitBramError, dataflow_report, smallest_resident
from ohq.models import create_model
from ohq.quant.resource import Resource

DEV = get_device("xc7z020")


def conv(cin=64, cout=64, hw=28, k=3, groups=1, stride=1, name="c") -> Layer:
    out = hw // stride
    kind = "conv" if groups == 1 else "dwconv"
    params = cout * cin // groups * k * k
    return Layer(name, kind, (1, cin, hw, hw), (1, cout, out, out), cin, cout, (k, k), (stride, stride),
                 (k // 2, k // 2), groups, params, params * out * out)


@pytest.fixture(scope="module")
def cnn():
    return layer_graph(create_model("small_cnn"), (1, 1, 28, 28))


def test_img2col_matches_the_accelerator_model():
    layer = conv()
    ref = layer_cost(layer, 8, 8, "uniform", Resource.DSP, DEV)
    got = flow_cost(layer, 8, 8, "uniform", DEV, "img2col")
    assert abs(got.dram_bytes - ref.dram_bytes) <= 1 and got.cycles == ref.cycles


@pytest.mark.parametrize("part", list_devices())
@pytest.mark.parametrize("flow", DATAFLOWS)
def test_steps_and_traffic_floor(part, flow):
    layer = conv()
    c = flow_cost(layer, 8, 8, "uniform", get_device(part), flow)
    assert all(c.cycles[s] > 0 for s in STEPS) and c.cycles["total"] == sum(c.cycles[s] for s in STEPS)
    floor = weight_count(layer) + 64 * 28 * 28 * 2  # weights, input and output once, 8 bits
    assert c.dram_bytes >= floor - 1


def test_early_layer_picks_row_and_deep_layer_picks_frame():
    early = conv(cin=3, cout=64, hw=224, k=7, stride=2)
    deep = conv(cin=512, cout=512, hw=7)
    assert pick(early, 8, 8, "uniform", DEV)[0].dataflow == "row"
    assert pick(deep, 8, 8, "uniform", DEV)[0].dataflow == "frame"
    tight = pick(deep, 8, 8, "uniform", DEV, mode="row")[1]["row"]
    assert tight.passes > 1  # 2.3 MB of weights cannot stay: the input is re-read per weight block


def test_auto_never_moves_more_than_img2col(cnn):
    auto = dataflow_report(cnn, DEV, 8, mode="auto")
    base = dataflow_report(cnn, DEV, 8, mode="img2col")
    assert auto.totals["dram_bytes"] <= base.totals["dram_bytes"]
    fast = dataflow_report(cnn, DEV, 8, objective="latency")
    assert fast.totals["latency_ms"] <= base.totals["latency_ms"] + 1e-9


def test_zero_skipping_only_where_the_engine_can():
    layer = conv()
    dense = dense_store(layer, 8)
    sparse = WeightStore(dense.bits // 3, density=0.25, fmt="bitmask")
    for flow in ("row", "frame"):
        a, b = flow_cost(layer, 8, 8, "uniform", DEV, flow, dense), flow_cost(layer, 8, 8, "uniform", DEV, flow, sparse)
        assert b.cycles["compute"] < a.cycles["compute"] and b.offchip["weights"] < a.offchip["weights"]
    a, b = flow_cost(layer, 8, 8, "uniform", DEV, "img2col", dense), flow_cost(layer, 8, 8, "uniform", DEV, "img2col", sparse)
    assert b.cycles["compute"] == a.cycles["compute"] and b.offchip["weights"] < a.offchip["weights"]
    channel = WeightStore(dense.bits // 2, density=0.5, channel_keep=0.5, fmt="channel")
    c = flow_cost(layer, 8, 8, "uniform", DEV, "img2col", channel)
    assert c.cycles["compute"] < a.cycles["compute"]  # pruned filters: a smaller GEMM


def test_resident_weights_never_cross_ddr(cnn):
    r = dataflow_report(cnn, DEV, 4, resident=True)
    assert r.totals["weight_dram_bytes"] == 0 and r.weight_bram18k > 0
    assert r.totals["bram18k_left"] == r.budget - r.weight_bram18k - r.buffer_bram18k >= 0
    assert r.totals["dram_bytes"] < dataflow_report(cnn, DEV, 4).totals["dram_bytes"]


def test_fit_bram_budget_too_small_and_smallest_reachable(cnn):
    stores = {lay.name: dense_store(lay, 2) for lay in cnn.layers}
    low = smallest_resident(cnn, DEV, stores, plan=2)
    assert dataflow_report(cnn, DEV, 2, stores=stores, bram18k=low, resident=True)
    with pytest.raises(FitBramError):
        dataflow_report(cnn, DEV, 2, stores=stores, bram18k=low - 1, resident=True)


def test_bad_dataflow_names(cnn):
    with pytest.raises(OhqError, match="dataflow"):
        dataflow_report(cnn, DEV, 8, mode="diagonal")
    with pytest.raises(OhqError, match="objective"):
        pick(conv(), 8, 8, "uniform", DEV, objective="speed")


def test_linear_and_depthwise_layers_cost():
    dw = conv(cin=32, cout=32, groups=32)
    lin = dataclasses.replace(conv(), kind="linear", in_shape=(1, 64), out_shape=(1, 10), in_channels=64,
                              out_channels=10, kernel=(1, 1), stride=(1, 1), padding=(0, 0), groups=1)
    for layer in (dw, lin):
        chosen, options = pick(layer, 8, 8, "uniform", DEV)
        assert chosen is not None and chosen.dram_bytes == min(o.dram_bytes for o in options.values() if o)
