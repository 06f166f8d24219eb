"""The OHQ pipeline (seed 003, DESIGN §1), as one function with timed stages:

    layer graph → 8-bit model → distilled or real data → sensitivity → hardware probe → Ω → ILP
    → mixed-precision model (PTQ) → evaluation on the test split

`run_pipeline(request)` returns a `PipelineResult`; `ohq quantize` writes it to a run directory.

>>> result = run_pipeline(Request("mnist_resnet", data="mnist", size_ratio=0.5))  # doctest: +SKIP
>>> result.top1["mixed"], result.totals["mixed"]["size_mib"]                       # doctest: +SKIP
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import fx, nn

from ohq.errors import OhqError
from ohq.graph import LayerGraph, layer_graph
from ohq.quant.qmodel import MIB
from ohq.search import CostTable, omega, paper_objective, sensitivity_penalty, solve

OBJECTIVES = ("paper", "min-sensitivity")


@dataclass
class Request:
    """What the user asked for. Exactly the budgets that are set constrain the ILP."""

    model: str
    weights: str | None = None
    input_shape: tuple[int, ...] | None = None
    data: str | None = None  # None: distilled data for calibration and sensitivity
    device: str = "xc7z020"
    probe: str = "fpga-model"
    probe_file: str | None = None
    bits: tuple[int, ...] = (4, 8)
    a_bits: int | None = None  # None: each layer reads activations at its weight bits (W/A */*)
    scheme: str = "uniform"
    objective: str = "paper"
    sensitivity: str = "mqe"
    size_mib: float | None = None
    size_ratio: float | None = None
    latency_ms: float | None = None
    energy_mj: float | None = None
    bram18k: float | None = None
    beta: float = 0.5
    gamma: float = 0.5
    samples: int = 32  # sensitivity samples
    calib: int = 256  # PTQ calibration samples
    distill_steps: int = 200
    tie_residual: bool = False
    pin_first_last: int | None = None
    seed: int = 0
    scale: str = "float"  # "po2": power-of-two scales (ohq.quant.po2), for hls4ml/FINN bit-exactness

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise OhqError(f"unknown objective {self.objective!r}; use {' or '.join(OBJECTIVES)}")
        if not self.bits or len(set(self.bits)) != len(self.bits):
            raise OhqError(f"candidate bits must be distinct, got {self.bits}")
        self.bits = tuple(sorted(int(b) for b in self.bits))
        if self.size_mib is not None and self.size_ratio is not None:
            raise OhqError("give either --size-mib or --size-ratio, not both")
        if self.objective == "paper" and self.size_mib is None and self.size_ratio is None:
            raise OhqError("the paper objective (Eq. 11) needs a size budget: --size-mib or --size-ratio")
        if not self.budgets_given():
            raise OhqError("give a budget: --size-mib, --size-ratio, --latency-ms, --energy-mj or --bram18k")
        if self.samples < 1 or self.calib < 1:
            raise OhqError(f"--samples and --calib must be at least 1 (got {self.samples}, {self.calib})")

    def budgets_given(self) -> bool:
        return any(
            v is not None
            for v in (self.size_mib, self.size_ratio, self.latency_ms, self.energy_mj, self.bram18k)
        )


@dataclass
class LayerRow:
    """Everything the pipeline learned about one layer (one row of layers.csv)."""

    name: str
    kind: str
    params: int
    macs: int
    sensitivity: float
    omega: float
    bits: int
    scheme: str
    size_mib_by_bits: dict[int, float]
    cycles_by_bits: dict[int, dict[str, int]]
    latency_ms_by_bits: dict[int, float]
    energy_mj_by_bits: dict[int, float]
    bram18k_by_bits: dict[int, int]
    masked_top1: float | None = None

    @property
    def cycles(self) -> dict[str, int]:
        return self.cycles_by_bits[self.bits]

    @property
    def energy_mj(self) -> float:
        return self.energy_mj_by_bits[self.bits]


@dataclass
class PipelineResult:
    request: Request
    model_name: str
    input_shape: tuple[int, ...]
    data_source: str  # "mnist (real)" or "distilled"
    eval_data: str | None
    layers: list[LayerRow]
    budgets: dict[str, float]
    solve_ms: float
    plan: Any  # ohq.quant.Plan
    qmodel: Any  # ohq.quant.QuantModel
    calib: torch.Tensor
    top1: dict[str, float | None]  # fp32, int8, mixed
    totals: dict[str, dict[str, float]]  # int8 / mixed → size_mib, latency_ms, energy_mj
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    extra: dict[str, Any] = field(default_factory=dict)


class Reporter:
    """Progress hooks; the CLI subclasses this with Rich bars. The default is silent."""

    def stage(self, name: str, total: int | None = None) -> None: ...

    def advance(self, done: int, total: int, info: str = "") -> None: ...

    def end(self) -> None: ...


@dataclass
class Prepared:
    """The measured inputs of bit allocation, shared by the pipeline and the baselines (`compare`):
    the model, its layer graph, calibration/sensitivity samples, test data and the cost table."""

    req: Request
    name: str
    model: nn.Module
    shape: tuple[int, ...]
    graph: LayerGraph
    calib: torch.Tensor
    samples: torch.Tensor
    source: str
    test: Any  # LabeledData or None
    table: CostTable
    costs: dict

    def sensitivity(self, method: str, reporter: Reporter | None = None, **params):
        """Fit sensitivity method `method` on the sensitivity samples."""
        from ohq.sensitivity import get_method

        rep = reporter or Reporter()
        params.setdefault("callback", lambda done, total: rep.advance(done, total))
        if method in ("mqe", "hessian"):
            params.setdefault("seed", self.req.seed)
        return get_method(method, **params).fit(self.model, self.samples)

    def budgets(self, size_ratio: float | None = None) -> dict[str, float]:
        req = self.req
        out = {}
        ratio = req.size_ratio if size_ratio is None else size_ratio
        if ratio is not None:
            out["size_mib"] = self.table.size_from_ratio(ratio, min(req.bits), max(req.bits))
        elif req.size_mib is not None:
            out["size_mib"] = req.size_mib
        for key in ("latency_ms", "energy_mj", "bram18k"):
            if getattr(req, key) is not None:
                out[key] = float(getattr(req, key))
        return out

    def allocate(self, method, budgets: dict[str, float], *, objective: str | None = None,
                 beta: float | None = None, gamma: float | None = None):
        """Solve the ILP for a fitted sensitivity method; returns (Allocation, Ω per layer)."""
        req = self.req
        beta = req.beta if beta is None else beta
        gamma = req.gamma if gamma is None else gamma
        value, omegas = _objective(req, objective or req.objective, self, method, beta, gamma)
        ties = residual_ties(self.model, self.graph) if req.tie_residual else []
        pinned = {}
        if req.pin_first_last is not None:
            pinned = {self.graph.names[0]: req.pin_first_last, self.graph.names[-1]: req.pin_first_last}
        allocation = solve(self.table, value, budgets, ties=ties, pinned=pinned)
        allocation.extra.update(ties=ties, pinned=pinned)
        return allocation, omegas

    def plan(self, bits: dict[str, int] | int):
        """The quant Plan for per-layer weight bits (or one bit-width for every layer)."""
        from ohq.quant import Plan, QuantSpec

        req = self.req

        def spec(b: int) -> QuantSpec:
            return QuantSpec(b, b if req.a_bits is None else req.a_bits, req.scheme, scale=req.scale)

        if isinstance(bits, int):
            return Plan(spec(bits))
        return Plan(spec(max(req.bits)), {name: spec(b) for name, b in bits.items()})

    def quantize(self, plan):
        from ohq.quant import quantize

        return quantize(self.model, plan, self.calib)

    def top1(self, net: nn.Module) -> float | None:
        from ohq.quant import QuantModel
        from ohq.train import top1

        if self.test is None:
            return None
        if isinstance(net, QuantModel) and not net.integer_problems():
            net = net.to_integer()  # the same logits bit for bit, several times faster than fake-quant
        return top1(net, self.test)

    def totals(self, bits: dict[str, int] | int) -> dict[str, float]:
        """Size, latency and energy of an allocation (one bit-width for all when an int)."""
        if isinstance(bits, int):
            if bits not in self.table.bits:
                return {}
            bits = {n: bits for n in self.table.names}
        return {m: self.table.total(m, bits) for m in ("size_mib", "latency_ms", "energy_mj")}


def prepare(req: Request, reporter: Reporter | None = None, seconds: dict | None = None) -> Prepared:
    """Stages graph, data and hardware: everything bit allocation needs except sensitivity."""
    from ohq.data import load_dataset
    from ohq.models import load_model

    rep = reporter or Reporter()
    stage = _stager(rep, {} if seconds is None else seconds)
    torch.manual_seed(req.seed)
    with stage("graph"):
        loaded = load_model(req.model, req.weights)
        model = loaded.model.eval()
        shape = tuple(req.input_shape or loaded.input_shape or _shape_from_data(req.data))
        graph = layer_graph(model, shape)
        if not graph.layers:
            raise OhqError(f"model {req.model!r} has no quantizable layers")
    with stage("data", req.distill_steps * -(-req.samples // 32) if req.data is None else None):
        calib, samples, source = _calibration_data(req, model, shape, rep)
        eval_name = req.data or loaded.data
        test = None if eval_name is None else load_dataset(eval_name, "test")
    with stage("hardware", len(req.bits)):
        opts = {"path": req.probe_file} if req.probe == "file" else {}
        table, costs = allocation_table(
            model, graph, req.device, req.bits, scheme=req.scheme, probe=req.probe, a_bits=req.a_bits, **opts
        )
    return Prepared(req, loaded.name, model, shape, graph, calib, samples, source, test, table, costs)


def run_pipeline(req: Request, reporter: Reporter | None = None) -> PipelineResult:
    """Run the whole OHQ pipeline for `req` (see the module docstring)."""
    rep = reporter or Reporter()
    seconds: dict[str, float] = {}
    stage = _stager(rep, seconds)
    prep = prepare(req, rep, seconds)
    with stage("sensitivity", len(prep.graph.layers)):
        method = prep.sensitivity(req.sensitivity, rep)
    with stage("search"):
        budgets = prep.budgets()
        allocation, omegas = prep.allocate(method, budgets)
    with stage("quantize"):
        plan = prep.plan(allocation.bits)
        qmodel = prep.quantize(plan)
        int8 = prep.quantize(prep.plan(8))
    top1: dict[str, float | None] = {"fp32": None, "int8": None, "mixed": None}
    masked = None
    if prep.test is not None:
        with stage("evaluate", 3):
            for i, (key, net) in enumerate((("fp32", prep.model), ("int8", int8), ("mixed", qmodel))):
                top1[key] = prep.top1(net)
                rep.advance(i + 1, 3, key)
            if hasattr(method, "masked_top1"):
                subset = slice(0, min(len(prep.test), 1000))
                masked = method.masked_top1(prep.test.x[subset], prep.test.y[subset])
    scores = np.asarray(method.scores_, dtype=float)
    rows = _rows(prep.graph, prep.table, prep.costs, scores, omegas, allocation.bits, req.scheme, masked)
    totals = {"int8": prep.totals(8), "mixed": prep.totals(allocation.bits)}
    return PipelineResult(
        req, prep.name, prep.shape, prep.source, None if prep.test is None else prep.test.name, rows,
        budgets, allocation.solve_ms, plan, qmodel, prep.calib, top1, totals, seconds,
        {"sensitivity_seconds": method.seconds_, **allocation.extra},
    )


def _stager(rep: Reporter, seconds: dict[str, float]):
    @contextmanager
    def stage(name: str, total: int | None = None):
        rep.stage(name, total)
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds[name] = time.perf_counter() - start
            rep.end()

    return stage


def _shape_from_data(data: str | None) -> tuple[int, ...]:
    if data is None:
        raise OhqError("give --input (or --data) for a model whose input shape ohq does not know")
    from ohq.data import load_dataset

    return load_dataset(data, "test").input_shape


def _calibration_data(req: Request, model: nn.Module, shape, rep: Reporter):
    """(calibration inputs, sensitivity inputs, description): real train samples or distilled data."""
    if req.data is not None:
        from ohq.data import load_dataset

        train = load_dataset(req.data, "train")
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(req.seed))
        calib = train.x[order[: req.calib]]
        return calib, train.x[order[: req.samples]], f"{req.data} (real, train split)"
    from ohq.data.distill import distill_data

    # ZeroQ's recipe: one small distilled batch serves both calibration and sensitivity.
    distilled = distill_data(
        model, req.samples, shape[1:], steps=req.distill_steps, seed=req.seed,
        callback=lambda step, total, loss: rep.advance(step, total, f"BN loss {loss:.3f}"),
    )
    return distilled.x, distilled.x, "distilled from BN statistics"


def allocation_table(
    model: nn.Module, graph: LayerGraph, device: str, bits: tuple[int, ...], *, scheme: str = "uniform",
    probe: str = "fpga-model", a_bits: int | None = None, **probe_opts,
) -> tuple[CostTable, dict]:
    """The ILP's cost table (size, latency, energy, BRAM per layer and bit-width) and the probe's
    per-layer `LayerCost`s behind it. `a_bits=None`: activations at each candidate's weight bits."""
    from ohq.hw import cost_table

    costs = cost_table(graph, device, bits, scheme, probe, a_bits=a_bits, **probe_opts)
    weights = _weight_counts(model, graph)
    names = graph.names
    size = np.array([[(weights[n][0] * b + weights[n][1] * 32) / 8 / MIB for b in bits] for n in names])

    def metric(attr: str) -> np.ndarray:
        return np.array([[getattr(costs[n][b], attr) for b in bits] for n in names], float)

    table = CostTable(
        names, tuple(bits),
        {"size_mib": size, "latency_ms": metric("latency_ms"), "energy_mj": metric("energy_mj"),
         "bram18k": _weight_bram18k(size)},
    )
    return table, costs


def _weight_counts(model: nn.Module, graph: LayerGraph) -> dict[str, tuple[int, int]]:
    """(weights, biases) per layer as deployed: folding a BatchNorm gives its conv a bias."""
    modules = dict(model.named_modules())
    out = {}
    for layer in graph.layers:
        m = modules[layer.name]
        has_bias = m.bias is not None or layer.bn is not None
        out[layer.name] = (m.weight.numel(), layer.out_channels if has_bias else 0)
    return out


def _weight_bram18k(size_mib: np.ndarray) -> np.ndarray:
    """18 Kb BRAM blocks that hold each layer's weights on chip (seed 004's all-on-chip budget)."""
    return np.ceil(size_mib * MIB * 8 / 18432)


def _objective(req: Request, objective: str, prep: Prepared, method, beta: float, gamma: float):
    """The ILP's value matrix (layers × bits) and Ω per layer."""
    top = max(req.bits)
    names = prep.graph.names
    scores = np.asarray(method.scores_, dtype=float)
    cycles = [prep.costs[n][top].cycles["total"] for n in names]
    energy = [prep.costs[n][top].energy_mj for n in names]
    omegas = omega(scores, cycles, energy, beta, gamma)
    if objective == "paper":  # Eq. 11, with the hardware term scored so the budget binds
        return paper_objective(omegas, req.bits, gamma), omegas
    if objective != "min-sensitivity":
        raise OhqError(f"unknown objective {objective!r}; use {' or '.join(OBJECTIVES)}")
    return -sensitivity_penalty(scores, *_relative_errors(req, prep.model, prep.graph, method)), omegas


def _relative_errors(req: Request, model, graph, method) -> tuple[np.ndarray, np.ndarray]:
    """‖W − Q_b(W)‖²/‖W‖² per layer and candidate, and the same for the perturbation ω measured."""
    from ohq.quant import QuantSpec, quantize_weight

    modules = dict(model.named_modules())
    err = np.zeros((len(graph.names), len(req.bits)))
    ref = np.zeros(len(graph.names))
    method_bits = getattr(method, "bits", 8)
    for i, name in enumerate(graph.names):
        w = modules[name].weight.detach()
        norm = float(w.pow(2).sum()) or 1.0

        def rel(b: int, w=w, norm=norm) -> float:
            return float((w - quantize_weight(w, QuantSpec(b, None, req.scheme))).pow(2).sum()) / norm

        err[i] = [rel(b) for b in req.bits]
        # MQE zeroes a fraction α of the weights: on average it removes α of their energy.
        ref[i] = getattr(method, "alpha", None) or rel(method_bits)
    return err, ref


def _rows(graph, table, costs, scores, omegas, bits, scheme, masked) -> list[LayerRow]:
    rows = []
    for i, layer in enumerate(graph.layers):
        per = costs[layer.name]
        rows.append(LayerRow(
            layer.name, layer.kind, layer.params, layer.macs, float(scores[i]), float(omegas[i]),
            bits[layer.name], scheme,
            {b: float(table.costs["size_mib"][i, j]) for j, b in enumerate(table.bits)},
            {b: dict(per[b].cycles) for b in table.bits},
            {b: per[b].latency_ms for b in table.bits},
            {b: per[b].energy_mj for b in table.bits},
            {b: int(table.costs["bram18k"][i, j]) for j, b in enumerate(table.bits)},
            None if masked is None else float(masked[i]),
        ))
    return rows


def residual_ties(model: nn.Module, graph: LayerGraph) -> list[list[str]]:
    """Groups of layers whose outputs meet at one residual add (e.g. conv2 and its downsample)."""
    try:
        gm = fx.symbolic_trace(model)
    except Exception:
        return []
    modules = dict(gm.named_modules())
    names = set(graph.names)

    def source(node) -> str | None:
        while isinstance(node, fx.Node) and node.op == "call_module":
            if node.target in names:
                return node.target
            if not isinstance(modules[node.target], nn.BatchNorm2d | nn.Identity):
                return None
            node = node.args[0]
        return None

    groups = []
    for node in gm.graph.nodes:
        if node.op == "call_function" and getattr(node.target, "__name__", "") in ("add", "iadd"):
            layers = sorted({s for a in node.args if (s := source(a)) is not None}, key=graph.names.index)
            if len(layers) >= 2:
                groups.append(layers)
    return groups

