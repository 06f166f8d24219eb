"""Plain words for a run's summary: what the budget means, and why mixed top-1 fell, if it did.

>>> budget_text(result)       # doctest: +SKIP
'size ≤ 0.1275 MiB = W4 + 50 % of the way to W8'
"""

from __future__ import annotations

MIB = float(1 << 20)
DROP = 0.01  # a mixed top-1 more than 1 point under W8A8 is worth a sentence


def fp32_size_mib(result) -> float:
    """Every quantizable layer's parameters at 32 bit, in MiB."""
    return sum(r.params for r in result.layers) * 4 / MIB


def a_bits_of(result, row) -> int:
    """The activation bits layer `row` reads (its weight bits unless --a-bits was given)."""
    return row.bits if result.request.a_bits is None else result.request.a_bits


def budget_text(result) -> str:
    """The budgets in words: a size ratio r reads 'W4 + r of the way to W8'."""
    req, parts = result.request, []
    units = {"size_mib": "MiB", "latency_ms": "ms", "energy_mj": "mJ", "bram18k": "BRAM18K"}
    for key, value in result.budgets.items():
        text = f"{key.rsplit('_', 1)[0]} ≤ {value:.4g} {units.get(key, '')}".strip()
        if key == "size_mib" and req.size_ratio is not None:
            text += f" = W{min(req.bits)} + {100 * req.size_ratio:.0f} % of the way to W{max(req.bits)}"
        parts.append(text)
    return ", ".join(parts)


def objective_text(req) -> str:
    """The objective, with β and γ only where it uses them (the paper's Ω)."""
    if req.objective == "paper":
        return f"paper (β = {req.beta:g}, γ = {req.gamma:g})"
    return req.objective


def accuracy_advice(result) -> list[str]:
    """Sentences for when mixed top-1 is more than 1 point below W8A8: which layers, what to try."""
    t8, tm = result.top1.get("int8"), result.top1.get("mixed")
    if t8 is None or tm is None or t8 - tm <= DROP:
        return []
    top = max(result.request.bits)
    low = [r for r in result.layers if r.bits < top]
    culprits = sorted(low, key=lambda r: -r.sensitivity)[:3]
    names = ", ".join(f"{r.name} (W{r.bits}A{a_bits_of(result, r)}, sensitivity {r.sensitivity:.3g})"
                      for r in culprits)
    out = [f"mixed top-1 {100 * tm:.2f} % is {100 * (t8 - tm):.2f} points below W8A8 ({100 * t8:.2f} %); "
           f"{len(low)} layers run below {top} bits, the most sensitive of them: {names}"]
    if result.request.a_bits is None and any(a_bits_of(result, r) < 8 for r in low):
        out.append("those layers also read activations at their weight bits (W/A */*); "
                   "try --a-bits 8 to keep activations at 8 bits, or a larger budget")
    else:
        out.append("try a larger budget (--size-ratio, --size-mib) or --pin-first-last 8")
    return out
