"""Device constants of kind `synthesized` are what the stored yosys figures give."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rtl.conftest import needs_yosys

from ohq.hw import get_device, list_devices
from ohq.hw.accelerator import lut_mult_luts, lut_pes, product_luts, shift_luts
from ohq.hw.synthesized import derive
from ohq.quant.resource import Resource

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


def _product_rows(part):
    """(table key, stored LUTs, the resources.json rows made with today's script for it)."""
    from ohq.hw.rtl import RtlConfig
    from ohq.hw.rtl.synth import FAMILY, PRODUCT_GRID, PRODUCT_LANES, recorded, script, source
    from ohq.hw.synthesized import product_key

    dev = get_device(part)
    fam, table = FAMILY[dev.family], dev.synthesis["products"]
    for scheme, w, a in PRODUCT_GRID:
        cfg = RtlConfig(lanes=PRODUCT_LANES, scheme=scheme, w_bits=w, a_bits=a)
        src = source(dev.synthesis["tool"], script(cfg, fam))
        key = product_key(scheme, w, cfg.a_container)
        yield key, table["lut"][key], [r for r in recorded("ohq_tree") if r["family"] == fam and r["source"] == src]


@pytest.mark.parametrize("part", SYNTHESIZED)
def test_product_table_is_todays_yosys_runs(part):
    """Every PRODUCT_GRID lane has a stored count, and it is the latest resources.json row made
    with the script `ohq.hw.rtl.synth.script` writes today."""
    for key, lut, rows in _product_rows(part):
        assert rows and rows[-1]["lut"] == lut, key


@pytest.mark.parametrize("part", SYNTHESIZED)
@pytest.mark.parametrize("resource", [Resource.DSP, Resource.SHIFT, Resource.SHIFT_ADD])
def test_the_model_reads_lut_products_from_yosys(part, resource):
    dev = get_device(part)
    scheme = {Resource.DSP: "uniform", Resource.SHIFT: "pot", Resource.SHIFT_ADD: "sp2"}[resource]
    table = dev.synthesis["products"]
    lut = table["lut"][f"{scheme} W3A4"]
    assert product_luts(resource, 3, 3, dev) == product_luts(resource, 3, 4, dev) == lut / (2 * table["lanes"])
    assert lut_pes(resource, 3, 3, dev) == int(dev.pe_lut // (lut / (2 * table["lanes"])))


def test_without_yosys_figures_the_formulas_stand():
    dev = get_device("xc7z020")
    bare = replace(dev, synthesis={})
    assert product_luts(Resource.DSP, 4, 4, bare) == lut_mult_luts(4, 4)
    assert product_luts(Resource.SHIFT, 4, 8, bare) == shift_luts(4, 8)
    assert product_luts(Resource.SHIFT, 4, 32, dev) == shift_luts(4, 32)  # outside the grid


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
    # a LUT-multiplier tree (~8 CPU s)
    res = synthesize(RtlConfig(lanes=syn["products"]["lanes"], scheme="uniform", w_bits=4, a_bits=4))
    assert res["lut"] == syn["products"]["lut"]["uniform W4A4"]
