"""`nn.Parameter`: the Tensor subclass that Modules register as trainable state."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import dtypes
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as a parameter; it requires grad by default."""

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        if data is None:
            src = Tensor._wrap(np.zeros((0,), dtype=dtypes.get_default_dtype().np))
        else:
            src = data if isinstance(data, Tensor) else Tensor(data)
        self._init(src._data)
        self._version = src._version  # shares storage and version counter, like detach()
        if requires_grad:
            if not self.dtype.is_floating_point:
                raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
            self._requires_grad = True

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> "Parameter":
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(Tensor._wrap(self._data.copy()), self._requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto: Any) -> tuple:
        return (_rebuild_parameter, (self._data, self._requires_grad))


def _rebuild_parameter(data: np.ndarray, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._wrap(data), requires_grad)


def typename(obj: Any) -> str:
    """PyTorch's `torch.typename`: `symgrad.FloatTensor` for tensors, the qualified name else."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"
