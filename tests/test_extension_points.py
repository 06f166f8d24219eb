"""Adding a scheme (a config class and its handler), a probe, a sensitivity method or an export
format is one registered class in one file: here, each toy is defined in this file alone and works
through the public entry points (no edit anywhere else: files changed to add all four = 1, this
one), and the registry-looping tests pick it up while it is registered."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch
from torch import nn

import ohq
from ohq.export import FORMATS, Format, export
from ohq.hw import PROBES
from ohq.hw.cost import layer_cost
from ohq.hw.plan import scheme_resource
from ohq.quant import SCHEMES, FixedPoint, QuantSpec, Scheme, SchemeConfig, handler_for
from ohq.quant.resource import Resource
from ohq.sensitivity import METHODS, SensitivityMethod


@dataclass(frozen=True)
class TernaryWeights(SchemeConfig):
    """The config a user writes (`TernaryWeights(2)`); its handler is the scheme below."""


class Ternary(Scheme):
    """{-1, 0, 1}: the smallest scheme there is; the handler of `TernaryWeights` configs."""

    resource = Resource.SHIFT
    allowed_bits = (2,)
    config = TernaryWeights

    def codes(self, bits: int) -> list[int]:
        self.check_bits(bits)
        return [-1, 0, 1]


class DoubleCost:
    """The accelerator model, twice as slow: a probe is a class with `measure`."""

    def measure(self, graph, assignments, device):
        out = []
        for layer in graph.layers:
            w, a, scheme = assignments[layer.name]
            cost = layer_cost(layer, w, a, scheme, scheme_resource(scheme), device)
            out.append(type(cost)(**{**vars(cost), "latency_ms": 2 * cost.latency_ms}))
        return out


class WeightNorm(SensitivityMethod):
    """Sensitivity = the layer's weight norm (parameters in __init__, `_scores` does the work)."""

    def __init__(self, callback=None) -> None:
        self.callback = callback

    def _scores(self, model, names, x, y):
        return [float(model.get_submodule(n).weight.detach().norm()) for n in names]


class JsonBits(Format):
    """A JSON file of each layer's bits."""

    kind = "file"
    suffix = ".json"

    def write(self, qmodel, out, **opts):
        out.write_text(json.dumps({n: s.w_bits for n, s in qmodel.specs.items()}))
        return {"layers": len(qmodel.specs)}


TOYS = [(SCHEMES, "toy-ternary", Ternary), (PROBES, "toy-double", DoubleCost),
        (METHODS, "toy-norm", WeightNorm), (FORMATS, "toy-json", JsonBits)]


@pytest.fixture
def toys():
    for registry, name, cls in TOYS:
        registry.register(name)(cls)
    yield
    for registry, name, _ in TOYS:
        registry.unregister(name)


def test_each_toy_works_through_the_public_entry_points(toys, tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).eval()
    x = torch.randn(8, 1, 8, 8)
    q = ohq.quantize(net, ohq.Plan(QuantSpec(2, 8, "toy-ternary")), x)  # the scheme
    assert set(torch.unique(q.layers["0"].codes).tolist()) <= {-1.0, 0.0, 1.0}
    base = ohq.estimate(net, "xc7z020", 8, input_shape=(1, 1, 8, 8))
    double = ohq.estimate(net, "xc7z020", 8, "toy-double", input_shape=(1, 1, 8, 8))  # the probe
    assert double.total["latency_ms"] == pytest.approx(2 * base.total["latency_ms"])
    method = ohq.analyze(net, x, method="toy-norm")  # the method
    assert method.scores_[0] == pytest.approx(float(net[0].weight.norm()))
    facts = export(q, "toy-json", tmp_path / "bits.json")  # the format
    assert facts["layers"] == 2 and json.loads((tmp_path / "bits.json").read_text()) == {"0": 2, "3": 2}
    alloc = ohq.BitAllocator(budget=ohq.Size(ratio=0.5), sensitivity="toy-norm",
                             probe=ohq.hw.target.Target("xc7z020", "toy-double")).fit(net, x)
    assert set(alloc.bits_.values()) <= {4, 8}


def test_the_toy_config_is_handled_by_its_scheme_everywhere_a_config_goes(toys):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).eval()
    x = torch.randn(8, 1, 8, 8)
    assert handler_for(TernaryWeights(2)) is SCHEMES.get("toy-ternary")
    q = ohq.quantize(net, ohq.Plan(FixedPoint(8), {"0": TernaryWeights(2, 8)}), x)  # in a plan
    assert q.specs["0"].scheme == "toy-ternary" and q.specs["3"].scheme == "uniform"
    alloc = ohq.BitAllocator(budget=ohq.Size(ratio=0.0), sensitivity="layerwise",  # a candidate
                             candidates=[FixedPoint(8, 8), TernaryWeights(2, 8)]).fit(net, x)
    assert set(alloc.configs_.values()) == {TernaryWeights(2, 8)}  # the budget allows only 2 bits
    assert {s.scheme for s in alloc.plan_.layers.values()} == {"toy-ternary"}
    with pytest.raises(ohq.OhqError, match="cannot have 4 bits"):
        TernaryWeights(4)


def test_adding_the_four_toys_touched_this_file_only():
    toys = [cls for _, _, cls in TOYS] + [TernaryWeights]
    assert {cls.__module__ for cls in toys} == {__name__}


def test_registries_list_the_toys_only_while_registered(toys):
    for registry, name, _ in TOYS:
        assert name in registry.names()
