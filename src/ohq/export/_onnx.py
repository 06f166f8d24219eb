"""Tracing an export module with torch.onnx (TorchScript exporter) and small ONNX graph rewrites."""

from __future__ import annotations

import io
import warnings

import onnx
import torch
from onnx import numpy_helper
from torch import Tensor, nn

from ohq.errors import OhqError, blame_user

INPUT, OUTPUT = "x", "logits"


def trace_to_onnx(module: nn.Module, sample: Tensor, opset: int, custom_opsets: dict | None = None,
                  dynamic: bool = True) -> onnx.ModelProto:
    """torch.onnx.export of `module` on `sample` as a ModelProto (batch dimension dynamic or not)."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                module, (sample,), buf, dynamo=False, opset_version=opset,
                input_names=[INPUT], output_names=[OUTPUT],
                dynamic_axes={INPUT: {0: "N"}, OUTPUT: {0: "N"}} if dynamic else None,
                custom_opsets=custom_opsets or {}, do_constant_folding=False,
            )
        except OhqError:
            raise
        except (torch.onnx.errors.OnnxExporterError, RuntimeError, TypeError) as exc:
            # the exporter's errors are long; keep the first line
            raise blame_user(exc, OhqError, "torch.onnx could not export the quantized model") from exc
    return onnx.load_from_string(buf.getvalue())


def constants_to_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite: every `Constant` node becomes a graph initializer of the same name."""
    graph = model.graph
    keep = []
    for node in graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            tensor = numpy_helper.to_array(node.attribute[0].t)
            graph.initializer.append(numpy_helper.from_array(tensor, node.output[0]))
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    return model


def name_weights(model: onnx.ModelProto, names: dict[str, str]) -> onnx.ModelProto:
    """Rewrite: rename initializers (old → new) and every reference to them."""
    graph = model.graph
    for init in graph.initializer:
        if init.name in names:
            init.name = names[init.name]
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in names:
                node.input[i] = names[name]
    return model


def finish(model: onnx.ModelProto, doc: str) -> onnx.ModelProto:
    """Stamp producer and doc string, then run the ONNX checker (an exporter bug is not user error)."""
    model.producer_name = "ohq"
    model.doc_string = doc
    onnx.checker.check_model(model)
    return model
