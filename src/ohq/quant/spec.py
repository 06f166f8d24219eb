"""QuantSpec (one layer's bits and scheme) and Plan (layer name → QuantSpec, with a default).

A Plan is the object the ILP writes and `quantize` reads; `save_json` writes it with a
type and a version. Unknown keys are errors, never ignored.

>>> plan = Plan(QuantSpec(w_bits=4), {"fc": QuantSpec(w_bits=8)}, first_last_bits=8)
>>> plan.spec_for("fc").w_bits, plan.spec_for("layer1.0.conv1").w_bits
(8, 4)
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ohq.errors import PlanError
from ohq.quant._registry import get_observer, get_scheme

ACT_BITS = (2, 3, 4, 5, 6, 7, 8, 16)  # activations are always fixed-point (asymmetric per tensor)
PLAN_TYPE, PLAN_VERSION = "ohq.plan", 1
REGEX = "re:"  # a plan key "re:<pattern>" gives its spec to every layer whose name fully matches


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
    w_observer: str = "auto"  # "auto": the measured default per bit-width (quant/observers.py)
    a_observer: str = "auto"
    rho: float = 0.5
    scale: str = "float"  # "po2": power-of-two weight steps and activation scales (quant/po2.py)

    def __post_init__(self) -> None:
        from ohq.quant.po2 import SCALES

        if self.scale not in SCALES:
            raise PlanError(f"scale must be one of {', '.join(SCALES)}, got {self.scale!r}")
        if self.scale == "po2" and self.scheme == "rowmix":
            raise PlanError("scale po2 does not apply to scheme rowmix (its rows have two grids); "
                           "use uniform, pot or sp2")
        scheme = get_scheme(self.scheme)
        if self.w_bits is not None:
            scheme.check_bits(self.w_bits)
        if self.a_bits is not None and (
            isinstance(self.a_bits, bool) or self.a_bits not in ACT_BITS
        ):
            raise PlanError(
                f"activations cannot have {self.a_bits!r} bits; allowed: "
                + ", ".join(map(str, ACT_BITS))
            )
        get_observer(self.w_observer)
        get_observer(self.a_observer)
        if not isinstance(self.rho, int | float) or not 0.0 <= float(self.rho) <= 1.0:
            raise PlanError(f"rho must be a number in [0, 1], got {self.rho!r}")

    @property
    def is_float(self) -> bool:
        return self.w_bits is None and self.a_bits is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "spec") -> QuantSpec:
        if not isinstance(data, dict):
            raise PlanError(f"{where}: expected an object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PlanError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for key in ("w_bits", "a_bits"):
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise PlanError(f"{where}: {key} must be an integer or null, got {value!r}")
        return cls(**data)


@dataclass(frozen=True)
class Plan:
    """Layer name → QuantSpec, `default` for the others (None: leave them in float). A scheme
    config (`ohq.quant.configs`) stands for its spec anywhere: `Plan(FixedPoint(8), {"fc": SP2(4)})`.

    first_last_bits: when set, the first and the last quantizable layer get fixed-point weights
    and input activations at this many bits, unless `layers` names them explicitly.
    """

    default: QuantSpec | None = field(default_factory=QuantSpec)
    layers: dict[str, QuantSpec] = field(default_factory=dict)
    first_last_bits: int | None = None

    def __post_init__(self) -> None:
        from ohq.quant.configs import SchemeConfig

        # a scheme config is accepted wherever a spec is: Plan(FixedPoint(8), {"fc": SP2(4)})
        if isinstance(self.default, SchemeConfig):
            object.__setattr__(self, "default", self.default.spec())
        if any(isinstance(v, SchemeConfig) for v in self.layers.values()):
            layers = {k: v.spec() if isinstance(v, SchemeConfig) else v for k, v in self.layers.items()}
            object.__setattr__(self, "layers", layers)
        if self.default is not None and not isinstance(self.default, QuantSpec):
            raise PlanError(f"plan default must be a QuantSpec or None, got {type(self.default).__name__}")
        for name, spec in self.layers.items():
            if not isinstance(name, str) or not isinstance(spec, QuantSpec | None):
                raise PlanError(f"plan layer {name!r}: expected a QuantSpec or None")
        if self.first_last_bits is not None:
            QuantSpec(self.first_last_bits, self.first_last_bits)

    @classmethod
    def uniform(cls, bits: int, a_bits: int | None = None, scheme: str = "uniform", **kw: Any) -> Plan:
        """Every layer at `bits` weight bits and `a_bits` activation bits (default: `bits`)."""
        return cls(QuantSpec(bits, bits if a_bits is None else a_bits, scheme), **kw)

    def spec_for(self, name: str) -> QuantSpec | None:
        """The layer's own entry, else the first "re:<regex>" entry that matches it, else the default."""
        if name in self.layers:
            return self.layers[name]
        for key, spec in self.layers.items():
            if key.startswith(REGEX) and re.fullmatch(key[len(REGEX):], name):
                return spec
        return self.default

    @property
    def act_bits(self) -> int | None:
        """Bits of the tensors between layers (adds, pools, activations): the default's a_bits."""
        return None if self.default is None else self.default.a_bits

    def resolve(self, names: list[str]) -> dict[str, QuantSpec | None]:
        """The spec of every layer of a model (in order); OhqError for names the model lacks."""
        missing = sorted(k for k in self.layers if k not in names and not (
            k.startswith(REGEX) and any(re.fullmatch(k[len(REGEX):], n) for n in names)))
        if missing:
            shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
            raise PlanError(f"the plan names layer(s) the model does not have: {', '.join(missing)} (layers: {shown})")
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
            raise PlanError(f"a plan must be a JSON object, got {type(data).__name__}")
        if data.get("type") != PLAN_TYPE:
            raise PlanError(f"not an ohq plan: \"type\" is {data.get('type')!r}, expected {PLAN_TYPE!r}")
        if data.get("version") != PLAN_VERSION:
            raise PlanError(f"unsupported plan version {data.get('version')!r}; this ohq reads version {PLAN_VERSION}")
        known = {"type", "version", "default", "layers", "first_last_bits"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PlanError(f"plan: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        default = data.get("default")
        layers = data.get("layers", {})
        if not isinstance(layers, dict):
            raise PlanError("plan: \"layers\" must be an object mapping layer names to specs")
        fl = data.get("first_last_bits")
        if fl is not None and (isinstance(fl, bool) or not isinstance(fl, int)):
            raise PlanError(f"plan: first_last_bits must be an integer or null, got {fl!r}")
        return cls(
            None if default is None else QuantSpec.from_dict(default, "plan default"),
            {
                str(k): None if v is None else QuantSpec.from_dict(v, f"plan layer {k!r}")
                for k, v in layers.items()
            },
            fl,
        )

    @classmethod
    def load(cls, source: str | Path | dict, scheme: str = "uniform", a_bits: int | None = None) -> Plan:
        """The one plan reader: a path or a parsed document holding an ohq plan, a run config
        (its "plan"), or the short form {layer: bits | {w_bits, a_bits, scheme}, "_default": ...}
        (also wrapped as {"plan": {...}} or {"layers": {...}}). Short-form ints are weight bits of
        `scheme`, with activations at `a_bits` (None: the same bits)."""
        doc = source if isinstance(source, dict) else _read_json(Path(source))
        if not isinstance(doc, dict):
            raise PlanError(f"a plan must be a JSON object mapping layer names to bits, got {type(doc).__name__}")
        if doc.get("type") == "ohq.run":
            doc = doc.get("plan")
            if not isinstance(doc, dict):
                raise PlanError("the run config has no plan; run `ohq quantize` to make one")
        if doc.get("type") == PLAN_TYPE:
            return cls.from_dict(doc)
        for key in ("plan", "layers"):
            if isinstance(doc.get(key), dict):
                doc = {"_default": doc["_default"], **doc[key]} if "_default" in doc else dict(doc[key])
                break
        return cls.from_short(doc, scheme, a_bits)

    @classmethod
    def from_short(cls, doc: dict, scheme: str = "uniform", a_bits: int | None = None) -> Plan:
        """{layer: bits | (w, a, scheme) | {w_bits, a_bits, scheme}, "_default": ...}; no "_default"
        leaves unnamed layers in float (which the accelerator then refuses)."""

        def spec(value: Any, where: str) -> QuantSpec:
            if isinstance(value, int) and not isinstance(value, bool):
                return QuantSpec(value, value if a_bits is None else a_bits, scheme)
            if isinstance(value, tuple | list) and len(value) == 3:
                return QuantSpec(*value)
            if isinstance(value, dict):
                unknown = set(value) - {"w_bits", "a_bits", "scheme"}
                if unknown or "w_bits" not in value:
                    raise PlanError(f"{where}: expected keys w_bits[, a_bits, scheme], got {sorted(value)}")
                w = value["w_bits"]
                return QuantSpec.from_dict(
                    {"a_bits": w if a_bits is None else a_bits, "scheme": scheme, **value}, where)
            if isinstance(value, QuantSpec):
                return value
            if hasattr(value, "spec"):  # a scheme config (ohq.quant.configs)
                return value.spec()
            raise PlanError(f"{where}: cannot read {value!r} as bits or (w_bits, a_bits, scheme)")

        if not isinstance(doc, dict):
            raise PlanError(f"a plan must be a JSON object mapping layer names to bits, got {type(doc).__name__}")
        default = spec(doc["_default"], "plan default") if "_default" in doc else None
        return cls(default, {str(k): spec(v, f"layer {k!r}") for k, v in doc.items() if k != "_default"})

    def save_json(self, path: str | Path) -> None:
        from ohq.io import write_json

        write_json(path, self.to_dict())  # atomic: a crash never leaves half a plan

    @classmethod
    def load_json(cls, path: str | Path) -> Plan:
        """An ohq plan file (type "ohq.plan" only; `Plan.load` reads every form)."""
        return cls.from_dict(_read_json(Path(path)))


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise PlanError(f"plan file {path} does not exist")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path} is not valid JSON: {exc}") from exc


def bits_label(spec: QuantSpec | None) -> str:
    """'W4A8' style label ('fp' for float)."""
    if spec is None or spec.is_float:
        return "fp"
    w = "fp" if spec.w_bits is None else spec.w_bits
    a = "fp" if spec.a_bits is None else spec.a_bits
    return f"W{w}A{a}"


