"""Tensor indexing: basic (ints, slices, None, Ellipsis) and advanced (integer/boolean arrays)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops as O
from ..prims import IndexArg


def split_index(t, index: Any) -> tuple[tuple, list]:
    """Turn a Python index into a static template plus the array operands it refers to."""
    from .tensor import Tensor
    if not isinstance(index, tuple):
        index = (index,)
    template: list = []
    arrays: list = []
    for i in index:
        if isinstance(i, Tensor):
            if i.ndim == 0 and not i.dtype.is_floating_point and i.dtype.name != "bool":
                template.append(int(i.item()))
                continue
            arr = i._data
        elif isinstance(i, (list, np.ndarray)):
            arr = np.asarray(i)
        else:
            template.append(i)
            continue
        if arr.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        template.append(IndexArg(len(arrays)))
        arrays.append(Tensor._wrap(arr))
    return tuple(template), arrays


def getitem(t, index: Any):
    template, arrays = split_index(t, index)
    _check_bounds(t, template)
    return O.getitem(t, template, *arrays)


def _check_bounds(t, template: tuple) -> None:
    dim = 0
    for i in template:
        if i is None:
            continue
        if i is Ellipsis:
            dim = t.ndim - sum(1 for j in template if j is not None and j is not Ellipsis) + dim
            continue
        if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            if dim >= t.ndim:
                raise IndexError(f"too many indices for tensor of dimension {t.ndim}")
            n = t.shape[dim]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {n}")
        dim += 1
