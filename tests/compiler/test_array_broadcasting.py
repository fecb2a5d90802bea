"""Property tests of broadcasting (hypothesis), on both back ends.

Random compatible shapes (rank differences, random size-1 dimensions, Python floats as
rank 0) for elementwise ops; values against NumPy, gradients against central finite
differences, each gradient shaped like its argument (the adjoint sums over broadcast axes).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from compiler_helpers import BACKENDS
from symgrad import compile_grad
from test_array_zoo import as_tuple, central_diff


def bc_binary(a, b):
    return np.sum(np.tanh(a * b) + np.maximum(a, b) * 0.5 - (a - b) ** 2 / (1.0 + b * b)
                  + a / (2.0 + np.cos(b)) + np.exp(0.1 * a) * np.minimum(b, 0.3))


def bc_ternary(a, b, c):
    return np.sum(np.where(a > b, a * c, b - c) + np.clip(a + c, -0.5, 0.5) * b
                  + np.sqrt(1.0 + c * c) * a ** 2)


def bc_accumulate(a, b):
    acc = np.zeros_like(a)
    acc += a * b
    acc -= np.sin(b)
    return np.sum(acc ** 2) + np.sum(np.abs(b + 10.0))


FUNCS: dict[str, Callable] = {f.__name__: f for f in (bc_binary, bc_ternary, bc_accumulate)}
_COMPILED: dict[tuple[str, str], Any] = {}
# No shrinking: a failing example is reported as drawn, so a failing suite stays fast.
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, report_multiple_bugs=False,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow])


def cf(name: str, backend: str) -> Any:
    key = (name, backend)
    if key not in _COMPILED:
        _COMPILED[key] = compile_grad(FUNCS[name], cache=False, backend=backend)
    return _COMPILED[key]


@st.composite
def broadcast_shapes(draw: Any, n: int, max_rank: int = 3, min_rank: int = 0) -> tuple:
    """`n` shapes that broadcast together: suffixes of one base shape with some dims set to 1."""
    base = draw(st.lists(st.integers(1, 4), min_size=1, max_size=max_rank))
    shapes = []
    for _ in range(n):
        rank = draw(st.integers(min(min_rank, len(base)), len(base)))
        dims = base[len(base) - rank:]
        shapes.append(tuple(1 if draw(st.booleans()) and draw(st.booleans()) else d for d in dims))
    return tuple(shapes)


def make_args(shapes: tuple, seed: int) -> tuple:
    """A Python float for rank 0, else a float64 array of normal values."""
    rng = np.random.default_rng(seed)
    return tuple(float(rng.standard_normal()) if s == () else rng.standard_normal(s) for s in shapes)


def check(name: str, backend: str, args: tuple) -> None:
    fn = FUNCS[name]
    f = cf(name, backend)
    shapes = [np.shape(a) for a in args]
    want = fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    value, grads = f.value_and_grad(*args)
    np.testing.assert_allclose(float(f(*args)), float(want), rtol=1e-10, atol=1e-12, err_msg=str(shapes))
    np.testing.assert_allclose(float(value), float(want), rtol=1e-10, atol=1e-12, err_msg=str(shapes))
    grads = as_tuple(grads)
    assert len(grads) == len(args)
    for k, (a, g) in enumerate(zip(args, grads)):
        assert np.shape(g) == np.shape(a), f"gradient {k} has shape {np.shape(g)} for {shapes}"
        fd = central_diff(fn, args, k)
        scale = max(1.0, float(np.max(np.abs(fd))))
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), fd, rtol=1e-5, atol=1e-6 * scale,
                                   err_msg=f"gradient {k} for shapes {shapes}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_binary_broadcasting(backend: str) -> None:
    @SETTINGS
    @given(shapes=broadcast_shapes(2), seed=st.integers(0, 2 ** 16))
    def prop(shapes: tuple, seed: int) -> None:
        check("bc_binary", backend, make_args(shapes, seed))
    prop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_ternary_broadcasting(backend: str) -> None:
    @SETTINGS
    @given(shapes=broadcast_shapes(3, max_rank=2, min_rank=1), seed=st.integers(0, 2 ** 16))
    def prop(shapes: tuple, seed: int) -> None:
        args = make_args(shapes, seed)
        a, b = args[0], args[1]
        if np.min(np.abs(np.subtract(a, b))) < 1e-3:  # keep finite differences off the kink
            return
        check("bc_ternary", backend, args)
    prop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_accumulate_broadcast_into_local(backend: str) -> None:
    """`acc += a * b` where `b` broadcasts to `a`'s (full) shape."""
    @SETTINGS
    @given(shapes=broadcast_shapes(2, min_rank=1), seed=st.integers(0, 2 ** 16))
    def prop(shapes: tuple, seed: int) -> None:
        full = np.broadcast_shapes(*shapes)
        rng = np.random.default_rng(seed)
        check("bc_accumulate", backend, (rng.standard_normal(full), rng.standard_normal(shapes[1])))
    prop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_size_one_and_rank_difference_examples(backend: str) -> None:
    """Fixed corner cases: (1,) with (n,), (n, 1) with (1, m), 3-D against a float."""
    rng = np.random.default_rng(7)
    for shapes in [((1,), (5,)), ((4, 1), (1, 3)), ((2, 3, 4), ()), ((1, 1), (3,)), ((3, 1, 2), (4, 1))]:
        check("bc_binary", backend, make_args(shapes, int(rng.integers(1000))))
