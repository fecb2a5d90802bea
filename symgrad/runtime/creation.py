"""Tensor factories: `tensor`, `zeros`, `ones`, `rand`, `randn`, `arange`, ... ."""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from .. import dtypes
from .random import default_generator
from .tensor import Tensor


def _shape(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(arr)
    if requires_grad:
        if not t.dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t._requires_grad = True
    return t


def _dtype(dtype: Any, default: dtypes.DType | None = None) -> np.dtype:
    if dtype is None:
        return (default or dtypes.get_default_dtype()).np
    return dtypes.to_dtype(dtype).np


def _contains_tensor(data: Any) -> bool:
    if isinstance(data, Tensor):
        return True
    if isinstance(data, (list, tuple)) and data:
        return any(_contains_tensor(d) for d in data)
    return False


def _to_numpy(data: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)) and _contains_tensor(data):
        return np.array([_to_numpy(d) for d in data])
    return np.array(data)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of `data` (Python floats become float32)."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
                      "or sourceTensor.detach().clone().requires_grad_(True), rather than "
                      "symgrad.tensor(sourceTensor).", UserWarning, stacklevel=2)
    arr = np.array(_to_numpy(data), copy=True)
    if dtype is not None:
        arr = arr.astype(_dtype(dtype))
    elif arr.dtype.kind == "f" and not isinstance(data, (np.ndarray, Tensor)) and not _contains_tensor(data):
        arr = arr.astype(dtypes.get_default_dtype().np)
    elif arr.dtype.kind in "iu" and arr.dtype != np.uint8:
        arr = arr.astype(np.int64)
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    if arr.dtype == object:
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    return _finish(arr, requires_grad)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or dtypes.to_dtype(dtype) is data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or _dtype(dtype) == data.dtype):
        return Tensor._wrap(data)
    return tensor(data, dtype=dtype)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with `arr`."""
    return Tensor._wrap(arr)


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(np.zeros(_shape(size), dtype=_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(np.ones(_shape(size), dtype=_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return _finish(np.zeros(_shape(size), dtype=_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    if dtype is None:
        dtype = dtypes.bool_ if isinstance(fill_value, bool) else dtypes.int64 \
            if isinstance(fill_value, int) else None
    return _finish(np.full(_shape((size,)), fill_value, dtype=_dtype(dtype)), requires_grad)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return ones(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return full(tuple(t.shape), fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Uniform on [0, 1), drawn from PyTorch's stream."""
    shape = _shape(size)
    g = generator or default_generator
    n = int(np.prod(shape)) if shape else 1
    return _finish(g.uniform(n, _dtype(dtype)).reshape(shape), requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False, generator=None, device=None) -> Tensor:
    """Standard normal, drawn from PyTorch's stream."""
    shape = _shape(size)
    g = generator or default_generator
    n = int(np.prod(shape)) if shape else 1
    return _finish(g.normal(n, _dtype(dtype)).reshape(shape), requires_grad)


def rand_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return rand(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randint(low: int, high: int | None = None, size=(), dtype=None, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low
    shape = _shape((size,))
    n = int(np.prod(shape)) if shape else 1
    g = generator or default_generator
    return Tensor._wrap(g.integers(low, high, n).reshape(shape).astype(_dtype(dtype, dtypes.int64)))


def randperm(n: int, dtype=None, generator=None) -> Tensor:
    g = generator or default_generator
    return Tensor._wrap(g.permutation(n).astype(_dtype(dtype, dtypes.int64)))


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    is_int = all(isinstance(v, int) for v in (start, end, step))
    default = dtypes.int64 if is_int else dtypes.get_default_dtype()
    arr = np.arange(start, end, step, dtype=np.float64 if not is_int else np.int64)
    return _finish(arr.astype(_dtype(dtype, default)), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.linspace(start, end, steps).astype(_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)
