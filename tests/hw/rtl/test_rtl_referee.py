"""The band transfer form against the chip: the RTL's transfer, write-back and post-process counters
on digits_cnn's layers, 8-lane builds with the device's buffers and DMA (the builds
test_rtl_quantize uses)."""

from dataclasses import replace

import pytest

from ohq.graph import layer_graph
from ohq.hw import calibrate as cal
from ohq.hw import get_device
from ohq.hw.referee import Row
from ohq.hw.rtl.probe import device_config, simulate_layer
from ohq.models import load_model

from .conftest import needs_verilator

LANES = 8


@needs_verilator
@pytest.mark.slow
@pytest.mark.parametrize("bits", [8, 4])
def test_band_form_follows_the_rtl(bits):
    dev = get_device("xc7z020")
    loaded = load_model("digits_cnn")
    graph = layer_graph(loaded.model, loaded.input_shape)
    cfg = replace(device_config(dev, "uniform", bits, bits), lanes=LANES)
    rows = [Row("digits_cnn", lay, 1, bits, simulate_layer(lay, cfg)[0]) for lay in graph.layers]
    f = cal.features(rows, dev, LANES)
    mask = f.bits == bits
    band = cal.step_errors(f, cal.predict(f, dev, cal.shipped_params(dev), "band"), mask)
    img2col = cal.step_errors(f, cal.predict(f, dev, cal.shipped_params(dev)), mask)
    assert abs(band["transfer"]) < 0.05 and abs(band["writeback"]) < 0.01 and abs(band["postprocess"]) < 0.01, band
    assert abs(img2col["writeback"]) > 0.1  # the paper's form does not follow the RTL's structure
