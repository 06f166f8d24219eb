"""Run a torch.fx graph once, keep every node's value, then re-run only what one layer feeds.

This is how MQE stays cheap: after one 8-bit forward pass, perturbing layer i only changes the
nodes that depend on i (transitively), so only those are re-evaluated; everything upstream and
on parallel branches comes from the cache. Over all layers that is about L/2 forward passes.
"""

from __future__ import annotations

from typing import Any

from torch import fx


class SuffixRunner:
    """Evaluate `gm` node by node with a value cache and partial re-evaluation."""

    def __init__(self, gm: fx.GraphModule) -> None:
        self.gm = gm
        self.nodes = list(gm.graph.nodes)
        self.modules = dict(gm.named_modules())
        self._output = next(n for n in self.nodes if n.op == "output")
        self._by_target = {n.target: n for n in self.nodes if n.op == "call_module"}
        self._suffix: dict[str, list[fx.Node]] = {}

    def run_all(self, *inputs: Any) -> dict[fx.Node, Any]:
        """Evaluate every node; returns the cache (node -> value)."""
        env: dict[fx.Node, Any] = {}
        it = iter(inputs)
        for node in self.nodes:
            if node.op == "placeholder":
                env[node] = next(it)
            elif node.op != "output":
                env[node] = self._exec(node, env)
        return env

    def output(self, env: dict[fx.Node, Any]) -> Any:
        return fx.node.map_arg(self._output.args[0], lambda n: env[n])

    def suffix(self, target: str) -> list[fx.Node]:
        """The call_module node `target` and every node that depends on it, in graph order."""
        if target not in self._suffix:
            if target not in self._by_target:
                raise KeyError(f"no call_module node with target {target!r}")
            dirty = {self._by_target[target]}
            order = []
            for node in self.nodes:
                if node in dirty or any(a in dirty for a in node.all_input_nodes):
                    dirty.add(node)
                    if node.op != "output":
                        order.append(node)
            self._suffix[target] = order
        return self._suffix[target]

    def by_target(self, target: str) -> fx.Node:
        """The call_module node of `target`."""
        if target not in self._by_target:
            raise KeyError(f"no call_module node with target {target!r}")
        return self._by_target[target]

    def eval_node(self, node: fx.Node, cache: dict[fx.Node, Any], rows: slice | None = None) -> Any:
        """`node` alone on the cached values of its inputs (its current module); `rows`: on those
        samples only (its tensor inputs are batch-first)."""
        if rows is None:
            return self._exec(node, cache)
        return self._exec(node, {n: cache[n][rows] for n in node.all_input_nodes})

    def rerun(self, cache: dict[fx.Node, Any], target: str, value: Any = None) -> Any:
        """The graph's output when only `target` and its dependents are re-evaluated (`value`:
        `target`'s new output, already computed)."""
        env = dict(cache)
        nodes = self.suffix(target)
        if value is not None:
            env[nodes[0]], nodes = value, nodes[1:]  # the suffix starts with `target` itself
        for node in nodes:
            env[node] = self._exec(node, env)
        return self.output(env)

    def _exec(self, node: fx.Node, env: dict[fx.Node, Any]) -> Any:
        args = fx.node.map_arg(node.args, lambda n: env[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
        if node.op == "call_module":
            return self.modules[node.target](*args, **kwargs)
        if node.op == "call_function":
            return node.target(*args, **kwargs)
        if node.op == "call_method":
            obj, *rest = args
            return getattr(obj, node.target)(*rest, **kwargs)
        if node.op == "get_attr":
            value = self.gm
            for part in node.target.split("."):
                value = getattr(value, part)
            return value
        raise RuntimeError(f"cannot execute fx node {node.format_node()}")
