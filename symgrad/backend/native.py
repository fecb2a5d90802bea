"""`NativeFunction`: a JIT-ed function called through ctypes (which releases the GIL).

Arguments are checked in Python before native code is entered (an int64 that does not
fit, a string where a float goes: `InputError`); ctypes itself would silently wrap big
ints. Results come back through an out array of 8-byte slots, unpacked in one
`struct.unpack`. Runtime errors in native code come back as status codes and are raised
here with Python's messages.
"""
from __future__ import annotations

import ctypes
import operator
import struct
import time
from numbers import Integral, Real
from typing import Any, Callable

import numpy as np

from .. import ir
from ..errors import InputError

# Status codes native functions return (0 = success); lowering emits them, __call__ raises.
ERR_RANGE_STEP, ERR_NOMEM, ERR_INDEX, ERR_NEG_POW = 1, 2, 3, 4
# Array functions (backend/abi.py turns these into InputError/ValueError with context).
ERR_SHAPE, ERR_LAYOUT, ERR_EMPTY, ERR_DEST, ERR_INDEX_ARG = 5, 6, 7, 8, 9

ERRORS: dict[int, tuple[type[Exception], str]] = {
    ERR_RANGE_STEP: (ValueError, "range() arg 3 must not be zero"),
    ERR_NOMEM: (MemoryError, "native code could not allocate a buffer"),
    ERR_INDEX: (IndexError, "index out of range of a local buffer in native code"),
    ERR_NEG_POW: (ValueError, "Integers to negative integer powers are not allowed."),
    ERR_EMPTY: (ValueError, "zero-size array to reduction operation which has no identity"),
}
_CTYPE = {"f64": ctypes.c_double, "f32": ctypes.c_float, "i64": ctypes.c_int64,
          "bool": ctypes.c_bool}
_SLOT = {"f64": "d", "f32": "d", "i64": "q", "bool": "q"}
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def abi_for(fn: ir.Function, symbol: str, needs: list[str], low: Any = None) -> dict[str, Any]:
    """The JSON-able calling convention of a lowered function (stored in the cache), with
    the external symbols its object code calls (checked before loading it)."""
    abi = {"symbol": symbol, "name": fn.name, "needs": list(needs),
           "args": [a.type.dtype for a in fn.args],
           "arg_names": [a.name or f"arg{i}" for i, a in enumerate(fn.args)],
           "results": [t.dtype for t in fn.result_types]}
    if low is not None and low.workspace is not None:
        abi.update(ranks=[a.type.rank for a in fn.args],
                   result_ranks=[t.rank for t in fn.result_types],
                   result_like=list(low.like), sites=list(low.sites))
    return abi


def _to_int(x: Any) -> int:
    v = operator.index(x)  # TypeError for floats, strings, None; accepts NumPy integers
    if not _I64_MIN <= v <= _I64_MAX:
        raise OverflowError
    return v


def _to_bool(x: Any) -> bool:
    if isinstance(x, (bool, Integral, np.bool_)):
        return bool(x)
    raise TypeError


def _check_real(x: Any) -> Any:
    if isinstance(x, Real) or hasattr(x, "__float__") and not isinstance(x, (str, bytes)):
        return float(x)
    raise TypeError


_CONVERT: dict[str, Callable[[Any], Any]] = {"f64": _check_real, "f32": _check_real,
                                             "i64": _to_int, "bool": _to_bool}


class NativeFunction:
    """Callable native code for one signature; `.llvm_ir`, `.llvm_opt`, `.asm` for inspect."""

    try_value_and_grad: Callable[..., Any] | None
    """For a joint of arrays: `(*args) -> (value, grad(s))`, or None off its fast path."""

    def __init__(self, abi: dict[str, Any], address: int, texts: dict[str, str], *,
                 object_code: bytes = b"", timings: dict[str, float] | None = None):
        self.abi = abi
        self.name: str = abi["name"]
        self.symbol: str = abi["symbol"]
        self.arg_dtypes: list[str] = list(abi["args"])
        self.result_dtypes: list[str] = list(abi["results"])
        self.address = address
        self.texts = dict(texts)
        self.object_code = object_code
        self.timings = dict(timings or {})
        if abi.get("ranks") is not None:
            from .abi import ArrayCaller, fast_entry
            self._array = ArrayCaller(self, address)
            fast = fast_entry(self._array)
            vg = fast_entry(self._array, value_and_grad=True) if len(self.result_dtypes) > 1 else None
            # A class per function whose __call__ is the generated entry: no extra layer.
            self.__class__ = type("ArrayNativeFunction", (ArrayNativeFunction,),
                                  {"__call__": fast} if fast is not None else {})
            self.try_value_and_grad = vg
            return
        self._array = None
        self.try_value_and_grad = None
        argtypes = [_CTYPE[d] for d in self.arg_dtypes] + [ctypes.c_void_p]
        # CFUNCTYPE (not PYFUNCTYPE): the call releases the GIL.
        self._cfunc = ctypes.CFUNCTYPE(ctypes.c_int32, *argtypes)(address)
        n = max(len(self.result_dtypes), 1)
        self._out_type = ctypes.c_int64 * n
        self._unpack = struct.Struct("<" + "".join(_SLOT[d] for d in self.result_dtypes)
                                     + "x" * 8 * (n - len(self.result_dtypes))).unpack
        self._bools = [i for i, d in enumerate(self.result_dtypes) if d == "bool"]
        # Floats need no conversion (ctypes checks them); ints and bools do.
        self._conv = [(i, _CONVERT[d]) for i, d in enumerate(self.arg_dtypes)
                      if d in ("i64", "bool")]
        self._nargs = len(self.arg_dtypes)

    def __call__(self, *args: Any, **kw: Any) -> tuple:
        if self._array is not None:
            return self._array(args, **kw)
        if len(args) != self._nargs:
            raise InputError(f"{self.name}() takes {self._nargs} arguments "
                             f"({len(args)} given)")
        if self._conv:
            args = self._convert(args)
        out = self._out_type()
        try:
            status = self._cfunc(*args, out)
        except ctypes.ArgumentError as e:
            raise self._bad_args(args, e) from None
        if status:
            exc, msg = ERRORS.get(status, (RuntimeError, f"native code failed ({status})"))
            raise exc(msg)
        res = self._unpack(out)
        if self._bools:
            res = tuple(bool(v) if i in self._bools else v for i, v in enumerate(res))
        return res

    def _convert(self, args: tuple) -> list:
        out = list(args)
        for i, conv in self._conv:
            try:
                out[i] = conv(args[i])
            except (TypeError, OverflowError, ValueError):
                raise self._bad_arg(i, args[i]) from None
        return out

    def _bad_arg(self, i: int, value: Any) -> InputError:
        d = self.arg_dtypes[i]
        name = self.abi.get("arg_names", [])[i] if i < len(self.abi.get("arg_names", [])) else i
        return InputError(f"{self.name}(): argument {name!r} must be {d}, "
                          f"got {type(value).__name__} {value!r:.60}")

    def _bad_args(self, args: tuple, err: Exception) -> InputError:
        for i, (v, d) in enumerate(zip(args, self.arg_dtypes)):
            try:
                _CONVERT[d](v)
            except (TypeError, OverflowError, ValueError):
                return self._bad_arg(i, v)
        return InputError(f"{self.name}(): bad arguments: {err}")

    # ---------------------------------------------------------------- inspection
    @property
    def llvm_ir(self) -> str:
        return self.texts.get("llvm", "")

    @property
    def llvm_opt(self) -> str:
        return self.texts.get("llvm-opt", "")

    @property
    def asm(self) -> str:
        """Assembly, generated on first request (a second codegen) and kept."""
        if "asm" not in self.texts and self.llvm_opt:
            from .jit import engine
            self.texts["asm"] = engine().assembly(self.llvm_opt)
        return self.texts.get("asm", "")

    def __repr__(self) -> str:
        sig = ", ".join(self.arg_dtypes)
        return f"<NativeFunction {self.name}({sig}) -> ({', '.join(self.result_dtypes)})>"


class ArrayNativeFunction(NativeFunction):
    """A native function with array arguments (`abi.py`): `f(*args, out=None,
    noncontiguous="copy")`; `out` takes the gradient buffers, written in place."""

    def __call__(self, *args: Any, out: Any = None, noncontiguous: str = "copy") -> tuple:
        return self._array(args, out, noncontiguous)


def load_object(abi: dict[str, Any], object_code: bytes, texts: dict[str, str]) -> NativeFunction:
    """A NativeFunction from cached object code: no LLVM IR, no compile (about 2 ms)."""
    from .jit import engine
    symbol = abi.get("symbol")
    dtypes = list(abi.get("args", [])) + list(abi.get("results", []))
    needs = abi.get("needs")
    if not isinstance(symbol, str) or not symbol.isascii() or not isinstance(abi.get("name"), str) \
            or any(d not in _CTYPE for d in dtypes) or not isinstance(needs, list) \
            or not all(isinstance(n, str) for n in needs):
        raise ValueError("malformed native ABI")  # checked before anything enters the JIT
    if abi.get("ranks") is not None:
        from .abi import check_abi
        check_abi(abi)
    t0 = time.perf_counter()
    eng = engine()
    if any(n.startswith("symgrad_") for n in needs):
        from . import blas
        blas.provider()  # registers the BLAS adapter symbols the code calls
    eng.add_object(object_code, [symbol], needs)
    return NativeFunction(abi, eng.address(symbol), texts, object_code=object_code,
                          timings={"load": time.perf_counter() - t0})
