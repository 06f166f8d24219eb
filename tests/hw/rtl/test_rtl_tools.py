"""Tool failures and device fits are one line: a failed Verilator/yosys run quotes the tool's last
error line, a synthesis result names the resource it overflows; and the RAM template maps to block
RAM (the one yosys run here, a single 2048x8 memory)."""

import shutil
import stat

import pytest
from clitools import assert_one_line_error, run_cli

from ohq.errors import OhqError
from ohq.hw import get_device
from ohq.hw.rtl import RtlConfig
from ohq.hw.rtl.synth import check_fits, engine_script, parse_stat, run_script, synthesize
from ohq.hw.rtl.tools import RtlToolError, last_error

from .conftest import needs_yosys


def _fake_tool(tmp_path, name: str, line: str):
    exe = tmp_path / name
    exe.write_text(f"#!/bin/sh\necho 'building...'\necho '{line}' >&2\necho 'make: *** [all] Error 1' >&2\nexit 1\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def test_last_error_skips_make_noise():
    text = ("ok\n%Error: ohq_core.sv:12:3: syntax error, unexpected ';'\n"
            "%Error: Exiting due to 1 error(s)\nmake: *** [all] Error 1\n")
    assert last_error(text).startswith("%Error: ohq_core.sv:12:3")


@pytest.mark.skipif(shutil.which("g++") is None or shutil.which("make") is None, reason="needs g++ and make")
def test_failed_verilator_build_is_its_last_error_line(tmp_path, monkeypatch):
    """`ohq hw --probe rtl` with a Verilator that fails: exit 2, one line quoting its error."""
    exe = _fake_tool(tmp_path, "verilator", "%Error: ohq_core.sv:7:1: syntax error")
    monkeypatch.setenv("OHQ_VERILATOR", str(exe))
    monkeypatch.setenv("OHQ_CACHE", str(tmp_path / "cache"))
    proc = run_cli("hw", "-m", "digits_cnn", "--probe", "rtl", expect=2)
    assert_one_line_error(proc, "Verilator build failed", "ohq_core.sv:7:1: syntax error")


def test_failed_yosys_is_its_last_error_line(tmp_path, monkeypatch):
    monkeypatch.setenv("OHQ_YOSYS", str(_fake_tool(tmp_path, "yosys", "ERROR: Module ohq_pe not found")))
    with pytest.raises(RtlToolError, match="yosys synth_xilinx failed: ERROR: Module ohq_pe not found$"):
        synthesize(RtlConfig(lanes=2))


def test_engine_script_is_synth_xilinx_without_share():
    """The recorded whole-engine command: synth_xilinx's steps, its coarse step without `share`."""
    text = engine_script(RtlConfig(lanes=8, vec_lanes=8))
    steps = [ln.split()[0] for ln in text.splitlines()]
    assert "share" not in steps and "-set VL 8" in text
    synth = [ln for ln in text.splitlines() if ln.startswith("synth_xilinx")]
    assert synth[0].endswith("-run begin:coarse") and synth[-1].endswith("-run map_memory:")
    full = [ln.split()[0] for ln in engine_script(RtlConfig(), share=True).splitlines()]
    assert full.count("synth_xilinx") == 1 and full[full.index("synth_xilinx") + 1] == "stat"


def test_a_result_beyond_the_part_names_the_resource():
    dev = get_device("xc7z020")
    check_fits({"lut": 1000, "dsp": 10, "ramb18": 10}, dev)
    with pytest.raises(OhqError, match=rf"does not fit {dev.part}: RAMB18 900 > {dev.bram18k}$"):
        check_fits({"lanes": 8, "unit": "ohq_engine", "lut": 1000, "dsp": 10, "ramb18": 900}, dev)
    with pytest.raises(OhqError, match="LUT 99,999 > .*DSP 9,999 >"):
        check_fits({"lut": 99_999, "dsp": 9_999, "ramb18": 0}, dev)


def test_stat_counts_ultrascale_cells():
    """UltraScale+ maps onto RAMB18E2/RAMB36E2, CARRY8 and URAM288: counted like the E1 cells."""
    log = ("Printing statistics.\n   120 LUT6\n    30 FDRE\n     8 DSP48E2\n     3 RAMB18E2\n"
           "     2 RAMB36E2\n     1 RAMB18E1\n    12 CARRY8\n     1 URAM288\n     4 RAM64M\n")
    assert parse_stat(log) == {"lut": 120, "ff": 30, "dsp": 8, "ramb18": 8, "carry4": 0, "carry8": 12,
                               "uram": 1, "lutram": 4}


@pytest.mark.slow  # one tiny yosys run: ~10 s unloaded, 69 s at load 17 on 2 cores
@needs_yosys
def test_buffer_template_maps_to_block_ram():
    """ohq_ram (one write, one synchronous read port) with BLOCK = 1 is one RAMB18 at 2048x8."""
    res, version, _ = run_script("read_verilog -sv ohq_ram.sv\n"
                                 "chparam -set W 8 -set D 2048 -set BLOCK 1 ohq_ram\n"
                                 "synth_xilinx -family xc7 -top ohq_ram\nstat\n")
    assert res["ramb18"] == 1 and res["lutram"] == 0, res
    assert version.startswith("Yosys")
