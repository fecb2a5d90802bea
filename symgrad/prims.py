"""THE registry of primitives: one entry per primitive, read by the runtime and the compiler.

An entry holds the primitive's NumPy implementation, its VJP rule (one function per input,
written with the op mixin in `ops`, so the same rule computes NumPy arrays in the eager
runtime and builds IR in the compiler), what the runtime's autograd node saves, its
PyTorch `grad_fn` name, its SymPy form (elementwise primitives) and its Python spellings.
Adding a math function means adding one entry here.

VJP rules take `(g, out, *args, **params)` and return the cotangent of one input, or
`None` for a symbolic zero. Elementwise rules return cotangents in the broadcast output
shape; `cotangent_for` sums them back to each input's shape (broadcasting is undone in
that one place).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import ops as O
from . import special as _special

Rule = Callable[..., Any]


class _SympyFunction:
    """`sympy.<name>`, looked up on first call: the registry names SymPy forms without
    importing SymPy, which costs 0.3 s of every `import symgrad` (the runtime never needs
    it; the simplifier imports it when it runs)."""

    def __init__(self, name: str):
        self.name = name

    def _target(self) -> Any:
        import sympy as _sympy
        return getattr(_sympy, self.name)

    def __call__(self, *args: Any) -> Any:
        return self._target()(*args)

    def __getattr__(self, attr: str) -> Any:  # `nargs` and the like, for the bridge
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self._target(), attr)

    def __repr__(self) -> str:
        return f"sympy.{self.name}"


class _LazySympy:
    def __getattr__(self, name: str) -> _SympyFunction:
        if name.startswith("__"):
            raise AttributeError(name)
        return _SympyFunction(name)


sympy = _LazySympy()


@dataclass(frozen=True)
class Prim:
    name: str
    kind: str                  # elementwise | compare | reduce | shape | index | linalg | nn | cast
    impl: Callable[..., Any]   # NumPy implementation over arrays / Python scalars
    vjp: tuple[Rule | None, ...] | Callable[..., tuple] | None = None
    grad_fn: str | Callable[[tuple, dict], str] | None = None
    saves: str = "in"          # what the eager node keeps: "", "in", "out", "in+out"
    sympy: Callable[..., Any] | None = None
    spellings: tuple[str, ...] = ()
    differentiable: bool = True
    float_only: bool = False   # integer operands are promoted to the default float first
    llvm: Any = None           # lowering hint for the native back end
    extra: dict = field(default_factory=dict)

    def torch_name(self, args: tuple, params: dict) -> str:
        n = self.grad_fn
        if n is None:
            return f"{self.name.capitalize()}Backward0"
        return n if isinstance(n, str) else n(args, params)

    def vjp_rules(self, nargs: int) -> tuple[Rule | None, ...] | None:
        """Per-input rules; a callable `vjp` (variadic prims) is split per input."""
        if self.vjp is None:
            return None
        if isinstance(self.vjp, tuple):
            return self.vjp
        whole = self.vjp
        return tuple((lambda i: (lambda g, out, *a, **p: whole(g, out, *a, **p)[i]))(i)
                     for i in range(nargs))


REGISTRY: dict[str, Prim] = {}


def prim(name: str, kind: str, impl, **kw) -> Prim:
    p = Prim(name, kind, impl, **kw)
    REGISTRY[name] = p
    return p


def get(name: str) -> Prim:
    return REGISTRY[name]


def cotangent_for(p: Prim, ct: Any, arg: Any, out: Any) -> Any:
    """Sum an elementwise cotangent over the axes along which `arg` was broadcast."""
    if ct is None or p.kind != "elementwise" or O.is_const(arg):
        return ct
    if tuple(arg.shape) == tuple(out.shape):
        return ct
    return O.sum_to(ct, arg)


def _const_mask(args: tuple) -> tuple[bool, ...]:
    return tuple(O.is_const(a) for a in args)


# ---------------------------------------------------------------------------------
# elementwise arithmetic
# ---------------------------------------------------------------------------------
prim("add", "elementwise", np.add, vjp=(lambda g, o, x, y: g, lambda g, o, x, y: g),
     saves="", grad_fn="AddBackward0", sympy=lambda x, y: x + y,
     spellings=("ast.Add", "numpy.add"), llvm="fadd")
prim("sub", "elementwise", np.subtract, vjp=(lambda g, o, x, y: g, lambda g, o, x, y: -g),
     saves="", grad_fn=lambda a, p: "RsubBackward1" if _const_mask(a)[:2] == (True, False) else "SubBackward0",
     sympy=lambda x, y: x - y, spellings=("ast.Sub", "numpy.subtract"), llvm="fsub")
prim("mul", "elementwise", np.multiply, vjp=(lambda g, o, x, y: g * y, lambda g, o, x, y: g * x),
     grad_fn="MulBackward0", sympy=lambda x, y: x * y, spellings=("ast.Mult", "numpy.multiply"),
     llvm="fmul")
prim("div", "elementwise", np.true_divide,
     vjp=(lambda g, o, x, y: g / y, lambda g, o, x, y: -g * x / (y * y)),
     grad_fn=lambda a, p: "MulBackward0" if _const_mask(a) == (True, False) else "DivBackward0",
     sympy=lambda x, y: x / y, spellings=("ast.Div", "numpy.divide", "numpy.true_divide"),
     llvm="fdiv", float_only=True)


def _pow_dx(g, out, x, y):
    if O.is_const(y):
        if y == 0:
            return None
        if y == 1:
            return g
        if y == 2:
            return g * 2.0 * x
        return g * y * x ** (y - 1)
    # d/dx x**y = y * x**(y-1); PyTorch gives 0 where y == 0 (even at x == 0).
    return O.where(O.eq(y, 0.0), 0.0, g * y * x ** (y - 1.0))


def _pow_dy(g, out, x, y):
    # The output is recomputed, not saved: PyTorch's PowBackward0 keeps only the inputs.
    if O.is_const(x):
        if x == 1:
            return None
        return g * x ** y * math.log(x) if x > 0 else g * x ** y * O.log(x + 0 * y)
    # PyTorch masks the x == 0, y >= 0 corner to 0 instead of 0 * log(0) = nan.
    return O.where(O.logical_and(O.eq(x, 0.0), O.ge(y, 0.0)), 0.0, g * x ** y * O.log(x))


def _pow_name(args, params):
    cx, cy = _const_mask(args)
    return "PowBackward0" if cy else "PowBackward2" if cx else "PowBackward1"


prim("pow", "elementwise", np.power, vjp=(_pow_dx, _pow_dy), grad_fn=_pow_name,
     sympy=lambda x, y: x ** y, spellings=("ast.Pow", "numpy.power", "math.pow", "builtins.pow"))


def _tie_weight(a, b):
    # maximum/minimum split a tie evenly between both inputs, as PyTorch does.
    return O.where(O.eq(a, b), 0.5, 1.0)


# Written as "zero where the other input wins" (not "g where this one wins") so that a NaN
# input passes g to both, as PyTorch's maximum/minimum backward does.
prim("maximum", "elementwise", np.maximum,
     vjp=(lambda g, o, x, y: O.where(O.lt(x, y), 0.0, g * _tie_weight(x, y)),
          lambda g, o, x, y: O.where(O.lt(y, x), 0.0, g * _tie_weight(x, y))),
     grad_fn="MaximumBackward0", sympy=lambda x, y: sympy.Max(x, y),
     spellings=("numpy.maximum", "numpy.fmax"))
prim("minimum", "elementwise", np.minimum,
     vjp=(lambda g, o, x, y: O.where(O.gt(x, y), 0.0, g * _tie_weight(x, y)),
          lambda g, o, x, y: O.where(O.gt(y, x), 0.0, g * _tie_weight(x, y))),
     grad_fn="MinimumBackward0", sympy=lambda x, y: sympy.Min(x, y),
     spellings=("numpy.minimum", "numpy.fmin"))
prim("floordiv", "elementwise", np.floor_divide, vjp=(lambda *a: None, lambda *a: None),
     saves="", grad_fn="DivBackward2", sympy=lambda x, y: sympy.floor(x / y),
     spellings=("ast.FloorDiv", "numpy.floor_divide"))
prim("mod", "elementwise", np.mod,
     vjp=(lambda g, o, x, y: g, lambda g, o, x, y: -g * O.apply("floor", x / y)),
     grad_fn="RemainderBackward0", sympy=lambda x, y: sympy.Mod(x, y),
     spellings=("ast.Mod", "numpy.mod", "numpy.remainder"))
prim("where", "elementwise", lambda c, a, b: np.where(c, a, b),
     vjp=(None, lambda g, o, c, a, b: O.where(c, g, 0.0), lambda g, o, c, a, b: O.where(c, 0.0, g)),
     grad_fn="WhereBackward0", saves="in", spellings=("numpy.where",),
     sympy=lambda c, a, b: sympy.Piecewise((a, c), (b, True)))

# comparisons and logic: never differentiable, never recorded
for _n, _f, _s in (("lt", np.less, "ast.Lt"), ("le", np.less_equal, "ast.LtE"),
                   ("gt", np.greater, "ast.Gt"), ("ge", np.greater_equal, "ast.GtE"),
                   ("eq", np.equal, "ast.Eq"), ("ne", np.not_equal, "ast.NotEq"),
                   ("logical_and", np.logical_and, "numpy.logical_and"),
                   ("logical_or", np.logical_or, "numpy.logical_or")):
    prim(_n, "compare", _f, differentiable=False, saves="", spellings=(_s,))
prim("logical_not", "compare", np.logical_not, differentiable=False, saves="",
     spellings=("ast.Not", "numpy.logical_not"))

# ---------------------------------------------------------------------------------
# elementwise math
# ---------------------------------------------------------------------------------


# Transcendental functions: an integer input gives a float result (NumPy's and PyTorch's rule).
_FLOAT_ONLY = frozenset({"exp", "log", "log1p", "expm1", "sin", "cos", "tan", "tanh", "sinh", "cosh",
                         "arcsin", "arccos", "arctan", "sqrt", "sigmoid", "lgamma", "digamma",
                         "trigamma"})


def _unary(name, impl, dx, *, saves="in", torch=None, sym=None, spell=(), llvm=None):
    prim(name, "elementwise", impl, vjp=(dx,) if dx is not None else None, saves=saves,
         grad_fn=torch or f"{name.capitalize()}Backward0", sympy=sym,
         spellings=spell, llvm=llvm, differentiable=dx is not None, float_only=name in _FLOAT_ONLY)


def _np_math(n):
    return (f"numpy.{n}", f"math.{n}")


_unary("neg", np.negative, lambda g, o, x: -g, saves="", sym=lambda x: -x,
       spell=("ast.USub", "numpy.negative"), llvm="fneg")
_unary("exp", np.exp, lambda g, o, x: g * o, saves="out", sym=sympy.exp, spell=_np_math("exp"),
       llvm="exp")
_unary("log", np.log, lambda g, o, x: g / x, sym=sympy.log, spell=_np_math("log"), llvm="log")
_unary("log1p", np.log1p, lambda g, o, x: g / (x + 1.0), sym=lambda x: sympy.log(1 + x),
       spell=_np_math("log1p"), llvm="log1p")
_unary("expm1", np.expm1, lambda g, o, x: g * (o + 1.0), saves="out",
       sym=lambda x: sympy.exp(x) - 1, spell=_np_math("expm1"), llvm="expm1")
_unary("sin", np.sin, lambda g, o, x: g * O.cos(x), sym=sympy.sin, spell=_np_math("sin"), llvm="sin")
_unary("cos", np.cos, lambda g, o, x: -g * O.sin(x), sym=sympy.cos, spell=_np_math("cos"), llvm="cos")
_unary("tan", np.tan, lambda g, o, x: g * (1.0 + o * o), saves="out", sym=sympy.tan,
       spell=_np_math("tan"), llvm="tan")
_unary("tanh", np.tanh, lambda g, o, x: g * (1.0 - o * o), saves="out", sym=sympy.tanh,
       spell=_np_math("tanh"), llvm="tanh")
_unary("sinh", np.sinh, lambda g, o, x: g * O.apply("cosh", x), sym=sympy.sinh,
       spell=_np_math("sinh"), llvm="sinh")
_unary("cosh", np.cosh, lambda g, o, x: g * O.apply("sinh", x), sym=sympy.cosh,
       spell=_np_math("cosh"), llvm="cosh")
_unary("arcsin", np.arcsin, lambda g, o, x: g / O.sqrt(1.0 - x * x), torch="AsinBackward0",
       sym=sympy.asin, spell=("numpy.arcsin", "math.asin"), llvm="asin")
_unary("arccos", np.arccos, lambda g, o, x: -g / O.sqrt(1.0 - x * x), torch="AcosBackward0",
       sym=sympy.acos, spell=("numpy.arccos", "math.acos"), llvm="acos")
_unary("arctan", np.arctan, lambda g, o, x: g / (1.0 + x * x), torch="AtanBackward0",
       sym=sympy.atan, spell=("numpy.arctan", "math.atan"), llvm="atan")
_unary("sqrt", np.sqrt, lambda g, o, x: g / (2.0 * o), saves="out", sym=sympy.sqrt,
       spell=_np_math("sqrt"), llvm="sqrt")
_unary("abs", np.abs, lambda g, o, x: g * O.sign(x), sym=sympy.Abs,
       spell=("builtins.abs", "numpy.abs", "numpy.absolute", "math.fabs"), llvm="fabs")
_unary("sign", np.sign, lambda g, o, x: None, saves="", sym=sympy.sign, spell=("numpy.sign",))
_unary("floor", np.floor, lambda g, o, x: None, saves="", sym=sympy.floor,
       spell=_np_math("floor"), llvm="floor")
_unary("ceil", np.ceil, lambda g, o, x: None, saves="", sym=sympy.ceiling,
       spell=_np_math("ceil"), llvm="ceil")
_unary("round", np.round, lambda g, o, x: None, saves="", spell=("numpy.round", "builtins.round"))
_unary("relu", lambda x: np.maximum(x, 0).astype(np.result_type(x), copy=False),
       lambda g, o, x: O.where(O.gt(o, 0.0), g, 0.0), saves="out",
       sym=lambda x: sympy.Max(x, 0))
_unary("sigmoid", lambda x: _sigmoid(x), lambda g, o, x: g * o * (1.0 - o), saves="out",
       sym=lambda x: 1 / (1 + sympy.exp(-x)))
# The gamma family (NumPy has no ufuncs for it: `symgrad.special`). trigamma only appears
# as digamma's derivative; like the other backward helpers it has no derivative of its own,
# so a gradient of a gradient through digamma is refused rather than silently zero.
_unary("lgamma", _special.lgamma, lambda g, o, x: g * O.apply("digamma", x), sym=sympy.loggamma,
       spell=("math.lgamma",), llvm="lgamma_r")
_unary("digamma", _special.digamma, lambda g, o, x: g * O.apply("trigamma", x),
       sym=lambda x: sympy.polygamma(0, x))
_unary("trigamma", _special.trigamma, None, torch="PolygammaBackward0",
       sym=lambda x: sympy.polygamma(1, x))


def _sigmoid(x):
    x = np.asarray(x)
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-x))).astype(x.dtype if x.dtype.kind == "f" else np.float32)


def _clamp_impl(x, min=None, max=None):  # noqa: A002
    return np.clip(x, min, max) if (min is not None or max is not None) else np.array(x, copy=True)


def _clamp_dx(g, o, x, min=None, max=None):  # noqa: A002
    # The interval is closed: at the boundary the gradient passes (PyTorch's convention).
    keep = None
    if min is not None:
        keep = O.ge(x, min)
    if max is not None:
        hi = O.le(x, max)
        keep = hi if keep is None else O.logical_and(keep, hi)
    return g if keep is None else O.where(keep, g, 0.0)


prim("clamp", "elementwise", _clamp_impl, vjp=(_clamp_dx,), grad_fn="ClampBackward1",
     spellings=("numpy.clip",))


def _cast_impl(x, dtype):
    return np.asarray(x).astype(dtype)


prim("cast", "cast", _cast_impl,
     vjp=(lambda g, o, x, dtype: O.cast(g, _dtype_name(x)),),
     saves="", grad_fn="ToCopyBackward0")

# ---------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------


def _red_name(base):
    return lambda a, p: f"{base}Backward0" if p.get("axis") is None else f"{base}Backward1"


def _np_axis(axis):
    return None if axis is None else tuple(axis)


prim("sum", "reduce", lambda x, axis=None, keepdims=False: np.sum(x, axis=_np_axis(axis), keepdims=keepdims),
     vjp=(lambda g, o, x, axis=None, keepdims=False: O.unreduce(g, x, axis, keepdims),),
     saves="", grad_fn=_red_name("Sum"), spellings=("numpy.sum", "builtins.sum"))
prim("mean", "reduce", lambda x, axis=None, keepdims=False: np.mean(x, axis=_np_axis(axis), keepdims=keepdims),
     vjp=(lambda g, o, x, axis=None, keepdims=False:
          O.unreduce(g / O.reduced_count(x, axis), x, axis, keepdims),),
     saves="", grad_fn=_red_name("Mean"), spellings=("numpy.mean",))


def _extremum_dx(g, o, x, axis=None, keepdims=False):
    if axis is None:
        # Full reduction: ties share the gradient evenly (PyTorch's amax rule).
        mask = O.cast(O.eq(x, O.expand_as(o, x)), _dtype_name(x))
        return mask * (O.expand_as(g, x) / O.sum(mask))
    # Along an axis: the whole gradient goes to the first extremum (PyTorch's max(dim)).
    # The scan broadcasts the extremum itself: no x-sized copy of it.
    first = O.apply("extremum_onehot", x, O.keep_dims(o, x, axis, keepdims), axis=axis)
    return O.where(first, O.unreduce(g, x, axis, keepdims), 0.0)


def _dtype_name(x) -> str:
    d = x.dtype
    return getattr(d, "name", str(d))


prim("max", "reduce", lambda x, axis=None, keepdims=False: np.max(x, axis=_np_axis(axis), keepdims=keepdims),
     vjp=(_extremum_dx,), saves="in+out",
     grad_fn=lambda a, p: "MaxBackward1" if p.get("axis") is None else "MaxBackward0",
     spellings=("numpy.max", "numpy.amax", "builtins.max"))
prim("min", "reduce", lambda x, axis=None, keepdims=False: np.min(x, axis=_np_axis(axis), keepdims=keepdims),
     vjp=(_extremum_dx,), saves="in+out",
     grad_fn=lambda a, p: "MinBackward1" if p.get("axis") is None else "MinBackward0",
     spellings=("numpy.min", "numpy.amin", "builtins.min"))
prim("prod", "reduce", lambda x, axis=None, keepdims=False: np.prod(x, axis=_np_axis(axis), keepdims=keepdims),
     vjp=(lambda g, o, x, axis=None, keepdims=False:
          O.unreduce(g * o, x, axis, keepdims) / x,), saves="in+out",
     grad_fn=_red_name("Prod"), spellings=("numpy.prod",))


def _logsumexp(x, axis=None, keepdims=False):
    ax = _np_axis(axis)
    m = np.max(x, axis=ax, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        r = np.log(np.sum(np.exp(x - m), axis=ax, keepdims=True)) + m
    return r if keepdims else (np.squeeze(r, axis=ax) if ax is not None else r.reshape(()))


prim("logsumexp", "reduce", _logsumexp,
     vjp=(lambda g, o, x, axis=None, keepdims=False:
          O.unreduce(g, x, axis, keepdims) * O.exp(x - O.unreduce(o, x, axis, keepdims)),),
     saves="in+out", grad_fn="LogsumexpBackward0", spellings=("scipy.special.logsumexp",))


def _extremum_onehot(x, o, axis):
    # First position along `axis` where x equals the (broadcast) extremum `o`.
    ax = axis[0]
    hit = np.equal(x, o)
    first = np.cumsum(hit, axis=ax) == 1
    return hit & first


# Scans along an axis, so it is no elementwise comparison: its own kind keeps passes off it.
prim("extremum_onehot", "select", _extremum_onehot, differentiable=False, saves="")

# ---------------------------------------------------------------------------------
# shape
# ---------------------------------------------------------------------------------
# In compiled IR the target sizes are operands (`reshape %x, *dims`), in the runtime a param.
prim("reshape", "shape", lambda x, shape: np.reshape(x, shape),
     vjp=(lambda g, o, x, *dims, shape=None: O.reshape(g, x.shape),), saves="", grad_fn="ViewBackward0",
     spellings=("numpy.reshape",))
prim("transpose", "shape", lambda x, axes: np.transpose(x, axes),
     vjp=(lambda g, o, x, axes: O.transpose(g, tuple(np.argsort(axes))),), saves="",
     grad_fn="PermuteBackward0", spellings=("numpy.transpose",))
prim("expand_dims", "shape", lambda x, axis: np.expand_dims(x, axis),
     vjp=(lambda g, o, x, axis: O.squeeze(g, axis),), saves="", grad_fn="UnsqueezeBackward0")
prim("squeeze", "shape", lambda x, axis: np.squeeze(x, axis),
     vjp=(lambda g, o, x, axis: O.reshape(g, x.shape),), saves="", grad_fn="SqueezeBackward1")
prim("expand_as", "shape", lambda x, like: np.broadcast_to(x, np.shape(like)),
     vjp=(lambda g, o, x, like: O.sum_to(g, x), None), saves="", grad_fn="ExpandBackward0")


def _sum_to(x, like):
    shape = np.shape(like)
    x = np.asarray(x)
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape)
                                      if n == 1 and x.shape[i + lead] != 1)
    r = np.sum(x, axis=axes, keepdims=True) if axes else x
    return r.reshape(shape)


prim("sum_to", "shape", _sum_to, vjp=(lambda g, o, x, like: O.expand_as(g, x), None), saves="",
     grad_fn="SumBackward1")


_NP_DTYPE = {"f64": "float64", "f32": "float32", "i64": "int64", "bool": "bool"}
# Compiled code only: `dim %x {axis}` reads a runtime size; `full %v, *dims {dtype}` allocates.
prim("dim", "shape", lambda x, axis: np.int64(np.shape(x)[axis]), differentiable=False, saves="")
prim("full", "shape",
     lambda v, *dims, dtype: np.full(tuple(int(d) for d in dims), v, dtype=_NP_DTYPE.get(dtype, dtype)),
     vjp=lambda g, o, v, *dims, dtype: (O.sum(g),) + (None,) * len(dims), saves="")


def _concat_vjp(g, out, *xs, axis=0):
    parts, start = [], 0
    for x in xs:
        n = x.shape[axis]
        idx = (slice(None),) * axis + (slice(start, start + n),)
        parts.append(O.getitem(g, idx))
        start = start + n
    return tuple(parts)


def _stack_vjp(g, out, *xs, axis=0):
    return tuple(O.getitem(g, (slice(None),) * axis + (i,)) for i in range(len(xs)))


prim("concatenate", "shape", lambda *xs, axis=0: np.concatenate(xs, axis=axis), vjp=_concat_vjp,
     saves="", grad_fn="CatBackward0", spellings=("numpy.concatenate",))
prim("stack", "shape", lambda *xs, axis=0: np.stack(xs, axis=axis), vjp=_stack_vjp, saves="",
     grad_fn="StackBackward0", spellings=("numpy.stack",))
prim("copy", "shape", lambda x: np.array(x, copy=True), vjp=(lambda g, o, x: g,), saves="",
     grad_fn="CloneBackward0", spellings=("numpy.copy",))

# ---------------------------------------------------------------------------------
# indexing
# ---------------------------------------------------------------------------------


class IndexArg:
    """Placeholder in an index template for the n-th array operand after the indexed value."""

    __slots__ = ("pos",)

    def __init__(self, pos: int):
        self.pos = pos

    def __repr__(self) -> str:
        return f"IndexArg({self.pos})"

    def __eq__(self, other) -> bool:
        return isinstance(other, IndexArg) and other.pos == self.pos

    def __hash__(self) -> int:
        return hash(("IndexArg", self.pos))


class SliceT(tuple):
    """A hashable `slice(start, stop, step)` in compiled index templates; parts may be IndexArgs."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "slice(" + ", ".join(repr(p) for p in self) + ")"


def fill_index(index, arrays) -> tuple:
    def part(p):
        if isinstance(p, IndexArg):
            v = arrays[p.pos]
            return int(v) if np.ndim(v) == 0 and np.asarray(v).dtype.kind in "iu" else v
        return p

    return tuple(slice(*(part(p) for p in i)) if isinstance(i, SliceT) else part(i) for i in index)


def _is_advanced(index) -> bool:
    return any(isinstance(i, (IndexArg, list, np.ndarray)) for i in index)


def _index_name(args, params):
    index = params["index"]
    if _is_advanced(index):
        return "IndexBackward0"
    if any(isinstance(i, (int, np.integer)) for i in index):
        return "SelectBackward0"
    if any(i is None for i in index):
        return "UnsqueezeBackward0"
    return "SliceBackward0"


def _getitem(x, *arrays, index):
    return np.asarray(x)[fill_index(index, arrays)]


def _index_add_zeros(g, like, *arrays, index):
    out = np.zeros(np.shape(like), dtype=np.result_type(g))
    idx = fill_index(index, arrays)
    if _is_advanced(index):
        np.add.at(out, idx, g)
    else:
        out[idx] += g
    return out


prim("getitem", "index", _getitem,
     vjp=lambda g, o, x, *arrays, index: (O.scatter_add_like(g, x, index, *arrays),) + (None,) * len(arrays),
     saves="", grad_fn=_index_name)
def _index_add(acc, g, *arrays, index):
    out = np.array(acc, copy=True)
    np.add.at(out, fill_index(index, arrays), g)
    return out


# Compiled adjoints: `acc` with `g` added at `index` (the accumulating form of index_add_zeros).
prim("index_add", "index", _index_add,
     vjp=lambda h, o, acc, g, *arrays, index: (h, O.getitem(h, index, *arrays)) + (None,) * len(arrays),
     saves="", grad_fn="IndexAddBackward0")
prim("index_add_zeros", "index", _index_add_zeros,
     vjp=lambda g, o, gin, like, *arrays, index: (O.getitem(g, index, *arrays), None) + (None,) * len(arrays),
     saves="in", grad_fn="IndexPutBackward0")


def _setitem(x, value, *arrays, index):
    out = np.array(x, copy=True)
    out[fill_index(index, arrays)] = value
    return out


def _setitem_dvalue(g, o, x, value, *arrays, index):
    picked = O.getitem(g, index, *arrays)
    return picked if O.is_const(value) else O.sum_to(picked, value)


prim("setitem", "index", _setitem,
     vjp=(lambda g, o, x, value, *arrays, index: O.apply("setitem", g, 0.0, *arrays, index=index),
          lambda g, o, x, value, *arrays, index:
          None if O.is_const(value) else _setitem_dvalue(g, o, x, value, *arrays, index=index)),
     saves="", grad_fn="CopySlices")

# ---------------------------------------------------------------------------------
# linear algebra
# ---------------------------------------------------------------------------------


def _matmul_name(args, params):
    a, b = args
    return {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0",
            (1, 2): "SqueezeBackward4"}.get((a.ndim, b.ndim), "UnsafeViewBackward0")


def _mT(x):
    return O.transpose(x, tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


def _matmul_da(g, o, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * b
    if b.ndim == 1:  # (..., n, k) @ (k,) -> (..., n)
        return O.expand_dims(g, (-1 % (g.ndim + 1),)) * b
    if a.ndim == 1:  # (k,) @ (..., k, m) -> (..., m)
        return O.sum_to(O.matmul(b, g), a) if b.ndim > 2 else O.matmul(b, g)
    return O.sum_to(O.matmul(g, _mT(b)), a)


def _matmul_db(g, o, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if b.ndim == 1:
        return O.sum_to(O.matmul(_mT(a), g), b) if a.ndim > 2 else O.matmul(g, a)
    if a.ndim == 1:
        return O.expand_dims(a, (1,)) * O.expand_dims(g, (g.ndim - 1,))
    return O.sum_to(O.matmul(_mT(a), g), b)


prim("matmul", "linalg", np.matmul, vjp=(_matmul_da, _matmul_db), grad_fn=_matmul_name,
     spellings=("ast.MatMult", "numpy.matmul", "numpy.dot"))
prim("addmm", "linalg", lambda c, a, b: c + a @ b,
     vjp=(lambda g, o, c, a, b: O.sum_to(g, c),
          lambda g, o, c, a, b: O.matmul(g, _mT(b)),
          lambda g, o, c, a, b: O.matmul(_mT(a), g)),
     grad_fn="AddmmBackward0")

# ---------------------------------------------------------------------------------
# neural-network ops kept whole so the runtime shows PyTorch's nodes
# ---------------------------------------------------------------------------------


def _log_softmax(x, axis):
    return x - _logsumexp(x, (axis,), keepdims=True)


def _softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


prim("log_softmax", "nn", _log_softmax,
     vjp=(lambda g, o, x, axis: g - O.exp(o) * O.sum(g, axis, keepdims=True),), saves="out",
     grad_fn="LogSoftmaxBackward0")
prim("softmax", "nn", _softmax,
     vjp=(lambda g, o, x, axis: o * (g - O.sum(g * o, axis, keepdims=True)),), saves="out",
     grad_fn="SoftmaxBackward0")


def _nll_weights(target, n_class, weight, ignore_index):
    t = np.asarray(target)
    w = np.ones(n_class) if weight is None else np.asarray(weight, dtype=np.float64)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    return safe, np.where(valid, w[safe], 0.0)


def _nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    logp = np.asarray(logp)
    lp2 = logp.reshape(1, -1) if logp.ndim == 1 else logp
    t = np.asarray(target).reshape(-1)
    safe, w = _nll_weights(t, lp2.shape[1], weight, ignore_index)
    picked = -lp2[np.arange(lp2.shape[0]), safe] * w
    if reduction == "none":
        return picked.astype(logp.dtype).reshape(np.shape(target))
    total = picked.sum()
    if reduction == "sum":
        return np.asarray(total, dtype=logp.dtype)
    return np.asarray(total / w.sum(), dtype=logp.dtype)


def _nll_dx(g, o, logp, target, weight=None, ignore_index=-100, reduction="mean"):
    return O.apply("nll_loss_backward", g, logp, target, weight=weight,
                   ignore_index=ignore_index, reduction=reduction)


def _nll_backward(g, logp, target, weight=None, ignore_index=-100, reduction="mean"):
    logp = np.asarray(logp)
    lp2 = logp.reshape(1, -1) if logp.ndim == 1 else logp
    t = np.asarray(target).reshape(-1)
    safe, w = _nll_weights(t, lp2.shape[1], weight, ignore_index)
    g = np.asarray(g, dtype=np.float64)
    if reduction == "none":
        scale = -w * g.reshape(-1)
    elif reduction == "sum":
        scale = -w * g
    else:
        scale = -w * g / w.sum()
    out = np.zeros(lp2.shape, dtype=logp.dtype)
    out[np.arange(lp2.shape[0]), safe] = scale
    return out.reshape(logp.shape)


prim("nll_loss", "nn", _nll_loss, vjp=(_nll_dx, None), saves="in", grad_fn="NllLossBackward0")
# The backward is linear in g and independent of logp's values: its own VJP is nll_loss.
prim("nll_loss_backward", "nn", _nll_backward,
     vjp=(lambda gb, o, g, logp, target, **p: O.apply("nll_loss", gb, target, **p), None, None),
     saves="", grad_fn="NllLossBackwardBackward0")


def _mse(a, b, reduction="mean"):
    d = (np.asarray(a) - np.asarray(b)) ** 2
    return d if reduction == "none" else np.asarray(d.sum() if reduction == "sum" else d.mean(), dtype=d.dtype)


def _mse_scale(g, a, b, reduction):
    d = a - b
    if reduction == "mean":
        return g * (2.0 / O.reduced_count(d, None)) * d
    return g * 2.0 * d


prim("mse_loss", "nn", _mse,
     vjp=(lambda g, o, a, b, reduction="mean": O.sum_to(_mse_scale(g, a, b, reduction), a),
          lambda g, o, a, b, reduction="mean": O.sum_to(-_mse_scale(g, a, b, reduction), b)),
     grad_fn="MseLossBackward0")

# ---------------------------------------------------------------------------------
# convolution, pooling and batch normalisation (NumPy kernels in `symgrad.kernels`)
# ---------------------------------------------------------------------------------
from .kernels import conv as _conv, norm as _norm, pool as _pool  # noqa: E402

# conv2d(x, weight, bias) is bilinear in (x, weight); its input and weight gradients are
# bilinear too, and the VJPs of each of the three are the other two, so gradients of
# gradients (create_graph=True) stay convolutions.


def _sum_except_channels(g):
    return O.sum(g, (0,) + tuple(range(2, g.ndim)))


prim("conv2d", "nn", _conv.conv2d,
     vjp=(lambda g, o, x, w, b, **p: O.apply("conv2d_input_grad", g, w, x, **p),
          lambda g, o, x, w, b, **p: O.apply("conv2d_weight_grad", x, g, w, **p),
          lambda g, o, x, w, b, **p: _sum_except_channels(g)),
     grad_fn="ConvolutionBackward0")
prim("conv2d_input_grad", "nn", _conv.conv2d_input_grad,
     vjp=(lambda h, o, g, w, like, **p: O.apply("conv2d", h, w, None, **p),
          lambda h, o, g, w, like, **p: O.apply("conv2d_weight_grad", h, g, w, **p),
          None),
     grad_fn="ConvolutionBackwardBackward0")
prim("conv2d_weight_grad", "nn", _conv.conv2d_weight_grad,
     vjp=(lambda h, o, x, g, like, **p: O.apply("conv2d_input_grad", g, h, x, **p),
          lambda h, o, x, g, like, **p: O.apply("conv2d", x, h, None, **p),
          None),
     grad_fn="ConvolutionBackwardBackward0")

# max_pool2d's gradient routes g to each window's winner; that routing is linear in g and
# its adjoint is the gather of the winners (`max_pool2d_gather(h, x)`), and vice versa.
prim("max_pool2d", "nn", _pool.max_pool2d,
     vjp=(lambda g, o, x, **p: O.apply("max_pool2d_backward", g, x, **p),),
     grad_fn="MaxPool2DWithIndicesBackward0")
prim("max_pool2d_backward", "nn", _pool.max_pool2d_backward,
     vjp=(lambda h, o, g, x, **p: O.apply("max_pool2d_gather", h, x, **p), None),
     grad_fn="MaxPool2DWithIndicesBackwardBackward0")
prim("max_pool2d_gather", "nn", _pool.max_pool2d_gather,
     vjp=(lambda g, o, h, x, **p: O.apply("max_pool2d_backward", g, x, **p), None),
     grad_fn="MaxPool2DWithIndicesBackward0")
prim("max_pool2d_indices", "nn", _pool.max_pool2d_indices, differentiable=False, saves="")

prim("adaptive_avg_pool2d", "nn", _pool.adaptive_avg_pool2d,
     vjp=(lambda g, o, x, output_size: O.apply("adaptive_avg_pool2d_backward", g, x),),
     saves="", grad_fn="AdaptiveAvgPool2DBackward0")
prim("adaptive_avg_pool2d_backward", "nn", _pool.adaptive_avg_pool2d_backward,
     vjp=(lambda h, o, g, like: O.apply("adaptive_avg_pool2d", h, output_size=tuple(g.shape[-2:])), None),
     saves="", grad_fn="AdaptiveAvgPool2DBackwardBackward0")


def _bn_dx(g, o, x, w, b, rm, rv, training, momentum, eps):
    return O.apply("batch_norm_input_grad", g, x, w, rm, rv, training=training, eps=eps)


def _bn_dw(g, o, x, w, b, rm, rv, training, momentum, eps):
    return O.apply("batch_norm_weight_grad", g, x, rm, rv, training=training, eps=eps)


# batch_norm(x, weight, bias, running_mean, running_var): ATen's native_batch_norm, which
# updates the running buffers in place when training (their only writer).
prim("batch_norm", "nn", _norm.batch_norm,
     vjp=(_bn_dx, _bn_dw, lambda g, o, x, *a, **p: _sum_except_channels(g), None, None),
     grad_fn="NativeBatchNormBackward0")
prim("batch_norm_input_grad", "nn", _norm.batch_norm_input_grad, differentiable=False, saves="",
     grad_fn="NativeBatchNormBackwardBackward0")
prim("batch_norm_weight_grad", "nn", _norm.batch_norm_weight_grad, differentiable=False, saves="",
     grad_fn="NativeBatchNormBackwardBackward0")
