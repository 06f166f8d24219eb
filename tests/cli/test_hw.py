"""`ohq hw` end to end: the JSON contract, plots, probes, and one-line errors with exit code 2.

Most cases call the real entry point `ohq.cli.main` in this process (a subprocess per case costs
seconds of torch import on a shared machine); one case runs the console script in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ohq.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clitools import assert_one_line_error  # noqa: E402

SMALL = ("--model", "small_cnn", "--input", "1,1,28,28")
EXAMPLE = str(Path(__file__).resolve().parents[2] / "docs" / "examples" / "probe_small_cnn_xc7z020.csv")
LAYER_KEYS = {"name", "kind", "params", "macs", "w_bits", "scheme", "cycles", "latency_ms", "energy_mj",
              "bram18k", "dsp", "lut", "dram_bytes"}
CYCLE_KEYS = {"compute", "transfer", "writeback", "postprocess", "total"}
TOTAL_KEYS = {"cycles", "latency_ms", "energy_mj", "bram18k_peak", "dsp_peak", "lut_peak"}


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run `ohq ARGS` in-process: a CompletedProcess-like result with returncode, stdout, stderr."""

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess:
        monkeypatch.setattr(sys, "argv", ["ohq", *args])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code or 0
        out, err = capsys.readouterr()
        assert code == expect, f"exit {code}\nstdout:{out}\nstderr:{err}"
        return subprocess.CompletedProcess(args, code, out, err)

    return run


@pytest.fixture
def cli_json(cli):
    return lambda *args: json.loads(cli(*args, "--json").stdout)


def test_json_keys_exactly_as_documented(cli_json):
    doc = cli_json("hw", *SMALL, "--device", "zcu102", "--bits", "4")
    assert set(doc) == {"model", "device", "probe", "layers", "total"}
    assert (doc["model"], doc["device"], doc["probe"]) == ("small_cnn", "xczu9eg-ffvb1156-2-e", "fpga-model")
    for layer in doc["layers"]:
        assert set(layer) == LAYER_KEYS and set(layer["cycles"]) == CYCLE_KEYS
        assert layer["w_bits"] == 4 and layer["scheme"] == "uniform"
    assert set(doc["total"]) == TOTAL_KEYS
    assert doc["total"]["cycles"] == sum(layer["cycles"]["total"] for layer in doc["layers"])


def test_config_plot_and_table(tmp_path, cli, cli_json):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"features.0.0": {"w_bits": 4, "scheme": "sp2"}, "_default": 8}))
    png = tmp_path / "costs.png"
    doc = cli_json("hw", *SMALL, "--config", str(plan), "--plot", str(png))
    assert doc["layers"][0]["scheme"] == "sp2" and doc["layers"][1]["w_bits"] == 8
    assert png.stat().st_size > 10_000
    out = cli("hw", *SMALL, "--scheme", "pot", "--bits", "3").stdout
    assert "total" in out and "features.0.0" in out


def test_file_probe_from_cli(cli_json):
    doc = cli_json("hw", *SMALL, "--probe", "file", "--probe-file", EXAMPLE, "--bits", "8")
    assert doc["probe"] == "file" and doc["total"]["cycles"] > 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--model", "no_such_model"), "unknown model"),
        ((*SMALL, "--device", "xc7k325t"), "unknown device"),
        (("--model", "small_cnn", "--input", "1,3,28,28"), "cannot take an input"),
        ((*SMALL, "--bits", "32"), "cannot run on the accelerator"),
        ((*SMALL, "--bits", "12"), "cannot have 12 bits"),
        ((*SMALL, "--scheme", "pot", "--bits", "8"), "cannot have 8 bits"),
        ((*SMALL, "--scheme", "log2"), "unknown scheme"),
        ((*SMALL, "--probe", "gpu"), "unknown probe"),
        ((*SMALL, "--probe", "file"), "needs a probe file"),
        ((*SMALL, "--probe", "file", "--probe-file", EXAMPLE, "--bits", "6"), "no record for layer"),
        ((*SMALL, "--bits", "4", "--config", "x.json"), "not both"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, args, fragment):
    assert_one_line_error(cli("hw", *args, expect=2), fragment)


def test_console_script_exit_code_and_single_line():
    proc = subprocess.run(
        [sys.executable, "-c", "from ohq.cli import main; main()", "hw", *SMALL, "--device", "nope"],
        capture_output=True, text=True, timeout=300,
    )
    assert_one_line_error(proc, "unknown device 'nope'")


def test_malformed_probe_and_config_files(tmp_path, cli):
    bad = tmp_path / "bad.csv"
    bad.write_text("layer,w_bits,compute\nfc,8,1\n")
    assert_one_line_error(cli("hw", *SMALL, "--probe", "file", "--probe-file", str(bad), expect=2), "missing field")
    cfg = tmp_path / "plan.json"
    cfg.write_text(json.dumps({"no.such.layer": 4}))
    assert_one_line_error(cli("hw", *SMALL, "--config", str(cfg), expect=2), "no.such.layer")
