"""PTQ: fold BN, calibrate activation ranges, and rewrite the fx graph into quantized modules.

Which quantizer each tensor gets:
- a tensor read only by layers (through ReLU, max-pool and shape ops) takes the largest a_bits of
  those layers, so a layer whose a_bits equal it shares the quantizer (no extra rounding);
- a layer output read only by the model output is not requantized: it is the dequantized
  accumulator (the logits stay precise);
- every other tensor (residual adds, pools, SE, activations) takes the plan's `act_bits`
  (the default's a_bits); None leaves it in float;
- a tensor whose only reader is a ReLU (ReLU6) is calibrated on that reader's output, so
  conv→ReLU needs no signed range.
A layer whose a_bits differ from its input tensor's requantizes it (a dyadic integer rescale).
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy

import torch
from torch import Tensor, fx, nn

from ohq.errors import OhqError
from ohq.quant._registry import get_observer
from ohq.quant.calibrate import Stats, calibrate, check_calib
from ohq.quant.dyadic import QParams
from ohq.quant.fold import fold_bn
from ohq.quant.graphops import LAYERS, Op, classify, readers
from ohq.quant.layers import QuantLayer
from ohq.quant.observers import act_qparams
from ohq.quant.qmodel import QuantModel
from ohq.quant.qmodules import QAdd, QAvgPool, QCat, QInput, QLut, QMaxPool, QMul, QOutput, QRelu
from ohq.quant.spec import Plan, QuantSpec
from ohq.quant.weights import check_finite

_PASS = ("relu", "maxpool", "shape")  # keep the quantizer of their input


def quantize(model: nn.Module, plan: Plan, calib: Tensor, *, input_shape: tuple[int, ...] | None = None) -> QuantModel:
    """A new QuantModel: `model` BN-folded, weights quantized per `plan`, activations calibrated on `calib`.

    `input_shape` is only checked against `calib` (the model input is whatever `calib` is).
    """
    _check_plan(plan)
    calib = check_calib(calib)
    if input_shape is not None and tuple(calib.shape[1:]) != tuple(input_shape[1:]):
        raise OhqError(f"calibration data has sample shape {tuple(calib.shape[1:])}, "
                       f"the model expects {tuple(input_shape[1:])}")
    return Calibration(model, calib, [plan])._build(plan, copy=False)


class Calibration:
    """One BN fold and one float calibration pass of `model` on `calib`, shared by every plan
    quantized from it: the ranges of each bit-width come from the same statistics.

    `quantize(plan)` is `quantize(model, plan, calib)` bit for bit, without re-tracing or
    re-running the float model (the same QuantModel for an equal plan: do not modify it).
    `layers(plan)` builds only that model's QuantLayers, each with its input quantizers
    (`src`, `inp`) but no output quantizer (`out` None): what a substitution needs
    (ohq.sensitivity._swap), without the other tensors' ranges. `plans`: those to be built, so
    that the pass keeps the value samples their observers need (a later plan that needs them and
    finds none re-runs it).
    """

    def __init__(self, model: nn.Module, calib: Tensor, plans: Sequence[Plan] = ()) -> None:
        for plan in plans:
            _check_plan(plan)
        self.model, self.source = model, calib
        self.calib = check_calib(calib)
        self.gm = gm = fold_bn(model)
        self.modules = modules = dict(gm.named_modules())
        self.layer_nodes = [n for n in gm.graph.nodes if n.op == "call_module" and isinstance(modules[n.target], LAYERS)]
        self.names = names = [n.target for n in self.layer_nodes]
        if len(set(names)) != len(names):
            raise OhqError("a conv/linear module is called more than once; ohq needs one call per layer")
        samples = any([_needs_samples(plan, plan.resolve(names)) for plan in plans])
        for name in names:
            for pname, p in modules[name].named_parameters():
                check_finite(p, f"layer {name!r} {pname}")
        self.samples = samples
        self.stats = calibrate(gm, self.calib, samples)
        self._built: list[tuple[Plan, QuantModel]] = []

    def serves(self, model: nn.Module, calib: Tensor) -> bool:
        """Whether this is the calibration of `model` on `calib` (the same objects)."""
        return model is self.model and calib is self.source

    def quantize(self, plan: Plan) -> QuantModel:
        """The QuantModel of `plan` (built once per distinct plan)."""
        _check_plan(plan)
        for done, qm in self._built:
            if done == plan:
                return qm
        qm = self._build(plan, copy=True)
        self._built.append((plan, qm))
        return qm

    def layers(self, plan: Plan, values: int | None = None) -> dict[str, QuantLayer]:
        """`quantize(plan).layers` with their input quantizers only (`out` None); see the class.
        `values`: fit the input ranges on at most about that many of each tensor's value samples
        (cheaper, no longer bit for bit the plan: for estimates only)."""
        _check_plan(plan)
        specs = plan.resolve(self.names)
        stats = self._stats(plan, specs)
        ops = _classify(self.gm, self.modules, stats)
        wanted = {_root(ops[n].tensors[0], ops) for n in self.layer_nodes}
        params = _assign(self.gm, ops, stats, specs, plan, wanted, values)
        out = {}
        for node in self.layer_nodes:
            src, inp = _layer_input(node, ops, stats, specs, params, values)
            out[node.target] = QuantLayer(node.target, self.modules[node.target], specs[node.target], src, inp, None)
        return out

    def _stats(self, plan: Plan, specs: dict[str, QuantSpec | None]) -> dict[fx.Node, Stats]:
        if not self.samples and _needs_samples(plan, specs):
            self.samples, self.stats = True, calibrate(self.gm, self.calib, True)
        return self.stats

    def _build(self, plan: Plan, copy: bool) -> QuantModel:
        """The QuantModel of `plan`; `copy=False` rewrites this calibration's own graph (no
        other plan can be built from it afterwards)."""
        specs = plan.resolve(self.names)
        stats = self._stats(plan, specs)
        gm, modules = self.gm, self.modules
        if copy:  # _rewrite mutates the graph: a copy, with the statistics moved to its nodes
            gm = deepcopy(self.gm)
            modules = dict(gm.named_modules())
            new = dict(zip(self.gm.graph.nodes, gm.graph.nodes, strict=True))
            stats = {new[n]: s for n, s in stats.items()}
        ops = _classify(gm, modules, stats)
        params = _assign(gm, ops, stats, specs, plan)
        _rewrite(gm, ops, stats, specs, params, modules)
        return QuantModel(gm, plan, specs)


def _check_plan(plan: object) -> None:
    if not isinstance(plan, Plan):
        raise OhqError(f"plan must be an ohq.quant.Plan, got {type(plan).__name__}")


def _classify(gm: fx.GraphModule, modules: dict[str, nn.Module], stats) -> dict[fx.Node, Op]:
    def is_tensor(n: object) -> bool:
        return isinstance(n, fx.Node) and n in stats

    return {n: classify(n, modules, is_tensor) for n in gm.graph.nodes if n.op not in ("get_attr",)}


def _root(node: object, ops: dict[fx.Node, Op]) -> object:
    """The node whose quantizer `node` carries (looking back through ReLU, max-pool, shape ops)."""
    while isinstance(node, fx.Node) and ops[node].kind in _PASS and ops[node].tensors:
        node = ops[node].tensors[0]
    return node


def _needs_samples(plan: Plan, specs: dict[str, QuantSpec | None]) -> bool:
    used = [s for s in (*specs.values(), plan.default) if s is not None]
    bits = {s.a_bits for s in used if s.a_bits is not None}  # a tensor may take any of them
    return any(get_observer(o).for_bits(b, False).needs_samples for o in {s.a_observer for s in used} for b in bits)


def _readers(node: fx.Node, ops: dict[fx.Node, Op], stats) -> list[fx.Node]:
    """The nodes that consume `node`'s value, looking through ReLU, max-pool and shape ops;
    size() and friends produce no tensor (not in `stats`): not a reader."""
    return readers(node, lambda u: ops[u].kind in _PASS, lambda u: u in stats)


def _assign(gm, ops, stats: dict[fx.Node, Stats], specs, plan: Plan,
            wanted: set | None = None, limit: int | None = None) -> dict[fx.Node, QParams | None]:
    """Each tensor's quantizer (`wanted`: only those nodes' and what passes them on; `limit`:
    ranges fitted on at most that many value samples)."""
    default_obs = (plan.default or QuantSpec()).a_observer  # spec.py owns the default ("auto")
    params: dict[fx.Node, QParams | None] = {}
    for node in gm.graph.nodes:
        op = ops.get(node)
        if node not in stats or op is None:
            continue
        if op.kind in _PASS:
            params[node] = params.get(op.tensors[0]) if op.tensors else None
            continue
        if wanted is not None and node not in wanted:
            continue
        readers = _readers(node, ops, stats)
        kinds = {ops[r].kind for r in readers}
        reader_specs = [specs[r.target] for r in readers if ops[r].kind == "layer"]
        if op.kind == "layer" and kinds <= {"output"}:
            params[node] = None  # the dequantized accumulator
            continue
        if kinds == {"layer"}:
            bits_list = [s.a_bits for s in reader_specs if s is not None and s.a_bits is not None]
            bits = max(bits_list) if bits_list else None
            observer = next((s.a_observer for s in reader_specs if s is not None), default_obs)
            po2 = any(s is not None and s.scale == "po2" for s in reader_specs)
        else:
            bits, observer = plan.act_bits, default_obs
            po2 = plan.default is not None and plan.default.scale == "po2"
        if bits is None:
            params[node] = None
            continue
        src = node
        if len(node.users) == 1:
            (user,) = node.users
            if ops[user].kind == "relu" or (ops[user].kind == "lut" and isinstance(ops[user].fn, nn.ReLU6)):
                src = user
        params[node] = _qparams(stats[src], bits, observer, po2, limit)
    return params


def _qparams(s: Stats, bits: int, observer: str, po2: bool = False, limit: int | None = None) -> QParams:
    lo, hi = s.fit_range(get_observer(observer), bits, limit)
    scale, zero = act_qparams(lo, hi, bits, po2)
    return QParams(scale, zero, bits)


def _layer_input(node, ops, stats, specs, params, limit: int | None = None) -> tuple[QParams | None, QParams | None]:
    spec = specs[node.target]
    x = ops[node].tensors[0]
    src = params.get(x)
    if spec is None or spec.a_bits is None:
        return src, None
    if src is not None and src.bits == spec.a_bits:
        return src, src
    return src, _qparams(stats[x], spec.a_bits, spec.a_observer, spec.scale == "po2", limit)


def _rewrite(gm: fx.GraphModule, ops, stats, specs, params, modules) -> None:
    graph = gm.graph
    replaced: dict[fx.Node, fx.Node] = {}

    def add(node: fx.Node, module: nn.Module, args: tuple, erase: bool = True) -> None:
        target = f"ohq_ops.{node.name if node.op != 'placeholder' else 'input_' + node.name}"
        gm.add_submodule(target, module)
        with graph.inserting_after(node):
            new = graph.call_module(target, tuple(replaced.get(a, a) for a in args))
        node.replace_all_uses_with(new, delete_user_cb=lambda u: u is not new)
        params[new] = params.get(node)
        replaced[node] = new
        if erase:
            graph.erase_node(node)

    for node in list(graph.nodes):
        op = ops.get(node)
        if op is None or (node.op != "output" and node not in stats and op.kind != "shape"):
            continue
        ins = [params.get(t) for t in op.tensors]
        out = params.get(node)
        kind, args = op.kind, tuple(op.tensors)
        if kind == "input":
            if out is not None:
                add(node, QInput(out), (node,), erase=False)
        elif kind == "layer":
            src, inp = _layer_input(node, ops, stats, specs, params)
            layer = QuantLayer(node.target, modules[node.target], specs[node.target], src, inp, out)
            _set_module(gm, node.target, layer)
        elif kind == "relu":
            add(node, QRelu(ins[0]), args)
        elif kind == "maxpool":
            add(node, QMaxPool(ins[0], op.extra["kwargs"]), args)
        elif kind == "lut":
            add(node, QLut(op.fn, ins[0], out), args)
        elif kind == "add":
            add(node, QAdd(ins, out, op.extra["signs"]), args)
        elif kind == "mul":
            add(node, QMul(ins, out), args)
        elif kind == "cat":
            add(node, QCat(ins, out, op.extra["dim"]), args)
        elif kind == "avgpool":
            probe = torch.zeros((1,) + stats[op.tensors[0]].shape, dtype=torch.float64)
            _, counts = op.extra["window_sum"](probe)
            add(node, QAvgPool(ins[0], out, op.fn, op.extra["window_sum"], int(counts.max())), args)
        elif kind == "shape" and node.op == "call_module" and isinstance(modules[node.target], nn.Dropout):
            _set_module(gm, node.target, nn.Identity())
        elif kind == "output":
            _wrap_output(gm, node, params)
    graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()


def _set_module(gm: fx.GraphModule, target: str, module: nn.Module) -> None:
    parent, _, attr = target.rpartition(".")
    setattr(gm.get_submodule(parent) if parent else gm, attr, module)


def _wrap_output(gm: fx.GraphModule, node: fx.Node, params) -> None:
    def wrap(a):
        if isinstance(a, fx.Node) and params.get(a) is not None:
            target = f"ohq_ops.output_{a.name}"
            gm.add_submodule(target, QOutput(params[a]))
            with gm.graph.inserting_before(node):
                return gm.graph.call_module(target, (a,))
        if isinstance(a, tuple | list):
            return type(a)(wrap(x) for x in a)
        return a

    node.args = tuple(wrap(a) for a in node.args)
