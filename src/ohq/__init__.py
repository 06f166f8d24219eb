"""ohq: hardware-aware mixed-precision quantization for FPGA and edge deployment.

>>> import ohq
>>> loaded = ohq.load_model("mnist_cnn")
>>> graph = ohq.layer_graph(loaded.model, loaded.input_shape)
>>> len(graph.layers)
5

The whole pipeline (graph → sensitivity → hardware → ILP → quantized model):

>>> result = ohq.run_pipeline(ohq.Request("mnist_resnet", data="mnist", size_ratio=0.5))  # doctest: +SKIP
"""

from ohq.errors import OhqError
from ohq.graph import layer_graph
from ohq.hw import estimate
from ohq.models import create_model, list_models, load_model
from ohq.pipeline import Request, run_pipeline
from ohq.quant import Plan, QuantSpec, quantize
from ohq.sensitivity import analyze

__version__ = "0.1.0"

__all__ = [
    "OhqError",
    "Plan",
    "QuantSpec",
    "Request",
    "analyze",
    "create_model",
    "estimate",
    "layer_graph",
    "list_models",
    "load_model",
    "quantize",
    "run_pipeline",
]
