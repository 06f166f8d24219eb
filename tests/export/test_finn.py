"""FINN folding: keyed by FINN's node names, with SWG entries, and within the device's budget."""

from __future__ import annotations

import pytest
from conftest import MNIST_SHAPE, needs_mnist_cnn, shipped_params

from ohq.export.finn import budget, finn_folding, fits, resources
from ohq.hw import get_device

DEVICES = ("xc7z020clg400-1", "xczu9eg-ffvb1156-2-e")


@needs_mnist_cnn
def test_keys_are_finn_node_names(q8):
    fold = finn_folding(q8, MNIST_SHAPE)
    # mnist_cnn: four padded 3x3 convs with ReLU (thresholds absorbed: MVAU_hls), logits fc (RTL)
    assert list(fold) == ["Defaults",
                          "FMPadding_rtl_0", "ConvolutionInputGenerator_rtl_0", "MVAU_hls_0",
                          "FMPadding_rtl_1", "ConvolutionInputGenerator_rtl_1", "MVAU_hls_1",
                          "FMPadding_rtl_2", "ConvolutionInputGenerator_rtl_2", "MVAU_hls_2",
                          "FMPadding_rtl_3", "ConvolutionInputGenerator_rtl_3", "MVAU_hls_3",
                          "MVAU_rtl_0"]
    for name, layer in zip([k for k in fold if k.startswith("MVAU")], q8.layers.values(), strict=True):
        entry = fold[name]
        assert set(entry) == {"PE", "SIMD", "resType", "ram_style", "mem_mode"}
        assert layer.weight.shape[0] % entry["PE"] == 0 and layer.weight.shape[1] % entry["SIMD"] == 0
    swg = fold["ConvolutionInputGenerator_rtl_1"]
    assert swg["SIMD"] == fold["MVAU_hls_1"]["SIMD"]  # the window streams what the MVAU reads


@pytest.mark.parametrize(("model", "plan"), shipped_params())
@pytest.mark.parametrize("device", DEVICES)
def test_folding_fits_the_device_and_uses_it(model, plan, device, shipped_case):
    q = shipped_case(model, plan)
    fold = finn_folding(q, MNIST_SHAPE, device)
    assert fits(q, MNIST_SHAPE, fold, device)
    used = resources(q, MNIST_SHAPE, fold)
    serial = resources(q, MNIST_SHAPE, {k: {"PE": 1, "SIMD": 1} for k in fold})
    assert used["max_cycles"] < serial["max_cycles"] / 4  # the budget was spent on parallelism
    dsp_max, _ = budget(get_device(device))
    assert used["dsp"] <= dsp_max
