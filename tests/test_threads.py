"""Thread defaults: OMP_NUM_THREADS is respected, else min(cores, 4); --threads overrides."""

from __future__ import annotations

import os

import pytest
import torch

from ohq.errors import OhqError
from ohq.threads import MAX_DEFAULT, default_threads, set_threads


def test_default_respects_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() == max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT))


def test_set_threads_and_bad_value():
    before = torch.get_num_threads()
    try:
        assert set_threads(2) == 2 and torch.get_num_threads() == 2
        with pytest.raises(OhqError, match="--threads"):
            set_threads(0)
    finally:
        torch.set_num_threads(before)


def test_every_heavy_command_takes_threads():
    from ohq.cli import app

    heavy = {"train", "analyze", "quantize", "demo", "eval", "distill", "hw", "compare", "export"}
    seen = set()
    for cmd in app.registered_commands:
        name = cmd.name or cmd.callback.__name__
        if name.rstrip("_") in heavy:
            seen.add(name.rstrip("_"))
            assert "threads" in cmd.callback.__annotations__, name
    assert seen == heavy


def test_analyze_says_it_distills(monkeypatch):
    from ohq.cli import analyze, distill

    labels = []

    def fake(loaded, shape, n, steps, *args, label="distill"):
        labels.append(label)
        return type("D", (), {"x": torch.zeros(n, *shape[1:])})(), 0.0

    monkeypatch.setattr(distill, "run_distill", fake)  # analyze imports it lazily
    analyze._load_inputs(None, (1, 1, 8, 8), None, None, 4, 0, 500)
    assert labels == ["no --data: distilling 4 inputs, 500 steps"]
