"""Per-layer bit-widths and schemes for the hardware model: plans in, (w_bits, a_bits, scheme) out.

A plan may be an int (every layer, weights and activations), a `(w_bits, a_bits, scheme)` tuple,
a dict `{layer_name: bits | (w, a, scheme) | {"w_bits", "a_bits", "scheme"}}` with an optional
`"_default"` entry, or any object with `.spec_for(name)` returning something with `w_bits`,
`a_bits` and `scheme` (`ohq.quant.Plan`).
"""

from __future__ import annotations

from typing import Any

from ohq.errors import OhqError
from ohq.graph import LayerGraph
from ohq.quant.resource import Resource

Assignment = tuple[int, int, str]  # (w_bits, a_bits, scheme)

# Used only until `ohq.quant` exports `get_scheme` (then `scheme_resource` asks the registry).
_FALLBACK = {
    "uniform": (Resource.DSP, (2, 3, 4, 5, 6, 7, 8, 16)),
    "pot": (Resource.SHIFT, (2, 3, 4, 5)),
    "sp2": (Resource.SHIFT_ADD, tuple(range(2, 9))),
    "rowmix": (Resource.DSP_LUT, tuple(range(2, 9))),
}
MIN_BITS, MAX_BITS = 2, 16  # the IP's datapath: DSP48 operands up to 18 (E1) / 27 (E2) bits


def _registry_scheme(name: str):
    try:
        from ohq.quant import get_scheme  # type: ignore[attr-defined]
    except ImportError:
        return None
    return get_scheme(name)


def scheme_resource(name: str) -> Resource:
    """The compute resource a scheme's multiply maps to (OhqError for an unknown scheme)."""
    scheme = _registry_scheme(name)
    if scheme is not None:
        return scheme.resource
    if name not in _FALLBACK:
        raise OhqError(f"unknown scheme {name!r}; known schemes: {', '.join(_FALLBACK)}")
    return _FALLBACK[name][0]


def check_assignment(w_bits: Any, a_bits: Any, scheme: str, where: str = "") -> Assignment:
    """Validate one layer's bits and scheme; OhqError with one line if the IP cannot run them."""
    prefix = f"{where}: " if where else ""
    for label, bits in (("weight", w_bits), ("activation", a_bits)):
        if isinstance(bits, bool) or not isinstance(bits, int):
            raise OhqError(f"{prefix}{label} bits must be an integer, got {bits!r}")
        if not MIN_BITS <= bits <= MAX_BITS:
            raise OhqError(
                f"{prefix}{label} bits {bits} cannot run on the accelerator: it takes "
                f"{MIN_BITS}-{MAX_BITS}-bit operands"
            )
    registered = _registry_scheme(scheme)
    if registered is not None:
        try:
            registered.check_bits(w_bits)
        except OhqError as exc:
            raise OhqError(f"{prefix}{exc}") from None
    else:
        scheme_resource(scheme)
        allowed = _FALLBACK[scheme][1]
        if w_bits not in allowed:
            raise OhqError(
                f"{prefix}scheme {scheme!r} cannot have {w_bits} bits; "
                f"allowed: {', '.join(map(str, allowed))}"
            )
    return int(w_bits), int(a_bits), str(scheme)


def _entry(value: Any, scheme: str, a_bits: int | None, where: str) -> Assignment:
    if isinstance(value, int) and not isinstance(value, bool):
        return check_assignment(value, value if a_bits is None else a_bits, scheme, where)
    if isinstance(value, (tuple, list)) and len(value) == 3:
        return check_assignment(value[0], value[1], value[2], where)
    if isinstance(value, dict):
        unknown = set(value) - {"w_bits", "a_bits", "scheme"}
        if unknown or "w_bits" not in value:
            raise OhqError(f"{where}: expected keys w_bits[, a_bits, scheme], got {sorted(value)}")
        w = value["w_bits"]
        return check_assignment(w, value.get("a_bits", w if a_bits is None else a_bits), value.get("scheme", scheme), where)
    if all(hasattr(value, k) for k in ("w_bits", "a_bits", "scheme")):
        return check_assignment(value.w_bits, value.a_bits, str(value.scheme), where)
    raise OhqError(f"{where}: cannot read {value!r} as bits or (w_bits, a_bits, scheme)")


def resolve_plan(
    graph: LayerGraph, plan: Any, scheme: str = "uniform", a_bits: int | None = None
) -> dict[str, Assignment]:
    """One (w_bits, a_bits, scheme) per layer of `graph`. `a_bits=None` means "same as w_bits"."""
    if hasattr(plan, "resolve"):  # an ohq.quant.Plan: its own rules (first/last policy, unknown names)
        specs = plan.resolve(graph.names)
        float_layers = [name for name, spec in specs.items() if spec is None or spec.w_bits is None]
        if float_layers:
            raise OhqError(f"the accelerator runs integer layers only; float in this plan: {', '.join(float_layers)}")
        return {name: _entry(spec, scheme, a_bits, f"layer {name!r}") for name, spec in specs.items()}
    if hasattr(plan, "spec_for"):
        return {name: _entry(plan.spec_for(name), scheme, a_bits, f"layer {name!r}") for name in graph.names}
    if isinstance(plan, dict):
        unknown = set(plan) - set(graph.names) - {"_default"}
        if unknown:
            raise OhqError(f"plan names layers the model does not have: {', '.join(sorted(unknown))}")
        missing = [n for n in graph.names if n not in plan]
        if missing and "_default" not in plan:
            raise OhqError(f"plan has no entry for layer {missing[0]!r} and no '_default'")
        return {
            name: _entry(plan.get(name, plan.get("_default")), scheme, a_bits, f"layer {name!r}")
            for name in graph.names
        }
    one = _entry(plan, scheme, a_bits, "plan")
    return dict.fromkeys(graph.names, one)
