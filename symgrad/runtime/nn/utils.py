"""`nn.utils`: gradient clipping and flattening parameters to one vector (PyTorch's formulas)."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from ..functions import cat
from ..grad_mode import no_grad
from ..tensor import Tensor

_NONFINITE = ("The total norm of order {} for gradients from `parameters` is non-finite, so it cannot be "
              "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
              "`error_if_nonfinite=False`")


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p._grad for p in params if p._grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale all gradients in place so that their joint norm is at most `max_norm`; return the norm."""
    grads = _grads(parameters)
    if not grads:
        return Tensor._wrap(np.zeros((), dtype=np.float32))
    norm_type = float(norm_type)
    # PyTorch: the norm of the per-gradient norms, in the first gradient's dtype.
    dtype = grads[0]._data.dtype
    if math.isinf(norm_type):
        per = [np.abs(g._data).max() if g._data.size else 0.0 for g in grads]
        total = np.max(per).astype(dtype)
    else:
        per = np.array([np.sum(np.abs(g._data.astype(np.float64)) ** norm_type) ** (1 / norm_type)
                        for g in grads])
        total = np.asarray(np.sum(per ** norm_type) ** (1 / norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(_NONFINITE.format(norm_type))
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    with no_grad():
        for g in grads:
            g.mul_(coef)
    return Tensor._wrap(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value] in place."""
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated (differentiable, like PyTorch's)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of `vec` into the parameters' data."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    for p in parameters:
        n = p.numel()
        p.data = vec[offset:offset + n].detach().reshape(*p.shape)  # shares vec's memory, as in PyTorch
        offset += n
