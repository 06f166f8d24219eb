"""The referee's fitting machinery: features reproduce the model, the fit recovers known constants,
layer sampling keeps every kind; and the one SVPE answer is the same through `ohq hw` and the bench."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from ohq.cli import app
from ohq.graph import layer_graph
from ohq.hw import calibrate as cal
from ohq.hw import estimate, get_device
from ohq.hw.cost import STEPS
from ohq.hw.fidelity import SVPE_PLAN, svpe_comparison
from ohq.hw.referee import Row, distinct_layers, network_graph
from ohq.models import create_model

ZERO = dict.fromkeys((*STEPS, "total"), 0)


@pytest.fixture(scope="module")
def graph():
    return layer_graph(create_model("small_cnn"), (1, 1, 28, 28))


@pytest.mark.parametrize("bits", [4, 8])
def test_features_reproduce_the_model(graph, bits):
    dev = get_device("xc7z020")
    f = cal.features([Row("m", lay, 1, bits, ZERO) for lay in graph.layers], dev)
    pred = cal.predict(f, dev, {**cal.shipped_params(dev), "layer_overhead_cycles": dev.layer_overhead_cycles})
    report = estimate(graph, dev, bits)
    for s in STEPS:
        assert pred[s].tolist() == [c.cycles[s] for c in report.layers], s


def test_fit_recovers_known_constants(graph):
    dev = get_device("xc7z020")
    truth = {"dma_efficiency": 0.55, "dma_setup_cycles": 350, "img2col_elems_per_cycle": 4,
             "postprocess_word_bits": 32}
    rows = [Row("m", lay, 1, b, ZERO) for b in (4, 8) for lay in graph.layers]
    f = cal.features(rows, dev, lanes=16)
    f.rtl = cal.predict(f, dev, truth)
    mask = np.ones(len(rows), bool)
    assert cal.fit(f, dev, mask) == truth
    errs = cal.step_errors(f, cal.predict(f, dev, truth), mask)
    assert all(abs(v) < 1e-12 for v in errs.values())
    assert cal.loss(f, cal.predict(f, dev, cal.shipped_params(dev)), mask) > 0.05


def test_sampling_keeps_every_layer_kind():
    g = network_graph("mobilenet_v2")
    full = distinct_layers(g)
    assert sum(n for _, n in full) == len(g.layers)
    sampled = distinct_layers(g, 12)
    assert len(sampled) < len(full)
    assert {lay.kind for lay, _ in sampled} == {lay.kind for lay in g.layers}
    assert g.layers[0].name == sampled[0][0].name


def test_svpe_answer_is_the_same_through_ohq_hw():
    c = svpe_comparison("zcu102", "alexnet")
    runner = CliRunner()
    w, a, scheme = SVPE_PLAN
    ms = {}
    for label, args in (("svpe", ["--scheme", scheme, "--bits", str(w), "--a-bits", str(a)]),
                        ("mac", ["--scheme", "uniform", "--bits", "16"])):
        out = runner.invoke(app, ["hw", "-m", "alexnet", "--device", "zcu102", *args, "--json"])
        assert out.exit_code == 0, out.output
        ms[label] = json.loads(out.stdout)["total"]["latency_ms"]
    assert ms["svpe"] == pytest.approx(c.svpe_ms, rel=1e-9)
    assert ms["mac"] == pytest.approx(c.mac_ms, rel=1e-9)
    assert ms["mac"] / ms["svpe"] == pytest.approx(c.speedup, rel=1e-9)
    assert 1 < c.speedup < 4 and c.vpe_ms > c.svpe_ms
