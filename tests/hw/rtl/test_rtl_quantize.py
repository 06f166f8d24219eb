"""`ohq quantize --probe rtl` end to end on digits_cnn: the ILP trades on the simulated chip's counters.

Device-size builds (192 lanes at INT8, 484 at INT4) take minutes to compile and simulate slowly,
so the probe runs 8-lane builds (`OHQ_RTL_LANES`, the device's own buffers and DMA); the counters
it reports must be exactly those the `rtl` probe gives for the chosen plan, and differ from the
analytical model's, so the test fails if the CLI stops using the RTL.
"""

import json

import pytest
from clitools import run_cli

from ohq.graph import layer_graph
from ohq.hw import estimate, get_probe
from ohq.hw.rtl.probe import LANES_ENV
from ohq.models import load_model

from .conftest import needs_verilator

LANES = 8


@needs_verilator
@pytest.mark.slow
def test_quantize_probes_the_chip_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv(LANES_ENV, str(LANES))
    out = tmp_path / "run"
    doc = json.loads(run_cli("quantize", "-m", "digits_cnn", "--probe", "rtl", "-o", str(out), "--samples", "8",
                             "--calib", "16", "--size-ratio", "0.5", "--json").stdout)
    assert json.loads((out / "config.json").read_text())["probe"] == "rtl"
    bits = {layer["bits"] for layer in doc["layers"]}
    assert bits <= {4, 8} and doc["size_mib"] <= doc["budget"]["size_mib"]
    assert doc["top1_mixed"] > 0.9

    loaded = load_model("digits_cnn")
    graph = layer_graph(loaded.model, loaded.input_shape)
    plan = {layer["name"]: layer["bits"] for layer in doc["layers"]}
    chip = estimate(graph, "xc7z020", plan, get_probe("rtl", overrides={"lanes": LANES}))
    model = estimate(graph, "xc7z020", plan)
    for got, rtl, ana in zip(doc["layers"], chip.layers, model.layers, strict=True):
        assert got["cycles"] == rtl.cycles, got["name"]
        assert got["cycles"] != ana.cycles, got["name"]
    assert doc["latency_ms"] == pytest.approx(chip.total["latency_ms"], rel=1e-3)


def test_lanes_env_must_be_positive(monkeypatch):
    from ohq.errors import OhqError

    monkeypatch.setenv(LANES_ENV, "zero")
    with pytest.raises(OhqError, match=LANES_ENV):
        get_probe("rtl")
    monkeypatch.setenv(LANES_ENV, "16")
    assert get_probe("rtl").overrides == {"lanes": 16}
