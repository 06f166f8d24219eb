"""One config per number scheme, handled by the scheme registered for its type (STYLE 1;
torchao's `Int4WeightOnlyConfig` + `register_quantize_module_handler` shape).

A config says what a layer's weights are; `spec()` gives the `QuantSpec` the quantizer reads, so
a config works wherever a QuantSpec does (a Plan's default or layer entries, a search candidate).
Its handler is the `Scheme` registered in `ohq.quant.SCHEMES` whose `config` is the config's
class: the scheme registry is the one table from config type to handler, so a new scheme is one
config class and one registered handler that names it (tests/test_extension_points.py).

>>> SP2(4).spec()
QuantSpec(w_bits=4, a_bits=8, scheme='sp2', w_observer='auto', a_observer='auto', rho=0.5, scale='float')
>>> handler_for(SP2(4)).name, config_for("pot", 4, a_bits=4)
('sp2', PowerOfTwo(bits=4, a_bits=4))
>>> plan = plan_from({"_default": FixedPoint(8), "fc": SP2(4), "re:features\\\\..*": PowerOfTwo(4)})
>>> plan.spec_for("fc").scheme, plan.spec_for("features.1.0").scheme, plan.spec_for("head").w_bits
('sp2', 'pot', 8)
>>> parse_candidates("uniform:4,sp2:4,uniform:8")
(FixedPoint(bits=4, a_bits=4), SP2(bits=4, a_bits=4), FixedPoint(bits=8, a_bits=8))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ohq.errors import PlanError
from ohq.quant._registry import SCHEMES
from ohq.quant.spec import ACT_BITS, Plan, QuantSpec

if TYPE_CHECKING:
    from ohq.quant.scheme import Scheme


@dataclass(frozen=True)
class SchemeConfig:
    """Weights at `bits` bits of the subclass's scheme; activations (its input) at `a_bits`."""

    bits: int
    a_bits: int | None = 8

    def __post_init__(self) -> None:
        handler_for(self).check_bits(self.bits)  # PowerOfTwo(8): one line, at construction
        if self.a_bits is not None and (isinstance(self.a_bits, bool) or self.a_bits not in ACT_BITS):
            raise PlanError(f"activations cannot have {self.a_bits!r} bits; allowed: {', '.join(map(str, ACT_BITS))}")

    @property
    def scheme(self) -> str:
        """The registered name of this config's handler."""
        return handler_for(self).name

    @property
    def label(self) -> str:
        """'sp2:4': the CLI's spelling (`--candidates`), and the column name in reports."""
        return f"{self.scheme}:{self.bits}"

    def spec(self) -> QuantSpec:
        return QuantSpec(self.bits, self.a_bits, self.scheme)


@dataclass(frozen=True)
class FixedPoint(SchemeConfig):
    """Uniform symmetric fixed point (a DSP multiply)."""


@dataclass(frozen=True)
class PowerOfTwo(SchemeConfig):
    """Powers of two (one shift)."""


@dataclass(frozen=True)
class SP2(SchemeConfig):
    """Sums of two powers of two (two shifts and an add)."""


@dataclass(frozen=True)
class RowMix(SchemeConfig):
    """A share `rho` of each layer's rows in SP2 on LUTs, the rest fixed point on DSPs."""

    rho: float = 0.5

    def spec(self) -> QuantSpec:
        return QuantSpec(self.bits, self.a_bits, self.scheme, rho=self.rho)


def handler_for(config: SchemeConfig) -> Scheme:
    """The registered scheme whose `config` is `type(config)` (torchao's handler lookup by type)."""
    for _, handler in SCHEMES.items():
        if getattr(handler, "config", None) is type(config):
            return handler
    raise PlanError(f"no scheme is registered for config {type(config).__name__}; register a Scheme "
                    "subclass with `config = ...` (ohq.quant.register_scheme)")


def config_for(scheme: str, bits: int, a_bits: int | None = 8, **options: Any) -> SchemeConfig:
    """The config of registered scheme `scheme` at `bits` (the reverse lookup, for text and specs)."""
    cls = getattr(SCHEMES.get(scheme), "config", None)
    if cls is None:
        raise PlanError(f"scheme {scheme!r} has no config class")
    return cls(bits, a_bits, **options)


def config_of(spec: QuantSpec) -> SchemeConfig:
    """The config that gives `spec` (ignoring observers and scale)."""
    extra = {"rho": spec.rho} if spec.scheme == "rowmix" else {}
    return config_for(spec.scheme, spec.w_bits, spec.a_bits, **extra)


def parse_candidates(text: str, a_bits: int | None = None) -> tuple[SchemeConfig, ...]:
    """Configs from 'scheme:bits,…' (`--candidates uniform:4,sp2:4`); a_bits None: the weight bits."""
    out = []
    for item in (s.strip() for s in str(text).split(",")):
        scheme, sep, bits = item.partition(":")
        if not sep or not bits.strip().isdigit() or not scheme.strip():
            raise PlanError(f"--candidates takes scheme:bits pairs like uniform:4,sp2:4; got {item!r}")
        b = int(bits)
        out.append(config_for(scheme.strip(), b, b if a_bits is None else a_bits))
    if len(set(out)) != len(out):
        raise PlanError(f"--candidates lists a candidate twice: {text!r}")
    return tuple(out)


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
