"""Name resolution: what a global, closure variable or attribute chain in user code means.

A name is a local (the front end's environment), else a closure cell, a global or a
builtin of the function being compiled. Objects are classified by identity against the
registry's Python spellings (`numpy.sin`, `math.sin`, `builtins.abs`), so `from math import
sin` and `import numpy as np` both work. Numbers become constants (frozen at compile time);
plain Python functions are inlined; everything else is refused with the user's location.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import math
import types
from dataclasses import dataclass
from numbers import Number
from typing import Any, Callable

import numpy as np

from .. import prims
from .. import ops as O

# ---------------------------------------------------------------------------- tables
# AST operator class -> primitive, from the registry's `ast.*` spellings.
AST_OPS: dict[type, str] = {}
# id(Python callable) -> primitive name, from `numpy.*`, `math.*`, `builtins.*` spellings.
CALLS: dict[int, str] = {}
# Kinds whose spellings do not mean the scalar elementwise primitive.
_NOT_SCALAR = ("reduce", "shape", "index", "linalg", "nn")


def _lookup_spelling(s: str) -> Any:
    mod, _, attr = s.rpartition(".")
    try:
        return getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError):
        return None


def _build_tables() -> None:
    for p in prims.REGISTRY.values():
        for s in p.spellings:
            if s.startswith("ast."):
                AST_OPS[getattr(ast, s[4:])] = p.name
            elif p.kind not in _NOT_SCALAR and p.kind != "cast":
                obj = _lookup_spelling(s)
                if obj is not None:
                    CALLS[id(obj)] = p.name


_build_tables()


@dataclass(frozen=True)
class Special:
    """A callable lowered by a rule instead of one primitive: `rule(b, args) -> Value`."""

    name: str
    rule: Callable[..., Any]
    nargs: tuple[int, int]      # accepted positional-argument counts (min, max)


def _fold(prim: str) -> Callable[..., Any]:
    def rule(*args: Any) -> Any:
        acc = args[0]
        for a in args[1:]:
            acc = O.apply(prim, acc, a)
        return acc
    return rule


def _cast(dtype: str) -> Callable[..., Any]:
    return lambda x: O.cast(x, dtype)


def _to_int(prim: str) -> Callable[..., Any]:
    # math.floor/ceil and 1-argument round return Python ints.
    return lambda x: O.cast(O.apply(prim, x), "i64")


def _round(x: Any, nd: Any = None) -> Any:
    if nd is None:
        return O.cast(O.apply("round", x), "i64")
    raise NotImplementedError("round(x, ndigits)")


def _clip(x: Any, lo: Any, hi: Any) -> Any:
    return O.minimum(O.maximum(x, lo), hi)


_LN2, _LN10 = math.log(2.0), math.log(10.0)

# Python callables with a lowering rule; keyed by their dotted spelling.
SPECIAL_SPELLINGS: dict[str, Special] = {
    "builtins.max": Special("max", _fold("maximum"), (2, 64)),
    "builtins.min": Special("min", _fold("minimum"), (2, 64)),
    "builtins.float": Special("float", _cast("f64"), (1, 1)),
    "builtins.int": Special("int", _cast("i64"), (1, 1)),
    "builtins.bool": Special("bool", lambda x: O.ne(x, 0), (1, 1)),
    "builtins.round": Special("round", _round, (1, 1)),
    "numpy.float64": Special("numpy.float64", _cast("f64"), (1, 1)),
    "numpy.float32": Special("numpy.float32", _cast("f32"), (1, 1)),
    "numpy.int64": Special("numpy.int64", _cast("i64"), (1, 1)),
    "math.floor": Special("math.floor", _to_int("floor"), (1, 1)),
    "math.ceil": Special("math.ceil", _to_int("ceil"), (1, 1)),
    "math.trunc": Special("math.trunc", _cast("i64"), (1, 1)),
    "numpy.square": Special("numpy.square", lambda x: x * x, (1, 1)),
    "numpy.reciprocal": Special("numpy.reciprocal", lambda x: 1.0 / x, (1, 1)),
    "math.hypot": Special("math.hypot", lambda a, b: O.sqrt(a * a + b * b), (2, 2)),
    "numpy.hypot": Special("numpy.hypot", lambda a, b: O.sqrt(a * a + b * b), (2, 2)),
    "math.log2": Special("math.log2", lambda x: O.log(x) / _LN2, (1, 1)),
    "numpy.log2": Special("numpy.log2", lambda x: O.log(x) / _LN2, (1, 1)),
    "math.log10": Special("math.log10", lambda x: O.log(x) / _LN10, (1, 1)),
    "numpy.log10": Special("numpy.log10", lambda x: O.log(x) / _LN10, (1, 1)),
    "numpy.exp2": Special("numpy.exp2", lambda x: O.exp(x * _LN2), (1, 1)),
    "math.degrees": Special("math.degrees", lambda x: x * (180.0 / math.pi), (1, 1)),
    "math.radians": Special("math.radians", lambda x: x * (math.pi / 180.0), (1, 1)),
    "numpy.clip": Special("numpy.clip", _clip, (3, 3)),
    "builtins.pow": Special("pow", lambda x, y: x ** y, (2, 2)),
    # |x| < inf is false for nan and +-inf: np.isfinite without a primitive of its own.
    "numpy.isfinite": Special("numpy.isfinite", lambda x: O.lt(O.abs(x), math.inf), (1, 1)),
    # math.* always return floats, even for int arguments.
    "math.pow": Special("math.pow", lambda x, y: O.cast(x, "f64") ** O.cast(y, "f64"), (2, 2)),
    "math.fabs": Special("math.fabs", lambda x: O.abs(O.cast(x, "f64")), (1, 1)),
}
SPECIALS: dict[int, Special] = {}
for _s, _sp in SPECIAL_SPELLINGS.items():
    _obj = _lookup_spelling(_s)
    if _obj is not None:
        SPECIALS[id(_obj)] = _sp
        CALLS.pop(id(_obj), None)

RANGE = builtins.range


# ---------------------------------------------------------------------------- resolver
class Unresolved(Exception):
    """The name is not bound anywhere the function can see."""


class Resolver:
    """Looks up non-local names of one Python function (closure, globals, builtins)."""

    def __init__(self, fn: types.FunctionType):
        self.fn = fn
        self.closure: dict[str, Any] = {}
        code = fn.__code__
        if fn.__closure__:
            for name, cell in zip(code.co_freevars, fn.__closure__):
                try:
                    self.closure[name] = cell.cell_contents
                except ValueError:  # an empty cell: defined later in the enclosing scope
                    pass
        self.globals = fn.__globals__

    def lookup(self, name: str) -> Any:
        if name in self.closure:
            return self.closure[name]
        if name in self.globals:
            return self.globals[name]
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise Unresolved(name)


def is_number(obj: Any) -> bool:
    return isinstance(obj, (Number, np.number, np.bool_)) and not isinstance(obj, complex)


def number_value(obj: Any) -> Any:
    """A Python bool/int/float for a number object (NumPy scalars included)."""
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    return float(obj)


def python_function(obj: Any) -> types.FunctionType | None:
    """The plain Python function to inline for `obj` (compiled functions included)."""
    inner = getattr(obj, "py_func", None)
    if isinstance(inner, types.FunctionType):
        return inner
    if isinstance(obj, types.FunctionType) and obj.__name__ != "<lambda>":
        return obj
    return None


def callable_name(obj: Any) -> str:
    mod = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{mod}.{name}" if mod and mod != "builtins" else name
