import json
import sys

import pytest
from clitools import assert_one_line_error, run_cli, run_json

from ohq.rundir import load_run


def test_quantize_writes_a_complete_run_directory(tmp_path):
    out = tmp_path / "run"
    doc = run_json("quantize", "--model", "digits_cnn", "--data", "digits", "--size-ratio", "0.5",
                   "--samples", "16", "--calib", "64", "--out", str(out))
    keys = {"model", "device", "budget", "objective", "solve_ms", "size_mib", "latency_ms", "energy_mj",
            "top1_fp32", "top1_int8", "top1_mixed", "layers"}
    assert keys <= set(doc)
    assert doc["budget_text"].endswith("= W4 + 50 % of the way to W8") and doc["size_mib_fp32"] > doc["size_mib"]
    layer = doc["layers"][0]
    assert {"name", "bits", "scheme", "omega", "sensitivity", "cycles", "energy_mj", "size_mib_by_bits"} <= set(layer)
    assert set(layer["size_mib_by_bits"]) == {"4", "8"}
    for name in ("config.json", "calib.npz", "quantized.pt", "layers.csv", "report.html",
                 "sensitivity.png", "cycles_vs_params.png", "energy_vs_params.png"):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["type"] == "ohq.run" and config["plan"]["type"] == "ohq.plan"
    assert "LayerName" in config["hls4ml"]
    run = load_run(out)  # the run rebuilds the same quantized model
    assert {n: s.w_bits for n, s in run.qmodel.specs.items()} == {row["name"]: row["bits"] for row in doc["layers"]}

    # An existing run directory is refused without --force, and nothing is touched.
    before = sorted(p.name for p in out.iterdir())
    proc = run_cli("quantize", "--model", "digits_cnn", "--data", "digits", "--size-ratio", "0.5",
                   "--out", str(out), expect=2)
    assert_one_line_error(proc, "--force")
    assert sorted(p.name for p in out.iterdir()) == before
    # With --force, a file ohq did not write stops it before any work, naming the file.
    (out / "keep.txt").write_text("mine")
    proc = run_cli("quantize", "--model", "digits_cnn", "--data", "digits", "--size-ratio", "0.5",
                   "--out", str(out), "--force", expect=2)
    assert_one_line_error(proc, "keep.txt")
    assert (out / "keep.txt").read_text() == "mine"


def test_quantize_bad_input_is_one_line(tmp_path):
    out = str(tmp_path / "r")
    assert_one_line_error(
        run_cli("quantize", "--model", "digits_cnn", "--data", "digits", "--out", out, "--objective", "paper", expect=2), "size budget"
    )
    assert_one_line_error(
        run_cli("quantize", "--model", "digits_cnn", "--data", "digits", "--size-mib", "0.0001",
                "--samples", "4", "--calib", "8", "--out", out, expect=2),
        "reachable values run from",
    )
    assert_one_line_error(
        run_cli("quantize", "--model", "digits_cnn", "--device", "nope", "--size-ratio", "0.5", "--out", out,
                "--data", "digits", expect=2),
        "nope",
    )
    assert not (tmp_path / "r").exists()


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """`ohq ARGS` in process (the console script's `main` boundary; a subprocess costs seconds)."""
    from ohq.cli import main

    monkeypatch.setattr(sys, "argv", ["ohq", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    captured = capsys.readouterr()
    return exit_.value.code, captured.out, captured.err


def test_candidates_choose_the_scheme_per_layer(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    code, stdout, _ = _main(monkeypatch, capsys, "quantize", "--model", "digits_cnn", "--data", "digits",
                            "--candidates", "uniform:4,uniform:8,pot:4,sp2:4", "--latency-ms", "0.90",  # all-W4 0.885 ms, all-W8 0.909
                            "--samples", "4", "--calib", "16", "--out", str(out), "--json")
    assert code in (0, None)
    doc = json.loads(stdout)
    assert doc["latency_ms"] <= 0.90
    assert {(row["scheme"], row["bits"]) for row in doc["layers"]} <= {("uniform", 4), ("uniform", 8), ("pot", 4),
                                                                       ("sp2", 4)}
    assert set(doc["layers"][0]["size_mib_by_bits"]) == {"uniform:4", "uniform:8", "pot:4", "sp2:4"}
    config = json.loads((out / "config.json").read_text())
    assert config["request"]["candidates"] == ["uniform:4", "pot:4", "sp2:4", "uniform:8"]
    plan = config["plan"]["layers"]
    assert {n: (s["scheme"], s["w_bits"]) for n, s in plan.items()} == {
        row["name"]: (row["scheme"], row["bits"]) for row in doc["layers"]}
    assert "latency_ms_sp2:4" in (out / "layers.csv").read_text().splitlines()[0]


@pytest.mark.parametrize("args, message", [
    (("--candidates", "uniform4,pot:8"), "scheme:bits"),
    (("--candidates", "pot:8"), "cannot have 8 bits"),
    (("--candidates", "uniform:4", "--bits", "4,6"), "not both"),
])
def test_bad_candidates_exit_2(tmp_path, monkeypatch, capsys, args, message):
    out = tmp_path / "r"
    code, _, stderr = _main(monkeypatch, capsys, "quantize", "--model", "digits_cnn", "--data", "digits",
                            "--size-ratio", "0.5", "--out", str(out), *args)
    err = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not out.exists()
