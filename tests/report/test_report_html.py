import base64
import re

import pytest
from PIL import Image

from ohq.errors import OhqError
from ohq.pipeline import Request, run_pipeline
from ohq.report import result_points, write_report_html, write_run_artifacts

ARTIFACTS = ["layers.csv", "sensitivity.png", "cycles_vs_params.png", "energy_vs_params.png",
             "pareto.png", "report.html"]


def check_self_contained(page: str) -> None:
    assert "data:image/png;base64," in page
    assert 'src="http' not in page and "href=" not in page and "<script" not in page
    for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page):
        assert base64.b64decode(data).startswith(b"\x89PNG")


def test_report_html(result, tmp_path):
    extra = [("Baselines <vs> & co", ["method", "top-1", "size (MiB)"],
              [["HAWQ-V3", 0.98, 0.035], ["<script>alert(1)</script>", None, 1]])]
    path = write_report_html(result, tmp_path, result_points(result), extra)
    assert path == tmp_path / "report.html"
    page = path.read_text()
    check_self_contained(page)
    assert page.count("data:image/png;base64,") == 4
    for layer in result.layers:
        assert __import__("html").escape(layer.name) in page
    assert "conv&lt;3&gt;&amp;" in page and "conv<3>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Baselines &lt;vs&gt; &amp; co" in page
    for text in ("digits_cnn", "xc7z020", "fpga-model", "digits (real, train split)", "99.44 %",
                 "Stage wall times", "evaluate"):
        assert text in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_report_html_without_pareto(result, tmp_path):
    page = write_report_html(result, tmp_path).read_text()
    assert page.count("data:image/png;base64,") == 3


def test_report_rejects_bad_input(result, tmp_path):
    with pytest.raises(OhqError, match="does not exist"):
        write_report_html(result, tmp_path / "missing")
    with pytest.raises(OhqError, match="cells"):
        write_run_artifacts(result, tmp_path, extra_tables=[("t", ["a", "b"], [[1]])])
    assert list(tmp_path.iterdir()) == []  # nothing half-written


DAMAGE = {"layers": ["conv1", "fc"], "bits": [2, 4], "n_test": 100, "spearman": {"2": 1.0, "4": None},
          "predicted": [[0.3, 0.01], [0.1, 0.0]], "measured": [[0.25, 0.02], [0.12, 0.0]]}


def test_run_artifacts(result, tmp_path):
    result.extra["damage"] = DAMAGE  # the run measured its damage: damage.png joins the figures
    paths = write_run_artifacts(result, tmp_path, pareto_points=result_points(result))
    assert sorted(paths) == sorted([*ARTIFACTS, "damage.png"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*ARTIFACTS, "damage.png"])
    for name, path in paths.items():
        assert path == tmp_path / name and path.stat().st_size > 0
        if name.endswith(".png"):
            with Image.open(path) as im:
                assert im.format == "PNG"
    # the embedded figures are the files written next to the page
    page = paths["report.html"].read_text()
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert base64.b64decode(embedded[0]) == paths["sensitivity.png"].read_bytes()
    assert paths["damage.png"].read_bytes() in [base64.b64decode(b) for b in embedded]
    assert "Predicted vs measured top-1 drop" in page


@pytest.mark.slow
def test_real_pipeline_report(tmp_path):
    result = run_pipeline(Request("digits_cnn", data="digits", size_ratio=0.5, samples=16, calib=64))
    paths = write_run_artifacts(result, tmp_path, pareto_points=result_points(result))
    assert sorted(paths) == sorted([*ARTIFACTS, "damage.png"])  # the default qmqe measured its damage
    lines = paths["layers.csv"].read_text().splitlines()
    assert len(lines) == 1 + len(result.layers)
    page = paths["report.html"].read_text()
    check_self_contained(page)
    for layer in result.layers:
        assert layer.name in page
        assert any(line.startswith(layer.name + ",") for line in lines)

