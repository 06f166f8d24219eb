"""`BitAllocator`: mixed-precision bit allocation as a scikit-learn-style estimator (the OHQ paper).

Parameters are set in `__init__` and nothing else happens there; `fit(model, x)` measures
sensitivity on `x` and hardware cost on the target, solves the search, and returns `self`; what it
learned ends in `_` (`plan_`, `bits_`, `configs_`, `allocation_`, `sensitivity_`, `table_`, `omegas_`).

Candidates are scheme configs, so one search can choose each layer's scheme as well as its bits:
`BitAllocator(candidates=[FixedPoint(4), FixedPoint(8), PowerOfTwo(4), SP2(4)], ...)`; `bits` and
`scheme` are the shorthand for the candidates of one scheme.

>>> import torch, ohq
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 10)).eval()
>>> x = torch.randn(16, 1, 8, 8)
>>> alloc = ohq.BitAllocator(budget=ohq.Size(ratio=0.5), sensitivity="layerwise").fit(net, x)
>>> sorted(alloc.bits_.values())
[4, 8]
>>> q = ohq.quantize(net, alloc.plan_, x)
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ohq.errors import BudgetError, OhqError
from ohq.graph import layer_graph, residual_ties
from ohq.hw.table import allocation_table
from ohq.hw.target import FpgaModel, Target
from ohq.reporter import Reporter
from ohq.search import OBJECTIVES, SEARCHES, MinSensitivity, Problem, Size, limits
from ohq.search.budgets import Budget


class BitAllocator:
    """Choose every layer's weight bits (and thereby its cost) under budgets on a hardware target.

    budget: one budget or a list (`Size`, `Latency`, `Energy`, `Bram18k`).
    objective: `Paper(beta, gamma)` (Eq. 11), `MinSensitivity()`, or a registered objective's name.
    sensitivity: a registered method name (`mqe`, `layerwise`, `hessian`) or an unfitted instance.
    probe: a `Target` (`FpgaModel("xc7z020")`, `HostCpu(...)`, `BoardFile(path)`).
    bits: candidate weight bit-widths. a_bits: activation bits (None: each layer's weight bits).
    scheme: number scheme of the weights (and of plans given as one bit-width, e.g. the INT8
    reference). candidates: scheme configs to choose from per layer, instead of `bits` of
    `scheme` (each config keeps its own a_bits). tie_residual: layers meeting at a residual add
    share one candidate.
    pin_first_last: bits forced on the first and last layer. search: a registered search name.
    """

    def __init__(
        self, budget: Budget | list[Budget] = Size(ratio=0.5), objective: Any = MinSensitivity(),  # noqa: B008
        sensitivity: Any = "qmqe", probe: Target = FpgaModel(), bits: tuple[int, ...] = (4, 8),  # noqa: B008
        a_bits: int | None = None, scheme: str = "uniform", tie_residual: bool = False,
        pin_first_last: int | None = None, search: str = "ilp", seed: int = 0,
        reporter: Reporter | None = None, scale: str = "float", candidates: Any = None,
    ) -> None:
        self.candidates = candidates
        self.scale = scale  # "po2": power-of-two scales (ohq.quant.po2)
        self.budget = budget
        self.objective = objective
        self.sensitivity = sensitivity
        self.probe = probe
        self.bits = bits
        self.a_bits = a_bits
        self.scheme = scheme
        self.tie_residual = tie_residual
        self.pin_first_last = pin_first_last
        self.search = search
        self.seed = seed
        self.reporter = reporter

    # ---- the estimator interface ----------------------------------------------------------------
    def fit(self, model: nn.Module, x: Tensor, y: Tensor | None = None) -> BitAllocator:
        """Measure, search, and store the plan in `plan_` (see the class docstring)."""
        self.check_params()
        model.eval()
        graph = layer_graph(model, (1, *x.shape[1:]))
        if not graph.layers:
            raise OhqError("the model has no quantizable layers (Conv2d or Linear)")
        self.graph_ = graph
        self.table_, self.costs_ = allocation_table(model, graph, self.probe, self.candidate_configs)
        self.sensitivity_ = self.fit_sensitivity(model, x, y)
        return self.solve(model)

    def fit_sensitivity(self, model: nn.Module, x: Tensor, y: Tensor | None = None, method: Any = None,
                        **params: Any):
        """The fitted sensitivity method (`method`, default `self.sensitivity`; an instance is
        fitted as is). A method that measures each candidate itself (qmqe) is fitted once per
        scheme of the candidates; `params` go to the method's constructor."""
        from ohq.search.candidates import fit_per_scheme
        from ohq.sensitivity import get_method

        method = self.sensitivity if method is None else method
        if not isinstance(method, str):
            return method if getattr(method, "scores_", None) is not None else method.fit(model, x, y)
        graph = getattr(self, "graph_", None)
        names = None if graph is None else graph.names  # traced already: not again
        rep = self.reporter or Reporter()
        params.setdefault("callback", lambda done, total: rep.advance(done, total))
        if method in ("mqe", "hessian", "qmqe"):
            params.setdefault("seed", self.seed)
        if not get_method(method).measures_bits:
            return get_method(method, **params).fit(model, x, y, layers=names)
        return fit_per_scheme(lambda bits, scheme: get_method(method, candidate_bits=bits, scheme=scheme, **params),
                              self.candidate_configs, lambda m: m.fit(model, x, y, layers=names))

    def solve(self, model: nn.Module, budget: Budget | list[Budget] | None = None,
              objective: Any = None) -> BitAllocator:
        """Re-run only the search (new budget or objective) on what `fit` measured."""
        objective = self._objective(self.objective if objective is None else objective)
        budget = self.budget if budget is None else budget
        budgets = limits(budget, self.table_)
        if getattr(objective, "needs_size_budget", False) and "size_mib" not in budgets:
            raise BudgetError("the paper objective (Eq. 11) needs a size budget: --size-mib or --size-ratio")
        table = self.table_
        if table.mixed and not getattr(objective, "compares_schemes", True):
            raise OhqError(f"the {getattr(objective, 'name', 'given')} objective scores bits only, not schemes; "
                           "with candidates of several schemes use min-sensitivity")
        names = self.graph_.names
        problem = Problem(model, names, table.bits, self.scheme, self.sensitivity_, self.costs_,
                          table.candidates, table.keys)
        value, self.omegas_ = objective.value(problem)
        ties = residual_ties(model, self.graph_) if self.tie_residual else []
        pin = None if self.pin_first_last is None else self.config_of(self.pin_first_last)
        pinned = {} if pin is None else dict.fromkeys((names[0], names[-1]), pin)
        allocation = SEARCHES.get(self.search)(table, value, budgets, ties=ties, pinned=pinned)
        allocation.extra.update(ties=ties, pinned={n: self.pin_first_last for n in pinned})
        self.budgets_ = budgets
        return self.take(allocation)

    def take(self, allocation) -> BitAllocator:
        """Store a search's answer: `allocation_`, `bits_`, `configs_` (a config per layer; bits
        alone mean `scheme`) and `plan_`."""
        self.allocation_ = allocation
        self.bits_ = dict(allocation.bits)
        self.configs_ = dict(allocation.choice) or {n: self.config_of(b) for n, b in self.bits_.items()}
        self.plan_ = self.plan_for(self.configs_)
        return self

    # ---- helpers --------------------------------------------------------------------------------
    @property
    def candidate_configs(self) -> tuple:
        """The candidates, one per cost-table column: scheme configs, ascending in bits."""
        from ohq.search.candidates import candidates_from

        return candidates_from(self.bits, self.scheme, self.a_bits, self.candidates)

    @property
    def candidate_bits(self) -> tuple[int, ...]:
        """The distinct weight bit-widths among the candidates, ascending."""
        return tuple(sorted({c.bits for c in self.candidate_configs}))

    def config_of(self, bits: int):
        """What one bit-width means (the INT8 reference, `pin_first_last`): the candidate of
        `self.scheme` at `bits`, else a new config of `self.scheme`."""
        from ohq.quant.configs import config_for

        same = [c for c in self.candidate_configs if c.bits == bits and c.scheme == self.scheme]
        return same[0] if same else config_for(self.scheme, bits, bits if self.a_bits is None else self.a_bits)

    def check_params(self) -> None:
        if self.candidates is None and (not self.bits or len(set(self.bits)) != len(self.bits)):
            raise OhqError(f"candidate bits must be distinct, got {self.bits}")
        self.candidate_configs  # noqa: B018  (bad candidates: one line before any work)
        if not isinstance(self.probe, Target):
            raise OhqError(f"probe must be an ohq.hw Target such as FpgaModel('xc7z020'), got {self.probe!r}")

    def plan_for(self, choice: dict[str, Any] | int):
        """The quant Plan for a candidate per layer (configs, or bits of `scheme`), or for one
        bit-width for every layer; the default is the widest candidate."""
        from dataclasses import replace

        from ohq.quant import Plan

        def spec(c: Any):
            return replace((self.config_of(c) if isinstance(c, int) else c).spec(), scale=self.scale)

        if isinstance(choice, int):
            return Plan(spec(choice))
        widest = max(self.candidate_configs, key=lambda c: c.bits)
        return Plan(spec(widest), {name: spec(c) for name, c in choice.items()})

    def totals(self, choice: dict[str, Any] | int) -> dict[str, float]:
        """Size, latency and energy of an allocation (one bit-width for all when an int; {} when
        that is no candidate)."""
        if isinstance(choice, int):
            config = self.config_of(choice)
            if config not in self.table_.candidates:
                return {}
            choice = dict.fromkeys(self.table_.names, config)
        choice = {n: self.config_of(c) if isinstance(c, int) else c for n, c in choice.items()}
        return {m: self.table_.total(m, choice) for m in ("size_mib", "latency_ms", "energy_mj")}

    @staticmethod
    def _objective(objective: Any):
        return OBJECTIVES.create(objective) if isinstance(objective, str) else objective

    def __repr__(self) -> str:
        skip = {"reporter"}
        return "BitAllocator(" + ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_") and k not in skip
        ) + ")"


