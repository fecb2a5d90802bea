"""Array expressions and writes (mixin of the front end): indexing, attributes, methods,
NumPy array functions, allocations and element/row writes into local arrays.

Arrays are values in the IR (docs/ir.md, "Arrays"): `out[i] = v` rebinds `out` to a
`setitem` result. That is only NumPy's meaning when no other live name can observe the
write, so writes into arguments, into views (slices, reshapes, transposes) and into an
array bound to another name as well are refused at the source line.
"""
from __future__ import annotations

import ast
import builtins
from typing import Any, Callable

import numpy as np

from .. import ir
from .. import ops as O
from .. import prims
from ..errors import CompileError, InputError


class ArgumentRankError(CompileError, InputError):
    """An argument's rank does not fit the code (raised while compiling that signature)."""

# Ops whose array result may share memory with their first operand in NumPy.
VIEW_OPS = frozenset({"getitem", "reshape", "transpose", "expand_dims", "squeeze", "expand_as"})
_DTYPES = {np.float64: "f64", np.float32: "f32", np.int64: "i64", np.bool_: "bool", float: "f64",
           int: "i64", bool: "bool", np.int32: "i64", "float64": "f64", "float32": "f32",
           "int64": "i64", "bool": "bool", "float": "f64", "int": "i64"}


def _reduction(prim: str) -> Callable[..., Any]:
    def rule(self: Any, node: ast.AST, x: Any, axis: Any = None, keepdims: Any = False) -> Any:
        if isinstance(x, ir.Value) and x.type.rank == 0 and axis is None:
            # NumPy reduces a scalar to itself (sum/prod of bool give ints, mean a float).
            d = {"mean": "float64"}.get(prim) if x.dtype in ("i64", "bool") else None
            if x.dtype == "bool" and prim in ("sum", "prod"):
                d = "int64"
            return O.cast(x, d) if d else x
        self.need_array(node, x, prim)
        return O.apply(prim, x, axis=self.static_axes(node, axis), keepdims=self.static_bool(node, keepdims))
    return rule


class ArrayMixin:
    """Needs from the host: `b`, `env`, `error`, `expr`, `python_object`, `ctx`."""

    # ------------------------------------------------------------------ helpers
    def need_array(self, node: ast.AST, v: Any, what: str) -> None:
        if not isinstance(v, ir.Value) or v.type.rank == 0:
            raise self.error(node, f"'{what}' needs an array here", CompileError)

    def static_int(self, node: ast.AST, v: Any, what: str) -> int:
        if isinstance(v, ir.Const) and v.dtype in ("i64", "bool"):
            return int(v.value)
        if isinstance(v, (int, np.integer)):
            return int(v)
        raise self.error(node, f"{what} must be a constant integer", CompileError)

    def static_axes(self, node: ast.AST, axis: Any) -> Any:
        if axis is None or (isinstance(axis, ir.Const) and axis.value is None):
            return None
        if isinstance(axis, tuple):
            return tuple(self.static_int(node, a, "axis") for a in axis)
        return (self.static_int(node, axis, "axis"),)

    def static_bool(self, node: ast.AST, v: Any) -> bool:
        if isinstance(v, ir.Const):
            return bool(v.value)
        if isinstance(v, bool):
            return v
        raise self.error(node, "keepdims must be a constant True/False", CompileError)

    def shape_values(self, node: ast.AST, shape: Any) -> tuple:
        vals = shape if isinstance(shape, tuple) else (shape,)
        for v in vals:
            if not isinstance(v, ir.Value) or v.type.rank or v.dtype not in ("i64", "bool"):
                raise self.error(node, "array sizes must be integers", CompileError)
        return vals

    def dtype_of(self, node: ast.AST, kw: dict, default: str) -> str:
        if "dtype" not in kw:
            return default
        d = kw.pop("dtype")
        if isinstance(d, str) and d in _DTYPES:
            return _DTYPES[d]
        key = d if isinstance(d, (str, type)) else getattr(d, "type", d)
        if key in _DTYPES:
            return _DTYPES[key]
        raise self.error(node, f"unsupported dtype {d!r} (use float64, float32, int64 or bool)", CompileError)

    # ------------------------------------------------------------------ indexing
    def _subscript(self, node: ast.Subscript) -> Any:
        base = self.expr(node.value)
        if isinstance(base, tuple):  # x.shape[0]
            k = self.static_int(node.slice, self.expr(node.slice), "a tuple index")
            try:
                return base[k]
            except IndexError:
                raise self.error(node, f"tuple index {k} out of range", CompileError) from None
        if not isinstance(base, ir.Value) or base.type.rank == 0:
            raise self.error(node, "only arrays can be indexed in compiled code", CompileError)
        index, ops = self.index_template(node.slice, base)
        try:
            out = O.getitem(base, index, *ops)
        except ValueError as e:
            raise self.error(node, str(e), CompileError) from None
        if out.type.rank and not any(o.type.rank for o in ops):
            self.views[out] = self.root(base)
        return out

    def index_template(self, sl: ast.expr, base: ir.Value, write: bool = False) -> tuple[tuple, list]:
        elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        index: list = []
        ops: list = []
        for e in elts:
            if isinstance(e, ast.Slice):
                parts = [None if p is None else self.index_scalar(p, ops, allow_none=True)
                         for p in (e.lower, e.upper, e.step)]
                if isinstance(parts[2], int) and parts[2] == 0:
                    raise self.error(e, "slice step cannot be zero", CompileError)
                if parts[2] is not None and not isinstance(parts[2], int):
                    raise self.error(e, "slice steps must be constant integers", CompileError)
                index.append(prims.SliceT(parts))
            elif isinstance(e, ast.Constant) and e.value is Ellipsis:
                raise self.error(e, "'...' (Ellipsis) in indices is not supported", CompileError)
            else:
                v = self.index_scalar(e, ops, allow_none=True, allow_array=not write)
                index.append(v)
        used = sum(1 for i in index if i is not None)
        if used > base.type.rank:
            msg = f"too many indices ({used}) for an array of rank {base.type.rank}"
            arg = self.root(base)
            if arg in self.b.block.args or any(arg is a for a in self.arg_values):
                # The code is fine for another rank: the caller passed the wrong array.
                raise ArgumentRankError(f"argument '{arg.name}' has rank {base.type.rank} but the "
                                        f"code indexes it with {used} indices ({msg})", self.loc(sl))
            raise self.error(sl, msg, CompileError)
        return tuple(index), ops

    def index_scalar(self, e: ast.expr, ops: list, *, allow_none: bool = False,
                     allow_array: bool = False) -> Any:
        if isinstance(e, ast.Attribute) and not self.is_value_expr(e):
            obj = self.python_object(e)
            if obj is None and allow_none:
                return None
        if isinstance(e, ast.Constant) and e.value is None and allow_none:
            return None
        v = self.expr(e)
        if not isinstance(v, ir.Value):
            raise self.error(e, "indices must be integers, slices or integer arrays", CompileError)
        if v.type.rank:
            if v.dtype == "bool":
                raise self.error(e, "boolean masks are not supported in compiled code (use np.where)",
                                 CompileError)
            if v.dtype != "i64":
                raise self.error(e, "index arrays must be integer arrays", CompileError)
            if not allow_array:
                raise self.error(e, "writes with integer-array indices are not supported (repeated "
                                    "indices would be ambiguous); write in a loop", CompileError)
            ops.append(v)
            return prims.IndexArg(len(ops) - 1)
        if v.dtype not in ("i64",):
            raise self.error(e, f"indices must be integers, got {v.dtype}", CompileError)
        if isinstance(v, ir.Const):
            return int(v.value)
        ops.append(v)
        return prims.IndexArg(len(ops) - 1)

    # ------------------------------------------------------------------ aliasing
    def root(self, v: ir.Value) -> ir.Value:
        while v in self.views:
            v = self.views[v]
        return v

    def _chain(self, v: ir.Value) -> set:
        out = set()
        while isinstance(v, ir.Value) and v not in out:
            out.add(v)
            v = self.carried_init.get(v)
        return out

    def check_writable(self, target: ast.Name, v: ir.Value) -> None:
        name = target.id
        if v in self.views:
            raise self.error(target, f"'{name}' is a view (slice, reshape or transpose) of another "
                                     "array; writing into it is not supported (make a copy first)",
                             CompileError)
        chain = self._chain(v)
        if chain & self.readonly:
            raise self.error(target, f"'{name}' is a function argument (or aliases one); writing into "
                                     "arguments is not supported (make a copy first: y = x.copy())",
                             CompileError)
        for env in [self.env] + [e for e, _ in self.saved_envs]:
            for other, w in env.items():
                if other == name and env is self.env:
                    continue
                if isinstance(w, ir.Value) and w.type.rank and (w in chain or self.root(w) in chain):
                    raise self.error(target, f"'{name}' shares its array with '{other}'; writes "
                                             "through aliases are not supported (make a copy)",
                                     CompileError)

    # ------------------------------------------------------------------ writes
    def store_subscript(self, target: ast.Subscript, value_fn: Callable[[Any], Any]) -> None:
        """`name[index] = value_fn(old)`: old is the current selection (for augmented writes)."""
        if not isinstance(target.value, ast.Name):
            raise self.error(target, "only writes into local array names are supported "
                                     "(x[i] = v, x[i, :] += v)", CompileError)
        name = target.value.id
        arr = self.read_name(name, target.value)
        if not isinstance(arr, ir.Value) or arr.type.rank == 0:
            raise self.error(target, f"'{name}' is not an array; cannot assign to its elements",
                             CompileError)
        self.check_writable(target.value, arr)
        index, ops = self.index_template(target.slice, arr, write=True)
        sel = O.getitem(arr, index, *ops)
        v = value_fn(sel)
        if not isinstance(v, ir.Value) or isinstance(v, tuple):
            raise self.error(target, "the value written must be a number or an array", CompileError)
        if v.type.rank > sel.type.rank:
            raise self.error(target, f"cannot write a rank-{v.type.rank} value into a rank-"
                                     f"{sel.type.rank} selection", CompileError)
        new = O.apply("setitem", arr, v, *ops, index=index)
        new.name = name
        self.env[name] = new

    # ------------------------------------------------------------------ attributes and methods
    def is_value_expr(self, node: ast.expr) -> bool:
        """True when `node` denotes a compiled value (not a module/global attribute chain)."""
        while isinstance(node, ast.Attribute):
            node = node.value
        return not isinstance(node, ast.Name) or node.id in self.env or node.id in self.ctx.locals

    def value_attribute(self, node: ast.Attribute) -> Any:
        v = self.expr(node.value)
        if not isinstance(v, ir.Value):
            raise self.error(node, f"attribute '{node.attr}' of a tuple is not supported", CompileError)
        a = node.attr
        if a == "shape":
            return v.shape
        if a == "ndim":
            return ir.Const(v.type.rank)
        if a == "size":
            n: Any = ir.Const(1)
            for d in v.shape:
                n = n * d
            return n
        if a == "T":
            out = O.transpose(v) if v.type.rank > 1 else v
            if out is not v:
                self.views[out] = self.root(v)
            return out
        raise self.error(node, f"attribute '{a}' of a value is not supported in compiled code")

    def method_call(self, node: ast.Call) -> Any:
        func = node.func
        v = self.expr(func.value)
        args, kw = self.call_args(node)
        m = func.attr
        rule = METHODS.get(m)
        if rule is None or not isinstance(v, ir.Value):
            raise self.error(node, f"method '{m}' is not supported in compiled code", CompileError)
        return self.run_rule(node, rule, (v, *args), kw, m)

    def call_args(self, node: ast.Call) -> tuple[list, dict]:
        def val(a: ast.expr) -> Any:
            return None if isinstance(a, ast.Constant) and a.value is None else self.expr(a)
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise self.error(node, "*args/**kwargs in calls are not supported in compiled code")
        args = [val(a) for a in node.args]
        kw = {k.arg: self.dtype_object(k.value) if k.arg == "dtype" else val(k.value)
              for k in node.keywords}
        return args, kw

    def dtype_object(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        return self.python_object(node)

    def run_rule(self, node: ast.AST, rule: Callable[..., Any], args: tuple, kw: dict, what: str) -> Any:
        try:
            out = rule(self, node, *args, **kw)
        except TypeError as e:
            raise self.error(node, f"bad call to '{what}': {e}", CompileError) from None
        except ValueError as e:
            raise self.error(node, f"'{what}': {e}", CompileError) from None
        return out

    def array_call(self, node: ast.Call, rule: Callable[..., Any], fname: str) -> Any:
        if fname.endswith("array") or fname.endswith("asarray"):
            return self.run_rule(node, _np_array, (node,), {}, fname)
        args, kw = self.call_args(node)
        return self.run_rule(node, rule, tuple(args), kw, fname)


# ---------------------------------------------------------------------- rules (data)
def _reshape(self, node, x, *shape, order="C"):
    self.need_array(node, x, "reshape")
    if len(shape) == 1 and isinstance(shape[0], tuple):
        shape = shape[0]
    dims = self.shape_values(node, tuple(shape))
    if sum(1 for d in dims if isinstance(d, ir.Const) and d.value == -1) > 1:
        raise ValueError("can only specify one unknown dimension")
    out = O.reshape(x, dims)
    self.views[out] = self.root(x)
    return out


def _transpose(self, node, x, *axes):
    self.need_array(node, x, "transpose")
    if len(axes) == 1 and isinstance(axes[0], tuple):
        axes = axes[0]
    ax = tuple(self.static_int(node, a, "axes") for a in axes) or None
    if ax is not None and sorted(a % x.type.rank for a in ax) != list(range(x.type.rank)):
        raise ValueError("axes must be a permutation")
    out = O.transpose(x, ax)
    self.views[out] = self.root(x)
    return out


def _matmul(self, node, a, b):
    for v in (a, b):
        if not isinstance(v, ir.Value) or v.type.rank not in (1, 2):
            raise ValueError("matmul/dot need 1-D or 2-D arrays (scalars: use *)")
    return O.matmul(a, b)


def _dot(self, node, a, b):
    if isinstance(a, ir.Value) and isinstance(b, ir.Value) and (a.type.rank == 0 or b.type.rank == 0):
        return a * b  # np.dot with a scalar is a product
    return _matmul(self, node, a, b)


def _alloc(fill: Any) -> Callable[..., Any]:
    def rule(self, node, shape, *rest, dtype=None):
        kw = {} if dtype is None else {"dtype": dtype}
        value = rest[0] if fill == "arg" else fill
        if fill == "arg" and len(rest) != 1:
            raise TypeError("np.full(shape, value) takes two arguments")
        if fill != "arg" and rest:
            raise TypeError("the only positional argument is the shape")
        default = value.dtype if fill == "arg" and isinstance(value, ir.Value) else "f64"
        d = self.dtype_of(node, kw, default)
        dims = self.shape_values(node, shape)
        return self.b.op("full", value, *dims, dtype=d)
    return rule


def _alloc_like(fill: Any) -> Callable[..., Any]:
    def rule(self, node, like, *rest, dtype=None):
        self.need_array(node, like, "zeros_like")
        kw = {} if dtype is None else {"dtype": dtype}
        value = rest[0] if fill == "arg" else fill
        d = self.dtype_of(node, kw, like.dtype)
        return self.b.op("full", value, *like.shape, dtype=d)
    return rule


def _np_array(self, node, call):
    if len(call.args) != 1 or not isinstance(call.args[0], (ast.List, ast.Tuple)) or call.keywords and \
            any(k.arg != "dtype" for k in call.keywords):
        raise self.error(call, "np.array(...) is supported for a literal list of scalars only "
                               "([e0, e1, ...])", CompileError)
    elts = [self.expr(e) for e in call.args[0].elts]
    if not elts or any(not isinstance(e, ir.Value) or e.type.rank for e in elts):
        raise self.error(call, "np.array([...]) needs a non-empty list of scalars (lists of arrays: "
                               "use np.stack)", CompileError)
    kw = {k.arg: self.dtype_object(k.value) for k in call.keywords}
    d = self.dtype_of(call, kw, ir.common_dtype(elts))
    elts = [self.b.coerce(e, d) for e in elts]
    return O.apply("stack", *elts, axis=0)


def _squeeze(self, node, x, axis=None):
    self.need_array(node, x, "squeeze")
    if axis is None:
        raise ValueError("np.squeeze needs axis= in compiled code (sizes are runtime values)")
    return O.squeeze(x, self.static_axes(node, axis))


def _expand_dims(self, node, x, axis):
    return O.expand_dims(x, self.static_axes(node, axis))


def _copy(self, node, x):
    return O.apply("copy", x) if isinstance(x, ir.Value) and x.type.rank else x


def _len(self, node, x):
    if isinstance(x, tuple):
        return ir.Const(len(x))
    self.need_array(node, x, "len")
    return x.shape[0]


def _astype(self, node, x, dtype):
    return O.cast(x, ir.TO_NUMPY[self.dtype_of(node, {"dtype": dtype}, x.dtype)])


def _stack_like(prim: str) -> Callable[..., Any]:
    def rule(self, node, xs, axis=ir.Const(0)):
        if not isinstance(xs, tuple) or not xs:
            raise TypeError(f"np.{prim} takes a tuple of arrays")
        return O.apply(prim, *xs, axis=self.static_int(node, axis, "axis"))
    return rule


_REDUCTIONS = {n: _reduction(p) for n, p in (("sum", "sum"), ("mean", "mean"), ("max", "max"),
                                            ("min", "min"), ("prod", "prod"), ("amax", "max"),
                                            ("amin", "min"))}
METHODS: dict[str, Callable[..., Any]] = dict(
    _REDUCTIONS, reshape=_reshape, transpose=_transpose, dot=_dot, copy=_copy, astype=_astype,
    squeeze=_squeeze)
# NumPy callables (by identity) -> rule.
_NP_RULES: dict[Any, Callable[..., Any]] = {
    np.sum: _REDUCTIONS["sum"], np.mean: _REDUCTIONS["mean"], np.max: _REDUCTIONS["max"],
    np.min: _REDUCTIONS["min"], np.amax: _REDUCTIONS["max"], np.amin: _REDUCTIONS["min"],
    np.prod: _REDUCTIONS["prod"], np.matmul: _matmul, np.dot: _dot, np.reshape: _reshape,
    np.transpose: _transpose, np.zeros: _alloc(0), np.ones: _alloc(1), np.empty: _alloc(0),
    np.full: _alloc("arg"), np.zeros_like: _alloc_like(0), np.ones_like: _alloc_like(1),
    np.empty_like: _alloc_like(0), np.full_like: _alloc_like("arg"), np.array: _np_array,
    np.copy: _copy, builtins.len: _len, np.stack: _stack_like("stack"),
    np.concatenate: _stack_like("concatenate"), np.squeeze: _squeeze, np.expand_dims: _expand_dims,
}
ARRAY_CALLS: dict[int, Callable[..., Any]] = {id(k): v for k, v in _NP_RULES.items()}
REFUSED_CALLS: dict[int, str] = {id(np.einsum): "np.einsum is not supported in compiled code"}
