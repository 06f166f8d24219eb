"""Search candidates as scheme configs, and the per-scheme damage the objectives read.

A candidate is a scheme config (`FixedPoint(4)`, `PowerOfTwo(4)`, `SP2(4)`, …), so one ILP picks
each layer's scheme as well as its bits. `--bits 4,8 --scheme sp2` is the shorthand for
`SP2(4), SP2(8)`. A sensitivity method that measures each candidate itself (`qmqe`) measures one
scheme per fit, so a candidate set that mixes schemes gets one fit per scheme (`PerScheme`).

>>> from ohq.quant import SP2, FixedPoint
>>> candidates_from((8, 4), "sp2", None)
(SP2(bits=4, a_bits=4), SP2(bits=8, a_bits=8))
>>> by_scheme((FixedPoint(4), SP2(4), FixedPoint(8)))
{'uniform': [0, 2], 'sp2': [1]}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ohq.errors import OhqError
from ohq.quant.configs import SchemeConfig, config_for


def candidates_from(bits: Sequence[int], scheme: str = "uniform", a_bits: int | None = None,
                    configs: Sequence[SchemeConfig] | None = None) -> tuple[SchemeConfig, ...]:
    """The candidate configs, by weight bits (stable): `configs` as given, else `bits` of `scheme`
    with activations at `a_bits` (None: each candidate's weight bits)."""
    if configs is None:
        configs = [config_for(scheme, int(b), int(b) if a_bits is None else a_bits) for b in bits]
    configs = tuple(configs)
    if not configs:
        raise OhqError("give at least one candidate")
    bad = [c for c in configs if not isinstance(c, SchemeConfig)]
    if bad:
        raise OhqError(f"a candidate must be a scheme config such as FixedPoint(4), got {bad[0]!r}")
    if len(set(configs)) != len(configs):
        raise OhqError(f"the candidates must be distinct, got {', '.join(map(repr, configs))}")
    return tuple(sorted(configs, key=lambda c: c.bits))


def by_scheme(candidates: Sequence[Any], default: str = "uniform") -> dict[str, list[int]]:
    """{scheme: its column indices}, in order of first appearance (plain bits: `default`)."""
    groups: dict[str, list[int]] = {}
    for j, c in enumerate(candidates):
        groups.setdefault(getattr(c, "scheme", default), []).append(j)
    return groups


def candidate_damage(method: Any, candidates: Sequence[Any], default: str = "uniform") -> np.ndarray:
    """(layers × candidates) damage from `method.damage(bits, scheme)`, one call per scheme."""
    groups = by_scheme(candidates, default)
    bits = [int(getattr(c, "bits", c)) for c in candidates]
    out = None
    for scheme, cols in groups.items():
        part = np.asarray(method.damage([bits[j] for j in cols], scheme), dtype=float)
        out = np.zeros((part.shape[0], len(candidates))) if out is None else out
        out[:, cols] = part
    return out


class PerScheme:
    """One fitted sensitivity method per scheme, read as one: `damage(bits, scheme)` asks the fit
    of that scheme; scores and the other learned attributes are the first scheme's."""

    def __init__(self, fits: dict[str, Any]) -> None:
        self.fits = fits
        first = next(iter(fits.values()))
        self.name, self.layer_names_, self.scores_ = first.name, first.layer_names_, first.scores_
        self.seconds_ = float(sum(f.seconds_ for f in fits.values()))

    def damage(self, bits: Sequence[int], scheme: str = "uniform") -> np.ndarray:
        if scheme not in self.fits:
            raise OhqError(f"sensitivity was measured for {', '.join(self.fits)}, not {scheme!r}")
        return self.fits[scheme].damage(bits, scheme)

    def __getattr__(self, name: str) -> Any:  # masked_top1, flips_, … of the first fit
        if name == "fits":
            raise AttributeError(name)
        return getattr(next(iter(self.fits.values())), name)


def fit_per_scheme(make: Callable[[tuple[int, ...], str], Any], candidates: Sequence[SchemeConfig],
                   fit: Callable[[Any], Any]) -> Any:
    """Fit `make(bits, scheme)` once per scheme of `candidates` (one fit: that method itself)."""
    fits = {}
    for scheme, cols in by_scheme(candidates).items():
        fits[scheme] = fit(make(tuple(sorted({candidates[j].bits for j in cols})), scheme))
    return next(iter(fits.values())) if len(fits) == 1 else PerScheme(fits)
