"""What each fx node of a float model becomes in the quantized graph.

`classify(node, modules)` returns one of
  input | output | layer | relu | maxpool | shape | lut | add | mul | cat | avgpool
and raises OhqError for anything the integer engine cannot run exactly. `lut` nodes carry the
float function, `avgpool` nodes the window-sum function (see qmodules.QAvgPool).
`readers(node, is_pass)` finds who consumes a tensor, looking through pass-through nodes (the
float graph in convert, the quantized one in sensitivity._swap: each says what passes).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, fx, nn

from ohq.errors import OhqError

LAYERS = (nn.Conv2d, nn.Linear)
_LUT_MODULES = (nn.ReLU6, nn.Hardswish, nn.Hardsigmoid, nn.Sigmoid, nn.Tanh, nn.SiLU, nn.GELU,
                nn.Hardtanh, nn.LeakyReLU, nn.ELU, nn.Softplus, nn.Mish)
_SHAPE_MODULES = (nn.Flatten, nn.Dropout, nn.Identity, nn.Unflatten)
_LUT_FUNCS = {F.relu6, F.hardswish, F.hardsigmoid, torch.sigmoid, F.sigmoid, torch.tanh, F.tanh,
              F.silu, F.gelu, F.hardtanh, F.leaky_relu, F.elu, F.mish, F.softplus}
_LUT_METHODS = {"sigmoid", "tanh"}
_SHAPE_FUNCS = {torch.flatten, operator.getitem, getattr, torch.reshape, torch.squeeze,
                torch.unsqueeze, torch.permute, torch.transpose, F.dropout}
_SHAPE_METHODS = {"view", "reshape", "flatten", "permute", "contiguous", "squeeze", "unsqueeze",
                  "transpose", "size", "dim", "view_as", "reshape_as"}
_ADD = {operator.add, torch.add, operator.iadd}
_SUB = {operator.sub, torch.sub, operator.isub}
_MUL = {operator.mul, torch.mul, operator.imul}


@dataclass
class Op:
    kind: str
    tensors: list[fx.Node] = field(default_factory=list)  # tensor inputs, in order
    fn: Callable | None = None  # lut: the float function; avgpool: the float op
    extra: dict = field(default_factory=dict)


def readers(node: fx.Node, is_pass: Callable[[fx.Node], bool],
            is_value: Callable[[fx.Node], bool] | None = None) -> list[fx.Node]:
    """Every node that consumes `node`'s value, in first-visit order, looking through the nodes
    `is_pass` names (ReLU, max-pool, shape ops: they keep their input's quantizer). With
    `is_value`, a pass node for which it is False (size(), dim(): no tensor) is neither a reader
    nor looked through."""
    found, todo, seen = [], list(node.users), set()
    while todo:
        u = todo.pop()
        if u in seen:
            continue
        seen.add(u)
        if not is_pass(u):
            found.append(u)
        elif is_value is None or is_value(u):
            todo.extend(u.users)
    return found


def is_shape_call(node: fx.Node) -> bool:
    """A call_function / call_method that only reshapes its input or reads its shape."""
    if node.op == "call_function":
        return node.target in _SHAPE_FUNCS
    return node.op == "call_method" and node.target in _SHAPE_METHODS


def classify(node: fx.Node, modules: dict[str, nn.Module], is_tensor: Callable[[object], bool]) -> Op:
    tensors = [a for a in node.all_input_nodes if is_tensor(a)]
    if node.op == "placeholder":
        return Op("input")
    if node.op == "output":
        return Op("output", tensors)
    if node.op == "call_module":
        mod = modules[node.target]
        if isinstance(mod, LAYERS):
            return Op("layer", tensors)
        if isinstance(mod, nn.ReLU):
            return Op("relu", tensors)
        if isinstance(mod, _SHAPE_MODULES):
            return Op("shape", tensors)
        if isinstance(mod, nn.MaxPool2d):
            return _maxpool(tensors, mod.kernel_size, mod.stride, mod.padding, mod.dilation, mod.ceil_mode)
        if isinstance(mod, _LUT_MODULES):
            return Op("lut", tensors, mod)
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            return _adaptive(tensors, mod.output_size)
        if isinstance(mod, nn.AvgPool2d):
            return _avgpool(tensors, mod.kernel_size, mod.stride, mod.padding, mod.ceil_mode,
                            mod.count_include_pad, mod.divisor_override)
        _unsupported(node, type(mod).__name__)
    target = node.target
    if node.op == "call_function" or node.op == "call_method":
        is_method = node.op == "call_method"
        name = target if is_method else getattr(target, "__name__", str(target))
        if (not is_method and target in (F.relu, torch.relu)) or (is_method and target == "relu"):
            return Op("relu", tensors)
        if is_shape_call(node):
            return Op("shape", tensors)
        if (not is_method and target in _LUT_FUNCS) or (is_method and target in _LUT_METHODS):
            return _lut_call(node, tensors)
        for group, kind in ((_ADD, "add"), (_SUB, "sub"), (_MUL, "mul")):
            if (not is_method and target in group) or (is_method and target in (kind, kind + "_")):
                return _binary(node, tensors, kind)
        if not is_method and target in (operator.truediv, torch.div) and len(tensors) == 1 \
                and node.args[0] is tensors[0]:
            return _lut_call(node, tensors)
        if not is_method and target in (torch.cat, torch.concat):
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
            return Op("cat", list(node.args[0]), extra={"dim": dim})
        if (not is_method and target is torch.mean) or (is_method and target == "mean"):
            return _mean(node, tensors)
        if not is_method and target is F.adaptive_avg_pool2d:
            return _adaptive(tensors, node.args[1] if len(node.args) > 1 else node.kwargs["output_size"])
        if not is_method and target is F.max_pool2d:
            return _maxpool_call(node, tensors)
        _unsupported(node, name)
    _unsupported(node, str(target))
    raise AssertionError  # unreachable


def _unsupported(node: fx.Node, what: str) -> None:
    raise OhqError(
        f"the quantizer does not support {what!r} (fx node {node.name!r}); supported: conv2d, linear, "
        "relu, relu6, hardswish, hardsigmoid, sigmoid, tanh, max/avg pooling, add, mul, cat, flatten"
    )


def _lut_call(node: fx.Node, tensors: list[fx.Node]) -> Op:
    if len(tensors) != 1 or node.args[0] is not tensors[0]:
        _unsupported(node, f"{node.target} with {len(tensors)} tensor inputs")
    args, kwargs = node.args[1:], dict(node.kwargs)
    kwargs.pop("inplace", None)
    target = node.target
    if node.op == "call_method":
        def fn(x: Tensor) -> Tensor:
            return getattr(x, target)(*args, **kwargs)
    else:
        def fn(x: Tensor) -> Tensor:
            return target(x, *args, **kwargs)
    return Op("lut", tensors, fn)


def _binary(node: fx.Node, tensors: list[fx.Node], kind: str) -> Op:
    if len(tensors) == 2 and not (node.kwargs.get("alpha", 1) != 1):
        if kind == "mul":
            return Op("mul", tensors)
        return Op("add", tensors, extra={"signs": [1, -1] if kind == "sub" else [1, 1]})
    if len(tensors) == 1:  # tensor op constant: an elementwise function of one tensor
        other = [a for a in node.args if a is not tensors[0]]
        if len(other) == 1 and isinstance(other[0], int | float):
            c, first = other[0], node.args[0] is tensors[0]
            op = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}[kind]

            def fn(x: Tensor) -> Tensor:
                return op(x, c) if first else op(c, x)
            return Op("lut", tensors, fn)
    _unsupported(node, f"{kind} of {len(tensors)} tensors")
    raise AssertionError


def _maxpool(tensors, kernel, stride, padding, dilation, ceil_mode) -> Op:
    return Op("maxpool", tensors, extra={"kwargs": dict(kernel_size=kernel, stride=stride or kernel,
              padding=padding, dilation=dilation, ceil_mode=ceil_mode)})


def _maxpool_call(node: fx.Node, tensors) -> Op:
    names = ["kernel_size", "stride", "padding", "dilation", "ceil_mode"]
    kw = dict(zip(names, node.args[1:], strict=False)) | dict(node.kwargs)
    kw.pop("return_indices", None)
    return _maxpool(tensors, kw["kernel_size"], kw.get("stride"), kw.get("padding", 0),
                    kw.get("dilation", 1), kw.get("ceil_mode", False))


def _adaptive(tensors, output_size) -> Op:
    def op(x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, output_size)

    def window_sum(x: Tensor) -> tuple[Tensor, Tensor]:
        h, w = x.shape[-2:]
        oh, ow = _pair(output_size, (h, w))
        rows = _windows(h, oh)
        cols = _windows(w, ow)
        integral = F.pad(x.cumsum(-2).cumsum(-1), (1, 0, 1, 0))
        r0, r1 = (torch.tensor([r[i] for r in rows]) for i in (0, 1))
        c0, c1 = (torch.tensor([c[i] for c in cols]) for i in (0, 1))
        at = lambda r, c: integral[..., r[:, None], c[None, :]]  # noqa: E731
        sums = at(r1, c1) - at(r0, c1) - at(r1, c0) + at(r0, c0)
        counts = ((r1 - r0)[:, None] * (c1 - c0)[None, :]).to(torch.float64)
        return sums, counts
    return Op("avgpool", tensors, op, {"window_sum": window_sum})


def _pair(size, hw) -> tuple[int, int]:
    if isinstance(size, int) or size is None:
        size = (size, size)
    return tuple(hw[i] if s is None else int(s) for i, s in enumerate(size))


def _windows(n: int, out: int) -> list[tuple[int, int]]:
    return [((i * n) // out, -((-(i + 1) * n) // out)) for i in range(out)]


def _avgpool(tensors, kernel, stride, padding, ceil_mode, count_include_pad, divisor) -> Op:
    kw = dict(kernel_size=kernel, stride=stride or kernel, padding=padding, ceil_mode=ceil_mode)

    def op(x: Tensor) -> Tensor:
        return F.avg_pool2d(x, **kw, count_include_pad=count_include_pad, divisor_override=divisor)

    def window_sum(x: Tensor) -> tuple[Tensor, Tensor]:
        sums = F.avg_pool2d(x, **kw, divisor_override=1)
        ones = torch.ones((1, 1) + tuple(x.shape[-2:]), dtype=torch.float64)
        real = F.avg_pool2d(ones, **kw, divisor_override=1)
        avg = F.avg_pool2d(ones, **kw, count_include_pad=count_include_pad, divisor_override=divisor)
        return sums, torch.round(real / avg)[0, 0]
    return Op("avgpool", tensors, op, {"window_sum": window_sum})


def _mean(node: fx.Node, tensors) -> Op:
    dims = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
    keepdim = node.kwargs.get("keepdim", node.args[2] if len(node.args) > 2 else False)
    if dims is None or len(tensors) != 1:
        _unsupported(node, "mean over all dimensions")
    dims = (dims,) if isinstance(dims, int) else tuple(dims)

    def op(x: Tensor) -> Tensor:
        return x.mean(dims, keepdim=keepdim)

    def window_sum(x: Tensor) -> tuple[Tensor, Tensor]:
        count = 1
        for d in dims:
            count *= x.shape[d]
        return x.sum(dims, keepdim=keepdim), torch.tensor(float(count), dtype=torch.float64)
    return Op("avgpool", tensors, op, {"window_sum": window_sum})
