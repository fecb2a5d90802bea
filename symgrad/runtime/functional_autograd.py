"""`symgrad.autograd.backward` and `symgrad.autograd.grad`."""
from __future__ import annotations

from typing import Any, Sequence

from . import autograd as engine
from .tensor import Tensor


def _as_list(v: Any) -> list:
    if v is None:
        return []
    if isinstance(v, Tensor):
        return [v]
    return list(v)


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:
    """Accumulate the gradients of `tensors` (summed) into the leaves' `.grad`."""
    roots = _as_list(tensors)
    grads = _as_list(grad_tensors) if grad_tensors is not None else [None] * len(roots)
    for g in grads[:len(roots)]:
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
    if len(grads) != len(roots):
        raise RuntimeError(f"got {len(roots)} tensors and {len(grads)} gradients")
    if inputs is not None:
        inputs = _as_list(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    if create_graph:
        engine.warn_create_graph_once()
    if retain_graph is None:
        retain_graph = create_graph
    engine.run_backward(roots, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """Return d(outputs)/d(inputs) as a tuple without touching `.grad`."""
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    grads = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outs)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    result = engine.run_backward(outs, grads, retain_graph, create_graph, inputs=ins,
                                 accumulate=False, allow_unused=allow_unused)
    if materialize_grads:
        from .creation import zeros_like
        result = [zeros_like(i) if g is None else g for g, i in zip(result, ins)]
    return tuple(result)
