"""ohq: hardware-aware mixed-precision quantization for FPGA and edge deployment.

>>> import ohq
>>> loaded = ohq.load_model("mnist_cnn")
>>> graph = ohq.layer_graph(loaded.model, loaded.input_shape)
>>> len(graph.layers)
5

The public names are loaded on first use, so `import ohq` (and `ohq --help`) does not import torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ohq.errors import BudgetError, DataError, DeviceError, ModelError, OhqError, PlanError

__version__ = "0.1.0"

# public name → module that defines it (imported on first attribute access, PEP 562)
_LAZY = {
    "layer_graph": "ohq.graph",
    "estimate": "ohq.hw",
    "create_model": "ohq.models",
    "list_models": "ohq.models",
    "load_model": "ohq.models",
    "Request": "ohq.pipeline",
    "run_pipeline": "ohq.pipeline",
    "Plan": "ohq.quant",
    "QuantSpec": "ohq.quant",
    "quantize": "ohq.quant",
    "analyze": "ohq.sensitivity",
    "BitAllocator": "ohq.allocator",
    "Reporter": "ohq.reporter",
    "Size": "ohq.search",
    "Latency": "ohq.search",
    "Energy": "ohq.search",
    "Bram18k": "ohq.search",
    "Paper": "ohq.search",
    "MinSensitivity": "ohq.search",
    "FpgaModel": "ohq.hw.target",
    "HostCpu": "ohq.hw.target",
    "BoardFile": "ohq.hw.target",
    "Target": "ohq.hw.target",
    "model_size_mib": "ohq.quant",
    "FixedPoint": "ohq.quant",
    "PowerOfTwo": "ohq.quant",
    "SP2": "ohq.quant",
    "RowMix": "ohq.quant",
    "plan_from": "ohq.quant",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'ohq' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["BudgetError", "DataError", "DeviceError", "ModelError", "OhqError", "PlanError", *_LAZY]
