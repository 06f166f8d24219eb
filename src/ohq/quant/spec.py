"""QuantSpec (one layer's bits and scheme) and Plan (layer name → QuantSpec, with a default).

A Plan is the object the ILP writes and `quantize` reads (STYLE 2); `save_json` writes it with a
type and a version. Unknown keys are errors, never ignored (STYLE 5).

>>> plan = Plan(QuantSpec(w_bits=4), {"fc": QuantSpec(w_bits=8)}, first_last_bits=8)
>>> plan.spec_for("fc").w_bits, plan.spec_for("layer1.0.conv1").w_bits
(8, 4)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ohq.errors import OhqError
from ohq.quant._registry import get_observer, get_scheme

ACT_BITS = (2, 3, 4, 5, 6, 7, 8, 16)  # activations are always fixed-point (asymmetric per tensor)
PLAN_TYPE, PLAN_VERSION = "ohq.plan", 1


@dataclass(frozen=True)
class QuantSpec:
    """How one layer is quantized. `None` bits leave that tensor in floating point.

    w_bits/scheme/w_observer/rho: the layer's weights. a_bits/a_observer: the activation the
    layer reads (its input); the tensors between layers use the plan default's a_bits.
    rho: share of rows that get SP2 under scheme "rowmix" (ignored by other schemes).
    scale: "float" (fitted scales) or "po2" (rounded up to powers of two, for fixed-point flows).
    """

    w_bits: int | None = 8
    a_bits: int | None = 8
    scheme: str = "uniform"
    w_observer: str = "minmax"
    a_observer: str = "minmax"
    rho: float = 0.5
    scale: str = "float"  # "po2": power-of-two weight steps and activation scales (quant/po2.py)

    def __post_init__(self) -> None:
        from ohq.quant.po2 import SCALES

        if self.scale not in SCALES:
            raise OhqError(f"scale must be one of {', '.join(SCALES)}, got {self.scale!r}")
        if self.scale == "po2" and self.scheme == "rowmix":
            raise OhqError("scale po2 does not apply to scheme rowmix (its rows have two grids); "
                           "use uniform, pot or sp2")
        scheme = get_scheme(self.scheme)
        if self.w_bits is not None:
            scheme.check_bits(self.w_bits)
        if self.a_bits is not None and (
            isinstance(self.a_bits, bool) or self.a_bits not in ACT_BITS
        ):
            raise OhqError(
                f"activations cannot have {self.a_bits!r} bits; allowed: "
                + ", ".join(map(str, ACT_BITS))
            )
        get_observer(self.w_observer)
        get_observer(self.a_observer)
        if not isinstance(self.rho, int | float) or not 0.0 <= float(self.rho) <= 1.0:
            raise OhqError(f"rho must be a number in [0, 1], got {self.rho!r}")

    @property
    def is_float(self) -> bool:
        return self.w_bits is None and self.a_bits is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "spec") -> QuantSpec:
        if not isinstance(data, dict):
            raise OhqError(f"{where}: expected an object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise OhqError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for key in ("w_bits", "a_bits"):
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise OhqError(f"{where}: {key} must be an integer or null, got {value!r}")
        return cls(**data)


@dataclass(frozen=True)
class Plan:
    """Layer name → QuantSpec, `default` for the others (None: leave them in float).

    first_last_bits: when set, the first and the last quantizable layer get fixed-point weights
    and input activations at this many bits, unless `layers` names them explicitly.
    """

    default: QuantSpec | None = field(default_factory=QuantSpec)
    layers: dict[str, QuantSpec] = field(default_factory=dict)
    first_last_bits: int | None = None

    def __post_init__(self) -> None:
        if self.default is not None and not isinstance(self.default, QuantSpec):
            raise OhqError(f"plan default must be a QuantSpec or None, got {type(self.default).__name__}")
        for name, spec in self.layers.items():
            if not isinstance(name, str) or not isinstance(spec, QuantSpec | None):
                raise OhqError(f"plan layer {name!r}: expected a QuantSpec or None")
        if self.first_last_bits is not None:
            QuantSpec(self.first_last_bits, self.first_last_bits)

    @classmethod
    def uniform(cls, bits: int, a_bits: int | None = None, scheme: str = "uniform", **kw: Any) -> Plan:
        """Every layer at `bits` weight bits and `a_bits` activation bits (default: `bits`)."""
        return cls(QuantSpec(bits, bits if a_bits is None else a_bits, scheme), **kw)

    def spec_for(self, name: str) -> QuantSpec | None:
        return self.layers.get(name, self.default)

    @property
    def act_bits(self) -> int | None:
        """Bits of the tensors between layers (adds, pools, activations): the default's a_bits."""
        return None if self.default is None else self.default.a_bits

    def resolve(self, names: list[str]) -> dict[str, QuantSpec | None]:
        """The spec of every layer of a model (in order); OhqError for names the model lacks."""
        missing = sorted(set(self.layers) - set(names))
        if missing:
            shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
            raise OhqError(f"the plan names layer(s) the model does not have: {', '.join(missing)} (layers: {shown})")
        specs = {name: self.spec_for(name) for name in names}
        if self.first_last_bits is not None and names:
            for name in {names[0], names[-1]} - set(self.layers):
                base = specs[name] or QuantSpec()
                fl = self.first_last_bits
                specs[name] = replace(base, w_bits=fl, a_bits=fl, scheme="uniform")
        return specs

    # ---- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "type": PLAN_TYPE,
            "version": PLAN_VERSION,
            "default": None if self.default is None else self.default.to_dict(),
            "layers": {k: None if v is None else v.to_dict() for k, v in self.layers.items()},
            "first_last_bits": self.first_last_bits,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        if not isinstance(data, dict):
            raise OhqError(f"a plan must be a JSON object, got {type(data).__name__}")
        if data.get("type") != PLAN_TYPE:
            raise OhqError(f"not an ohq plan: \"type\" is {data.get('type')!r}, expected {PLAN_TYPE!r}")
        if data.get("version") != PLAN_VERSION:
            raise OhqError(f"unsupported plan version {data.get('version')!r}; this ohq reads version {PLAN_VERSION}")
        known = {"type", "version", "default", "layers", "first_last_bits"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise OhqError(f"plan: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        default = data.get("default")
        layers = data.get("layers", {})
        if not isinstance(layers, dict):
            raise OhqError("plan: \"layers\" must be an object mapping layer names to specs")
        fl = data.get("first_last_bits")
        if fl is not None and (isinstance(fl, bool) or not isinstance(fl, int)):
            raise OhqError(f"plan: first_last_bits must be an integer or null, got {fl!r}")
        return cls(
            None if default is None else QuantSpec.from_dict(default, "plan default"),
            {
                str(k): None if v is None else QuantSpec.from_dict(v, f"plan layer {k!r}")
                for k, v in layers.items()
            },
            fl,
        )

    def save_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load_json(cls, path: str | Path) -> Plan:
        path = Path(path)
        if not path.is_file():
            raise OhqError(f"plan file {path} does not exist")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise OhqError(f"{path} is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def bits_label(spec: QuantSpec | None) -> str:
    """'W4A8' style label ('fp' for float)."""
    if spec is None or spec.is_float:
        return "fp"
    w = "fp" if spec.w_bits is None else spec.w_bits
    a = "fp" if spec.a_bits is None else spec.a_bits
    return f"W{w}A{a}"


