"""Run every kind of bad input against several compiled functions; print one JSON line a case.

Run in a subprocess by test_hardening.py, so that a crash (a signal) is seen as such.
Outcome of a case: "input-error" (InputError naming the argument), "value" (the right
answer, NaN propagating), "index-error" (an out-of-range index, as Python raises),
"refused" (a located CompileError: the new signature cannot compile), "input-error
unnamed: ..." or "wrong: ..." for anything else.
"""
from __future__ import annotations

import json
import math
import re
import sys
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np

import symgrad
from symgrad import CompileError, InputError, compile_grad


def f1(x, y):
    return np.sin(x) * y + x / (y * y + 1.0)


def f2(x, n):
    s = 0.0
    for i in range(n):
        s += np.tanh(x * i)
    return s


def f3(x, y=2.0):
    if x > y:
        return np.maximum(x, y) * y
    return x * y


def a1(x, w):
    return np.sum(x * w)


def a2(x, k):
    return x[k] * 2.0


def a3(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return s


def _same(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.isclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)))


def outcome(cf, py, args, kwargs, names) -> str:
    try:
        got = cf(*args, **kwargs)
        if any(isinstance(a, symgrad.Tensor) for a in args):
            got = np.asarray(got._data if hasattr(got, "_data") else got)
            args = tuple(np.asarray(a._data) if isinstance(a, symgrad.Tensor) else a for a in args)
        try:
            cf.value_and_grad(*args, **kwargs)  # the gradient path must not crash either
        except InputError:
            pass
    except InputError as e:
        msg = str(e)
        return "input-error" if any(re.search(rf"\b{n}\b", msg) for n in names) \
            else f"input-error unnamed: {msg}"
    except CompileError as e:
        # A new signature (a float where an int drives range()) that cannot compile:
        # refused with the user's file, line and caret.
        return "refused" if 'File "' in str(e) else f"wrong: unlocated CompileError {e}"
    except IndexError as e:
        return "index-error" if "index" in str(e) else f"wrong: IndexError {e}"
    except Exception as e:  # noqa: BLE001 - anything else is what the test reports
        return f"wrong: {type(e).__name__}: {str(e)[:300]}"
    try:
        with np.errstate(all="ignore"):
            want = py(*[np.float64(a) if isinstance(a, (float, bool)) else a for a in args], **kwargs)
    except IndexError:
        return "wrong: computed a value where Python raises IndexError"
    except Exception as e:  # noqa: BLE001 - Python refusing, symgrad computing: judged by kind
        return f"value (Python raises {type(e).__name__})"
    return "value" if _same(got, want) else f"wrong: {got!r} != {want!r}"


def scalar_cases():
    bad = {"str": "1.0", "none": None, "list": [1.0], "dict": {"a": 1}, "complex": 1 + 2j,
           "object": object(), "bytes": b"1", "decimal": Decimal("0.5"), "fraction": Fraction(1, 3),
           "nan": math.nan, "inf": math.inf, "-inf": -math.inf, "huge-int": 2 ** 70,
           "-huge-int": -(2 ** 70), "bool": True, "np.float32": np.float32(0.5), "np.int32": np.int32(3),
           "0-d array": np.array(0.5), "1-elem array": np.array([0.5]), "subnormal": 5e-324,
           "-0.0": -0.0, "max-float": 1.7976931348623157e308,
           "tensor": symgrad.tensor(0.5, dtype=symgrad.float64)}
    for name, v in bad.items():
        yield "f1", (v, 0.5), {}, name
        yield "f2", (0.5, v), {}, name
        yield "f3", (0.25,), {"y": v}, f"keyword {name}"
    yield "f1", (0.5,), {}, "too few arguments"
    yield "f1", (0.5, 0.5, 0.5), {}, "too many arguments"
    yield "f1", (0.5,), {"z": 1.0}, "unknown keyword"
    yield "f1", (0.5, 0.5), {"x": 1.0}, "keyword given twice"
    yield "f3", (), {"y": 1.0}, "missing first argument"
    yield "f2", (0.5, 2.5), {}, "float for an int argument"
    yield "f2", (0.5, -3), {}, "negative trip count"


def array_cases():
    x = np.linspace(-1.0, 1.0, 6)
    ro = x.copy()
    ro.flags.writeable = False
    for name, v in {"int array": np.arange(6), "complex array": x + 1j, "object array": x.astype(object),
                    "str array": np.array(["a"] * 6), "2-d": x.reshape(2, 3), "empty": np.zeros(0),
                    "non-contiguous": np.linspace(0, 1, 12)[::2], "negative stride": x[::-1],
                    "read-only": ro, "nan inside": np.where(x > 0, np.nan, x), "inf inside": x / 0.0,
                    "fortran 2-d": np.asfortranarray(x.reshape(3, 2)), "list": list(x),
                    "float32": x.astype(np.float32), "tensor": symgrad.tensor(x),
                    "big": np.ones(100_000), "scalar": 0.5}.items():
        yield "a1", (v, x[:len(v)] if isinstance(v, np.ndarray) and v.ndim == 1 else x), {}, name
        yield "a3", (v,), {}, name
    yield "a1", (x, np.ones(4)), {}, "mismatched shapes"
    yield "a1", (x, np.ones((6, 6))), {}, "broadcast rank"
    for k in (0, 5, -1, -6, 6, -7, 10 ** 12, 2 ** 70):
        yield "a2", (x, k), {}, f"index {k}"
    yield "a2", (x, 1.5), {}, "float index"
    yield "a2", (np.zeros(0), 0), {}, "index into empty"


def arrays_supported() -> bool:
    try:
        return bool(np.isclose(compile_grad(a3, cache=False)(np.ones(3)), 3.0))
    except Exception:  # noqa: BLE001 - not yet
        return False


def main() -> None:
    warnings.simplefilter("ignore")
    funcs = {n: globals()[n] for n in ("f1", "f2", "f3", "a1", "a2", "a3")}
    compiled = {n: compile_grad(f, cache=False) for n, f in funcs.items()}
    cases = list(scalar_cases()) + (list(array_cases()) if arrays_supported() else [])
    for fname, args, kwargs, kind in cases:
        names = list(compiled[fname]._params)
        res = outcome(compiled[fname], funcs[fname], args, kwargs, names)
        print(json.dumps({"func": fname, "kind": kind, "outcome": res}), flush=True)
    print(json.dumps({"done": len(cases)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
