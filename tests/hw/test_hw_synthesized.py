"""Device constants of kind `synthesized` are what the stored yosys figures give."""

from __future__ import annotations

import pytest
from rtl.conftest import needs_yosys

from ohq.hw import get_device, list_devices
from ohq.hw.synthesized import derive

SYNTHESIZED = [p for p in list_devices() if get_device(p).synthesis]


def test_some_device_is_sourced_from_yosys():
    assert SYNTHESIZED


@pytest.mark.parametrize("part", SYNTHESIZED)
def test_stored_figures_reproduce_the_constants(part):
    dev = get_device(part)
    kinds = {name for name, _v, _u, kind, _s in dev.describe() if kind == "synthesized"}
    derived = derive(dev)
    assert kinds == set(derived)
    for name, value in derived.items():
        assert getattr(dev, name) == value, name
    assert dev.synthesis["tool"].startswith("Yosys ")


@pytest.mark.parametrize("part", SYNTHESIZED)
def test_stored_figures_are_recorded_yosys_runs(part):
    """The device data's figures are rows of resources.json, with the same command and version."""
    from ohq.hw.rtl.synth import recorded

    syn = get_device(part).synthesis
    for unit in ("engine", "tree"):
        fig = syn[unit]
        rows = [r for r in recorded(fig["unit"]) if r["source"] == f"{syn['tool']}; {fig['command']}"]
        assert any(all(r[k] == fig[k] for k in ("lut", "ff", "dsp", "ramb18", "lanes")) for r in rows), unit


@pytest.mark.slow  # one yosys run of the 8-lane tree
@needs_yosys
def test_yosys_still_gives_the_stored_tree_counts():
    from ohq.hw.rtl import RtlConfig
    from ohq.hw.rtl.synth import script, synthesize

    syn = get_device(SYNTHESIZED[0]).synthesis
    cfg = RtlConfig(lanes=syn["tree"]["lanes"])
    assert script(cfg).strip().replace("\n", "; ") == syn["tree"]["command"]
    res = synthesize(cfg)
    assert {k: res[k] for k in ("lut", "ff", "dsp")} == {k: syn["tree"][k] for k in ("lut", "ff", "dsp")}
