"""Compiled functions inside the eager autograd graph: `CompiledFunctionBackward`.

`CompiledFunction.__call__` hands calls with `symgrad.Tensor` arguments to `call()`. With
grad mode on and some differentiated argument that requires grad, the result is a Tensor
whose `grad_fn` is one `CompiledFunctionBackward` node:

- scalar result: the native joint function runs once, at the call, and gives the value
  and every gradient together (one native call for forward and backward); the node keeps
  the gradients and its backward only scales them by the incoming cotangent;
- array result: the call runs the native forward; the node keeps the arguments (with
  their version counters, so a later in-place change is caught as PyTorch does) and its
  backward runs the native vector-Jacobian product `f.vjp` once.

Saved values are freed after a backward that does not retain the graph, so a second pass
raises PyTorch's backward-twice error. Higher-order gradients through native code do not
exist: `create_graph=True` through this node raises instead of dropping terms.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .. import ir
from . import grad_mode
from .autograd import BACKWARD_TWICE, Node, SavedSlot, edge_of
from .tensor import Tensor

if TYPE_CHECKING:
    from ..api import CompiledFunction

__all__ = ["CompiledFunctionBackward", "call", "has_tensor"]


def has_tensor(args: tuple, kwargs: dict) -> bool:
    """True when any argument is a `symgrad.Tensor` (the call goes through `call`)."""
    return any(isinstance(v, Tensor) for v in args) or any(isinstance(v, Tensor) for v in kwargs.values())


class CompiledFunctionBackward(Node):
    """The node of one call of a compiled function; its backward is native code."""

    def __init__(self, function: "CompiledFunction", inputs: Sequence[Tensor],
                 grads: list[np.ndarray] | None, vjp: Any = None) -> None:
        super().__init__()
        self.function = function
        self._inputs_meta = [(t._data.dtype, t._data.shape) for t in inputs]
        self._grads = grads      # scalar result: d out / d input, from the joint call
        self._vjp = vjp          # array result: cotangent -> gradients, native
        self._freed = False
        self.next_functions = tuple((edge_of(t), 0) for t in inputs)

    def check_saved(self) -> None:
        if self._freed:
            raise RuntimeError(BACKWARD_TWICE)

    def apply(self, grad: Tensor, create_graph: bool) -> list[Tensor]:
        if create_graph:
            raise RuntimeError(
                f"symgrad: the derivative of compiled function '{self.function.__name__}' is not "
                "implemented (higher-order gradients through native code are not supported; "
                "use create_graph=False)")
        g = grad._data
        if self._grads is not None:
            # 1 * d == d bitwise, so the usual seed of a loss skips the multiply.
            unit = g.shape in ((), (1,)) and g.reshape(()) == 1
            raw = self._grads if unit else [np.multiply(d, g.reshape(())) for d in self._grads]
        else:
            raw = self._vjp(g)
        out = []
        for d, (dtype, shape) in zip(raw, self._inputs_meta):
            arr = np.asarray(d)
            if arr.dtype != dtype:
                arr = arr.astype(dtype)
            if arr.shape != shape:
                arr = arr.reshape(shape)
            out.append(Tensor._wrap(arr))
        return out

    def release(self) -> None:
        self._grads = None
        self._vjp = None
        self._freed = True


def _result_dtype(c: Any, value: Any, joint: bool) -> Any:
    """The declared (IR) dtype of the result; the value's own dtype only as a fallback."""
    try:
        return ir.TO_NUMPY[c.joint_result_dtype(0) if joint else c.forward_result_dtype()]
    except (AttributeError, KeyError, TypeError):
        return np.asarray(value).dtype


def _wrap(value: Any, dtype: Any) -> Tensor:
    return Tensor._wrap(np.asarray(value, dtype=dtype))


def _scalar_result(c: Any) -> bool:
    fn = getattr(c, "primal_ir", None) or getattr(c, "joint_ir", None)
    if fn is None:
        return c.joint is not None  # the joint function exists only for scalar results
    return fn.result_types[0].is_scalar


def call(cf: "CompiledFunction", args: tuple, kwargs: dict) -> Tensor:
    """`cf(*args, **kwargs)` where some arguments are Tensors: a Tensor, with a node if needed."""
    vals, sig = cf._bind(args, kwargs)
    named = dict(zip(cf._params, args))
    if kwargs:
        named = cf._sig.bind(*args, **kwargs).arguments
    c = cf._get(sig)
    # Positions of the differentiated arguments (the compiled joint knows them only for
    # scalar results).
    wrt = list(c.wrt) if c.joint is not None else list(cf._wrt_positions(sig))
    diff: list[int] = []
    if grad_mode.is_grad_enabled():
        for i in wrt:
            t = named.get(cf._params[i])
            if isinstance(t, Tensor) and t.requires_grad:
                diff.append(i)
    scalar = _scalar_result(c)
    if not diff or scalar and c.joint is None:  # nothing to differentiate (e.g. an int result)
        value = c.forward(*vals)[0]
        return _wrap(value, _result_dtype(c, value, joint=False))
    inputs = [named[cf._params[i]] for i in diff]
    if scalar:
        value, *grads = c.joint(*vals)
        out = _wrap(value, _result_dtype(c, value, joint=True))
        picked = [grads[wrt.index(i)] for i in diff]
        node = CompiledFunctionBackward(cf, inputs, picked)
    else:
        value = c.forward(*vals)[0]
        out = _wrap(value, _result_dtype(c, value, joint=False))
        slots = [SavedSlot(t) for t in inputs]
        out_shape = out._data.shape

        def vjp(g: np.ndarray) -> list:
            for s in slots:
                s.unpack()  # raises if an argument was modified in place since the call
            ct = np.broadcast_to(g, out_shape)
            res = cf.vjp(*vals, cotangent=ct)
            res = res if isinstance(res, tuple) else (res,)
            return [res[wrt.index(i)] for i in diff]
        node = CompiledFunctionBackward(cf, inputs, None, vjp)
    if not out.dtype.is_floating_point:
        return out
    out.grad_fn = node
    out._requires_grad = True
    return out
