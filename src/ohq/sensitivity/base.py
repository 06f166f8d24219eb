"""The sensitivity-method registry and the estimator interface every method follows.

A method is one class registered under a short name: parameters in
`__init__` only, `fit(model, x, y=None)` returns `self`, and what it learned ends in `_`:
`layer_names_` (quantizable layers in execution order), `scores_` (one non-negative float per
layer, larger = more sensitive) and `seconds_` (wall time of `fit`). An optional
`callback(done, total)` parameter reports progress (nothing here prints). `damage(bits, scheme)`
gives the (layers × bits) damage estimate the ILP minimises (see `ohq.sensitivity.damage`).

>>> from ohq.sensitivity import list_methods  # the package registers the methods
>>> {"hessian", "layerwise", "mqe"} <= set(list_methods())
True
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ohq.errors import OhqError
from ohq.graph import layer_graph
from ohq.registry import Registry

METHODS: Registry[type[SensitivityMethod]] = Registry("sensitivity method")
register_method = METHODS.register


def list_methods() -> list[str]:
    """Names of every registered sensitivity method, sorted."""
    return METHODS.names()


def get_method(name: str, **params) -> SensitivityMethod:
    """A new, unfitted instance of method `name` with the given parameters."""
    return METHODS.create(name, **params)


class SensitivityMethod:
    """Base class: subclasses implement `_scores(model, names, x, y)` and set their parameters.

    `damage` scales the one measured score to every bit-width; `_reference` says how large the
    perturbation behind `scores_` was (default: quantizing to `self.bits`, uniform).
    """

    name: ClassVar[str] = ""
    measures_bits: ClassVar[bool] = False  # True: takes candidate_bits/scheme and measures each
    layer_names_: list[str]
    scores_: np.ndarray
    seconds_: float

    def fit(self, model: nn.Module, x: Tensor, y: Tensor | None = None, *,
            layers: Sequence[str] | None = None) -> SensitivityMethod:
        """Score every quantizable layer of `model` on inputs `x` (labels `y` where a method uses them).

        `layers`: the quantizable layers in execution order where the caller has traced the model
        already (`ohq.graph.layer_graph(...).names`; the pipeline does), so it is not traced again."""
        x = check_inputs(x)
        if y is not None and len(y) != len(x):
            raise OhqError(f"{len(x)} inputs but {len(y)} labels")
        was_training = model.training
        model.eval()
        start = time.perf_counter()
        try:
            names = quantizable_layers(model, x) if layers is None else list(layers)
            if not names:
                raise OhqError("the model has no quantizable layer (Conv2d or Linear)")
            scores = np.asarray(self._scores(model, names, x, y), dtype=np.float64)
        finally:
            model.train(was_training)
        self.seconds_ = time.perf_counter() - start
        self.layer_names_ = names
        self.scores_ = scores
        self._model = model
        return self

    def damage(self, bits: Sequence[int], scheme: str = "uniform") -> np.ndarray:
        """(layers × bits) predicted damage of quantizing each layer alone to each bit-width."""
        from ohq.sensitivity.damage import check_damage, relative_weight_errors, scaled_damage

        if not hasattr(self, "scores_"):
            raise OhqError("call fit() before damage()")
        errors = relative_weight_errors(self._model, self.layer_names_, bits, scheme)
        return check_damage(scaled_damage(self.scores_, errors, self._reference()), self.name)

    def _reference(self) -> np.ndarray:
        from ohq.sensitivity.damage import relative_weight_errors

        # a method without `bits` is read as scoring an 8-bit quantization (the model MQE uses)
        return relative_weight_errors(self._model, self.layer_names_, [getattr(self, "bits", 8)])[:, 0]

    def _scores(self, model: nn.Module, names: list[str], x: Tensor, y: Tensor | None) -> np.ndarray:
        raise NotImplementedError

    def _tick(self, done: int, total: int) -> None:
        """Report progress to the `callback(done, total)` parameter, if one was given."""
        callback = getattr(self, "callback", None)
        if callback is not None:
            callback(done, total)

    def to_dict(self) -> dict[str, float]:
        """`{layer name: score}` in execution order."""
        return dict(zip(self.layer_names_, (float(s) for s in self.scores_), strict=True))

    def get_params(self) -> dict:
        """The constructor parameters (everything not learned)."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def check_inputs(x: Tensor) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() < 2:
        raise OhqError("sensitivity needs a batch of inputs shaped (N, C, H, W)")
    if len(x) == 0:
        raise OhqError("sensitivity needs at least one sample (N = 0)")
    return x.float()


def quantizable_layers(model: nn.Module, x: Tensor) -> list[str]:
    """Names of the quantizable layers (Conv2d, Linear) in execution order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unsupported modules were reported when the model loaded
        names = layer_graph(model, (1, *x.shape[1:])).names
    if not names:
        raise OhqError("the model has no quantizable layer (Conv2d or Linear)")
    return names


def check_positive_int(**values: int) -> None:
    for key, value in values.items():
        if not isinstance(value, int) or value <= 0:
            raise OhqError(f"{key} must be a positive integer, got {value!r}")


def chunks(n: int, size: int) -> Iterator[slice]:
    """Slices covering range(n) in pieces of at most `size`."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def kl_per_sample(p_logits: Tensor, q_logits: Tensor) -> Tensor:
    """KL(softmax(p) || softmax(q)) for each row (Eq. 8), computed from logits in float64."""
    log_p = F.log_softmax(p_logits.double().flatten(1), dim=1)
    log_q = F.log_softmax(q_logits.double().flatten(1), dim=1)
    return (log_p.exp() * (log_p - log_q)).sum(dim=1).clamp_min(0.0)


@torch.no_grad()
def batched_forward(fn: Callable[[Tensor], Tensor], x: Tensor, batch_size: int) -> Tensor:
    return torch.cat([fn(x[s]) for s in chunks(len(x), batch_size)])
