"""`compile_grad` and `CompiledFunction`: lazy compilation per signature, dispatch, inspect.

A signature is the IR type of each argument (int vs float scalars; dtype and rank of
arrays once arrays are supported). Arguments are checked in Python before native code is
entered; a bad one raises `InputError` naming it.
"""
from __future__ import annotations

import functools
import inspect as _inspect
import threading
import types
from numbers import Integral, Real
from typing import Any, Callable, Sequence

import numpy as np

from . import ir
from .errors import CompileError, InputError, Loc
from .pipeline import STAGES, Compiled, Options, compile_signature, signature_text

_NP_KIND = {"f": {4: "f32", 8: "f64"}, "i": {8: "i64", 4: "i64", 2: "i64", 1: "i64"},
            "u": {1: "i64", 2: "i64", 4: "i64"}, "b": {1: "bool"}}


def _arg_type(name: str, v: Any, fname: str) -> ir.Type:
    """The IR type of one argument value (scalars only for now)."""
    if isinstance(v, (bool, np.bool_)):
        return ir.BOOL
    if isinstance(v, (Integral, np.integer)):
        return ir.I64
    if isinstance(v, (np.floating, np.ndarray)) or hasattr(v, "dtype"):
        arr = np.asarray(getattr(v, "_data", v))
        if arr.ndim:
            raise InputError(f"{fname}(): argument {name!r} is an array of shape {arr.shape}; "
                             "compiled functions take scalars for now")
        d = _NP_KIND.get(arr.dtype.kind, {}).get(arr.dtype.itemsize)
        if d is None:
            raise InputError(f"{fname}(): argument {name!r} has unsupported dtype {arr.dtype}")
        return ir.Type(d)
    if isinstance(v, Real):
        return ir.F64
    raise InputError(f"{fname}(): argument {name!r} must be a number, got {type(v).__name__}")


def _grad_tensors(sig: _inspect.Signature, args: tuple, kwargs: dict) -> dict | None:
    """None without Tensor arguments; else the Tensors that require grad (grad mode on), by name."""
    values = list(args) + list(kwargs.values())
    if not any(hasattr(v, "requires_grad") and hasattr(v, "grad_fn") for v in values):
        return None
    from .runtime import grad_mode
    if not grad_mode.is_grad_enabled():
        return {}
    bound = sig.bind(*args, **kwargs)
    return {k: v for k, v in bound.arguments.items() if getattr(v, "requires_grad", False)}


def _scalar(v: Any) -> Any:
    if isinstance(v, np.ndarray) or hasattr(v, "_data"):
        return np.asarray(getattr(v, "_data", v)).item()
    return v.item() if isinstance(v, np.generic) else v


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

    # ------------------------------------------------------------------ dispatch
    def _bind(self, args: tuple, kwargs: dict) -> tuple[list, tuple]:
        try:
            bound = self._sig.bind(*args, **kwargs)
        except TypeError as e:
            raise InputError(f"{self.__name__}(): {e}") from None
        bound.apply_defaults()
        vals, sig = [], []
        for name in self._params:
            v = bound.arguments[name]
            t = _arg_type(name, v, self.__name__)
            if self.wrt is not None and name in self.wrt and not t.is_float:
                if t == ir.BOOL:
                    raise InputError(f"{self.__name__}(): argument {name!r} is differentiated "
                                     "(wrt) but is a bool")
                t = ir.F64  # an int given for a differentiated argument is taken as a float
                v = float(v)
            vals.append(_scalar(v))
            sig.append(t)
        return vals, tuple(sig)

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
        vals, sig = self._bind(args, kwargs)
        c = self._get(sig)
        if c.joint is None:
            raise InputError(f"{self.__name__}(): nothing to differentiate: no float argument "
                             f"(signature {signature_text(sig)}); pass floats or use wrt=")
        self._stats["calls"] += 1
        return c.joint(*vals)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        vals, sig = self._bind(args, kwargs)
        self._stats["calls"] += 1
        tensors = _grad_tensors(self._sig, args, kwargs)
        if tensors is not None:
            return self._tensor_call(vals, sig, tensors)
        return self._get(sig).forward(*vals)[0]

    def _tensor_call(self, vals: list, sig: tuple, tensors: dict) -> Any:
        """Called with Tensors that require grad: one node `CompiledFunctionBackward`."""
        from .runtime.autograd import CustomNode
        from .runtime.tensor import Tensor
        c = self._get(sig)
        pos = [i for i in c.wrt if self._params[i] in tensors]
        if c.joint is None or not pos:
            value = c.forward(*vals)[0]
            return Tensor._wrap(np.asarray(value, dtype=ir.TO_NUMPY[c.forward_result_dtype()]))
        value, *grads = c.joint(*vals)
        grads = [grads[c.wrt.index(i)] for i in pos]
        inputs = [tensors[self._params[i]] for i in pos]
        out = Tensor._wrap(np.asarray(value, dtype=ir.TO_NUMPY[c.joint_result_dtype(0)]))

        def backward(g: Any) -> list:
            return [g * float(d) for d in grads]
        out.grad_fn = CustomNode("CompiledFunctionBackward", backward, inputs)
        out._requires_grad = True
        return out

    def grad(self, *args: Any, **kwargs: Any) -> Any:
        """Gradient w.r.t. `wrt` (one value for one argument, else a tuple in wrt order)."""
        res = self._joint(args, kwargs)
        return res[1] if len(res) == 2 else tuple(res[1:])

    def value_and_grad(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """(value, gradient), computed in one native call."""
        res = self._joint(args, kwargs)
        return res[0], (res[1] if len(res) == 2 else tuple(res[1:]))

    def vjp(self, *args: Any, cotangent: float = 1.0, **kwargs: Any) -> Any:
        """Cotangent times the gradient (scalar outputs)."""
        g = self.grad(*args, **kwargs)
        return tuple(cotangent * x for x in g) if isinstance(g, tuple) else cotangent * g

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
        parts = [p.strip() for p in s.split(",")] if isinstance(s, str) else list(s)
        names = {"f64": ir.F64, "float64": ir.F64, "float": ir.F64, "f32": ir.F32, "float32": ir.F32,
                 "i64": ir.I64, "int64": ir.I64, "int": ir.I64, "bool": ir.BOOL}
        try:
            sig = tuple(p if isinstance(p, ir.Type) else names[p if isinstance(p, str) else p.__name__]
                        for p in parts)
        except (KeyError, AttributeError):
            raise InputError(f"bad signature {s!r}: use dtype names like 'f64, i64'") from None
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


def compile_module(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("compile_module is not implemented yet")
