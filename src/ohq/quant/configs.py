"""One config per number scheme (STYLE 1; torchao's `Int4WeightOnlyConfig` shape).

A config says what a layer's weights are; `spec()` gives the `QuantSpec` the quantizer reads, so
a config works wherever a QuantSpec does (a Plan's default or layer entries). The handler of each
config is the scheme registered under its `scheme` name (`ohq.quant.SCHEMES`).

>>> SP2(4).spec()
QuantSpec(w_bits=4, a_bits=8, scheme='sp2', w_observer='auto', a_observer='auto', rho=0.5, scale='float')
>>> plan = plan_from({"_default": FixedPoint(8), "fc": SP2(4), "re:features\\\\..*": PowerOfTwo(4)})
>>> plan.spec_for("fc").scheme, plan.spec_for("features.1.0").scheme, plan.spec_for("head").w_bits
('sp2', 'pot', 8)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ohq.errors import PlanError
from ohq.quant.spec import Plan, QuantSpec


@dataclass(frozen=True)
class SchemeConfig:
    """Weights at `bits` bits of the subclass's scheme; activations (its input) at `a_bits`."""

    bits: int
    a_bits: int | None = 8
    scheme = ""

    def spec(self) -> QuantSpec:
        return QuantSpec(self.bits, self.a_bits, self.scheme)


@dataclass(frozen=True)
class FixedPoint(SchemeConfig):
    """Uniform symmetric fixed point (a DSP multiply)."""

    scheme = "uniform"


@dataclass(frozen=True)
class PowerOfTwo(SchemeConfig):
    """Powers of two (one shift)."""

    scheme = "pot"


@dataclass(frozen=True)
class SP2(SchemeConfig):
    """Sums of two powers of two (two shifts and an add)."""

    scheme = "sp2"


@dataclass(frozen=True)
class RowMix(SchemeConfig):
    """A share `rho` of each layer's rows in SP2 on LUTs, the rest fixed point on DSPs."""

    rho: float = 0.5
    scheme = "rowmix"

    def spec(self) -> QuantSpec:
        return QuantSpec(self.bits, self.a_bits, self.scheme, rho=self.rho)


def as_spec(value: Any, where: str = "plan") -> QuantSpec | None:
    """A QuantSpec from a config, a QuantSpec or None (float)."""
    if value is None or isinstance(value, QuantSpec):
        return value
    if isinstance(value, SchemeConfig):
        return value.spec()
    raise PlanError(f"{where}: expected a scheme config such as FixedPoint(8), got {value!r}")


def plan_from(mapping: dict[str, Any], first_last_bits: int | None = None) -> Plan:
    """A Plan from {layer name or "re:<regex>": config, "_default": config} (torchao's FqnToConfig)."""
    if not isinstance(mapping, dict):
        raise PlanError(f"a plan mapping must be a dict, got {type(mapping).__name__}")
    default = as_spec(mapping.get("_default"), "plan default") if "_default" in mapping else QuantSpec()
    layers = {k: as_spec(v, f"plan layer {k!r}") for k, v in mapping.items() if k != "_default"}
    return Plan(default, layers, first_last_bits)
