"""Every probe through the one interface; the file probe's format and its errors; the cpu probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from ohq.errors import OhqError
from ohq.graph import layer_graph
from ohq.hw import STEPS, cost_table, estimate, get_probe, list_probes
from ohq.hw.cpu_probe import kernel_kind
from ohq.models import create_model

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
CSV = EXAMPLES / "probe_small_cnn_xc7z020.csv"
JSON = EXAMPLES / "probe_small_cnn_xc7z020.json"
# rtl: 8 lanes with the device's buffers and DMA (the build test_rtl_quantize shares); the device's
# own 192/484-lane builds take minutes of Verilator each and are what bench/bench_rtl.py runs
OPTS = {"fpga-model": {}, "cpu": {"repeats": 3, "warmup": 1}, "file": {"path": CSV},
        "rtl": {"overrides": {"lanes": 8}}}


@pytest.fixture(scope="module")
def graph():
    return layer_graph(create_model("small_cnn"), (1, 1, 28, 28))


@pytest.mark.parametrize("name", list_probes())
def test_every_probe_measures_every_layer(name, graph):
    table = cost_table(graph, "xc7z020", (4, 8), probe=get_probe(name, **OPTS.get(name, {})))
    assert list(table) == graph.names
    for row in table.values():
        for bits, cost in row.items():
            assert cost.w_bits == bits
            assert cost.cycles["total"] == sum(cost.cycles[s] for s in STEPS) > 0
            assert all(cost.cycles[s] >= 0 for s in STEPS)
            assert cost.latency_ms > 0 and cost.energy_mj >= 0


def test_file_probe_csv_and_json_agree_with_the_model(graph):
    model = estimate(graph, "xc7z020", 4)
    for path in (CSV, JSON):
        board = estimate(graph, "xc7z020", 4, "file", path=path)
        assert [c.cycles for c in board.layers] == [c.cycles for c in model.layers]
        assert board.total["latency_ms"] == pytest.approx(model.total["latency_ms"])


def test_file_probe_missing_record(graph):
    with pytest.raises(OhqError, match="no record for layer 'features.0.0' at 6 bits"):
        estimate(graph, "xc7z020", 6, "file", path=CSV)


HEADER = "layer,w_bits,compute,transfer,writeback,postprocess"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.csv", "layer,w_bits,compute,transfer,writeback\nfc,8,1,2,3\n", "missing field"),
        ("negative.csv", f"{HEADER}\nfc,8,1,-2,3,4\n", "non-negative"),
        ("word.csv", f"{HEADER}\nfc,8,1,two,3,4\n", "must be a number"),
        ("frac.csv", f"{HEADER}\nfc,8.5,1,2,3,4\n", "whole number"),
        ("unknown.csv", f"{HEADER},speed\nfc,8,1,2,3,4,9\n", "unknown field"),
        ("dup.csv", f"{HEADER}\nfc,8,1,2,3,4\nfc,8,1,2,3,4\n", "duplicate record"),
        ("long.csv", f"{HEADER}\nfc,8,1,2,3,4,5\n", "more values"),
        ("empty.csv", "", "empty CSV"),
        ("bad.json", "{\"layers\": [", "not valid JSON"),
        ("keys.json", "{\"rows\": []}", "expected keys"),
        ("list.json", "{\"layers\": [1, 2]}", "list of objects"),
        ("probe.txt", HEADER, "use a .csv or .json"),
    ],
)
def test_file_probe_rejects_malformed(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(OhqError, match=message):
        get_probe("file", path=path)


def test_file_probe_needs_existing_file(tmp_path):
    with pytest.raises(OhqError, match="does not exist"):
        get_probe("file", path=tmp_path / "nope.csv")
    with pytest.raises(OhqError, match="needs a probe file"):
        get_probe("file")


def test_cpu_probe_is_honest_about_low_bits(graph):
    assert kernel_kind(4, 4) == kernel_kind(8, 8) == "int8" and kernel_kind(16, 16) == "fp32"
    probe = get_probe("cpu", repeats=3, warmup=1)
    r4 = estimate(graph, "xc7z020", 4, probe)
    r8 = estimate(graph, "xc7z020", 8, probe)
    # the same INT8 kernel runs at 4 and 8 bits: the probe reports the same timings, no made-up speed-up
    assert [c.cycles for c in r4.layers] == [c.cycles for c in r8.layers]


def test_unknown_probe():
    with pytest.raises(OhqError, match="unknown probe 'gpu'; known probes: fpga-model"):
        get_probe("gpu")
