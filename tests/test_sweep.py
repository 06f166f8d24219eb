"""Budget sweeps: every point is a real, evaluated plan inside its budget; fronts.png in the run."""

from __future__ import annotations

import json

import pytest
from clitools import run_cli

from ohq.pipeline import Request
from ohq.report.fronts import fronts_png
from ohq.sweep import sweep


@pytest.fixture(scope="module")
def points():
    return sweep(Request("digits_cnn", data="digits", size_ratio=0.5, samples=16, calib=64), 4, 3)


def test_sweep_covers_w4_to_w8_and_the_latency_range(points):
    uniform = [p for p in points if p["family"] == "uniform"]
    sized = [p for p in points if p["family"] == "ohq size"]
    timed = [p for p in points if p["family"] == "ohq latency"]
    assert [p["label"] for p in uniform] == ["uniform W4A4", "uniform W8A8"]
    w4, w8 = uniform
    assert len(sized) == 4 and len(timed) >= 2
    for p in sized:
        assert p["size_mib"] <= p["budget"] + 1e-9 and w4["size_mib"] - 1e-9 <= p["size_mib"] <= w8["size_mib"] + 1e-9
    for p in timed:
        assert p["latency_ms"] <= p["budget"] + 1e-9
    assert all(0 <= p["top1"] <= 1 for p in points)
    assert fronts_png(points, 0.99)[:8] == b"\x89PNG\r\n\x1a\n"


def test_quantize_sweep_writes_fronts(tmp_path):
    out = tmp_path / "run"
    run_cli("quantize", "--model", "digits_cnn", "--data", "digits", "--size-ratio", "0.5", "--samples", "16",
            "--calib", "64", "--sweep", "3", "--out", str(out))
    assert (out / "fronts.png").stat().st_size > 1000
    assert "fronts.png" in json.loads((out / ".ohq-run").read_text())["files"]
    assert "Budget sweep" in (out / "report.html").read_text()
