import pytest
from matplotlib import pyplot as plt
from PIL import Image
from report_fixtures import make_result

from ohq.errors import OhqError
from ohq.report import (
    plot_cycles_vs_params,
    plot_energy_vs_params,
    plot_pareto,
    plot_sensitivity,
    result_points,
)
from ohq.report.plots import pareto_front


def check_png(path):
    assert path.stat().st_size > 1000
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width > 200 and im.height > 200


@pytest.mark.parametrize("plot", [plot_sensitivity, plot_cycles_vs_params, plot_energy_vs_params])
def test_layer_plots_are_pngs(plot, result, tmp_path):
    before = plt.get_fignums()
    path = plot(result, tmp_path / "fig.png")
    assert path == tmp_path / "fig.png"
    check_png(path)
    assert plt.get_fignums() == before  # no figure left open


def test_sensitivity_without_masked_top1(tmp_path):
    check_png(plot_sensitivity(make_result(masked=False), tmp_path / "s.png"))


def test_cost_plots_with_zero_energy(result, tmp_path):
    for layer in result.layers:  # the cpu probe reports no energy: no log scale, still a plot
        layer.energy_mj_by_bits = {b: 0.0 for b in layer.energy_mj_by_bits}
    check_png(plot_energy_vs_params(result, tmp_path / "e.png"))


def test_pareto(result, tmp_path):
    points = result_points(result) + [
        {"label": "W4A8", "top1": 0.95, "size_mib": 0.03, "latency_ms": 0.57},
        {"label": "HAWQ-V3", "top1": 0.98, "size_mib": 0.035, "latency_ms": 0.59},
        {"label": "random", "top1": None, "size_mib": 0.03, "latency_ms": 0.58},
    ]
    check_png(plot_pareto(points, tmp_path / "pareto.png"))


def test_pareto_all_without_top1_still_draws(tmp_path):
    points = result_points(make_result(top1=False))
    check_png(plot_pareto(points, tmp_path / "pareto.png"))


@pytest.mark.parametrize("points", [
    [],
    [{"label": "x", "top1": 0.9, "size_mib": 1.0}],                                  # missing key
    [{"label": "x", "top1": 0.9, "size_mib": 1.0, "latency_ms": 1, "acc": 1}],      # unknown key
    [{"label": "x", "top1": 90.0, "size_mib": 1.0, "latency_ms": 1.0}],             # percent
    [{"label": "x", "top1": 0.9, "size_mib": 0.0, "latency_ms": 1.0}],
])
def test_pareto_rejects_bad_points(points, tmp_path):
    with pytest.raises(OhqError):
        plot_pareto(points, tmp_path / "pareto.png")
    assert not (tmp_path / "pareto.png").exists()


def test_pareto_front():
    pts = [{"label": k, "top1": t, "size_mib": s} for k, t, s in
           [("a", 0.9, 1.0), ("b", 0.95, 2.0), ("c", 0.93, 3.0), ("d", 0.99, 4.0)]]
    assert [p["label"] for p in pareto_front(pts)] == ["a", "b", "d"]


def test_result_points(result):
    labels = [p["label"] for p in result_points(result)]
    assert labels == ["FP32", "W8A8", "mixed OHQ"]
    fp32 = result_points(result)[0]
    assert fp32["latency_ms"] is None
    assert fp32["size_mib"] == pytest.approx(sum(r.params for r in result.layers) * 4 / 2**20)


def test_result_points_names_activation_bits(result):
    result.request.a_bits = 4
    assert result_points(result)[1]["label"] == "W8A4"
