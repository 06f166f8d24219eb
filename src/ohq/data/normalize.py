"""A model's input transform: `x = (pixels − mean) / std`, pixels in [0, 1], per channel.

The transform belongs to the model, not the loader: a shipped model's card records the one it was
trained with, `--normalize MEAN,STD` sets it for a user model, and every loader (digits, MNIST,
`.npz`, image folders) reads raw pixels and applies the model's transform. So the same images give
the same accuracy whether they come as MNIST, PNG files or an `.npz`.

>>> Normalize.parse("0.1307,0.3081")
Normalize(mean=(0.1307,), std=(0.3081,))
>>> Normalize.for_data("mnist")
Normalize(mean=(0.1307,), std=(0.3081,))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ohq.errors import OhqError

# The conventional transform of each built-in data set; anything else gets (x − 0.5) / 0.5.
DATA_DEFAULTS: dict[str, tuple[float, float]] = {"mnist": (0.1307, 0.3081), "digits": (0.5, 0.5)}
FALLBACK = (0.5, 0.5)


@dataclass(frozen=True)
class Normalize:
    """Per-channel mean and std (one value broadcasts to every channel)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.mean or len(self.mean) != len(self.std):
            raise OhqError(f"--normalize needs as many means as stds, got {self.mean} and {self.std}")
        if any(s <= 0 for s in self.std):
            raise OhqError(f"--normalize std must be positive, got {self.std}")

    @classmethod
    def parse(cls, text: str) -> Normalize:
        """'MEAN,STD' (all channels) or 'M1,M2,M3,S1,S2,S3' (per channel: means first)."""
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise OhqError(f"--normalize must be numbers like 0.1307,0.3081, got {text!r}") from None
        if len(values) < 2 or len(values) % 2:
            raise OhqError(f"--normalize takes MEAN,STD or one mean and one std per channel, got {text!r}")
        half = len(values) // 2
        return cls(tuple(values[:half]), tuple(values[half:]))

    @classmethod
    def for_data(cls, name: str | None) -> Normalize:
        """The conventional transform of data set `name` (MNIST's, or (x − 0.5) / 0.5)."""
        mean, std = DATA_DEFAULTS.get(str(name), FALLBACK)
        return cls((mean,), (std,))

    @classmethod
    def from_dict(cls, doc: dict) -> Normalize:
        return cls(tuple(float(v) for v in doc["mean"]), tuple(float(v) for v in doc["std"]))

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}

    def __str__(self) -> str:
        fmt = lambda v: ",".join(f"{x:g}" for x in v)  # noqa: E731
        return f"(x − {fmt(self.mean)}) / {fmt(self.std)}"

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """Normalise (N, C, H, W) pixels in [0, 1]."""
        c = pixels.shape[1]
        if len(self.mean) not in (1, c):
            raise OhqError(f"--normalize gives {len(self.mean)} channels but the data has {c}")
        shape = (1, -1, 1, 1)
        mean = np.asarray(self.mean, np.float32).reshape(shape)
        std = np.asarray(self.std, np.float32).reshape(shape)
        return ((pixels - mean) / std).astype(np.float32)


def mismatch_warning(top1: float | None, num_classes: int, expected: float | None = None) -> str | None:
    """A warning when FP32 top-1 on the given data is near chance (or far below the card's figure):
    the data probably does not match the model (wrong normalisation, channel order, labels)."""
    if top1 is None or num_classes < 2:
        return None
    chance = 1.0 / num_classes
    if top1 < 2 * chance or (expected is not None and top1 < expected - 0.2):
        known = f", against {expected:.2%} on its own test set" if expected is not None else ""
        return (f"FP32 top-1 is {top1:.2%} (chance {chance:.0%}){known}: the data may not match the model; "
                "check --normalize, the channel order and the class folders")
    return None
