"""The operator mixin shared by `runtime.Tensor` and the compiler's `ir.Value`.

Every operator and math function here only names a primitive of `prims.REGISTRY` and
hands it to the owning class's `_apply(prim, args, params, torch_name)`: the Tensor
computes NumPy arrays and records an autograd node, the IR value emits an instruction.
VJP rules in the registry are written with these functions, so one rule serves both.
"""
from __future__ import annotations

from numbers import Number
from typing import Any, Sequence


class OpsMixin:
    """Arithmetic and comparison operators routed through the primitive registry."""

    __slots__ = ()
    # NumPy must defer to us in mixed expressions (`np.float64(2) * t`).
    __array_priority__ = 1000

    @classmethod
    def _apply(cls, prim: str, args: tuple, params: dict, torch_name: str | None = None) -> Any:
        raise NotImplementedError

    # arithmetic ------------------------------------------------------------------
    def __add__(self, o): return _bin("add", self, o)
    def __radd__(self, o): return _bin("add", o, self)
    def __sub__(self, o): return _bin("sub", self, o)
    def __rsub__(self, o): return _bin("sub", o, self)
    def __mul__(self, o): return _bin("mul", self, o)
    def __rmul__(self, o): return _bin("mul", o, self)
    def __truediv__(self, o): return _bin("div", self, o)
    def __rtruediv__(self, o): return _bin("div", o, self)
    def __floordiv__(self, o): return _bin("floordiv", self, o)
    def __rfloordiv__(self, o): return _bin("floordiv", o, self)
    def __mod__(self, o): return _bin("mod", self, o)
    def __rmod__(self, o): return _bin("mod", o, self)
    def __pow__(self, o): return _bin("pow", self, o)
    def __rpow__(self, o): return _bin("pow", o, self)
    def __matmul__(self, o): return matmul(self, o)
    def __rmatmul__(self, o): return matmul(o, self)
    def __neg__(self): return _un("neg", self)
    def __pos__(self): return self
    def __abs__(self): return _un("abs", self)

    # comparisons (== and != are left to the subclasses: the IR needs identity hashing)
    def __lt__(self, o): return _bin("lt", self, o)
    def __le__(self, o): return _bin("le", self, o)
    def __gt__(self, o): return _bin("gt", self, o)
    def __ge__(self, o): return _bin("ge", self, o)

    def __and__(self, o): return _bin("logical_and", self, o)
    def __rand__(self, o): return _bin("logical_and", o, self)
    def __or__(self, o): return _bin("logical_or", self, o)
    def __ror__(self, o): return _bin("logical_or", o, self)
    def __invert__(self): return _un("logical_not", self)


def _owner(args: Sequence[Any]) -> type:
    for a in args:
        if isinstance(a, OpsMixin):
            return type(a)
    raise TypeError("no symgrad operand among the arguments")


def apply(prim: str, *args: Any, torch_name: str | None = None, **params: Any) -> Any:
    """Apply primitive `prim` to `args` in whatever world (eager or IR) the operands live."""
    return _owner(args)._apply(prim, args, params, torch_name)


def _bin(prim: str, a: Any, b: Any) -> Any:
    if not isinstance(a, (OpsMixin, Number)) and not _is_arraylike(a):
        return NotImplemented
    if not isinstance(b, (OpsMixin, Number)) and not _is_arraylike(b):
        return NotImplemented
    return apply(prim, a, b)


def _un(prim: str, x: Any) -> Any:
    return apply(prim, x)


def _is_arraylike(v: Any) -> bool:
    return hasattr(v, "__array__") or isinstance(v, (list, tuple))


def is_const(v: Any) -> bool:
    """A plain number: rules may branch on its value at rule time."""
    return isinstance(v, Number)


# math functions used by VJP rules (and re-exported by the runtime) ------------------
def _unary(name: str):
    def f(x: Any) -> Any:
        return apply(name, x)
    f.__name__ = name
    f.__doc__ = f"Elementwise `{name}` (primitive `{name}`)."
    return f


neg = _unary("neg")
exp = _unary("exp")
log = _unary("log")
sin = _unary("sin")
cos = _unary("cos")
tan = _unary("tan")
tanh = _unary("tanh")
sqrt = _unary("sqrt")
abs = _unary("abs")  # noqa: A001  (mirrors numpy's name)
sign = _unary("sign")
relu = _unary("relu")
sigmoid = _unary("sigmoid")
log1p = _unary("log1p")
expm1 = _unary("expm1")
logical_not = _unary("logical_not")


def add(a, b): return apply("add", a, b)
def sub(a, b): return apply("sub", a, b)
def mul(a, b): return apply("mul", a, b)
def div(a, b): return apply("div", a, b)
def pow(a, b): return apply("pow", a, b)  # noqa: A001
def maximum(a, b): return apply("maximum", a, b)
def minimum(a, b): return apply("minimum", a, b)
def eq(a, b): return apply("eq", a, b)
def ne(a, b): return apply("ne", a, b)
def lt(a, b): return apply("lt", a, b)
def le(a, b): return apply("le", a, b)
def gt(a, b): return apply("gt", a, b)
def ge(a, b): return apply("ge", a, b)
def logical_and(a, b): return apply("logical_and", a, b)
def logical_or(a, b): return apply("logical_or", a, b)
def where(c, a, b): return apply("where", c, a, b)


def clamp(x, min=None, max=None):  # noqa: A002
    return apply("clamp", x, min=min, max=max)


def cast(x, dtype: str):
    """Convert to dtype named like numpy ('float32', 'float64', 'int64', 'bool')."""
    return apply("cast", x, dtype=dtype)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return apply("sum", x, axis=_axes(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return apply("mean", x, axis=_axes(axis), keepdims=keepdims)


def amax(x, axis=None, keepdims=False):
    return apply("max", x, axis=_axes(axis), keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    return apply("min", x, axis=_axes(axis), keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    return apply("prod", x, axis=_axes(axis), keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    return apply("logsumexp", x, axis=_axes(axis), keepdims=keepdims)


def reshape(x, shape):
    return apply("reshape", x, shape=tuple(shape))


def transpose(x, axes=None):
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    return apply("transpose", x, axes=tuple(axes))


def expand_dims(x, axis):
    return apply("expand_dims", x, axis=_axes(axis))


def squeeze(x, axis):
    return apply("squeeze", x, axis=_axes(axis))


def expand_as(x, like):
    """Broadcast `x` to the shape of `like` (which is read only for its shape)."""
    return apply("expand_as", x, like)


def sum_to(x, like):
    """Sum `x` down to the shape of `like`: undoes broadcasting, in one place."""
    return apply("sum_to", x, like)


def matmul(a, b):
    return apply("matmul", a, b)


def getitem(x, index, *index_arrays):
    return apply("getitem", x, *index_arrays, index=index)


def scatter_add_like(g, like, index, *index_arrays):
    """zeros shaped like `like`, with `g` added at `index` (repeated indices accumulate)."""
    return apply("index_add_zeros", g, like, *index_arrays, index=index)


def _axes(axis):
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return (int(axis),)


def keep_dims(g, x, axis, keepdims):
    """A reduction's result `g` with its reduced axes back as size 1 (broadcastable to `x`)."""
    if axis is not None and not keepdims:
        g = expand_dims(g, tuple(a % x.ndim for a in axis))
    return g


def unreduce(g, x, axis, keepdims):
    """Broadcast a reduction's cotangent `g` back to the shape of its input `x`."""
    return expand_as(keep_dims(g, x, axis, keepdims), x)


def reduced_count(x, axis) -> Any:
    """How many elements each output of a reduction over `axis` combines."""
    shape = x.shape
    axes = range(len(shape)) if axis is None else [a % len(shape) for a in axis]
    n = 1
    for a in axes:
        n = n * shape[a]
    return n
