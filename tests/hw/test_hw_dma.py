"""The band transfer form (`ohq.hw.dma`): the RTL's structure, reproduced by the fitting arrays,
bit-width-dependent bytes, and the paper's Img2Col form still the default."""

from __future__ import annotations

import pytest
from torch import nn

from ohq.graph import layer_graph
from ohq.hw import calibrate as cal
from ohq.hw import cost as hc
from ohq.hw import dma, estimate, get_device, get_probe
from ohq.hw.cost import STEPS
from ohq.hw.referee import Row
from ohq.hw.rtl.job import band_rows
from ohq.hw.rtl.probe import device_config, synthetic_job

DEV = get_device("xc7z020")
ZERO = dict.fromkeys((*STEPS, "total"), 0)


@pytest.fixture(scope="module")
def graph():
    net = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1, groups=16),
                        nn.ReLU(), nn.Conv2d(16, 33, 1), nn.ReLU(), nn.Conv2d(33, 64, 5), nn.Flatten(),
                        nn.Linear(64 * 12 * 12, 10))
    return layer_graph(net, (2, 3, 32, 32))


@pytest.mark.parametrize("bits", [4, 8])
def test_bands_are_the_drivers(graph, bits):
    """The model's band rows are the ones the RTL driver picks on the same buffers."""
    cfg = device_config(DEV, "uniform", bits, bits)
    fmax, pmax = dma.buffers(DEV, bits)
    assert (fmax, pmax) == (cfg.fmax, cfg.pmax)
    for layer in graph.layers:
        job = synthetic_job(layer, "uniform", bits, bits)
        assert dma.dma_plan(layer, bits, bits, DEV).band == band_rows(job, cfg), layer.name


@pytest.mark.parametrize("bits", [4, 8])
def test_band_features_reproduce_the_model(graph, bits):
    f = cal.features([Row("m", lay, 1, bits, ZERO) for lay in graph.layers], DEV)
    p = {**cal.shipped_params(DEV), "layer_overhead_cycles": DEV.layer_overhead_cycles}
    pred = cal.predict(f, DEV, p, "band")
    report = estimate(graph, DEV, bits, transfer="band")
    for s in STEPS:
        assert pred[s].tolist() == [c.cycles[s] for c in report.layers], s


def test_band_bytes_follow_the_bits_and_are_not_expanded(graph):
    """Inputs cross DDR about once (no k_h·k_w Img2Col expansion), at the activation bits."""
    conv = graph.layers[-2]  # 5x5 conv on a 16x16 map: Img2Col moves each input ~25 times
    p8, p4 = (dma.dma_plan(conv, b, b, DEV) for b in (8, 4))
    raw = conv.in_fmap * conv.in_shape[0]
    assert raw <= p8.feature_bytes < 1.1 * raw
    assert p4.feature_bytes == pytest.approx(p8.feature_bytes / 2, rel=0.05)
    assert p4.out_bytes == pytest.approx(p8.out_bytes / 2, rel=0.05)
    g = hc.gemm_of(conv)
    assert hc.feature_bytes_moved(g, hc.tiling(g, 8, 8, DEV), 8) > 10 * p8.feature_bytes


def test_batch1_linear_is_one_dma_and_not_padded():
    lin = layer_graph(nn.Sequential(nn.Linear(512, 10)), (1, 512)).layers[0]
    d = dma.dma_plan(lin, 8, 8, DEV)
    assert d.feature_dmas == 1 and d.feature_bytes == 512 and d.write_dmas == 10
    assert d.pairs == 5  # two output channels per pass, no square tile


def test_img2col_stays_the_default_and_unknown_forms_fail(graph):
    assert estimate(graph, DEV, 8).total == estimate(graph, DEV, 8, transfer="img2col").total
    from ohq.errors import OhqError

    with pytest.raises(OhqError, match="transfer form"):
        get_probe("fpga-model", transfer="gather")
