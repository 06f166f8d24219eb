"""Hardware co-design inside `ohq quantize` (seeds 000, 004): pruning, the whole model in BRAM,
Bayesian or random search of (bits, sparsity), a PR-aware ILP, and the dataflow/PR figures.

The pipeline calls four hooks: `allocate` (instead of the plain ILP), `quantize` (prunes, then
quantizes), `masks` (what `--finetune` keeps at zero), and `summary` (what goes into the run directory under `results.codesign`).

- ILP (default): every layer pruned at `sparsity`; sizes and BRAM count the sparse storage;
  `fit_bram` budgets the resident weights against the BRAM left after the largest layer's buffers;
  `pr` solves `ohq.search.pr_ilp` (latency on specialised modules plus reconfigurations).
- BO / random: `ohq.search.bayes` over per-layer bits and sparsity in {0, 0.1, …, sparsity};
  accuracy on `val` images of the data's validation split (never the test split).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ohq.errors import OhqError
from ohq.quant.prune import GRANULARITIES, check_sparsity


@dataclass
class CodesignOptions:
    search: str = "ilp"
    trials: int = 30
    storage: str | None = None
    study: str = "ohq-bo"
    sparsity: float = 0.0  # ILP: every layer; BO/random: the highest candidate
    prune: str = "unstructured"
    fit_bram: bool = False
    dataflow: str = "auto"
    pr: bool = False
    lam: float = 1.0
    max_loss: float | None = None
    val: int = 1000

    def __post_init__(self) -> None:
        from ohq.hw.dataflow import MODES
        from ohq.search import SEARCHES
        from ohq.search.bayes import check_trials

        SEARCHES.get(self.search)  # one line naming the known searches when unknown
        check_sparsity(self.sparsity, "--sparsity")
        if self.prune not in GRANULARITIES:
            raise OhqError(f"unknown --prune {self.prune!r}; use {' or '.join(GRANULARITIES)}")
        if self.dataflow not in MODES:
            raise OhqError(f"unknown --dataflow {self.dataflow!r}; use {', '.join(MODES)}")
        if self.search != "ilp":
            check_trials(self.trials)
        if self.val < 1:
            raise OhqError(f"--val must be at least 1, got {self.val}")

    def candidates(self) -> tuple[float, ...]:
        steps = int(round(self.sparsity * 10))
        return tuple(round(i / 10, 1) for i in range(steps + 1)) or (0.0,)


def stores(prep, bits: dict[str, int], sparsity: dict[str, float], granularity: str):
    """`WeightStore` per layer for these bits and sparsities (magnitude masks on the float model)."""
    from ohq.hw.dataflow import WeightStore
    from ohq.quant.prune import layer_masks

    masks = layer_masks(prep.model, {n: s for n, s in sparsity.items() if s > 0}, granularity)
    modules = dict(prep.model.named_modules())
    out = {}
    for name, b in bits.items():
        if name in masks:
            m = masks[name]
            fmt, nbits = m.storage(b)
            out[name] = WeightStore(nbits, m.density, m.channel_keep, fmt)
        else:
            out[name] = WeightStore(modules[name].weight.numel() * b)
    return out


def _size_mib(prep, st) -> float:
    from ohq.quant.qmodel import MIB

    counts = _bias_counts(prep)
    return sum((s.bits + 32 * counts[n]) / 8 for n, s in st.items()) / MIB


def _bias_counts(prep) -> dict[str, int]:
    from ohq.quant.size import layer_counts

    return {n: c[1] for n, c in layer_counts(prep.model, prep.graph).items()}


def _sparse_table(prep, sparsity: dict[str, float], opts: CodesignOptions) -> None:
    """Rewrite the cost table's size and BRAM columns for sparse storage (resident weight blocks)."""
    from ohq.hw.dataflow import blocks
    from ohq.quant.qmodel import MIB

    counts = _bias_counts(prep)
    size = np.zeros((len(prep.table.names), len(prep.table.bits)))
    bram = np.zeros_like(size)
    for j, b in enumerate(prep.table.bits):
        st = stores(prep, dict.fromkeys(prep.table.names, b), sparsity, opts.prune)
        for i, n in enumerate(prep.table.names):
            size[i, j] = (st[n].bits + 32 * counts[n]) / 8 / MIB
            bram[i, j] = blocks(st[n].bits / 8)
    prep.table.costs["size_mib"] = size
    if opts.fit_bram:
        prep.table.costs["bram18k"] = bram


def smallest_reachable(prep, opts: CodesignOptions) -> int | None:
    """BRAM18K the whole model needs at the lowest bits and the highest sparsity."""
    from ohq.hw.onchip import smallest_resident

    low = min(prep.req.bits)
    st = stores(prep, dict.fromkeys(prep.graph.names, low), dict.fromkeys(prep.graph.names, opts.sparsity), opts.prune)
    return smallest_resident(prep.graph, prep.req.device, st, plan=low, scheme=prep.req.scheme, a_bits=prep.req.a_bits)


def _fit_report(prep, bits, sparsity, opts, budget=None):
    from ohq.hw.onchip import dataflow_report

    st = stores(prep, bits, sparsity, opts.prune)
    return dataflow_report(prep.graph, prep.req.device, prep.plan(bits), mode=opts.dataflow, stores=st,
                           bram18k=budget if budget is not None else _bram_total(prep),
                           resident=opts.fit_bram, scheme=prep.req.scheme, a_bits=prep.req.a_bits)


def _bram_total(prep) -> int | None:
    return None if prep.req.bram18k is None else int(prep.req.bram18k)


def allocate(prep, method, budgets: dict[str, float], opts: CodesignOptions, reporter=None):
    """The allocation (bits, and `extra["sparsity"]`) under the co-design options."""
    from ohq.hw.onchip import FitBramError

    names = prep.graph.names
    if opts.search != "ilp":
        from ohq.search import SEARCHES

        allocation = SEARCHES.get(opts.search)(prep, budgets, opts, reporter)
        _sparse_table(prep, allocation.extra["sparsity"], opts)
        return allocation
    sparsity = dict.fromkeys(names, opts.sparsity)
    _sparse_table(prep, sparsity, opts)
    if opts.fit_bram:
        from ohq.hw.dataflow import bram_budget
        from ohq.hw.device import get_device

        total = bram_budget(get_device(prep.req.device), _bram_total(prep))
        reserve = 0
        for _ in range(6):  # the buffers left beside the weights depend on the plan: settle them
            budgets = dict(budgets, bram18k=float(total - reserve))
            allocation = _ilp(prep, method, budgets, opts, names)
            try:
                report = _fit_report(prep, allocation.bits, sparsity, opts)
                break
            except FitBramError:
                reserve += max(4, total // 20)
        else:
            raise FitBramError(f"the whole model cannot sit in {total} BRAM18K; the smallest reachable "
                               f"(at {min(prep.req.bits)} bits, sparsity {opts.sparsity}) is "
                               f"{smallest_reachable(prep, opts)} BRAM18K")
        allocation.extra["bram18k_left"] = report.totals["bram18k_left"]
    else:
        allocation = _ilp(prep, method, budgets, opts, names)
    allocation.extra["sparsity"] = sparsity
    return allocation


def _ilp(prep, method, budgets, opts, names):
    from ohq.hw.onchip import FitBramError

    try:
        if not opts.pr:
            return prep.allocate(method, budgets)[0]
        return _pr_ilp(prep, method, budgets)
    except OhqError as exc:
        if opts.fit_bram and "bram18k" in str(exc):
            raise FitBramError(f"the whole model cannot sit in the BRAM budget; the smallest reachable "
                               f"(at {min(prep.req.bits)} bits, sparsity {opts.sparsity}) is "
                               f"{smallest_reachable(prep, opts)} BRAM18K") from None
        raise


def _pr_ilp(prep, method, budgets):
    """The ILP with a per-switch penalty; latency on specialised modules (`ohq.hw.pr`)."""
    from ohq.hw.device import get_device
    from ohq.hw.pr import check_pr, module_latency_ms, reconfig_ms
    from ohq.search.pr_ilp import solve_pr

    req = prep.req
    dev = get_device(req.device)
    check_pr(dev)
    layers = {lay.name: lay for lay in prep.graph.layers}
    prep.table.costs["latency_ms"] = np.array([
        [module_latency_ms(layers[n], b, b if req.a_bits is None else req.a_bits, req.scheme, dev) for b in prep.table.bits]
        for n in prep.table.names])
    value, _ = _value(prep, method)
    return solve_pr(prep.table, value, budgets, reconfig_ms(dev))


def _value(prep, method):
    """The objective's value matrix (layers x bits) and Ω per layer, as the ILP sees them."""
    from ohq.search import Problem

    problem = Problem(prep.model, prep.graph.names, prep.req.bits, prep.req.scheme, method, prep.costs)
    return prep.req.objective_for().value(problem)


def solve(prep, method, opts: CodesignOptions, reporter=None) -> None:
    """The pipeline's search stage under co-design: fills the allocator as `BitAllocator.solve` does."""
    alloc = prep.allocator
    budgets = prep.budgets() if prep.req.budget_list() else {}  # BO/random may run on its objective alone
    allocation = allocate(prep, method, budgets, opts, reporter)
    alloc.budgets_ = budgets
    alloc.take(allocation)
    alloc.omegas_ = _value(prep, method)[1]


def masks(prep, allocation, opts: CodesignOptions) -> dict:
    """Keep-mask per pruned layer of the allocation (magnitude, on the float model): what PTQ
    prunes with and what `--finetune` keeps at zero (`ohq.train.qat(masks=...)`)."""
    from ohq.quant.prune import layer_masks

    sparsity = {n: s for n, s in allocation.extra.get("sparsity", {}).items() if s > 0}
    return {n: m.mask for n, m in layer_masks(prep.model, sparsity, opts.prune).items()}


def quantize(prep, plan, allocation, opts: CodesignOptions):
    """Prune the float model per the allocation's sparsity (BN statistics re-measured on the
    calibration images), then quantize it (PTQ)."""
    from ohq.quant import quantize as q
    from ohq.quant.prune import apply_masks

    keep = masks(prep, allocation, opts)
    return q(apply_masks(prep.model, keep, prep.calib) if keep else prep.model, plan, prep.calib)


def summary(prep, allocation, opts: CodesignOptions) -> dict:
    """Dataflow (Img2Col vs the chosen mode), BRAM, PR latencies: stored in the run directory."""
    from ohq.hw.device import get_device
    from ohq.hw.pr import pr_plan, supports_pr

    sparsity = allocation.extra.get("sparsity", {})
    bits = allocation.bits
    st = stores(prep, bits, sparsity, opts.prune)
    flow = _fit_report(prep, bits, sparsity, opts)
    base = _fit_report(prep, bits, sparsity, CodesignOptions(dataflow="img2col", prune=opts.prune))
    doc = {
        "options": asdict(opts), "sparsity": sparsity, "granularity": opts.prune,
        "size_mib_sparse": _size_mib(prep, st),
        "formats": {n: s.fmt for n, s in st.items()},
        "dataflow": {n: c.dataflow for n, c in zip(prep.graph.names, flow.layers, strict=True)},
        "totals": flow.totals, "img2col_totals": base.totals,
        "bo": allocation.extra.get("bo"),
    }
    dev = get_device(prep.req.device)
    if supports_pr(dev):
        doc["pr"] = pr_plan(prep.graph, prep.plan(bits), dev, prep.req.scheme, prep.req.a_bits).to_dict()
    return doc
