"""Every zoo function on both back ends: values against Python, gradients against central
finite differences (float64) and, where installed, PyTorch autograd."""
from __future__ import annotations

import math

import numpy as np
import pytest

from compiler_zoo import ZOO, Case
from compiler_helpers import BACKENDS
from symgrad import compile_grad


def wrt_positions(case: Case, point: tuple) -> list[int]:
    names = case.fn.__code__.co_varnames[:case.fn.__code__.co_argcount]
    if case.wrt is not None:
        return [names.index(w) for w in case.wrt]
    return [i for i, v in enumerate(point) if isinstance(v, float)]


def central_difference(fn, point: tuple, i: int) -> float:
    h = 1e-6 * max(1.0, abs(point[i]))
    hi, lo = list(point), list(point)
    hi[i] += h
    lo[i] -= h
    return (fn(*hi) - fn(*lo)) / (2 * h)


def as_tuple(g) -> tuple:
    return g if isinstance(g, tuple) else (g,)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ZOO, ids=lambda c: c.name)
def test_zoo(case: Case, backend: str) -> None:
    cf = compile_grad(case.fn, wrt=case.wrt, cache=False, backend=backend,
                      simplify=False if backend == "numpy" else "auto")
    for point in case.points:
        want = case.fn(*point)
        got = cf(*point)
        assert got == pytest.approx(want, rel=1e-11, abs=1e-12), (case.name, point)
        pos = wrt_positions(case, point)
        if not pos:
            continue
        value, grad = cf.value_and_grad(*point)
        assert value == pytest.approx(want, rel=1e-11, abs=1e-12)
        fd = [central_difference(case.fn, point, i) for i in pos]
        np.testing.assert_allclose(as_tuple(grad), fd, rtol=2e-6, atol=2e-6,
                                   err_msg=f"{case.name} at {point}")
        assert as_tuple(cf.grad(*point)) == as_tuple(grad)


def test_zoo_is_big_enough() -> None:
    assert len(ZOO) >= 60
