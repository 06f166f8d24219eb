"""The pipeline's BO / random search: each trial prunes, quantizes (PTQ) and scores on validation.

Accuracy comes from `opts.val` images of the data set's `val` split (MNIST: the last 5,000 training
images; calibration uses the `train` split, so neither the test split nor calibration images are
scored). Size counts sparse storage and biases; latency is the dataflow model's (`--dataflow`,
zero skipping included); with `--fit-bram` a trial whose weights and buffers do not fit BRAM is
infeasible by the BRAM18K it is over.
"""

from __future__ import annotations

from ohq.errors import OhqError
from ohq.search._registry import register_search
from ohq.search.ilp import Allocation


def validation(prep, count: int, seed: int):
    """A seeded subset of the validation split of the run's data set."""
    from ohq.data import load_dataset
    from ohq.data.datasets import LabeledData

    name = prep.req.data or (prep.test.name if prep.test is not None else None)
    if name is None:
        raise OhqError("--search bo/random scores trials on a validation split: give --data")
    from ohq.data.sample import sample

    val = load_dataset(name, "val", prep.normalize)  # the model's transform, as calibration uses
    if len(val) == 0:
        raise OhqError(f"data set {name!r} has an empty validation split")
    x, y = sample(val, count, seed)
    return LabeledData(x, y, val.name, "val", val.num_classes)


def _accuracy(net, data) -> float:
    from ohq.quant import QuantModel
    from ohq.train import top1

    return top1(net.fastest() if isinstance(net, QuantModel) else net, data)


def make_evaluator(prep, budgets: dict[str, float], opts, val):
    from ohq.codesign import _fit_report, _size_mib, quantize, stores
    from ohq.hw.onchip import FitBramError, resident_weight_bram18k

    fp32_mib = _size_mib(prep, stores(prep, dict.fromkeys(prep.graph.names, 32), {}, opts.prune))

    def evaluate(bits: dict[str, int], sparsity: dict[str, float]) -> dict:
        alloc = Allocation(bits, {}, 0.0, 0.0, {"sparsity": sparsity})
        acc = _accuracy(quantize(prep, prep.plan(bits), alloc, opts), val)
        st = stores(prep, bits, sparsity, opts.prune)
        size = _size_mib(prep, st)
        ev = {"accuracy": acc, "size": size / fp32_mib, "size_mib": size, "violations": []}
        try:
            report = _fit_report(prep, bits, sparsity, opts)
            ev |= {"latency_ms": report.totals["latency_ms"], "energy_mj": report.totals["energy_mj"],
                   "bram18k": report.totals["bram18k_used"]}
            over = 0.0
        except FitBramError:
            ev |= {"latency_ms": float("inf"), "energy_mj": float("inf"), "bram18k": resident_weight_bram18k(st)}
            over = 1.0 + ev["bram18k"]
        if opts.fit_bram:
            ev["violations"].append(over)
        for metric, limit in budgets.items():
            if metric == "bram18k" and opts.fit_bram:
                continue
            got = ev[metric] if metric != "bram18k" else resident_weight_bram18k(st)
            ev["violations"].append((got - limit) / max(abs(limit), 1e-12))
        return ev

    return evaluate


def _start(prep, opts) -> list:
    """BO starts from the dense plan at the widest bits (feasible for an accuracy constraint) and,
    without one, also the dense narrowest plan; the random baseline starts nowhere in particular."""
    if opts.search != "bo":
        return []
    names, bits = prep.graph.names, prep.req.bits
    dense = dict.fromkeys(names, 0.0)
    points = [(dict.fromkeys(names, max(bits)), dense)]
    if opts.max_loss is None and len(bits) > 1:
        points.append((dict.fromkeys(names, min(bits)), dense))
    return points


@register_search("bo")
def allocate_bo(prep, budgets: dict[str, float], opts, reporter=None) -> Allocation:
    """Search per-layer bits and sparsity with optuna (TPE, or random sampling for the baseline)."""
    from ohq.search.bayes import bo_search

    val = validation(prep, opts.val, prep.req.seed)
    evaluate = make_evaluator(prep, budgets, opts, val)
    reference = _accuracy(prep.model, val) if opts.max_loss is not None else None
    cb = (lambda d, t, info: reporter.advance(d, t, info)) if reporter is not None else None
    result = bo_search(
        prep.graph.names, prep.req.bits, opts.candidates(), evaluate, trials=opts.trials, lam=opts.lam,
        max_loss=opts.max_loss, reference=reference, storage=opts.storage, study_name=opts.study,
        seed=prep.req.seed, callback=cb, sampler=opts.search, start=_start(prep, opts),
    )
    totals = {k: result.metrics[k] for k in ("size_mib", "latency_ms", "energy_mj", "bram18k") if k in result.metrics}
    extra = {"sparsity": result.sparsity, "bo": {
        "sampler": "TPE" if opts.search == "bo" else "random", "trials_complete": result.trials_complete,
        "trials_run_here": result.trials_run_here, "seconds": result.seconds, "study": result.study_name,
        "val_images": len(val), "val_top1": result.metrics["accuracy"], "val_top1_fp32": reference,
        "value": result.value, "history": result.history,
    }}
    return Allocation(result.bits, totals, result.value, result.seconds * 1e3, extra)


@register_search("random")
def allocate_random(prep, budgets: dict[str, float], opts, reporter=None) -> Allocation:
    """The baseline at equal budgets: the same space and evaluator, uniform random sampling."""
    from dataclasses import replace

    return allocate_bo(prep, budgets, replace(opts, search="random"), reporter)
