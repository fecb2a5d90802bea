"""`compile_grad` and `CompiledFunction`: lazy compilation per signature, dispatch, inspect.

A signature is the IR type of each argument (int vs float scalars; dtype and rank of
arrays once arrays are supported). Arguments are checked in Python before native code is
entered; a bad one raises `InputError` naming it.
"""
from __future__ import annotations

import functools
import re
import inspect as _inspect
import threading
import types
from numbers import Integral, Real
from typing import Any, Callable, Sequence

import numpy as np

from . import ir
from .errors import CompileError, InputError, Loc
from .pipeline import STAGES, Compiled, Options, compile_signature, signature_text, vjp_function
from .runtime import compiled as _compiled

_NP_KIND = {"f": {4: "f32", 8: "f64"}, "i": {8: "i64", 4: "i64", 2: "i64", 1: "i64"},
            "u": {1: "i64", 2: "i64", 4: "i64"}, "b": {1: "bool"}}


def _arg_type(name: str, v: Any, fname: str) -> ir.Type:
    """The IR type of one argument value: dtype, plus rank for arrays (sizes stay dynamic)."""
    if isinstance(v, (bool, np.bool_)):
        return ir.BOOL
    if isinstance(v, (Integral, np.integer)):
        # Checked here for every back end: numpy_exec would raise OverflowError, ctypes wrap.
        if not -(1 << 63) <= int(v) < (1 << 63):
            raise InputError(f"{fname}(): argument {name!r} = {int(v)} does not fit in int64")
        return ir.I64
    if isinstance(v, (np.floating, np.ndarray)) or hasattr(v, "dtype"):
        arr = np.asarray(getattr(v, "_data", v))
        d = _NP_KIND.get(arr.dtype.kind, {}).get(arr.dtype.itemsize)
        if d is None:
            raise InputError(f"{fname}(): argument {name!r} has unsupported dtype {arr.dtype} "
                             "(use float64, float32, int64 or bool)")
        return ir.Type(d, arr.ndim)
    if isinstance(v, Real):
        return ir.F64
    raise InputError(f"{fname}(): argument {name!r} must be a number, got {type(v).__name__}")


def _scalar(v: Any) -> Any:
    """A scalar as a Python number; an array as a NumPy array (the back end checks layout)."""
    if isinstance(v, np.ndarray) or hasattr(v, "_data"):
        arr = np.asarray(getattr(v, "_data", v))
        return arr if arr.ndim else arr.item()
    return v.item() if isinstance(v, np.generic) else v


def _fast_key(args: tuple) -> tuple:
    """A dispatch key: (dtype, ndim) per ndarray, the type of anything else. Only keys made of
    ndarrays and Python floats are ever stored (`_fast_ok`)."""
    return tuple([(a.dtype, a.ndim) if type(a) is _ND else type(a) for a in args])


def _fast_ok(key: tuple) -> bool:
    return all(k is float or type(k) is tuple for k in key)


_ND = np.ndarray


class CompiledFunction:
    """A Python function compiled on first call per signature (value, grad, inspect)."""

    def __init__(self, fn: types.FunctionType, *, wrt: Sequence[str] | str | None = None,
                 simplify: Any = "auto", cache: bool = True, boundscheck: bool = True,
                 fastmath: bool = False, backend: str = "auto"):
        if not isinstance(fn, types.FunctionType):
            raise TypeError(f"compile_grad needs a Python function, got {type(fn).__name__}")
        if simplify not in ("auto", True, False):
            raise ValueError("simplify must be 'auto', True or False")
        if backend not in ("auto", "native", "numpy"):
            raise ValueError("backend must be 'auto', 'native' or 'numpy'")
        functools.update_wrapper(self, fn)
        self.py_func = fn
        self._sig = _inspect.signature(fn)
        self._params = list(self._sig.parameters)
        for p in self._sig.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                from .frontend import load_function, parameters
                parameters(load_function(fn).fdef, load_function(fn))  # raises, located
        if isinstance(wrt, str):
            wrt = (wrt,)
        if wrt is not None:
            wrt = tuple(wrt)
            bad = [w for w in wrt if w not in self._params]
            if bad or len(set(wrt)) != len(wrt) or not wrt:
                code = fn.__code__
                what = f"unknown argument(s) {', '.join(map(repr, bad))}" if bad else \
                    "repeated or empty names"
                raise CompileError(f"compile_grad(wrt=...) of '{fn.__name__}': {what}; its "
                                   f"arguments are {', '.join(self._params)}",
                                   Loc(code.co_filename, code.co_firstlineno, 0))
        self.wrt = wrt
        self.options = Options(simplify=simplify, cache=cache, boundscheck=boundscheck,
                               fastmath=fastmath, backend=backend)
        self._compiled: dict[tuple, Compiled] = {}
        self._last: tuple | None = None
        self._lock = threading.Lock()
        self._stats = {"compiles": 0, "cache_hits": 0, "calls": 0}
        self._fast: dict[tuple, Compiled] = {}      # value_and_grad/grad: entries have a joint
        self._fast_fwd: dict[tuple, Compiled] = {}  # __call__
        self._try_vg: Callable[..., Any] | None = None  # the last native signature's entry
        self._try_sig: tuple | None = None

    # ------------------------------------------------------------------ dispatch
    def _bind(self, args: tuple, kwargs: dict) -> tuple[list, tuple]:
        try:
            bound = self._sig.bind(*args, **kwargs)
        except TypeError as e:
            raise InputError(self._bind_error(args, kwargs, e)) from None
        bound.apply_defaults()
        vals, sig = [], []
        for name in self._params:
            v = bound.arguments[name]
            t = _arg_type(name, v, self.__name__)
            if self.wrt is not None and name in self.wrt and not t.is_float:
                if t.dtype == "bool":
                    raise InputError(f"{self.__name__}(): argument {name!r} is differentiated "
                                     "(wrt) but is a bool")
                # An int given for a differentiated argument is taken as a float.
                if t.rank:
                    t, v = ir.Type("f64", t.rank), np.asarray(getattr(v, "_data", v), dtype=np.float64)
                else:
                    t, v = ir.F64, float(v)
            vals.append(_scalar(v))
            sig.append(t)
        return vals, tuple(sig)

    def _bind_error(self, args: tuple, kwargs: dict, err: TypeError) -> str:
        """Python's wording, naming the parameters: `f(x, n) takes 2 arguments but 3 were
        given`, `f(x, n) is missing argument 'n'`."""
        head = f"{self.__name__}({', '.join(self._params)})"
        positional = [p for p in self._sig.parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(args) > len(positional):
            return f"{head} takes {len(positional)} positional arguments but {len(args)} were given"
        missing = [p.name for p in positional[len(args):]
                   if p.name not in kwargs and p.default is p.empty]
        if missing:
            return f"{head} is missing argument{'s' if len(missing) > 1 else ''} " + \
                ", ".join(repr(m) for m in missing)
        return f"{self.__name__}(): {err}"

    def _wrt_positions(self, sig: tuple) -> list[int]:
        if self.wrt is not None:
            return [self._params.index(w) for w in self.wrt]
        return [i for i, t in enumerate(sig) if t.is_float]

    def _get(self, sig: tuple) -> Compiled:
        c = self._compiled.get(sig)
        if c is None:
            with self._lock:
                c = self._compiled.get(sig)
                if c is None:
                    c = compile_signature(self.py_func, sig, self._wrt_positions(sig), self.options)
                    self._compiled[sig] = c
                    self._stats["compiles"] += 1
                    self._stats["cache_hits"] += c.cache_hits
        self._last = sig
        return c

    def _joint(self, args: tuple, kwargs: dict) -> tuple:
        out = None
        if kwargs and "out" in kwargs and "out" not in self._params:
            kwargs = dict(kwargs)
            out = kwargs.pop("out")  # gradient buffers, written in place (native arrays)
        if not kwargs:
            c = self._fast.get(_fast_key(args))
            if c is not None:  # dispatch by (dtype, ndim) / float: no signature binding
                self._stats["calls"] += 1
                self._last = c.signature
                return c.joint(*args) if out is None else c.joint(*args, out=out)
        vals, sig = self._bind(args, kwargs)
        c = self._get(sig)
        if c.joint is None:
            if c.primal_ir is not None and c.primal_ir.result_types[0].rank:
                raise InputError(f"{self.__name__}(): it returns an array "
                                 f"({c.primal_ir.result_types[0]}); gradients need a scalar result")
            raise InputError(f"{self.__name__}(): nothing to differentiate: no float argument "
                             f"(signature {signature_text(sig)}); pass floats or use wrt=")
        self._stats["calls"] += 1
        if self._remember(self._fast, args, kwargs, c):
            self._try_vg = getattr(c.joint, "try_value_and_grad", None)
            self._try_sig = c.signature
        return c.joint(*vals) if out is None else c.joint(*vals, out=out)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            c = self._fast_fwd.get(_fast_key(args))
            if c is not None:  # the same dispatch as value_and_grad's
                self._stats["calls"] += 1
                self._last = c.signature
                return c.forward(*args)[0]
        if _compiled.has_tensor(args, kwargs):  # Tensors: a node in the autograd graph
            self._stats["calls"] += 1
            return _compiled.call(self, args, kwargs)
        vals, sig = self._bind(args, kwargs)
        self._stats["calls"] += 1
        c = self._get(sig)
        self._remember(self._fast_fwd, args, kwargs, c)
        return c.forward(*vals)[0]

    def _remember(self, table: dict, args: tuple, kwargs: dict, c: Compiled) -> bool:
        """Record `c` under the (dtype, ndim) key of `args` when calls like this one may skip
        binding (positional ndarrays and floats only, native code); True when recorded."""
        if kwargs or c.backend != "native" or len(args) != len(self._params):
            return False
        key = _fast_key(args)
        if not _fast_ok(key):
            return False
        table[key] = c
        return True

    def grad(self, *args: Any, **kwargs: Any) -> Any:
        """Gradient w.r.t. `wrt` (one value for one argument, else a tuple in wrt order)."""
        return self.value_and_grad(*args, **kwargs)[1]

    def value_and_grad(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """(value, gradient), computed in one native call."""
        t = self._try_vg
        if t is not None and not kwargs:  # a training loop's hot path: one generated function
            try:
                r = t(*args)
            except TypeError:  # another argument count: the general path says what is wrong
                r = None
            if r is not None:
                self._stats["calls"] += 1
                self._last = self._try_sig
                return r
        res = self._joint(args, kwargs)
        return res[0], (res[1] if len(res) == 2 else tuple(res[1:]))

    def vjp(self, *args: Any, cotangent: Any = 1.0, **kwargs: Any) -> Any:
        """Cotangent times the Jacobian: gradients in wrt order (array results take an array
        cotangent, broadcast to the result's shape)."""
        vals, sig = self._bind(args, kwargs)
        c = self._get(sig)
        if c.primal_ir is None or not c.primal_ir.result_types[0].rank:
            g = self.grad(*args, **kwargs)
            return tuple(cotangent * x for x in g) if isinstance(g, tuple) else cotangent * g
        if not c.wrt:
            raise InputError(f"{self.__name__}(): nothing to differentiate (signature {signature_text(sig)})")
        value = np.asarray(c.forward(*vals)[0])
        try:
            ct = np.ascontiguousarray(np.broadcast_to(np.asarray(cotangent, dtype=value.dtype), value.shape))
        except ValueError:
            raise InputError(f"{self.__name__}.vjp(): cotangent of shape {np.shape(cotangent)} does not "
                             f"match the result's shape {value.shape}") from None
        self._stats["calls"] += 1
        res = vjp_function(c)(*vals, ct)
        return res[1] if len(res) == 2 else tuple(res[1:])

    # ------------------------------------------------------------------ inspection
    def inspect(self, stage: str = "ssa", signature: Any = None) -> str:
        """The text of one compilation stage: source, ssa, adjoint, python, sympy, llvm, llvm-opt, asm."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
        if signature is None:
            if self._last is None:
                raise InputError(f"{self.__name__} has not been compiled yet: call it once, or pass "
                                 "signature='f64, f64'")
            sig = self._last
        else:
            sig = self._parse_signature(signature)
        return self._get(sig).stage(stage)

    def _parse_signature(self, s: Any) -> tuple:
        # "f64[:,:], i64": split on commas outside brackets; the colons give the rank.
        parts = re.findall(r"\s*([^,\[\]]+(?:\[[:,\s]*\])?)\s*(?:,|$)", s) if isinstance(s, str) else list(s)
        names = {"f64": ir.F64, "float64": ir.F64, "float": ir.F64, "f32": ir.F32, "float32": ir.F32,
                 "i64": ir.I64, "int64": ir.I64, "int": ir.I64, "bool": ir.BOOL}

        def one(p: Any) -> ir.Type:
            if isinstance(p, ir.Type):
                return p
            if not isinstance(p, str):
                return names[p.__name__]
            base, _, dims = p.strip().partition("[")
            return ir.Type(names[base.strip()].dtype, dims.count(":"))
        try:
            sig = tuple(one(p) for p in parts if not isinstance(p, str) or p.strip())
        except (KeyError, AttributeError):
            raise InputError(f"bad signature {s!r}: use dtype names like 'f64[:], i64'") from None
        if len(sig) != len(self._params):
            raise InputError(f"signature {s!r} has {len(sig)} types; {self.__name__} takes {len(self._params)}")
        return sig

    @property
    def signatures(self) -> list[str]:
        return [signature_text(s) for s in self._compiled]

    @property
    def stats(self) -> dict[str, Any]:
        per = {signature_text(s): {"backend": c.backend, "cache_hits": c.cache_hits,
                                   "seconds": dict(c.times)} for s, c in self._compiled.items()}
        return dict(self._stats, signatures=per)

    def __repr__(self) -> str:
        return f"<symgrad.CompiledFunction {self.__qualname__} signatures={self.signatures}>"


def compile_grad(fn: Callable | None = None, *, wrt: Sequence[str] | str | None = None,
                 simplify: Any = "auto", cache: bool = True, boundscheck: bool = True,
                 fastmath: bool = False, backend: str = "auto") -> Any:
    """Compile `fn` into native value and gradient code; works as `@compile_grad` or `@compile_grad(...)`."""
    def wrap(f: Callable) -> CompiledFunction:
        return CompiledFunction(f, wrt=wrt, simplify=simplify, cache=cache, boundscheck=boundscheck,
                                fastmath=fastmath, backend=backend)
    return wrap if fn is None else wrap(fn)


from .runtime.compiled_module import compile_module  # noqa: E402,F401  (the nn.Module front door)
