"""The embedded default shows what hardware awareness buys: a latency budget INT8 cannot meet,
met by a mixed plan close to FP32 top-1."""

from __future__ import annotations

import pytest

from ohq.cli.quantize import DEMO_LATENCY_MS, demo_request
from ohq.pipeline import prepare


@pytest.mark.slow
def test_demo_budget_binds_and_is_met_close_to_fp32():
    req = demo_request()
    prep = prepare(req)
    int8, int4 = prep.totals(8)["latency_ms"], prep.totals(4)["latency_ms"]
    assert int4 < DEMO_LATENCY_MS < int8  # INT8 cannot meet it; a plan can
    alloc, _ = prep.allocate(prep.sensitivity(req.sensitivity), prep.budgets())
    assert prep.totals(alloc.bits)["latency_ms"] <= DEMO_LATENCY_MS
    mixed, fp32 = prep.top1(prep.quantize(prep.plan(alloc.bits))), prep.top1(prep.model)
    assert mixed >= fp32 - 0.005, (mixed, fp32)
