"""Baselines beside OHQ on one model, data set and device: the paper's Table 1 and Table 3.

Table 1 — FP32, uniform min–max W8A8 / W4A8 / W4A4, HAWQ-V3 (Hessian trace × ‖ΔW‖² with the
ILP, no hardware term; its own activation policy: 8-bit activations, which its score ignores),
5 seeded random allocations that fill the same size budget (mean ± std), a largest-layers-first
greedy allocation, OHQ 8/8 (calibrated on distilled data) and OHQ mixed (the pipeline default).
Table 3 — the ablation at several size ratios: vanilla (HAWQ-V3, the paper's choice), MQE only
(γ = 0), OQA only (β = 0), MQE + OQA, and the pipeline's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ohq.pipeline import Prepared, Request, prepare
from ohq.quant import Plan
from ohq.quant.size import layer_counts, weights_mib
from ohq.reporter import Reporter
from ohq.search import largest_first, random_allocation

ABLATION = (  # label, sensitivity method, objective, β, γ — vanilla is HAWQ-V3, as in the paper
    ("vanilla (HAWQ-V3)", "hessian", "min-sensitivity", 0.5, 0.0),
    ("MQE only", "mqe", "paper", 0.5, 0.0),
    ("OQA only", "mqe", "paper", 0.0, 0.5),
    ("MQE+OQA", "mqe", "paper", 0.5, 0.5),
    ("default (qmqe damage)", "qmqe", "min-sensitivity", 0.5, 0.5),
)
N_RANDOM = 5


@dataclass
class Row:
    method: str
    wa: str  # "8/8"; "*/*" = mixed weights and activations, as the paper writes it
    data: str
    size_mib: float
    latency_ms: float | None
    energy_mj: float | None
    top1: float | None
    ratio: float | None = None
    bits: dict[str, int] = field(default_factory=dict)
    top1_std: float | None = None  # the spread, for a row that is a mean over seeds

    def to_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "bits"} | {"bits": self.bits}


@dataclass
class Comparison:
    model: str
    device: str
    table1: list[Row]
    table3: list[Row]
    seconds: dict[str, float]

    def to_dict(self) -> dict:
        return {
            "model": self.model, "device": self.device, "seconds": self.seconds,
            "table1": [r.to_dict() for r in self.table1], "table3": [r.to_dict() for r in self.table3],
        }


def compare(
    req: Request, ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 0.8), reporter: Reporter | None = None
) -> Comparison:
    """Run every baseline of Table 1 at `req`'s budget and the Table 3 ablation at `ratios`."""
    rep = reporter or Reporter()
    seconds: dict[str, float] = {}
    prep = prepare(req, rep, seconds)
    data = prep.source
    methods = {}
    for name in sorted({"mqe", "hessian", req.sensitivity} | {a[1] for a in ABLATION}):
        rep.stage(f"sensitivity: {name}", len(prep.graph.layers))
        methods[name] = prep.sensitivity(name, rep)
        seconds[f"sensitivity_{name}"] = methods[name].seconds_
        rep.end()
    budgets = prep.budgets()
    rep.stage("table 1", 8)
    table1 = [_fp32(prep)]
    for w, a in ((8, 8), (4, 8), (4, 4)):
        table1.append(_uniform(prep, w, a, data))
        rep.advance(len(table1), 8)
    hawq, _ = prep.allocate(methods["hessian"], budgets, objective="min-sensitivity", gamma=0.0)
    table1.append(_mixed(prep, "HAWQ-V3 (Hessian+ILP, W*A8)", hawq.bits, data, a_bits=8))
    table1.append(_random_rows(prep, budgets, data))
    table1.append(_mixed(prep, "largest layers first", largest_first(prep.table, budgets["size_mib"]), data))
    table1.append(_ohq_8bit(prep, req, rep))
    ohq, _ = prep.allocate(methods[req.sensitivity], budgets)
    table1.append(_mixed(prep, f"OHQ mixed ({req.sensitivity}, {req.objective})", ohq.bits, data))
    rep.end()
    rep.stage("table 3", len(ratios) * len(ABLATION))
    table3 = []
    for ratio in ratios:
        for label, method, objective, beta, gamma in ABLATION:
            alloc, _ = prep.allocate(
                methods[method], prep.budgets(ratio), objective=objective, beta=beta, gamma=gamma
            )
            table3.append(replace(_mixed(prep, label, alloc.bits, data), ratio=ratio))
            rep.advance(len(table3), len(ratios) * len(ABLATION))
    rep.end()
    return Comparison(prep.name, req.device, table1, table3, seconds)


def _fp32(prep: Prepared) -> Row:
    # as deployed in float: 32-bit weights and biases (a folded BatchNorm gives its conv a bias)
    size = sum(weights_mib(w, b, None) for w, b in layer_counts(prep.model, prep.graph).values())
    return Row("FP32", "32/32", "—", size, None, None, prep.top1(prep.model))


def _uniform(prep: Prepared, w: int, a: int, data: str) -> Row:
    from ohq.hw import estimate
    from ohq.quant import Plan, QuantSpec

    plan = Plan(QuantSpec(w, a, prep.req.scheme))
    qmodel = prep.quantize(plan)
    hw = estimate(prep.graph, prep.req.device, plan, prep.req.probe)
    return Row(
        f"uniform min–max W{w}A{a}", f"{w}/{a}", data, qmodel.size_mib(), hw.total["latency_ms"],
        hw.total["energy_mj"], prep.top1(qmodel), bits={n: w for n in prep.graph.names},
    )


def _mixed_plan(prep: Prepared, bits: dict[str, int], a_bits: int | None = None) -> Plan:
    """The plan of an allocation; `a_bits`: every activation at that width (a baseline's own policy)."""
    plan = prep.plan(bits)
    if a_bits is None:
        return plan
    return Plan(replace(plan.default, a_bits=a_bits), {n: replace(s, a_bits=a_bits) for n, s in plan.layers.items()})


def _mixed(prep: Prepared, label: str, bits: dict[str, int], data: str, a_bits: int | None = None) -> Row:
    qmodel = prep.quantize(_mixed_plan(prep, bits, a_bits))
    totals = prep.totals(bits)
    a_bits = prep.req.a_bits if a_bits is None else a_bits
    wa = "*/*" if a_bits is None else f"*/{a_bits}"
    return Row(
        label, wa, data, totals["size_mib"], totals["latency_ms"], totals["energy_mj"],
        prep.top1(qmodel), bits=dict(bits),
    )


def _random_rows(prep: Prepared, budgets: dict[str, float], data: str) -> Row:
    """Mean ± std over N_RANDOM seeded random allocations that each fill the size budget."""
    rows = [_mixed(prep, "random", random_allocation(prep.table, budgets["size_mib"], prep.req.seed + k), data)
            for k in range(N_RANDOM)]
    top1 = [r.top1 for r in rows if r.top1 is not None]
    mean = lambda key: float(np.mean([getattr(r, key) for r in rows]))  # noqa: E731
    return replace(
        rows[0], method=f"random (mean ± std of {N_RANDOM}, same size)", size_mib=mean("size_mib"),
        latency_ms=mean("latency_ms"), energy_mj=mean("energy_mj"), bits={},
        top1=float(np.mean(top1)) if top1 else None, top1_std=float(np.std(top1)) if top1 else None,
    )


def _ohq_8bit(prep: Prepared, req: Request, rep: Reporter) -> Row:
    """OHQ 8/8: W8A8 calibrated on distilled data only (data-free), as the paper's on-chip flow."""
    from ohq.data.distill import batchnorm_layers
    from ohq.data.distill_cache import distill_for
    from ohq.quant import quantize

    totals = prep.totals(8)
    label = "OHQ 8/8 (distilled calibration)"
    if req.data is None:
        calib = prep.calib
    elif not batchnorm_layers(prep.model):  # nothing to distil from: say so rather than fake it
        return Row(label, "8/8", "n/a: no BatchNorm", totals["size_mib"], totals["latency_ms"],
                   totals["energy_mj"], None)
    else:
        calib = distill_for(prep.model, req.samples, prep.shape[1:], steps=req.distill_steps, seed=req.seed)[0].x

    qmodel = quantize(prep.model, prep.plan(8), calib)
    return Row(
        label, "8/8", "distilled", totals["size_mib"], totals["latency_ms"],
        totals["energy_mj"], prep.top1(qmodel), bits={n: 8 for n in prep.graph.names},
    )
