"""graphops.readers: the one walker convert and sensitivity._swap share."""

from __future__ import annotations

import torch
from torch import fx, nn

from ohq.quant.graphops import is_shape_call, readers


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        z = torch.relu(y).view(y.size(0), -1)  # size() reads y: no tensor
        return self.b(z) + self.c(torch.relu(y))


def _graph():
    gm = fx.symbolic_trace(_Net())
    nodes = {n.name: n for n in gm.graph.nodes}
    return nodes, lambda n: is_shape_call(n) or (n.op == "call_function" and n.target is torch.relu)


def test_readers_look_through_pass_nodes_once_each():
    nodes, is_pass = _graph()
    found = readers(nodes["a"], is_pass)
    assert sorted(n.name for n in found) == ["b", "c"]  # the two relu paths, b reached once


def test_readers_skip_non_tensor_pass_nodes_when_asked():
    nodes, is_pass = _graph()
    size = next(n for n in nodes.values() if n.op == "call_method" and n.target == "size")
    # size()'s user (the view) is also reached through relu; drop the relu path to see the difference
    only_size = lambda n: is_pass(n) and n.target is not torch.relu  # noqa: E731
    kept = readers(nodes["a"], only_size, lambda n: n is not size)
    assert size not in kept and nodes["b"] not in kept  # b was reached only through size()
    assert nodes["b"] in readers(nodes["a"], only_size)
