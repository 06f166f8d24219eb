"""Run an hls4ml export in hls4ml's C simulation, compiled once per model+config (tests, bench).

`hls4ml_compiled(folder, cache)` converts OUT/model.pt with OUT/hls4ml_config.json
(`convert_from_pytorch_model`, Vivado backend) and compiles it (`compile()`: g++ on the generated
C++), under cache/<hash of the weights, config, hls4ml version and io type>. A later call with the
same hash loads the library built before instead of running g++ again (a compile of mnist_cnn
takes minutes on 2 cores). `hls4ml_logits` feeds it ohq's quantized input.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ohq.export.hls4ml import IO_TYPE
from ohq.quant.dyadic import dequantize, quantize_float
from ohq.quant.qmodules import QInput


def _key(model: torch.nn.Module, config: dict, io_type: str) -> str:
    import hls4ml

    h = hashlib.sha256(json.dumps([config, hls4ml.__version__, io_type], sort_keys=True, default=str).encode())
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def load_export(folder: str | Path) -> tuple[torch.nn.Module, dict]:
    folder = Path(folder)
    model = torch.load(folder / "model.pt", weights_only=False)
    config = json.loads((folder / "hls4ml_config.json").read_text())
    config["InputShape"] = tuple(config["InputShape"])
    return model, config


def hls4ml_compiled(folder: str | Path, cache: str | Path, io_type: str = IO_TYPE):
    """(hls4ml ModelGraph ready to predict, seconds spent compiling: 0.0 when cached)."""
    from hls4ml.converters import convert_from_pytorch_model

    model, config = load_export(folder)
    prj = Path(cache) / _key(model, config, io_type)
    hls = convert_from_pytorch_model(model, hls_config=config, output_dir=str(prj), backend="Vivado",
                                     io_type=io_type)
    libs = sorted((prj / "firmware").glob("*.so")) if (prj / "firmware").is_dir() else []
    if libs:  # built before from the same weights and config: load it (hls4ml has no public call)
        hls._top_function_lib = ctypes.cdll.LoadLibrary(str(libs[-1]))
        return hls, 0.0
    t0 = time.perf_counter()
    hls.compile()
    return hls, time.perf_counter() - t0


def model_input(qmodel, x: Tensor) -> Tensor:
    """ohq's quantized model input s·(q − z), as the float32 values hls4ml reads (NCHW)."""
    quant = next(m for m in qmodel.graph_module.modules() if isinstance(m, QInput))
    return dequantize(quantize_float(x, quant.out), quant.out)


def hls4ml_logits(hls, qmodel, x: Tensor) -> Tensor:
    """hls4ml's C-simulation outputs for the float inputs x (quantized by ohq's input quantizer).

    ChannelsLastConversion "full": hls4ml transposes the NCHW input itself.
    """
    xq = model_input(qmodel, x).numpy().astype(np.float64)
    out = np.asarray(hls.predict(np.ascontiguousarray(xq)))
    return torch.from_numpy(out.reshape(x.shape[0], -1))
