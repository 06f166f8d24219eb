"""Bayesian optimisation of per-layer (bits, sparsity) with optuna (the mixed-dataflow paper).

The sampler is optuna's TPE (multivariate, constant liar), not its GP sampler: the space is two
categorical choices per layer (20-110 dimensions for the shipped and ImageNet models), where a GP
surrogate is weak and costs O(n³) per trial, while TPE models categoricals directly; the constant
liar keeps workers that share one study (`storage`) from proposing the same point while a trial is
still running. Budgets go to TPE as trial constraints (`Trial.set_constraint`) (a violated budget is a constraint > 0), so
infeasible trials inform the sampler instead of being dropped.

Objectives (maximised): `accuracy − λ·size/size_fp32` (the mixed-dataflow paper), or with `max_loss` set,
`−size/size_fp32` subject to `reference − accuracy ≤ max_loss`. The evaluator passed in measures
accuracy; the caller must give it a validation split, never the test split.

Storage: None (in memory), an RDB URL (`sqlite:///study.db`), or `journal:PATH` / a `.log` file
(optuna's journal file, safe for several processes on one file system). A study that exists is
resumed: trials already complete count toward `trials`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import optuna

from ohq.errors import OhqError

Evaluation = dict  # {"accuracy": float, "size": float (share of fp32), "violations": [float, ...], ...}


@dataclass
class BoResult:
    """The best feasible trial, and how the study went."""

    bits: dict[str, int]
    sparsity: dict[str, float]
    value: float
    metrics: dict
    trials_complete: int
    trials_run_here: int
    seconds: float
    study_name: str
    history: list[dict] = field(default_factory=list)


def open_storage(url: str | None):
    """An optuna storage for `url` (None: in memory); OhqError when it cannot be opened."""
    if url is None:
        return None
    try:
        if url.startswith("journal:") or url.endswith((".log", ".journal")):
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend

            path = Path(url.removeprefix("journal:"))
            if not path.parent.is_dir():
                raise OhqError(f"--storage {url}: directory {path.parent} does not exist")
            return JournalStorage(JournalFileBackend(str(path)))
        return optuna.storages.RDBStorage(url)
    except OhqError:
        raise
    except Exception as exc:  # optuna/SQLAlchemy raise many kinds for a bad URL
        raise OhqError(f"--storage {url}: cannot open ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def check_trials(trials: int) -> int:
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise OhqError(f"--trials must be a positive integer, got {trials!r}")
    return trials


def _sampler(kind: str, seed: int, trials: int):
    """TPE for `bo`; uniform random sampling for the `random` baseline (same evaluator, same space)."""
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(
        seed=seed, multivariate=True, constant_liar=True, n_startup_trials=max(2, min(10, trials // 3)),
    )


def _score(ev: Evaluation, lam: float, max_loss: float | None, reference: float | None) -> float:
    if max_loss is None:
        return ev["accuracy"] - lam * ev["size"]
    return -ev["size"]


def bo_search(
    names: list[str],
    bits: tuple[int, ...],
    sparsities: tuple[float, ...],
    evaluate: Callable[[dict[str, int], dict[str, float]], Evaluation],
    *,
    trials: int,
    lam: float = 1.0,
    max_loss: float | None = None,
    reference: float | None = None,
    storage: str | None = None,
    study_name: str = "ohq-bo",
    seed: int = 0,
    callback: Callable[[int, int, str], None] | None = None,
    sampler: str = "bo",
    start: list[tuple[dict[str, int], dict[str, float]]] | None = None,
) -> BoResult:
    """Run (or resume) the study until it has `trials` complete trials; the best feasible wins.

    `start`: (bits, sparsity) points a new study evaluates first (e.g. the dense widest plan, which
    meets an accuracy constraint, so the sampler has a feasible trial to improve on).
    """
    check_trials(trials)
    if max_loss is not None and reference is None:
        raise OhqError("max_loss needs the reference accuracy")
    store = open_storage(storage)
    sampler_obj = _sampler(sampler, seed, trials)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(study_name=study_name, storage=store, sampler=sampler_obj,
                                    direction="maximize", load_if_exists=True)
    except Exception as exc:
        raise OhqError(f"--storage {storage}: cannot create or load study {study_name!r} ({exc})") from None
    if not study.trials:
        for b, sp in start or []:
            study.enqueue_trial({**{f"bits/{n}": b[n] for n in names}, **{f"sparsity/{n}": sp[n] for n in names}})
    done = lambda: sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)  # noqa: E731
    start, ran = time.perf_counter(), 0

    def objective(trial: optuna.Trial) -> float:
        b = {n: trial.suggest_categorical(f"bits/{n}", list(bits)) for n in names}
        s = {n: trial.suggest_categorical(f"sparsity/{n}", list(sparsities)) for n in names}
        ev = evaluate(b, s)
        violations = list(ev.get("violations", []))
        if max_loss is not None:
            violations.append(reference - ev["accuracy"] - max_loss)
        trial.set_user_attr("violations", violations)
        for i, v in enumerate(violations):  # TPE reads these: a trial is feasible when all are <= 0
            trial.set_constraint(f"budget{i}", float(v))
        trial.set_user_attr("metrics", {k: v for k, v in ev.items() if k != "violations"})
        return _score(ev, lam, max_loss, reference)

    while done() < trials:
        study.optimize(objective, n_trials=1, catch=())
        ran += 1
        if callback:
            callback(done(), trials, f"best {study.best_value:.4f}" if _feasible(study) else "")
    return _result(study, study_name, names, bits, ran, time.perf_counter() - start)


def _feasible(study) -> list:
    return [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE
            and all(v <= 0 for v in t.user_attrs.get("violations", []))]


def _result(study, name, names, bits, ran, seconds) -> BoResult:
    ok = _feasible(study)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    history = [{"trial": t.number, "value": t.value, "feasible": t in ok, **t.user_attrs["metrics"]} for t in complete]
    if not ok:
        raise OhqError(f"no feasible configuration in {len(complete)} trials; raise --trials or relax the budgets")
    best = max(ok, key=lambda t: t.value)
    pick = {n: int(best.params[f"bits/{n}"]) for n in names}
    sparsity = {n: float(best.params[f"sparsity/{n}"]) for n in names}
    return BoResult(pick, sparsity, float(best.value), dict(best.user_attrs["metrics"]), len(complete), ran,
                    seconds, name, history)
