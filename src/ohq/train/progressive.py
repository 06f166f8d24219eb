"""LHA's progressive quantization (LHA): lower the bit-widths in stages, fine-tuning between.

Stage b gives every layer max(b, its target) weight and activation bits (the target is the plan's
spec for that layer, e.g. the ILP's choice), keeping the target's scheme where it allows that
many bits and fixed-point otherwise. The plan itself is the last stage, so `8,6,4` on a mixed
{2,3,4,8} plan trains 8 → 6 → 4 → the ILP's bits.

>>> from ohq.quant import Plan
>>> [p.default.w_bits for p in stage_plans(Plan.uniform(4), [8, 6, 4], ["conv", "fc"])]
[8, 6, 4]
"""

from __future__ import annotations

from dataclasses import replace

from ohq.errors import OhqError
from ohq.quant import get_scheme
from ohq.quant.spec import ACT_BITS, Plan, QuantSpec


def parse_stages(text: str) -> list[int]:
    """'8,6,4' → [8, 6, 4]; OhqError unless the bit-widths strictly decrease."""
    try:
        stages = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise OhqError(f"--progressive takes bit-widths like 8,6,4, got {text!r}") from None
    return check_stages(stages)


def check_stages(stages: list[int]) -> list[int]:
    if not stages:
        raise OhqError("--progressive needs at least one bit-width, e.g. 8,6,4")
    if any(b >= a for a, b in zip(stages, stages[1:], strict=False)):
        raise OhqError(f"--progressive bit-widths must strictly decrease, got {','.join(map(str, stages))}")
    bad = [b for b in stages if b not in ACT_BITS]
    if bad:
        raise OhqError(f"--progressive bit-width {bad[0]} is not one of {', '.join(map(str, ACT_BITS))}")
    return stages


def _at_least(spec: QuantSpec | None, bits: int) -> QuantSpec | None:
    if spec is None:
        return None
    w = None if spec.w_bits is None else max(bits, spec.w_bits)
    a = None if spec.a_bits is None else max(bits, spec.a_bits)
    scheme = spec.scheme if w is None or w in get_scheme(spec.scheme).allowed_bits else "uniform"
    return replace(spec, w_bits=w, a_bits=a, scheme=scheme)


def stage_plans(plan: Plan, stages: list[int], names: list[str]) -> list[Plan]:
    """One Plan per stage for a model with layers `names`, ending with `plan` itself."""
    check_stages(stages)
    target = plan.resolve(names)
    plans = [Plan(_at_least(plan.default, b), {n: _at_least(s, b) for n, s in target.items()})
             for b in stages]
    if plans[-1].resolve(names) != target or plans[-1].act_bits != plan.act_bits:
        plans.append(plan)
    else:
        plans[-1] = plan
    return plans
