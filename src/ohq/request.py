"""`Request`: what the user asked for, flat (one field per CLI flag), and the typed objects behind it.

`Request.allocator()` gives the `BitAllocator` the pipeline runs; `budget_list()`, `objective_for()`
and `target()` give its budget, objective and probe objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from ohq.allocator import BitAllocator
from ohq.errors import BudgetError, OhqError
from ohq.hw.target import Target
from ohq.reporter import Reporter
from ohq.search import OBJECTIVES, Bram18k, Energy, Latency, Size


@dataclass
class Request:
    """What the user asked for, flat (one field per CLI flag). Exactly the budgets set constrain."""

    model: str | nn.Module
    weights: str | None = None
    input_shape: tuple[int, ...] | None = None
    data: str | None = None  # None: distilled data for calibration and sensitivity
    device: str = "xc7z020"
    probe: str = "fpga-model"
    probe_file: str | None = None
    bits: tuple[int, ...] = (4, 8)
    a_bits: int | None = None  # None: each layer reads activations at its weight bits (W/A */*)
    scheme: str = "uniform"
    objective: str = "min-sensitivity"  # min Σ damage(i, b) under the budgets; "paper" is Eq. 11
    sensitivity: str = "qmqe"  # the method that predicts real damage best (docs/sensitivity.md)
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
    masked_top1: bool = True  # mqe: top-1 with each layer masked (layers.csv); its cost shows in the bar
    measured_damage: bool = True  # qmqe: measured vs predicted per-bit top-1 drop (damage.png)
    normalize: str | None = None  # "MEAN,STD": the model's input transform (shipped models know theirs)
    finetune: str | None = None  # "qat" or "progressive": fine-tune the mixed model (ohq.train)
    finetune_epochs: float = 1.0
    codesign: Any = None  # ohq.codesign.CodesignOptions: pruning, BO/random search, fit-BRAM, PR
    scale: str = "float"  # "po2": power-of-two scales (ohq.quant.po2), for bit-exact hls4ml/FINN
    # scheme configs, or "uniform:4,sp2:4" (--candidates): one search picks scheme and bits per
    # layer; None: the `bits` of `scheme`
    candidates: Any = None

    def __post_init__(self) -> None:
        objective = self.objective_for()  # unknown objective: one line before any work
        if self.candidates is not None:
            self._read_candidates(objective)
        if not self.bits or len(set(self.bits)) != len(self.bits):
            raise OhqError(f"candidate bits must be distinct, got {self.bits}")
        self.bits = tuple(sorted(int(b) for b in self.bits))
        if self.size_mib is not None and self.size_ratio is not None:
            raise BudgetError("give either --size-mib or --size-ratio, not both")
        searched = self.codesign is not None and self.codesign.search != "ilp"  # BO has its own objective
        if objective.needs_size_budget and self.size_mib is None and self.size_ratio is None and not searched:
            raise BudgetError("the paper objective (Eq. 11) needs a size budget: --size-mib or --size-ratio")
        if not (self.budget_list() or searched):
            raise BudgetError("give a budget: --size-mib, --size-ratio, --latency-ms, --energy-mj or --bram18k")
        if self.samples < 1 or self.calib < 1:
            raise OhqError(f"--samples and --calib must be at least 1 (got {self.samples}, {self.calib})")
        if self.finetune is not None:
            from ohq.train import check_finetune

            check_finetune(self.finetune, self.data, self.finetune_epochs)

    def _read_candidates(self, objective) -> None:
        """Parse `candidates`; `bits` become their bit-widths; one scheme among them is `scheme`."""
        from ohq.quant.configs import parse_candidates
        from ohq.search.candidates import candidates_from

        text = self.candidates
        self.candidates = candidates_from((), configs=parse_candidates(text, self.a_bits) if isinstance(text, str)
                                          else text)
        self.bits = tuple(sorted({c.bits for c in self.candidates}))
        schemes = {c.scheme for c in self.candidates}
        if len(schemes) == 1:
            self.scheme = schemes.pop()
            return
        if self.codesign is not None:
            raise OhqError("--search, --sparsity, --fit-bram, --dataflow and --pr take the bits of one scheme; "
                           "give --candidates of one scheme, or --bits with --scheme")
        if not getattr(objective, "compares_schemes", True):
            raise OhqError(f"--objective {self.objective} scores bits only, not schemes; with --candidates of "
                           "several schemes use --objective min-sensitivity")

    # ---- the typed objects behind the flags ---------------------------------------------------
    def budget_list(self, size_ratio: float | None = None) -> list:
        ratio = self.size_ratio if size_ratio is None else size_ratio
        out: list = []
        if ratio is not None:
            out.append(Size(ratio=ratio))
        elif self.size_mib is not None:
            out.append(Size(mib=self.size_mib))
        for value, cls in ((self.latency_ms, Latency), (self.energy_mj, Energy), (self.bram18k, Bram18k)):
            if value is not None:
                out.append(cls(float(value)))
        return out

    def objective_for(self, name: str | None = None, beta: float | None = None, gamma: float | None = None):
        return OBJECTIVES.create(name or self.objective, beta=self.beta if beta is None else beta,
                                 gamma=self.gamma if gamma is None else gamma)

    def target(self) -> Target:
        return Target(self.device, self.probe, {"path": self.probe_file} if self.probe == "file" else {})

    def allocator(self, reporter: Reporter | None = None) -> BitAllocator:
        return BitAllocator(
            self.budget_list(), self.objective_for(), self.sensitivity, self.target(), self.bits,
            self.a_bits, self.scheme, self.tie_residual, self.pin_first_last, seed=self.seed,
            reporter=reporter, scale=self.scale, candidates=self.candidates,
        )
