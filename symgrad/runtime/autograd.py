"""The eager autograd graph: nodes named like PyTorch's, and the backward engine.

A `Node` applies its primitive's VJP rules from `prims.REGISTRY` to the incoming
cotangent; other nodes (`AccumulateGrad`, a compiled function's node) override `apply`.
The engine runs nodes in dependency order, sums cotangents per node, runs hooks, and
frees saved values unless the graph is retained.
"""
from __future__ import annotations

import heapq
import itertools
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from .. import prims
from . import grad_mode

if TYPE_CHECKING:
    from .tensor import Tensor

_seq = itertools.count()
_node_classes: dict[str, type] = {}

BACKWARD_TWICE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")
_HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
         "with symgrad.autograd.set_detect_anomaly(True, check_nan=False).")


class Node:
    """One backward function of the graph (`grad_fn`)."""

    def __init__(self) -> None:
        self.seq = next(_seq)
        self.next_functions: tuple[tuple[Node | None, int], ...] = ()
        self.pre_hooks: list[Callable] = []      # tensor hooks of the node's output
        self.retained: weakref.ref | None = None  # output tensor that retains its grad
        self.metadata: dict = {}

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def apply(self, grad: "Tensor", create_graph: bool) -> Sequence["Tensor | None"]:
        raise NotImplementedError

    def release(self) -> None:
        """Free saved values after a non-retaining backward."""

    def check_saved(self) -> None:
        """Raise if saved values are gone or were modified in place."""

    def register_hook(self, fn: Callable) -> Any:
        self.pre_hooks.append(fn)
        return RemovableHandle(self.pre_hooks, fn)


class RemovableHandle:
    def __init__(self, hooks: list, fn: Callable) -> None:
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def node_class(name: str) -> type:
    """A Node subclass per PyTorch name, so `type(t.grad_fn).__name__` reads `MulBackward0`."""
    cls = _node_classes.get(name)
    if cls is None:
        cls = _node_classes[name] = type(name, (PrimNode,), {"__module__": "symgrad.autograd"})
    return cls


class SavedSlot:
    """A value saved for backward, with the version it had then (the in-place check)."""

    __slots__ = ("tensor", "version", "producer")

    def __init__(self, t: "Tensor") -> None:
        self.tensor = t
        self.version = t._version[0]
        gf = t.grad_fn
        self.producer = None if gf is None else _short(gf.name())

    def unpack(self) -> "Tensor":
        t = self.tensor
        if t._version[0] != self.version:
            where = f", which is output 0 of {self.producer}," if self.producer else ""
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [symgrad.{t.dtype.tensor_type} [{', '.join(map(str, t.shape))}]]"
                f"{where} is at version {t._version[0]}; expected version {self.version} instead. "
                + _HINT)
        return t


def _short(name: str) -> str:
    i = name.find("Backward")
    return name[:i] if i > 0 else name


class PrimNode(Node):
    """A node whose backward is a registry primitive's VJP rules."""

    def __init__(self, prim: prims.Prim, args: tuple, out: "Tensor", params: dict,
                 needs: tuple[bool, ...]) -> None:
        super().__init__()
        from .tensor import Tensor, shape_only
        self.prim = prim
        self.params = params
        self.needs = needs
        saves_in = "in" in prim.saves
        self._slots: list[Any] = []
        for a in args:
            if isinstance(a, Tensor):
                if saves_in:
                    self._slots.append(SavedSlot(a))
                elif not a.dtype.is_floating_point:
                    self._slots.append(a)  # index arrays and masks: data the rule reads, never freed
                else:
                    self._slots.append(shape_only(a))
            else:
                self._slots.append(a)
        if "out" in prim.saves:
            self._out = SavedSlot(out)
            self._out.producer = _short(self.name())  # the output is this node's own
        else:
            self._out = shape_only(out)
        self._freed = False
        self.next_functions = tuple(
            (edge_of(a), 0) if isinstance(a, Tensor) and a.requires_grad else (None, 0) for a in args)

    def _unpack(self, v: Any) -> Any:
        return v.unpack() if isinstance(v, SavedSlot) else v

    def check_saved(self) -> None:
        if self._freed:
            raise RuntimeError(BACKWARD_TWICE)

    def apply(self, grad, create_graph):
        args = tuple(self._unpack(s) for s in self._slots)
        out = self._unpack(self._out)
        rules = self.prim.vjp_rules(len(args))
        result: list = []
        with grad_mode.set_grad_enabled(create_graph):
            for i, (arg, need) in enumerate(zip(args, self.needs)):
                if not need or rules is None or rules[i] is None:
                    result.append(None)
                    continue
                ct = rules[i](grad, out, *args, **self.params)
                if ct is None:
                    # A symbolic zero still reaches the input as zeros, as PyTorch's does.
                    from .tensor import Tensor
                    ct = Tensor._wrap(np.zeros(arg.shape, dtype=arg._data.dtype))
                else:
                    ct = prims.cotangent_for(self.prim, ct, arg, out)
                result.append(ct)
        return result

    def release(self) -> None:
        if self.prim.saves:
            self._freed = True
            self._slots = [None if isinstance(s, SavedSlot) else s for s in self._slots]
            if isinstance(self._out, SavedSlot):
                self._out = None


class AccumulateGrad(Node):
    """The sink of a leaf: adds the incoming gradient into `variable.grad` in place."""

    def __init__(self, variable: "Tensor") -> None:
        super().__init__()
        self.variable = variable

    def name(self) -> str:
        return "symgrad::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"

    def apply(self, grad, create_graph):
        accumulate_into(self.variable, grad, create_graph)
        return ()


class CustomNode(Node):
    """A node with a backward function given from outside (compiled functions, CopyBackwards)."""

    def __init__(self, name: str, backward: Callable, inputs: Sequence["Tensor"],
                 release: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._name = name
        self._backward = backward
        self._release = release
        self._freed = False
        self.next_functions = tuple((edge_of(t), 0) if t.requires_grad else (None, 0) for t in inputs)

    def name(self) -> str:
        return self._name

    def check_saved(self) -> None:
        if self._freed:
            raise RuntimeError(BACKWARD_TWICE)

    def apply(self, grad, create_graph):
        with grad_mode.set_grad_enabled(create_graph):
            return self._backward(grad)

    def release(self) -> None:
        if self._release is not None:
            self._release()
            self._freed = True


def edge_of(t: "Tensor") -> Node:
    """The node a gradient for `t` flows into: its grad_fn, or its (cached) AccumulateGrad."""
    if t.grad_fn is not None:
        return t.grad_fn
    acc = t._accumulator() if t._accumulator is not None else None
    if acc is None:
        acc = AccumulateGrad(t)
        t._accumulator = weakref.ref(acc)
    return acc


_create_graph_warned = False


def accumulate_into(t: "Tensor", grad: "Tensor", create_graph: bool) -> None:
    from .tensor import Tensor
    for hook in list(t._hooks):
        r = hook(grad)
        if r is not None:
            grad = r
    if t._grad is None:
        if create_graph:
            t._grad = Tensor._apply("copy", (grad,), {}, "CopyBackwards")
        else:
            t._grad = Tensor._wrap(np.array(grad._data, dtype=t._data.dtype, copy=True))
    elif create_graph:
        t._grad = t._grad + grad
    else:
        g = t._grad._data
        np.add(g, grad._data.astype(g.dtype, copy=False), out=g)
        t._grad._version[0] += 1


# ---------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------


def _root_grad(i: int, root: "Tensor", g: Any) -> "Tensor":
    from .tensor import Tensor, Size
    if g is None:
        if root.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return Tensor._wrap(np.ones(root.shape, dtype=root._data.dtype))
    if not isinstance(g, Tensor):
        raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
    if tuple(g.shape) != tuple(root.shape):
        raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {Size(g.shape)!r} "
                           f"and output[{i}] has a shape of {Size(root.shape)!r}.")
    if g._data.dtype != root._data.dtype:
        g = Tensor._wrap(g._data.astype(root._data.dtype))
    return g


def run_backward(roots: Sequence["Tensor"], grads: Sequence[Any], retain_graph: bool,
                 create_graph: bool, inputs: Sequence["Tensor"] | None = None,
                 accumulate: bool = True, allow_unused: bool = False) -> list | None:
    """Backpropagate from `roots`; accumulate into leaves, or return grads of `inputs`."""
    root_edges = []
    seeds = []
    for i, (r, g) in enumerate(zip(roots, grads)):
        if not r.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        seeds.append(_root_grad(i, r, g))
        root_edges.append(edge_of(r))

    # What the caller wants: capture grads at these nodes (for inputs=/autograd.grad).
    capture: dict[int, int] = {}
    if inputs is not None:
        for k, t in enumerate(inputs):
            if not t.requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            capture[id(edge_of(t))] = k
    captured: list = [None] * (len(inputs) if inputs is not None else 0)

    # Dependency counts over the reachable graph.
    deps: dict[int, int] = {}
    nodes: dict[int, Node] = {}
    stack = list(root_edges)
    while stack:
        n = stack.pop()
        if id(n) in nodes:
            continue
        nodes[id(n)] = n
        for nxt, _ in n.next_functions:
            if nxt is not None:
                deps[id(nxt)] = deps.get(id(nxt), 0) + 1
                stack.append(nxt)

    buffers: dict[int, Any] = {}
    for n, g in zip(root_edges, seeds):
        _add_to(buffers, n, g)
    ready = [(-n.seq, id(n)) for n in {id(n): n for n in root_edges}.values() if deps.get(id(n), 0) == 0]
    heapq.heapify(ready)
    done: list[Node] = []
    while ready:
        _, nid = heapq.heappop(ready)
        node = nodes[nid]
        grad = buffers.pop(nid, None)
        if grad is not None:
            for hook in list(node.pre_hooks):
                r = hook(grad)
                if r is not None:
                    grad = r
            if node.retained is not None and (t := node.retained()) is not None:
                t._grad = grad if create_graph else grad.detach() if t._grad is None else t._grad + grad.detach()
            k = capture.get(nid)
            if k is not None:
                captured[k] = grad if captured[k] is None else captured[k] + grad
            if isinstance(node, AccumulateGrad):
                if accumulate and (inputs is None or k is not None):
                    node.apply(grad, create_graph)
                outs: Sequence = ()
            else:
                node.check_saved()
                outs = node.apply(grad, create_graph)
                done.append(node)
            for (nxt, _), ct in zip(node.next_functions, outs):
                if nxt is not None and ct is not None:
                    _add_to(buffers, nxt, ct)
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[id(nxt)] -= 1
            if deps[id(nxt)] == 0:
                heapq.heappush(ready, (-nxt.seq, id(nxt)))
    if not retain_graph:
        for node in done:
            node.release()
    if inputs is not None and not accumulate:
        for k, g in enumerate(captured):
            if g is None and not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {k} appears to not have been used "
                                   "in the graph. Set allow_unused=True if this is the desired behavior.")
        return captured
    if inputs is not None:
        for t in inputs:
            if t.grad_fn is not None:
                g = captured[capture[id(t.grad_fn)]]
                if g is not None:
                    t._grad = g.detach() if t._grad is None or create_graph else t._grad + g.detach()
    return None


def _add_to(buffers: dict, node: Node, g: "Tensor") -> None:
    prev = buffers.get(id(node))
    buffers[id(node)] = g if prev is None else prev + g


def warn_create_graph_once() -> None:
    global _create_graph_warned
    if not _create_graph_warned:
        _create_graph_warned = True
        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this function, "
            "make sure to reset the .grad fields of your parameters to None after use to break the "
            "cycle and avoid the leak.", UserWarning, stacklevel=3)
