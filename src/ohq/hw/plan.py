"""Per-layer bit-widths and schemes for the hardware model: a plan in, (w_bits, a_bits, scheme) out.

There is one plan language, `ohq.quant.Plan` (`Plan.load` reads every file form). For convenience
`resolve_plan` also takes what `Plan.load` reads in memory: an int (every layer), a
`(w_bits, a_bits, scheme)` tuple, or a short-form dict with an optional `"_default"`.
"""

from __future__ import annotations

from typing import Any

from ohq.errors import OhqError, PlanError
from ohq.graph import LayerGraph
from ohq.quant import Plan, QuantSpec, SchemeConfig, get_scheme
from ohq.quant.resource import Resource

Assignment = tuple[int, int, str]  # (w_bits, a_bits, scheme)
MIN_BITS, MAX_BITS = 2, 16  # the IP's datapath: DSP48 operands up to 18 (E1) / 27 (E2) bits


def scheme_resource(name: str) -> Resource:
    """The compute resource a scheme's multiply maps to (OhqError for an unknown scheme)."""
    return get_scheme(name).resource


def check_assignment(w_bits: Any, a_bits: Any, scheme: str, where: str = "") -> Assignment:
    """Validate one layer's bits and scheme; OhqError with one line if the IP cannot run them."""
    prefix = f"{where}: " if where else ""
    for label, bits in (("weight", w_bits), ("activation", a_bits)):
        if isinstance(bits, bool) or not isinstance(bits, int):
            raise PlanError(f"{prefix}{label} bits must be an integer, got {bits!r}")
        if not MIN_BITS <= bits <= MAX_BITS:
            raise PlanError(
                f"{prefix}{label} bits {bits} cannot run on the accelerator: it takes "
                f"{MIN_BITS}-{MAX_BITS}-bit operands"
            )
    try:
        get_scheme(scheme).check_bits(w_bits)
    except OhqError as exc:
        raise PlanError(f"{prefix}{exc}") from exc
    return int(w_bits), int(a_bits), str(scheme)


def as_plan(plan: Any, scheme: str = "uniform", a_bits: int | None = None) -> Plan:
    """A Plan from a Plan, an int, a (w, a, scheme) tuple, a QuantSpec or config, or a short-form dict."""
    if isinstance(plan, Plan):
        return plan
    if isinstance(plan, int) and not isinstance(plan, bool):
        check_assignment(plan, plan if a_bits is None else a_bits, scheme, "plan")  # the IP's range first
        return Plan.from_short({"_default": plan}, scheme, a_bits)
    if isinstance(plan, tuple | list) and len(plan) == 3:
        return Plan.from_short({"_default": tuple(plan)}, scheme, a_bits)
    if isinstance(plan, QuantSpec | SchemeConfig):
        return Plan(plan)
    if isinstance(plan, dict):
        return Plan.load(plan, scheme, a_bits)
    raise PlanError(f"plan: cannot read {plan!r} as bits, (w_bits, a_bits, scheme) or an ohq Plan")


def resolve_plan(
    graph: LayerGraph, plan: Any, scheme: str = "uniform", a_bits: int | None = None
) -> dict[str, Assignment]:
    """One (w_bits, a_bits, scheme) per layer of `graph`. `a_bits=None` means "same as w_bits"."""
    specs = as_plan(plan, scheme, a_bits).resolve(graph.names)
    float_layers = [name for name, spec in specs.items() if spec is None or spec.w_bits is None]
    if float_layers:
        raise PlanError(f"the accelerator runs integer layers only; float in this plan: {', '.join(float_layers)}"
                        " (give every layer bits, or a \"_default\")")
    return {
        name: check_assignment(spec.w_bits, spec.w_bits if spec.a_bits is None else spec.a_bits, spec.scheme,
                               f"layer {name!r}")
        for name, spec in specs.items()
    }
