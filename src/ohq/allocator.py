"""`BitAllocator`: mixed-precision bit allocation as a scikit-learn-style estimator (the OHQ paper).

Parameters are set in `__init__` and nothing else happens there; `fit(model, x)` measures
sensitivity on `x` and hardware cost on the target, solves the search, and returns `self`; what it
learned ends in `_` (`plan_`, `bits_`, `allocation_`, `sensitivity_`, `table_`, `omegas_`).

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
    scheme: number scheme of the weights. tie_residual: layers meeting at a residual add share bits.
    pin_first_last: bits forced on the first and last layer. search: a registered search name.
    """

    def __init__(
        self, budget: Budget | list[Budget] = Size(ratio=0.5), objective: Any = MinSensitivity(),  # noqa: B008
        sensitivity: Any = "qmqe", probe: Target = FpgaModel(), bits: tuple[int, ...] = (4, 8),  # noqa: B008
        a_bits: int | None = None, scheme: str = "uniform", tie_residual: bool = False,
        pin_first_last: int | None = None, search: str = "ilp", seed: int = 0,
        reporter: Reporter | None = None, scale: str = "float",
    ) -> None:
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
        self.table_, self.costs_ = allocation_table(
            model, graph, self.probe, self.candidate_bits, scheme=self.scheme, a_bits=self.a_bits
        )
        self.sensitivity_ = self.fit_sensitivity(model, x, y)
        return self.solve(model)

    def fit_sensitivity(self, model: nn.Module, x: Tensor, y: Tensor | None = None):
        """The fitted sensitivity method (an instance given as `sensitivity` is fitted as is)."""
        from ohq.sensitivity import get_method

        method = self.sensitivity
        if isinstance(method, str):
            rep = self.reporter or Reporter()
            params: dict[str, Any] = {"callback": lambda done, total: rep.advance(done, total)}
            if method in ("mqe", "hessian", "qmqe"):
                params["seed"] = self.seed
            if get_method(method).measures_bits:  # measures damage at each candidate itself
                params.update(candidate_bits=self.candidate_bits, scheme=self.scheme)
            method = get_method(method, **params)
        if getattr(method, "scores_", None) is None:
            method.fit(model, x, y)
        return method

    def solve(self, model: nn.Module, budget: Budget | list[Budget] | None = None,
              objective: Any = None) -> BitAllocator:
        """Re-run only the search (new budget or objective) on what `fit` measured."""
        objective = self._objective(self.objective if objective is None else objective)
        budget = self.budget if budget is None else budget
        budgets = limits(budget, self.table_)
        if getattr(objective, "needs_size_budget", False) and "size_mib" not in budgets:
            raise BudgetError("the paper objective (Eq. 11) needs a size budget: --size-mib or --size-ratio")
        names = self.graph_.names
        problem = Problem(model, names, self.candidate_bits, self.scheme, self.sensitivity_, self.costs_)
        value, self.omegas_ = objective.value(problem)
        ties = residual_ties(model, self.graph_) if self.tie_residual else []
        pinned = {} if self.pin_first_last is None else dict.fromkeys((names[0], names[-1]), self.pin_first_last)
        self.allocation_ = SEARCHES.get(self.search)(self.table_, value, budgets, ties=ties, pinned=pinned)
        self.allocation_.extra.update(ties=ties, pinned=pinned)
        self.budgets_ = budgets
        self.bits_ = dict(self.allocation_.bits)
        self.plan_ = self.plan_for(self.bits_)
        return self

    # ---- helpers --------------------------------------------------------------------------------
    @property
    def candidate_bits(self) -> tuple[int, ...]:
        return tuple(sorted(int(b) for b in self.bits))

    def check_params(self) -> None:
        if not self.bits or len(set(self.bits)) != len(self.bits):
            raise OhqError(f"candidate bits must be distinct, got {self.bits}")
        if not isinstance(self.probe, Target):
            raise OhqError(f"probe must be an ohq.hw Target such as FpgaModel('xc7z020'), got {self.probe!r}")

    def plan_for(self, bits: dict[str, int] | int):
        """The quant Plan for per-layer weight bits (or one bit-width for every layer)."""
        from ohq.quant import Plan, QuantSpec

        def spec(b: int) -> QuantSpec:
            return QuantSpec(b, b if self.a_bits is None else self.a_bits, self.scheme, scale=self.scale)

        if isinstance(bits, int):
            return Plan(spec(bits))
        return Plan(spec(max(self.candidate_bits)), {name: spec(b) for name, b in bits.items()})

    def totals(self, bits: dict[str, int] | int) -> dict[str, float]:
        """Size, latency and energy of an allocation (one bit-width for all when an int)."""
        if isinstance(bits, int):
            if bits not in self.table_.bits:
                return {}
            bits = dict.fromkeys(self.table_.names, bits)
        return {m: self.table_.total(m, bits) for m in ("size_mib", "latency_ms", "energy_mj")}

    @staticmethod
    def _objective(objective: Any):
        return OBJECTIVES.create(objective) if isinstance(objective, str) else objective

    def __repr__(self) -> str:
        skip = {"reporter"}
        return "BitAllocator(" + ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_") and k not in skip
        ) + ")"


