"""The layer graph: every quantizable layer of a model, in execution order, with its shapes and cost.

torch.fx is used when the model traces (so the BatchNorm that follows a layer is read off the
graph's edges); forward hooks are the fallback for models with data-dependent control flow.

>>> from ohq.models import create_model
>>> g = layer_graph(create_model("resnet18"), (1, 3, 224, 224))
>>> g.layers[0].name, g.layers[0].kind, round(g.total_macs / 1e9, 3)
('conv1', 'conv', 1.814)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from ohq.errors import MODEL_RUN_ERRORS, ModelError, OhqError, blame_user

# What torch.fx.symbolic_trace raises on data-dependent control flow or untraceable calls.
TRACE_ERRORS = (fx.proxy.TraceError, *MODEL_RUN_ERRORS)

QUANTIZABLE = (nn.Conv2d, nn.Linear)
# Modules with parameters that ohq handles without quantizing them: BN is folded into its conv.
_HANDLED = (nn.BatchNorm2d, nn.BatchNorm1d)


@dataclass(frozen=True)
class Layer:
    """One quantizable layer. Shapes include the batch dimension; `macs` is per sample."""

    name: str
    kind: str  # conv | dwconv | gconv | linear
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    groups: int
    params: int
    macs: int
    bn: str | None = None  # qualified name of the BatchNorm applied to this layer's output

    @property
    def in_fmap(self) -> int:
        """Elements of one sample's input feature map (C·H·W for a conv)."""
        return math.prod(self.in_shape[1:])

    @property
    def out_fmap(self) -> int:
        return math.prod(self.out_shape[1:])

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("in_shape", "out_shape", "kernel", "stride", "padding"):
            d[key] = list(d[key])
        return d


@dataclass
class LayerGraph:
    """The ordered quantizable layers of a model for one input shape."""

    input_shape: tuple[int, ...]
    layers: list[Layer]
    model_params: int
    unsupported: list[str] = field(default_factory=list)
    traced: bool = True

    def __getitem__(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def to_dict(self) -> dict:
        return {
            "input": list(self.input_shape),
            "layers": [layer.to_dict() for layer in self.layers],
            "total": {
                "params": self.total_params,
                "macs": self.total_macs,
                "layers": len(self.layers),
                "model_params": self.model_params,
            },
        }


def layer_graph(model: nn.Module, input_shape: tuple[int, ...]) -> LayerGraph:
    """List the quantizable layers of `model` for inputs of `input_shape` (batch first)."""
    input_shape = tuple(int(d) for d in input_shape)
    unsupported = _warn_unsupported(model)
    was_training = model.training
    model.eval()
    try:
        example = torch.zeros(input_shape)
        try:
            layers, traced = _layers_fx(model, example), True
        except TRACE_ERRORS as exc:  # models with data-dependent control flow do not trace
            if isinstance(exc, OhqError):
                raise
            layers, traced = _layers_hooks(model, example), False
    finally:
        model.train(was_training)
    model_params = sum(p.numel() for p in model.parameters())
    return LayerGraph(input_shape, layers, model_params, unsupported, traced)


def _run(fn, example: torch.Tensor):
    try:
        with torch.no_grad():
            return fn(example)
    except MODEL_RUN_ERRORS as exc:  # the user's shape does not fit the model
        raise blame_user(exc, ModelError, f"the model cannot take an input of shape {tuple(example.shape)} (give the shape it takes with --input N,C,H,W)") from exc


def _layers_fx(model: nn.Module, example: torch.Tensor) -> list[Layer]:
    gm = fx.symbolic_trace(model)
    _run(model, example)  # a shape error reads better from the model than from ShapeProp
    with torch.no_grad():
        ShapeProp(gm).propagate(example)
    modules = dict(gm.named_modules())
    layers = []
    for node in gm.graph.nodes:
        if node.op != "call_module" or not isinstance(modules[node.target], QUANTIZABLE):
            continue
        users = list(node.users)
        bn = None
        if len(users) == 1 and users[0].op == "call_module":
            if isinstance(modules[users[0].target], _HANDLED):
                bn = users[0].target
        in_meta = node.args[0].meta["tensor_meta"]
        out_meta = node.meta["tensor_meta"]
        layers.append(
            _describe(node.target, modules[node.target], in_meta.shape, out_meta.shape, bn)
        )
    return layers


def _layers_hooks(model: nn.Module, example: torch.Tensor) -> list[Layer]:
    records: list[tuple[str, nn.Module, torch.Tensor, torch.Tensor]] = []
    outputs_to_index: dict[int, int] = {}
    bns: dict[int, str] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, QUANTIZABLE):

            def hook(mod, inp, out, name=name):
                outputs_to_index[id(out)] = len(records)
                records.append((name, mod, inp[0].shape, out.shape))

            handles.append(module.register_forward_hook(hook))
        elif isinstance(module, _HANDLED):

            def bn_hook(mod, inp, out, name=name):
                index = outputs_to_index.get(id(inp[0]))
                if index is not None:
                    bns[index] = name

            handles.append(module.register_forward_hook(bn_hook))
    try:
        _run(model, example)
    finally:
        for h in handles:
            h.remove()
    return [
        _describe(name, mod, in_shape, out_shape, bns.get(i))
        for i, (name, mod, in_shape, out_shape) in enumerate(records)
    ]


def _describe(name, module, in_shape, out_shape, bn) -> Layer:
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    params = sum(p.numel() for p in module.parameters(recurse=False))
    if isinstance(module, nn.Linear):
        # Extra leading dims (tokens) each cost one matrix-vector product.
        rows = math.prod(out_shape[1:-1]) if len(out_shape) > 2 else 1
        return Layer(
            name, "linear", in_shape, out_shape, module.in_features, module.out_features,
            (1, 1), (1, 1), (0, 0), 1, params, rows * module.in_features * module.out_features, bn,
        )
    if isinstance(module.padding, str):
        raise OhqError(f"layer {name!r}: string padding {module.padding!r} is not supported")
    cin, cout, groups = module.in_channels, module.out_channels, module.groups
    if groups == 1:
        kind = "conv"
    elif groups == cin and cout % cin == 0:
        kind = "dwconv"
    else:
        kind = "gconv"
    kh, kw = module.kernel_size
    macs = math.prod(out_shape[1:]) * (cin // groups) * kh * kw
    return Layer(
        name, kind, in_shape, out_shape, cin, cout, (kh, kw), tuple(module.stride),
        tuple(module.padding), groups, params, macs, bn,
    )


def _warn_unsupported(model: nn.Module) -> list[str]:
    """Name every module that owns parameters ohq neither quantizes nor folds."""
    names = [
        f"{name} ({type(module).__name__})"
        for name, module in model.named_modules()
        if not isinstance(module, QUANTIZABLE + _HANDLED)
        and any(True for _ in module.parameters(recurse=False))
    ]
    if names:
        warnings.warn(
            "ohq cannot quantize these modules; they stay in floating point: " + ", ".join(names),
            stacklevel=3,
        )
    return names


def residual_ties(model: nn.Module, graph: LayerGraph) -> list[list[str]]:
    """Groups of layers whose outputs meet at one residual add (e.g. conv2 and its downsample).

    ModelError when the model does not trace: the ties cannot be found, and dropping them silently
    would hand back an allocation the user did not ask for."""
    try:
        gm = fx.symbolic_trace(model)
    except TRACE_ERRORS as exc:
        raise blame_user(exc, ModelError, "--tie-residual needs an fx-traceable model to find its residual adds "
                         "(torch.fx.symbolic_trace failed") from exc
    modules = dict(gm.named_modules())
    names = set(graph.names)

    def source(node) -> str | None:
        while isinstance(node, fx.Node) and node.op == "call_module":
            if node.target in names:
                return node.target
            if not isinstance(modules[node.target], nn.BatchNorm2d | nn.Identity):
                return None
            node = node.args[0]
        return None

    groups = []
    for node in gm.graph.nodes:
        if node.op == "call_function" and getattr(node.target, "__name__", "") in ("add", "iadd"):
            layers = sorted({s for a in node.args if (s := source(a)) is not None}, key=graph.names.index)
            if len(layers) >= 2:
                groups.append(layers)
    return groups

