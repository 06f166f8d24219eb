"""Device profiles: every shipped part loads, aliases resolve, every constant carries a source."""

from __future__ import annotations

import pytest

from ohq.errors import OhqError
from ohq.hw import balanced_sp2_share, get_device, list_devices
from ohq.hw.accelerator import bram_plan
from ohq.hw.device import KINDS


@pytest.mark.parametrize("part", list_devices())
def test_profile_is_sourced_and_sane(part):
    dev = get_device(part)
    assert dev.part == part
    for name, _value, _unit, kind, source in dev.describe():
        assert kind in KINDS and source.strip(), name
    assert dev.pe_dsp <= dev.dsp * dev.dsp_util_max
    assert dev.shell_lut + dev.pe_lut <= dev.lut * dev.lut_util_max
    plan = bram_plan(dev)
    used = plan.weight_bram36 + plan.feature_bram36 + plan.output_bram36
    assert used <= dev.bram36 * dev.bram_util_max and plan.l_max <= dev.l_max_cap
    assert 0 < dev.dram_bytes_per_cycle


@pytest.mark.parametrize("part", list_devices())
def test_balanced_sp2_share_in_open_unit_interval(part):
    assert 0 < balanced_sp2_share(part) < 1


@pytest.mark.parametrize(
    ("alias", "part"),
    [("xc7z020", "xc7z020clg400-1"), ("xc7z045", "xc7z045ffg900-2"), ("zcu102", "xczu9eg-ffvb1156-2-e"),
     ("XC7Z020", "xc7z020clg400-1")],
)
def test_aliases(alias, part):
    assert get_device(alias).part == part


def test_unknown_device_lists_known_ones():
    with pytest.raises(OhqError, match="known devices: xc7z020clg400-1"):
        get_device("xc7k325t")


def test_paper_board_facts():
    dev = get_device("xc7z020")
    assert (dev.lut, dev.bram36, dev.dsp, dev.ddr_width_bits) == (53200, 140, 220, 16)
    assert bram_plan(dev).l_max == 128  # the OHQ paper §4.1
