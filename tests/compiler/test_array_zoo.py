"""Issue 4 acceptance: every array zoo function on both back ends.

Values against calling the plain Python function, gradients against central finite
differences (float64), a float32 variant of a dozen entries with float32 tolerances, and
the refusal of unsupported array features with a `CompileError` at the source line.
Each function is compiled once per (back end, dtype) and shared by the tests.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np
import pytest

from array_zoo import REFUSED, ZOO, ArrayCase
from compiler_helpers import BACKENDS
from symgrad import CompileError, compile_grad

BY_NAME = {c.name: c for c in ZOO}
F32 = [c for c in ZOO if c.f32]


class Compiled:
    """A `CompiledFunction` that remembers signatures whose compilation failed and re-raises
    that error at once, so a failing entry costs one compile, not one per test."""

    def __init__(self, cf: Any):
        self.cf = cf
        self.failed: dict[tuple, BaseException] = {}
        self.ok: set[tuple] = set()

    def _run(self, method: str, args: tuple) -> Any:
        key = tuple((a.dtype.str, a.ndim) if isinstance(a, np.ndarray) else type(a) for a in args)
        if key in self.failed:
            raise self.failed[key]
        before = len(self.cf.signatures)
        try:
            out = getattr(self.cf, method)(*args)
        except Exception as e:
            if key not in self.ok and len(self.cf.signatures) == before:  # compilation failed
                self.failed[key] = e
            raise
        self.ok.add(key)
        return out

    def __call__(self, *args: Any) -> Any:
        return self._run("__call__", args)

    def grad(self, *args: Any) -> Any:
        return self._run("grad", args)

    def value_and_grad(self, *args: Any) -> Any:
        return self._run("value_and_grad", args)


@functools.lru_cache(maxsize=None)
def compiled(name: str, backend: str) -> Compiled:
    """The compiled zoo function (one `CompiledFunction` per back end; signatures cached in it)."""
    c = BY_NAME[name]
    return Compiled(compile_grad(c.fn, wrt=c.wrt, cache=False, backend=backend,
                                 simplify=False if backend == "numpy" else "auto"))


def copy_args(args: tuple) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def as_tuple(g: Any) -> tuple:
    return g if isinstance(g, tuple) else (g,)


def central_diff(fn: Callable, args: tuple, i: int) -> Any:
    """d fn / d args[i] by central differences in float64 (array or float argument)."""
    args = [np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
            else a for a in args]
    x = args[i]
    if isinstance(x, float):
        h = 1e-6 * max(1.0, abs(x))
        hi, lo = list(args), list(args)
        hi[i], lo[i] = x + h, x - h
        return (float(fn(*hi)) - float(fn(*lo))) / (2 * h)
    g = np.zeros(x.shape)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        h = 1e-6 * max(1.0, abs(old))
        flat[k] = old + h
        hi = float(fn(*args))
        flat[k] = old - h
        lo = float(fn(*args))
        flat[k] = old
        gf[k] = (hi - lo) / (2 * h)
    return g


def check_grads(name: str, args: tuple, got: Any, want: list, rtol: float, atol: float) -> None:
    """Each gradient has its argument's shape and matches `want` (scaled absolute tolerance)."""
    got = as_tuple(got)
    assert len(got) == len(want), f"{name}: {len(got)} gradients, expected {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        assert np.shape(g) == np.shape(w), f"{name}: gradient {k} has shape {np.shape(g)}, " \
                                           f"expected {np.shape(w)}"
        scale = max(1.0, float(np.max(np.abs(w))) if np.size(w) else 1.0)
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), w, rtol=rtol,
                                   atol=atol * scale, err_msg=f"{name}: gradient {k}")


def check_value(name: str, got: Any, want: Any, rtol: float, atol: float) -> None:
    assert np.ndim(got) == 0, f"{name}: value has shape {np.shape(got)}"
    np.testing.assert_allclose(float(got), float(want), rtol=rtol,
                               atol=atol * max(1.0, abs(float(want))), err_msg=name)


def value_rtol(args: tuple) -> float:
    """Float64 to rounding; float32 inputs make NumPy sum in float32 (symgrad may use float64)."""
    return 1e-6 if any(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in args) else 1e-9


def check_unchanged(name: str, before: tuple, after: tuple) -> None:
    for a, b in zip(before, after):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} modified its input")


# ------------------------------------------------------------------ float64
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ZOO, ids=lambda c: c.name)
def test_value(case: ArrayCase, backend: str) -> None:
    args = case.inputs()
    want = case.fn(*copy_args(args))
    got = compiled(case.name, backend)(*args)
    check_value(case.name, got, want, rtol=value_rtol(args), atol=1e-12)
    check_unchanged(case.name, case.inputs(), args)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ZOO, ids=lambda c: c.name)
def test_grad(case: ArrayCase, backend: str) -> None:
    args = case.inputs()
    cf = compiled(case.name, backend)
    value, grad = cf.value_and_grad(*args)
    check_value(case.name, value, case.fn(*copy_args(args)), rtol=value_rtol(args), atol=1e-12)
    pos = case.wrt_positions(args)
    fd = [central_diff(case.fn, args, i) for i in pos]
    check_grads(case.name, args, grad, fd, rtol=1e-5, atol=1e-6)
    again = as_tuple(cf.grad(*args))
    for a, b in zip(again, as_tuple(grad)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=f"{case.name}: grad vs value_and_grad")
    check_unchanged(case.name, case.inputs(), args)


# ------------------------------------------------------------------ float32
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", F32, ids=lambda c: c.name)
def test_float32(case: ArrayCase, backend: str) -> None:
    args = case.inputs(np.float32)
    cf = compiled(case.name, backend)
    want = case.fn(*copy_args(args))  # NumPy's own float32 arithmetic
    check_value(case.name, cf(*args), want, rtol=1e-4, atol=1e-5)
    value, grad = cf.value_and_grad(*args)
    check_value(case.name, value, want, rtol=1e-4, atol=1e-5)
    pos = case.wrt_positions(args)
    fd = [central_diff(case.fn, args, i) for i in pos]  # float64 at the float32 point
    check_grads(case.name, args, grad, fd, rtol=1e-3, atol=2e-4)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", F32, ids=lambda c: c.name)
def test_float32_gradient_dtype(case: ArrayCase, backend: str) -> None:
    """Gradients of float32 arrays come back as float32 arrays, shaped like their arguments."""
    args = case.inputs(np.float32)
    grads = as_tuple(compiled(case.name, backend).grad(*args))
    for i, g in zip(case.wrt_positions(args), grads):
        if not isinstance(args[i], np.ndarray):
            continue
        assert isinstance(g, np.ndarray) and g.dtype == np.float32 and g.shape == args[i].shape, \
            (case.name, case.arg_names[i], type(g), getattr(g, "dtype", None), np.shape(g))


# ------------------------------------------------------------------ the zoo itself
def test_zoo_is_big_enough() -> None:
    assert len(ZOO) >= 60
    assert len(F32) >= 12
    assert len(BY_NAME) == len(ZOO), "zoo names must be unique"


@pytest.mark.parametrize("case", ZOO, ids=lambda c: c.name)
def test_zoo_entry_is_sound(case: ArrayCase) -> None:
    """Plain NumPy: the entry runs, returns a finite scalar and differentiates something."""
    args = case.inputs()
    value = case.fn(*copy_args(args))
    assert np.ndim(value) == 0 and np.isfinite(value)
    assert case.wrt_positions(args)
    assert inspect.getsource(case.fn).lstrip().startswith(("@case", "def "))


# ------------------------------------------------------------------ refused features
def err_line(fn: Callable) -> int:
    src, first = inspect.getsourcelines(fn)
    for k, text in enumerate(src):
        if "# ERR" in text:
            return first + k
    raise AssertionError(f"no # ERR marker in {fn.__name__}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn,make", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_unsupported_feature_raises_compile_error(fn: Callable, make: Callable, backend: str) -> None:
    with pytest.raises(CompileError) as info:
        compile_grad(fn, cache=False, backend=backend)(*make())
    err = info.value
    assert err.loc is not None, str(err)
    assert err.loc.file.endswith("array_zoo.py"), err.loc
    assert err.loc.line == err_line(fn), (err.loc, str(err))
    assert f"line {err.loc.line}" in str(err)
