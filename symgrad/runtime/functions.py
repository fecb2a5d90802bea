"""Module-level tensor functions (`symgrad.sum`, `symgrad.exp`, `symgrad.cat`, ...)."""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Sequence

import numpy as np

from .. import ops as O
from .tensor import Tensor

_ValuesIndices = namedtuple("return_types", ["values", "indices"])


def _values_indices(values: Tensor, indices: Tensor):
    return _ValuesIndices(values, indices)


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def sum(x, dim=None, keepdim=False, dtype=None): return _t(x).sum(dim, keepdim, dtype=dtype)  # noqa: A001
def mean(x, dim=None, keepdim=False, dtype=None): return _t(x).mean(dim, keepdim, dtype=dtype)
def prod(x, dim=None, keepdim=False): return _t(x).prod(dim, keepdim)
def exp(x): return _t(x).exp()
def log(x): return _t(x).log()
def log1p(x): return _t(x).log1p()
def expm1(x): return _t(x).expm1()
def sin(x): return _t(x).sin()
def cos(x): return _t(x).cos()
def tan(x): return _t(x).tan()
def tanh(x): return _t(x).tanh()
def sigmoid(x): return _t(x).sigmoid()
def lgamma(x): return _t(x).lgamma()
def digamma(x): return _t(x).digamma()
def relu(x): return _t(x).relu()
def sqrt(x): return _t(x).sqrt()
def rsqrt(x): return _t(x).rsqrt()
def abs(x): return _t(x).abs()  # noqa: A001
def neg(x): return -_t(x)
def sign(x): return _t(x).sign()
def square(x): return _t(x).square()
def pow(x, e): return _t(x) ** e if isinstance(x, Tensor) else x ** e  # noqa: A001
def clamp(x, min=None, max=None): return _t(x).clamp(min, max)  # noqa: A002
clip = clamp
def maximum(a, b): return O.maximum(_t(a), b)
def minimum(a, b): return O.minimum(_t(a), b)
def add(a, b, alpha=1): return _t(a).add(b, alpha)
def sub(a, b, alpha=1): return _t(a).sub(b, alpha)
def mul(a, b): return _t(a) * b
def div(a, b): return _t(a) / b
def matmul(a, b): return _t(a).matmul(b)
def mm(a, b): return _t(a).mm(b)
def mv(a, b): return _t(a).mv(b)
def dot(a, b): return _t(a).dot(b)
def outer(a, b): return _t(a).outer(b)
def t(x): return _t(x).t()
def transpose(x, d0, d1): return _t(x).transpose(d0, d1)
def permute(x, dims): return _t(x).permute(*dims)
def reshape(x, shape): return _t(x).reshape(*shape)
def flatten(x, start_dim=0, end_dim=-1): return _t(x).flatten(start_dim, end_dim)
def unsqueeze(x, dim): return _t(x).unsqueeze(dim)
def squeeze(x, dim=None): return _t(x).squeeze(dim)
def softmax(x, dim): return _t(x).softmax(dim)
def log_softmax(x, dim): return _t(x).log_softmax(dim)
def logsumexp(x, dim, keepdim=False): return _t(x).logsumexp(dim, keepdim)
def argmax(x, dim=None, keepdim=False): return _t(x).argmax(dim, keepdim)
def argmin(x, dim=None, keepdim=False): return _t(x).argmin(dim, keepdim)
def norm(x, p=2, dim=None, keepdim=False): return _t(x).norm(p, dim, keepdim)
def var(x, dim=None, unbiased=True, keepdim=False): return _t(x).var(dim, unbiased, keepdim)
def std(x, dim=None, unbiased=True, keepdim=False): return _t(x).std(dim, unbiased, keepdim)
def clone(x): return _t(x).clone()
def detach(x): return _t(x).detach()
def numel(x): return _t(x).numel()
def is_tensor(x) -> bool: return isinstance(x, Tensor)


def max(x, dim=None, keepdim=False):  # noqa: A001
    return _t(x).max(dim, keepdim)


def min(x, dim=None, keepdim=False):  # noqa: A001
    return _t(x).min(dim, keepdim)


def amax(x, dim=None, keepdim=False): return _t(x).amax(dim, keepdim)
def amin(x, dim=None, keepdim=False): return _t(x).amin(dim, keepdim)


def where(cond, a, b):
    return O.where(_t(cond), a, b)


def addmm(bias, a, b, *, beta=1, alpha=1):
    if beta != 1 or alpha != 1:
        return bias * beta + matmul(a, b) * alpha
    from .methods import matmul_checked
    matmul_checked(a, b)  # shape and dtype errors as PyTorch words them
    return O.apply("addmm", _t(bias), a, b)


def _check_seq(tensors: Sequence[Tensor], name: str) -> list[Tensor]:
    tensors = [_t(x) for x in tensors]
    if not tensors:
        raise RuntimeError(f"{name}(): expected a non-empty list of Tensors")
    return tensors


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = _check_seq(tensors, "cat")
    ax = dim % tensors[0].ndim
    return O.apply("concatenate", *tensors, axis=ax)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = _check_seq(tensors, "stack")
    shape = tensors[0].shape
    for i, x in enumerate(tensors):
        if x.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                               f"and {list(x.shape)} at entry {i}")
    ax = dim % (tensors[0].ndim + 1)
    return O.apply("stack", *tensors, axis=ax)


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    return bool(np.allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a, b) -> bool:
    return a.shape == b.shape and bool(np.array_equal(np.asarray(a), np.asarray(b)))


def isclose(a, b, rtol=1e-5, atol=1e-8):
    return Tensor._wrap(np.isclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol))
