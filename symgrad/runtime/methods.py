"""PyTorch-named Tensor methods (`sum(dim, keepdim)`, `view`, `t()`, ...) over the registry."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import dtypes, ops as O, prims


def _dims(dim: Any) -> tuple[int, ...] | None:
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        return tuple(int(d) for d in dim)
    return (int(dim),)


def _shape_args(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def infer_view_shape(shape: tuple[int, ...], numel: int) -> tuple[int, ...]:
    """Resolve one -1 in a view shape, with PyTorch's error texts."""
    if list(shape).count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class TensorMethods:
    """Methods with PyTorch's names and keyword conventions (`dim`, `keepdim`)."""

    __slots__ = ()

    # sizes ---------------------------------------------------------------------------
    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    # dtype conversion ---------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any):
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, dtypes.DType):
                dtype = a
            elif hasattr(a, "dtype") and hasattr(a, "_data"):
                dtype = a.dtype
        if dtype is None or dtypes.to_dtype(dtype) is self.dtype:
            return self  # device moves are no-ops on the CPU
        return O.cast(self, dtypes.to_dtype(dtype).name)

    def type(self, dtype: Any = None):
        if dtype is None:
            return f"symgrad.{self.dtype.tensor_type}"
        return self.to(dtype)

    def float(self): return self.to(dtypes.float32)
    def double(self): return self.to(dtypes.float64)
    def long(self): return self.to(dtypes.int64)
    def int(self): return self.to(dtypes.int32)
    def bool(self): return self.to(dtypes.bool_)
    def type_as(self, other): return self.to(other.dtype)
    def cpu(self): return self
    def cuda(self, *a, **k): raise RuntimeError("symgrad's runtime runs on the CPU only")

    # math ---------------------------------------------------------------------------------
    def exp(self): return O.exp(self)
    def log(self): return O.log(self)
    def log1p(self): return O.log1p(self)
    def expm1(self): return O.expm1(self)
    def sin(self): return O.sin(self)
    def cos(self): return O.cos(self)
    def tan(self): return O.tan(self)
    def tanh(self): return O.tanh(self)
    def sqrt(self): return O.sqrt(self)
    def rsqrt(self): return 1.0 / O.sqrt(self)
    def abs(self): return O.abs(self)
    def neg(self): return -self
    negative = neg
    def sign(self): return O.sign(self)
    def floor(self): return O.apply("floor", self)
    def ceil(self): return O.apply("ceil", self)
    def round(self): return O.apply("round", self)
    def relu(self): return O.relu(self)
    def sigmoid(self): return O.sigmoid(self)
    def lgamma(self): return O.apply("lgamma", self)
    def digamma(self): return O.apply("digamma", self)
    def reciprocal(self): return 1.0 / self
    def square(self): return O.apply("pow", self, 2)
    def pow(self, e): return self ** e
    def add(self, other, alpha=1): return self + (other if alpha == 1 else other * alpha)
    def sub(self, other, alpha=1): return self - (other if alpha == 1 else other * alpha)
    def mul(self, other): return self * other
    def div(self, other): return self / other
    multiply, divide, subtract = mul, div, sub
    def maximum(self, other): return O.maximum(self, other)
    def minimum(self, other): return O.minimum(self, other)

    def clamp(self, min=None, max=None):  # noqa: A002
        return O.clamp(self, min=min, max=max)

    clip = clamp
    def clamp_min(self, m): return self.clamp(min=m)
    def clamp_max(self, m): return self.clamp(max=m)

    def eq(self, o): return self == o
    def ne(self, o): return self != o
    def lt(self, o): return self < o
    def le(self, o): return self <= o
    def gt(self, o): return self > o
    def ge(self, o): return self >= o

    def softmax(self, dim: int): return O.apply("softmax", self, axis=dim)
    def log_softmax(self, dim: int): return O.apply("log_softmax", self, axis=dim)

    # reductions ---------------------------------------------------------------------------
    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        x = self if dtype is None else self.to(dtype)
        if x.dtype is dtypes.bool_:
            x = x.long()
        return O.sum(x, _dims(dim), keepdim)

    def mean(self, dim=None, keepdim: bool = False, dtype=None):
        x = self if dtype is None else self.to(dtype)
        if not x.dtype.is_floating_point:
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                               f"floating point or complex dtype. Got: {x.dtype.short}")
        return O.mean(x, _dims(dim), keepdim)

    def prod(self, dim=None, keepdim: bool = False):
        return O.prod(self, _dims(dim), keepdim)

    def logsumexp(self, dim, keepdim: bool = False):
        return O.logsumexp(self, _dims(dim), keepdim)

    def _extremum(self, which: str, dim, keepdim):
        from .functions import _values_indices
        if dim is None:
            return O.apply(which, self, axis=None, keepdims=False)
        values = O.apply(which, self, axis=(int(dim),), keepdims=keepdim)
        idx_fn = np.argmax if which == "max" else np.argmin
        idx = idx_fn(self._data, axis=int(dim))
        if keepdim:
            idx = np.expand_dims(idx, int(dim))
        return _values_indices(values, type(self)._wrap(idx.astype(np.int64)))

    def max(self, dim=None, keepdim: bool = False):
        if dim is not None and not isinstance(dim, int):
            return O.maximum(self, dim)
        return self._extremum("max", dim, keepdim)

    def min(self, dim=None, keepdim: bool = False):
        if dim is not None and not isinstance(dim, int):
            return O.minimum(self, dim)
        return self._extremum("min", dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return O.apply("max", self, axis=_dims(dim), keepdims=keepdim,
                       torch_name="AmaxBackward0")

    def amin(self, dim=None, keepdim=False):
        return O.apply("min", self, axis=_dims(dim), keepdims=keepdim,
                       torch_name="AminBackward0")

    def argmax(self, dim=None, keepdim: bool = False):
        return _arg(self, np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim: bool = False):
        return _arg(self, np.argmin, dim, keepdim)

    def norm(self, p=2, dim=None, keepdim=False):
        if p != 2:
            return (O.abs(self) ** p).sum(dim, keepdim) ** (1.0 / p)
        from .tensor import Tensor
        sq = O.sum(self * self, _dims(dim), keepdim)
        return Tensor._apply("sqrt", (sq,), {}, "LinalgVectorNormBackward0")

    def var(self, dim=None, unbiased: bool = True, keepdim: bool = False, correction=None):
        corr = (1 if unbiased else 0) if correction is None else correction
        m = self.mean(dim, keepdim=True)
        n = O.reduced_count(self, _dims(dim))
        return ((self - m) ** 2).sum(dim, keepdim) / (n - corr)

    def std(self, dim=None, unbiased: bool = True, keepdim: bool = False, correction=None):
        return self.var(dim, unbiased, keepdim, correction).sqrt()

    def all(self): return type(self)._wrap(np.all(self._data))
    def any(self): return type(self)._wrap(np.any(self._data))

    # shape ----------------------------------------------------------------------------------
    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], dtypes.DType):
            raise NotImplementedError("view(dtype) is not supported")
        shape = infer_view_shape(_shape_args(shape), self.numel())
        if not self._data.flags.c_contiguous and self.ndim > 1:
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least "
                               "one dimension spans across two contiguous subspaces). Use .reshape(...) "
                               "instead.")
        return O.apply("reshape", self, shape=shape, torch_name="ViewBackward0")

    def reshape(self, *shape):
        shape = infer_view_shape(_shape_args(shape), self.numel())
        contiguous = self._data.flags.c_contiguous or self.ndim <= 1
        return O.apply("reshape", self, shape=shape,
                       torch_name="ViewBackward0" if contiguous else "UnsafeViewBackward0")

    def view_as(self, other): return self.view(*other.shape)
    def reshape_as(self, other): return self.reshape(*other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = start_dim % self.ndim, end_dim % self.ndim
        if s == e:
            return self
        shape = self.shape[:s] + (-1,) + self.shape[e + 1:]
        return self.reshape(*shape)

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        if self.ndim < 2:
            return self
        return O.apply("transpose", self, axes=(1, 0), torch_name="TBackward0")

    @property
    def T(self):
        if self.ndim < 2:
            return self
        return O.apply("transpose", self, axes=tuple(reversed(range(self.ndim))),
                       torch_name="PermuteBackward0")

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def transpose(self, d0: int, d1: int):
        axes = list(range(self.ndim))
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return O.apply("transpose", self, axes=tuple(axes), torch_name="TransposeBackward0")

    swapaxes = transpose

    def permute(self, *dims):
        dims = _shape_args(dims)
        return O.apply("transpose", self, axes=tuple(d % self.ndim for d in dims),
                       torch_name="PermuteBackward0")

    def unsqueeze(self, dim: int):
        return O.apply("expand_dims", self, axis=(dim % (self.ndim + 1),))

    def squeeze(self, dim=None):
        if dim is None:
            axes = tuple(i for i, n in enumerate(self.shape) if n == 1)
            name = "SqueezeBackward0"
        else:
            axes = tuple(d % max(self.ndim, 1) for d in _dims(dim) if self.ndim and self.shape[d] == 1)
            name = "SqueezeBackward1"
        if not axes:
            return O.apply("reshape", self, shape=tuple(self.shape), torch_name=name)
        return O.apply("squeeze", self, axis=axes, torch_name=name)

    def expand(self, *sizes):
        sizes = _shape_args(sizes)
        lead = len(sizes) - self.ndim
        full = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        like = np.broadcast_to(np.zeros((), dtype=self._data.dtype), full)
        return O.apply("expand_as", self, like)

    def expand_as(self, other):
        return self.expand(*other.shape)

    def contiguous(self):
        if self._data.flags.c_contiguous:
            return self
        return O.apply("copy", self)

    def clone(self):
        return O.apply("copy", self)

    def repeat(self, *sizes):
        sizes = _shape_args(sizes)
        x = self.reshape((1,) * (len(sizes) - self.ndim) + tuple(self.shape))
        parts = x
        for axis, n in enumerate(sizes):
            if n != 1:
                from .functions import cat
                parts = cat([parts] * n, dim=axis)
        return parts

    def split(self, size: int, dim: int = 0):
        n = self.shape[dim]
        return tuple(self[(slice(None),) * (dim % self.ndim) + (slice(i, min(i + size, n)),)]
                     for i in range(0, n, size))

    def chunk(self, chunks: int, dim: int = 0):
        n = self.shape[dim]
        return self.split(-(-n // chunks), dim)

    def unbind(self, dim: int = 0):
        return tuple(self.select(dim, i) for i in range(self.shape[dim]))

    def select(self, dim: int, index: int):
        return self[(slice(None),) * (dim % self.ndim) + (index,)]

    def __getitem__(self, index):
        from .indexing import getitem
        return getitem(self, index)

    # products -------------------------------------------------------------------------------
    def matmul(self, other): return matmul_checked(self, other)
    def mm(self, other): return matmul_checked(self, other)
    def mv(self, other): return matmul_checked(self, other)
    def dot(self, other): return matmul_checked(self, other)

    def outer(self, other):
        return self.unsqueeze(1) * other.unsqueeze(0)

    def __matmul__(self, other): return matmul_checked(self, other)
    def __rmatmul__(self, other): return matmul_checked(other, self)


def matmul_checked(a, b):
    from .tensor import Tensor
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        if a.ndim == 2 and b.ndim == 2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} "
                               f"and {b.shape[0]}x{b.shape[1]})")
        raise RuntimeError(f"size mismatch, got input ({k_a}), mat ({k_a}), vec ({k_b})")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype.c_name} != "
                           f"{b.dtype.c_name}")
    return O.matmul(a, b)


def _arg(t, fn, dim, keepdim):
    from .tensor import Tensor
    if dim is None:
        return Tensor._wrap(np.asarray(fn(t._data), dtype=np.int64))
    idx = fn(t._data, axis=dim)
    if keepdim:
        idx = np.expand_dims(idx, dim)
    return Tensor._wrap(idx.astype(np.int64))
