"""Trained models that ship with ohq: small state dicts in `weights/`, each with a JSON card.

A card records the architecture, data, input transform (`normalize`: mean/std), epochs, seed,
measured test top-1 and the exact command that reproduces the weights (`ohq train ...`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from ohq.errors import OhqError
from ohq.models._registry import create_model


@dataclass(frozen=True)
class Shipped:
    """How to build a shipped model and what it expects."""

    arch: str
    data: str
    input_shape: tuple[int, ...]
    kwargs: dict = field(default_factory=dict)


SHIPPED: dict[str, Shipped] = {
    "digits_cnn": Shipped("small_cnn", "digits", (1, 1, 8, 8), {"num_classes": 10, "in_channels": 1}),
    "mnist_cnn": Shipped("small_cnn", "mnist", (1, 1, 28, 28), {"num_classes": 10, "in_channels": 1}),
    "mnist_resnet": Shipped(
        "resnet18",
        "mnist",
        (1, 1, 28, 28),
        {"num_classes": 10, "in_channels": 1, "small_input": True, "width": 8},
    ),
    "mnist_mobilenet_v2": Shipped(
        "mobilenet_v2",
        "mnist",
        (1, 1, 28, 28),
        {"num_classes": 10, "in_channels": 1, "small_input": True, "width_mult": 0.25},
    ),
}


def weights_dir() -> Path:
    return Path(str(resources.files("ohq.models") / "weights"))


def list_shipped() -> list[str]:
    return sorted(SHIPPED)


def build_shipped(name: str, trained: bool = True) -> nn.Module:
    """The shipped model `name`, with its trained weights unless `trained=False`."""
    info = SHIPPED[name]
    model = create_model(info.arch, **info.kwargs)
    if trained:
        path = weights_dir() / f"{name}.pt"
        if not path.exists():
            raise OhqError(f"shipped weights {path} are missing; reproduce them with: {card(name)['command']}")
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def shipped_normalize(name: str):
    """The input transform shipped model `name` was trained with (its card's, else its data set's)."""
    from ohq.data.normalize import Normalize

    doc = card(name).get("normalize")
    return Normalize.from_dict(doc) if doc else Normalize.for_data(SHIPPED[name].data)


def expected_top1(name: str) -> float | None:
    """The test top-1 a shipped model's card records (None for other models)."""
    return card(name).get("test_top1") if name in SHIPPED else None


def card(name: str) -> dict:
    """The JSON card of shipped model `name`."""
    path = weights_dir() / f"{name}.json"
    if not path.exists():
        return {"command": f"ohq train --model {name} --data {SHIPPED[name].data} --out {name}.pt"}
    return json.loads(path.read_text())
