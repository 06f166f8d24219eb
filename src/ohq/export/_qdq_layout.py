"""Rewrites of a traced QDQ graph into the layout onnxruntime's own quantizer writes.

onnxruntime fuses `DQ → Conv/Gemm → Q` groups into integer kernels only when nothing in float sits
between a DequantizeLinear and the Conv/Gemm that reads it. The traced graph has
`Q → DQ → Relu/Flatten/MaxPool → Conv`; these ops commute with a per-tensor quantizer exactly:
- Relu: Q(max(y, 0)) = max(Q(y), Q(0)) = max(Q(y), z) = ohq's QRelu on codes (rounding is monotone);
- MaxPool: the maximum commutes with any monotone map;
- Flatten/Reshape/Squeeze/Unsqueeze: move values without changing them, and Q/DQ are elementwise.
So `hoist` moves Relu and MaxPool in front of the Q (Conv → Relu → Q → DQ → Conv), where
onnxruntime folds the Relu into the Q's range (its zero point is the int8 minimum) and fuses the
Conv, and shape ops onto the integer side (GlobalAveragePool → Q → Flatten → DQ → Gemm), as
onnxruntime's quantizer leaves them after its own QDQ clean-up.
A Relu after a b<8-bit Clip moves in front of the Clip first (Clip(v, lo, hi) with lo ≤ 0 ≤ hi
commutes with Relu).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

SHAPE = {"Flatten", "Reshape", "Squeeze", "Unsqueeze"}
HOISTABLE = {"Relu", "MaxPool"} | SHAPE


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    for out in graph.output:
        users.setdefault(out.name, []).append(None)  # a graph output is a reader too
    return users


def _producers(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {out: node for node in graph.node for out in node.output}


def _scalar(graph: onnx.GraphProto, name: str) -> bool:
    init = next((i for i in graph.initializer if i.name == name), None)
    return init is not None and numpy_helper.to_array(init).size == 1


def _clip_spans_zero(graph: onnx.GraphProto, clip: onnx.NodeProto) -> bool:
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    bounds = [inits.get(n) for n in clip.input[1:3]]
    return len(bounds) == 2 and all(b is not None for b in bounds) and \
        float(np.min(bounds[0])) <= 0.0 <= float(np.max(bounds[1]))


def _movable(graph, node, prod, users) -> list[onnx.NodeProto] | None:
    """The nodes `node` (a hoistable op) moves in front of: [Q, DQ], [DQ] (a shape op goes to the
    integer side, between Q and DQ) or [Clip]; None: it stays."""
    src = prod.get(node.input[0])
    if src is None or len(users[node.input[0]]) != 1:
        return None
    if src.op_type == "Clip" and node.op_type == "Relu" and _clip_spans_zero(graph, src):
        return [src]
    if src.op_type == "Quant" and _scalar(graph, src.input[1]):
        return [src]  # QONNX: one Quant node instead of a Q/DQ pair; shape ops go before it too
    if src.op_type != "DequantizeLinear" or not _scalar(graph, src.input[1]):
        return None
    if node.op_type in SHAPE:
        return [src]
    q = prod.get(src.input[0])
    if q is None or q.op_type != "QuantizeLinear" or len(users[src.input[0]]) != 1:
        return None
    return [q, src]


def _hoist_once(graph: onnx.GraphProto, count: int) -> bool:
    prod, users = _producers(graph), _consumers(graph)
    for node in graph.node:
        if node.op_type not in HOISTABLE:
            continue
        chain = _movable(graph, node, prod, users)
        if chain is None:
            continue
        first, last = chain[0], chain[-1]
        new = f"{node.output[0]}_hoisted{count}"
        node.input[0], first.input[0] = first.input[0], new  # x → node → new → chain …
        last.output[0], node.output[0] = node.output[0], new  # … → the old output name
        nodes = [n for n in graph.node if n is not node]
        at = next(i for i, n in enumerate(nodes) if n is first)
        del graph.node[:]
        graph.node.extend(nodes[:at] + [node] + nodes[at:])
        return True
    return False


def hoist(model: onnx.ModelProto) -> onnx.ModelProto:
    """Move every Relu/MaxPool/shape op that reads a DequantizeLinear in front of its Q/DQ pair."""
    count = 0
    while _hoist_once(model.graph, count):
        count += 1
    return model
