"""Summary wording: the budget in words, the accuracy drop named, β/γ only where they apply."""

from __future__ import annotations

from dataclasses import replace

from report_fixtures import make_result

from ohq.report.advice import accuracy_advice, budget_text, fp32_size_mib, objective_text
from ohq.report.html import report_html


def test_budget_says_what_the_ratio_means():
    result = make_result()
    assert budget_text(result) == "size ≤ 0.0434 MiB = W4 + 50 % of the way to W8"
    result.request = replace(result.request, size_ratio=None, size_mib=0.0434)
    assert budget_text(result) == "size ≤ 0.0434 MiB"


def test_no_advice_when_mixed_holds_up():
    assert accuracy_advice(make_result()) == []  # mixed 99.44 % ≥ W8A8 99.16 %


def test_a_drop_names_the_layers_and_suggests_a_bits_8():
    result = make_result()
    result.top1 = {"fp32": 0.99, "int8": 0.75, "mixed": 0.53}
    first, second = accuracy_advice(result)
    assert "22.00 points below W8A8" in first
    assert "conv<3>& (W4A4" in first and "conv4 (W4A4" in first and "conv1" not in first
    assert "--a-bits 8" in second
    result.request = replace(result.request, a_bits=8)
    assert "--a-bits 8" not in accuracy_advice(result)[1]
    assert "W4A8" in accuracy_advice(result)[0]


def test_objective_and_fp32_size():
    result = make_result()
    result.request = replace(result.request, objective="paper")  # the default is min-sensitivity
    assert objective_text(result.request) == "paper (β = 0.5, γ = 0.5)"
    req = replace(result.request, objective="min-sensitivity")
    assert objective_text(req) == "min-sensitivity"
    result.request = req
    page = report_html(result, {})
    assert "β" not in page and "min-sensitivity" in page
    assert abs(fp32_size_mib(result) - (144 + 4608 + 18432 + 36864 + 650) * 4 / 2**20) < 1e-12
