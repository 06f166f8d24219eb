"""Run an hls4ml export in hls4ml's C simulation, compiled once per model+config (tests, bench).

`hls4ml_compiled(folder, cache)` converts OUT/model.pt with OUT/hls4ml_config.json
(`convert_from_pytorch_model`, Vivado backend) and compiles it (`compile()`: g++ on the generated
C++), under cache/<hash of the weights, config, hls4ml version and io type>. A later call with the
same hash loads the library built before instead of running g++ again (a compile of mnist_cnn
takes minutes on 2 cores). `hls4ml_logits` feeds it ohq's input codes q - z.

`hls4ml_from_qonnx(model, cache)` is the QONNX route: `ohq export --format qonnx`, prepared as
hls4ml's documentation asks (qonnx cleanup, channels-last, Gemm → MatMul),
`config_from_onnx_model` with QONNX_PRECISION as the default for the scale layers hls4ml inserts,
then `convert_from_onnx_model` and compile(), cached the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ohq.export.hls4ml import IO_TYPE
from ohq.quant.dyadic import quantize_float
from ohq.quant.qmodules import QInput


def _key(model: torch.nn.Module, config: dict, io_type: str) -> str:
    import hls4ml

    h = hashlib.sha256(json.dumps([config, hls4ml.__version__, io_type], sort_keys=True, default=str).encode())
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


QONNX_PRECISION = "fixed<48,16>"  # hls4ml's ApplyAlpha/BN scales (1e-5 … 1e3) need the bits


def prepare_qonnx(model):
    """The preprocessing hls4ml's QONNX front end expects (its docs): cleanup, channels-last, MatMul."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    wrapped = cleanup_model(ModelWrapper(model))
    wrapped = wrapped.transform(ConvertToChannelsLastAndClean()).transform(GemmToMatMul())
    return cleanup_model(wrapped)


def hls4ml_from_qonnx(model, cache: str | Path, io_type: str = IO_TYPE):
    """(hls4ml ModelGraph of a QONNX ModelProto, seconds compiling: 0.0 when cached)."""
    import hls4ml
    from hls4ml.converters import convert_from_onnx_model

    # hls4ml and qonnx warn on every pass they skip, and the converter prints every layer
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        wrapped = prepare_qonnx(model)
        config = hls4ml.utils.config.config_from_onnx_model(
            wrapped, granularity="name", backend="Vivado", default_precision=QONNX_PRECISION)
        h = hashlib.sha256(wrapped.model.SerializeToString())
        h.update(json.dumps([config, hls4ml.__version__, io_type], sort_keys=True, default=str).encode())
        prj = Path(cache) / f"qonnx-{h.hexdigest()[:16]}"
        hls = convert_from_onnx_model(wrapped, output_dir=str(prj), backend="Vivado", io_type=io_type,
                                      hls_config=config)
    return _compile_or_load(hls, prj)


BUILT_IN = "ohq-built-in.txt"  # the folder a library was compiled in: it reads its weights from there


def _compile_or_load(hls, prj: Path):
    libs = sorted((prj / "firmware").glob("*.so")) if (prj / "firmware").is_dir() else []
    marker = prj / BUILT_IN
    # A library built in another folder (a copied or moved cache) would exit the process when it
    # cannot find its weight files, so only one built here, from the same model and config, is loaded
    if libs and marker.is_file() and marker.read_text() == str(prj.resolve()):
        hls._top_function_lib = ctypes.cdll.LoadLibrary(str(libs[-1]))  # hls4ml has no public call
        return hls, 0.0
    t0 = time.perf_counter()
    hls.compile()
    marker.write_text(str(prj.resolve()))
    return hls, time.perf_counter() - t0


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
    return _compile_or_load(hls, prj)


def model_input(qmodel, x: Tensor) -> Tensor:
    """ohq's input codes minus their zero point, q - z, as the values the hls4ml model reads (NCHW)."""
    quant = next(m for m in qmodel.graph_module.modules() if isinstance(m, QInput))
    return quantize_float(x, quant.out) - quant.out.zero


def hls4ml_logits(hls, qmodel, x: Tensor) -> Tensor:
    """hls4ml's C-simulation outputs for the float inputs x (quantized by ohq's input quantizer).

    ChannelsLastConversion "full": hls4ml transposes the NCHW input itself.
    """
    xq = model_input(qmodel, x).numpy().astype(np.float64)
    out = np.asarray(hls.predict(np.ascontiguousarray(xq)))
    return torch.from_numpy(out.reshape(x.shape[0], -1))


def hls4ml_qonnx_logits(hls, qmodel, x: Tensor) -> Tensor:
    """Outputs of hls4ml's model of the QONNX export for float inputs x (NCHW, as the QONNX input;
    the export's own first Quant nodes quantize it)."""
    out = np.asarray(hls.predict(np.ascontiguousarray(x.numpy().astype(np.float64))))
    return torch.from_numpy(out.reshape(x.shape[0], -1))
