"""Run exported models in their real runtimes and measure agreement with ohq (tests, bench).

agreement(ref, got, units): argmax agreement, the largest |got - ref| in output-scale units (one
LSB of the output: the QOutput scale, or s_in·step_c for a dequantized-accumulator output), and
the share of samples within one unit.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ohq.export._ints import output_units


def ort_logits(model, x: Tensor, batch: int = 1000) -> Tensor:
    """Run an ONNX ModelProto in onnxruntime on the CPU."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    outs = [sess.run(None, {name: x[i:i + batch].numpy()})[0] for i in range(0, x.shape[0], batch)]
    return torch.from_numpy(np.concatenate(outs))


def qonnx_logits(model, x: Tensor) -> Tensor:
    """Run a QONNX ModelProto (static batch = len(x)) in qonnx's reference executor."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    wrapped = cleanup_model(ModelWrapper(model))
    inp, out = wrapped.graph.input[0].name, wrapped.graph.output[0].name
    return torch.from_numpy(execute_onnx(wrapped, {inp: x.numpy()})[out])


def agreement(qmodel, ref: Tensor, got: Tensor) -> dict[str, float]:
    units = output_units(qmodel, ref)
    diff = (got.to(torch.float64) - ref.to(torch.float64)).abs() / units
    per_sample = diff.reshape(diff.shape[0], -1).amax(dim=1)
    return {
        "samples": int(ref.shape[0]),
        "argmax_agreement": float((got.argmax(1) == ref.argmax(1)).double().mean()),
        "max_abs_diff_units": float(diff.max()),
        "within_1_unit": float((per_sample < 1).double().mean()),
    }
