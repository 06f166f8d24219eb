"""The OHQ pipeline (the OHQ paper, docs/design.md §1), as one function with timed stages:

    layer graph → 8-bit model → distilled or real data → sensitivity → hardware probe → Ω → ILP
    → mixed-precision model (PTQ) → evaluation on the test split

`Request` is the flat form the CLI fills (one field per flag); `Request.allocator()` turns it into
the typed `BitAllocator` that does the allocation. `run_pipeline` takes a Request, or a model
(name or `nn.Module`) with the Request's fields as keywords, and returns a `PipelineResult`.

>>> result = run_pipeline("mnist_resnet", data="mnist", size_ratio=0.5)  # doctest: +SKIP
>>> result.top1["mixed"], result.totals["mixed"]["size_mib"]             # doctest: +SKIP
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ohq.allocator import BitAllocator
from ohq.errors import ModelError, OhqError
from ohq.graph import LayerGraph, layer_graph
from ohq.reporter import Reporter
from ohq.request import Request
from ohq.result import LayerRow, PipelineResult, layer_rows
from ohq.search import Bram18k, Energy, Latency, Size

__all__ = ["LayerRow", "PipelineResult", "Prepared", "Reporter", "Request", "prepare", "run_pipeline"]


@dataclass
class Prepared:
    """The measured inputs of bit allocation, shared by the pipeline and the baselines (`compare`):
    the model, calibration/sensitivity samples, test data, and a `BitAllocator` whose hardware
    costs are measured (`graph_`, `table_`, `costs_`) but whose sensitivity is not yet."""

    req: Request
    name: str
    model: nn.Module
    shape: tuple[int, ...]
    calib: torch.Tensor
    samples: torch.Tensor
    source: str
    test: Any  # LabeledData or None
    allocator: BitAllocator
    normalize: Any = None  # ohq.data.Normalize the model's inputs get (None: the data set's own)

    @property
    def graph(self) -> LayerGraph:
        return self.allocator.graph_

    @property
    def table(self):
        return self.allocator.table_

    @property
    def costs(self) -> dict:
        return self.allocator.costs_

    def sensitivity(self, method: str, reporter: Reporter | None = None, **params):
        """Fit sensitivity method `method` on the sensitivity samples (once per candidate scheme
        where it measures each candidate itself)."""
        from ohq.sensitivity import get_method

        rep = reporter or Reporter()
        params.setdefault("callback", lambda done, total: rep.advance(done, total))
        if method in ("mqe", "hessian", "qmqe"):
            params.setdefault("seed", self.req.seed)
        if get_method(method).measures_bits:
            params.setdefault("calib", self.calib)  # the ranges the plan's PTQ will calibrate
        return self.allocator.fit_sensitivity(self.model, self.samples, method=method, **params)

    def budgets(self, size_ratio: float | None = None) -> dict[str, float]:
        from ohq.search import limits

        return limits(self.req.budget_list(size_ratio), self.table)

    def allocate(self, method, budgets: dict[str, float] | list, *, objective: str | None = None,
                 beta: float | None = None, gamma: float | None = None):
        """Solve the search for a fitted sensitivity method; returns (Allocation, Ω per layer)."""
        alloc = self.allocator
        alloc.sensitivity_ = method
        if isinstance(budgets, dict):  # already limits: {metric: value}
            budgets = [_BUDGET_OF[m](v) for m, v in budgets.items()]
        alloc.solve(self.model, budgets, self.req.objective_for(objective, beta, gamma))
        return alloc.allocation_, alloc.omegas_

    def plan(self, bits: dict[str, int] | int):
        return self.allocator.plan_for(bits)

    def quantize(self, plan, shared=None):
        """`plan` PTQ-calibrated on `calib`; from `shared` (an `ohq.quant.Calibration`, e.g. the
        sensitivity method's `calibration_`) where it calibrated this model on the same data."""
        from ohq.quant import quantize

        if shared is not None and shared.serves(self.model, self.calib):
            return shared.quantize(plan)  # no second float pass; W8A8: the method's own model
        return quantize(self.model, plan, self.calib)

    def top1(self, net: nn.Module) -> float | None:
        from ohq.quant import QuantModel
        from ohq.train import top1

        if self.test is None:
            return None
        return top1(net.fastest() if isinstance(net, QuantModel) else net, self.test)

    def totals(self, bits: dict[str, int] | int) -> dict[str, float]:
        return self.allocator.totals(bits)


_BUDGET_OF = {"size_mib": lambda v: Size(mib=v), "latency_ms": Latency, "energy_mj": Energy, "bram18k": Bram18k}


def prepare(req: Request, reporter: Reporter | None = None, seconds: dict | None = None) -> Prepared:
    """Stages graph, data and hardware: everything bit allocation needs except sensitivity."""
    from ohq.data import load_dataset
    from ohq.data.checks import check_labels
    from ohq.hw.table import allocation_table

    rep = reporter or Reporter()
    stage = _stager(rep, {} if seconds is None else seconds)
    torch.manual_seed(req.seed)
    allocator = req.allocator(rep)
    with stage("graph"):
        name, model, known_shape, known_data, normalize = _load(req)
        shape = tuple(req.input_shape or known_shape or _shape_from_data(req.data))
        graph = layer_graph(model, shape)
        if not graph.layers:
            raise ModelError(f"model {name!r} has no quantizable layers")
    with stage("data", req.distill_steps * -(-req.samples // 32) if req.data is None else None):
        calib, samples, source = _calibration_data(req, model, shape, rep, normalize)
        eval_name = req.data or known_data
        test = None if eval_name is None else load_dataset(eval_name, "test", normalize)
        if test is not None:
            check_labels(model, shape, test)
    candidates = allocator.candidate_configs
    with stage("hardware", len(candidates)):
        allocator.graph_ = graph
        allocator.table_, allocator.costs_ = allocation_table(model, graph, allocator.probe, candidates)
    return Prepared(req, name, model, shape, calib, samples, source, test, allocator, normalize)


def run_pipeline(req: Request | str | nn.Module, reporter: Reporter | None = None, **fields: Any) -> PipelineResult:
    """Run the whole OHQ pipeline (see the module docstring). `req` may be a model name or an
    `nn.Module`, with the `Request` fields as keywords."""
    if not isinstance(req, Request):
        req = Request(req, **fields)
    elif fields:
        raise TypeError("give either a Request or keyword fields, not both")
    rep = reporter or Reporter()
    seconds: dict[str, float] = {}
    stage = _stager(rep, seconds)
    prep = prepare(req, rep, seconds)
    alloc = prep.allocator
    with stage("sensitivity", len(prep.graph.layers)):
        method = prep.sensitivity(req.sensitivity, rep)
    cd = req.codesign  # ohq.codesign: pruning, BO/random search, fit-BRAM, PR
    with stage("search", cd.trials if cd is not None and cd.search != "ilp" else None):
        alloc.sensitivity_ = method
        if cd is None:
            alloc.solve(prep.model)
        else:
            from ohq import codesign

            codesign.solve(prep, method, cd, rep)
    with stage("quantize"):
        shared = getattr(method, "calibration_", None)  # qmqe's calibration on prep.calib
        qmodel = prep.quantize(alloc.plan_, shared) if cd is None else codesign.quantize(prep, alloc.plan_, alloc.allocation_, cd)
        int8 = prep.quantize(prep.plan(8), shared)
    nets = [("fp32", prep.model), ("int8", int8), ("mixed", qmodel)]
    if req.finetune is not None:
        from ohq.train import finetune

        with stage("finetune"):  # pruned layers keep their zeros (codesign.masks)
            keep = None if cd is None else codesign.masks(prep, alloc.allocation_, cd)
            qmodel = finetune(prep.model, alloc.plan_, req.data, how=req.finetune, epochs=req.finetune_epochs,
                              calib=prep.calib, seed=req.seed, masks=keep)
        nets = nets[:2] + [("mixed_ptq", nets[2][1]), ("mixed", qmodel)]
    top1: dict[str, float | None] = {"fp32": None, "int8": None, "mixed": None}
    masked = damage = None
    if prep.test is not None:
        with stage("evaluate", len(nets)):
            for i, (key, net) in enumerate(nets):
                top1[key] = prep.top1(net)
                rep.advance(i + 1, len(nets), key)
        if req.masked_top1 and hasattr(method, "masked_top1"):
            n_test = min(len(prep.test), 1000)
            with stage("masked top-1", 1):
                rep.advance(0, 1, f"{len(prep.graph.layers)} layers × {method.n_masks} masks × {n_test} images")
                subset = slice(0, n_test)
                masked = method.masked_top1(prep.test.x[subset], prep.test.y[subset])
        if req.measured_damage and hasattr(method, "measured_drop"):  # qmqe: predicted vs measured damage
            from ohq.sensitivity.damage import damage_check

            n_test = min(len(prep.test), 1000)
            with stage("measured damage", 1):
                rep.advance(0, 1, f"{len(prep.graph.layers)} layers × their candidate bits × {n_test} images")
                damage = damage_check(method, prep.test.x[:n_test], prep.test.y[:n_test])
    warnings = _data_warnings(prep, top1["fp32"])
    rows = layer_rows(alloc, req.scheme, masked)
    totals = {"int8": prep.totals(8), "mixed": prep.totals(alloc.configs_)}
    if cd is not None:
        alloc.allocation_.extra["codesign"] = codesign.summary(prep, alloc.allocation_, cd)
    return PipelineResult(
        req, prep.name, prep.shape, prep.source, None if prep.test is None else prep.test.name, rows,
        alloc.budgets_, alloc.allocation_.solve_ms, alloc.plan_, qmodel, prep.calib, top1, totals, seconds,
        {"sensitivity_seconds": method.seconds_, "warnings": warnings, **alloc.allocation_.extra,
         **({"damage": damage} if damage else {})},
    )


def _data_warnings(prep: Prepared, fp32: float | None) -> list[str]:
    """A warning when FP32 top-1 on the given data is near chance: the data may not match the model."""
    from ohq.data import mismatch_warning
    from ohq.models.shipped import expected_top1

    if prep.test is None:
        return []
    text = mismatch_warning(fp32, prep.test.num_classes, expected_top1(prep.name))
    return [text] if text else []


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


def _load(req: Request) -> tuple[str, nn.Module, tuple[int, ...] | None, str | None, Any]:
    """(name, model in eval mode, its known input shape, its known data set, its Normalize)."""
    if isinstance(req.model, nn.Module):
        from ohq.data.normalize import Normalize
        from ohq.models import load_weights

        if req.weights is not None:
            load_weights(req.model, req.weights)
        norm = Normalize.parse(req.normalize) if isinstance(req.normalize, str) else req.normalize
        return type(req.model).__name__, req.model.eval(), None, None, norm
    from ohq.models import load_model

    loaded = load_model(req.model, req.weights, req.normalize)
    return loaded.name, loaded.model.eval(), loaded.input_shape, loaded.data, loaded.normalize


def _shape_from_data(data: str | None) -> tuple[int, ...]:
    if data is None:
        raise OhqError("give --input (or --data) for a model whose input shape ohq does not know")
    from ohq.data import load_dataset

    return load_dataset(data, "test").input_shape


def _calibration_data(req: Request, model: nn.Module, shape, rep: Reporter, normalize=None):
    """(calibration inputs, sensitivity inputs, description): real train samples or distilled data."""
    if req.data is not None:
        from ohq.data import load_dataset, sample

        train = load_dataset(req.data, "train", normalize)
        calib, _ = sample(train, req.calib, req.seed)
        samples, _ = sample(train, req.samples, req.seed)
        return calib, samples, f"{req.data} (real, train split)"
    from ohq.data.distill_cache import distill_for

    # ZeroQ's recipe: one small distilled batch serves both calibration and sensitivity; it stops
    # on a BN-loss plateau and is cached on disk for the next stage or run that asks for it.
    distilled, how = distill_for(
        model, req.samples, shape[1:], steps=req.distill_steps, seed=req.seed,
        callback=lambda step, total, loss: rep.advance(step, total, f"no --data: distilling, BN loss {loss:.3f}"),
    )
    return distilled.x, distilled.x, f"distilled from BN statistics ({how})"
