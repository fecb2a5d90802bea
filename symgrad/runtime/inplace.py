"""In-place Tensor operations (`add_`, `x -= ...`, `x[i] = v`) with PyTorch's version counter.

An in-place op writes into the tensor's own memory (so views and `.data` aliases see it),
bumps the shared version counter (so backward can detect a saved value that changed),
and, when it is recorded, replaces the tensor's `grad_fn` with the op's node.
"""
from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from .. import dtypes, prims
from . import grad_mode

_LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
_VIEW_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place operation."
_INFERENCE = ("Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
              "clone to get a normal tensor before doing inplace update.See "
              "https://github.com/pytorch/rfcs/pull/17 for more details.")


def _check_allowed(t, view_message: bool = False) -> None:
    if t._inference and not grad_mode.is_inference_mode_enabled():
        raise RuntimeError(_INFERENCE)
    if not grad_mode.is_grad_enabled():
        return
    base = t._base
    if base is not None and base.is_leaf and base.requires_grad:
        raise RuntimeError(_VIEW_LEAF)
    if t.is_leaf and t.requires_grad:
        raise RuntimeError(_VIEW_LEAF if view_message else _LEAF)
    if base is not None and base.requires_grad:
        raise RuntimeError("symgrad: in-place operations on a view of a tensor that requires grad are "
                           "not supported; write the result out of place instead")


def _store(t, value: np.ndarray) -> None:
    if value.dtype != t._data.dtype:
        src = dtypes.from_numpy(value.dtype)
        if src.is_floating_point and not t.dtype.is_floating_point:
            raise RuntimeError(f"result type {src.short} can't be cast to the desired output type "
                               f"{t.dtype.short}")
    np.copyto(t._data, value, casting="unsafe")


def apply_inplace(t, prim_name: str, args: tuple, params: dict, torch_name: str | None = None,
                  view_message: bool = False):
    """Run primitive `prim_name` on (t, *args) and write the result into `t`."""
    from .tensor import Tensor
    _check_allowed(t, view_message)
    p = prims.get(prim_name)
    record = grad_mode.is_grad_enabled() and p.differentiable and (
        t.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args))
    if not record:
        with grad_mode.no_grad():
            result = Tensor._apply(prim_name, (t,) + args, params)
        _store(t, result._data)
        t._version[0] += 1
        return t
    # The old value stands in for `t` as the op's input; copied if the rule may read it.
    old = Tensor._wrap(t._data.copy() if "in" in p.saves else t._data)
    old.grad_fn, old._requires_grad = t.grad_fn, t._requires_grad
    old._accumulator = t._accumulator
    result = Tensor._apply(prim_name, (old,) + args, params, torch_name)
    _store(t, result._data)
    t._version[0] += 1
    node = result.grad_fn
    if "out" in p.saves:
        from .autograd import SavedSlot
        node._out = SavedSlot(t)
    t.grad_fn = node
    t._requires_grad = True
    return t


class InplaceMethods:
    """The `*_` methods and augmented assignment."""

    __slots__ = ()

    def add_(self, other, alpha=1):
        return apply_inplace(self, "add", (other if alpha == 1 else other * alpha,), {})

    def sub_(self, other, alpha=1):
        return apply_inplace(self, "sub", (other if alpha == 1 else other * alpha,), {})

    def mul_(self, other): return apply_inplace(self, "mul", (other,), {})
    def div_(self, other): return apply_inplace(self, "div", (other,), {})
    def pow_(self, e): return apply_inplace(self, "pow", (e,), {})
    def exp_(self): return apply_inplace(self, "exp", (), {})
    def log_(self): return apply_inplace(self, "log", (), {})
    def tanh_(self): return apply_inplace(self, "tanh", (), {})
    def sigmoid_(self): return apply_inplace(self, "sigmoid", (), {})
    def relu_(self): return apply_inplace(self, "relu", (), {})
    def neg_(self): return apply_inplace(self, "neg", (), {})
    def sqrt_(self): return apply_inplace(self, "sqrt", (), {})
    def abs_(self): return apply_inplace(self, "abs", (), {})

    def clamp_(self, min=None, max=None):  # noqa: A002
        return apply_inplace(self, "clamp", (), {"min": min, "max": max})

    def addcmul_(self, a, b, value=1):
        return self.add_(a * b * value)

    def addcdiv_(self, a, b, value=1):
        return self.add_(a / b * value)

    def lerp_(self, end, weight):
        return self.add_((end - self) * weight)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if grad_mode.is_grad_enabled() and self.requires_grad:
            apply_inplace(self, "mul", (0,), {}, "ZeroBackward0")
            return self if value == 0 else self.add_(value)
        _check_allowed(self)
        self._data[...] = value
        self._version[0] += 1
        return self

    def copy_(self, src):
        _check_allowed(self)
        from .tensor import Tensor
        if grad_mode.is_grad_enabled() and isinstance(src, Tensor) and src.requires_grad:
            return apply_inplace(self, "setitem", (src,), {"index": (Ellipsis,)}, "CopyBackwards")
        np.copyto(self._data, np.asarray(src._data if isinstance(src, Tensor) else src),
                  casting="unsafe")
        self._version[0] += 1
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator=None):
        from .random import default_generator
        g = generator or default_generator
        return self._fill_random(g.uniform(self.numel(), self._data.dtype, a, b))

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator=None):
        from .random import default_generator
        g = generator or default_generator
        return self._fill_random(g.normal(self.numel(), self._data.dtype, mean, std))

    def _fill_random(self, values: np.ndarray):
        _check_allowed(self)
        self._data[...] = values.reshape(self.shape)
        self._version[0] += 1
        return self

    def __setitem__(self, index, value):
        from .indexing import split_index
        from .tensor import Tensor
        template, arrays = split_index(self, index)
        value = value if isinstance(value, (Tensor, Number)) else Tensor._wrap(np.asarray(value))
        if isinstance(value, Tensor) and value.dtype is not self.dtype:
            value = value.to(self.dtype)
        apply_inplace(self, "setitem", (value,) + tuple(arrays), {"index": template}, "CopySlices",
                      view_message=True)

    def __iadd__(self, o): return self.add_(o)
    def __isub__(self, o): return self.sub_(o)
    def __imul__(self, o): return self.mul_(o)
    def __itruediv__(self, o): return self.div_(o)
