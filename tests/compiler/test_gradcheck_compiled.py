"""`symgrad.autograd.gradcheck` on compiled functions: floats, arrays, ints as data, `wrt`."""
from __future__ import annotations

import numpy as np
import pytest

import fuzz_regression_funcs as R
from symgrad import CompileError, InputError, compile_grad
from symgrad.autograd import gradcheck, gradgradcheck
from symgrad.runtime.gradcheck import GradcheckError


def test_gradcheck_compiled_scalars_and_wrt():
    assert gradcheck(compile_grad(R.gc_scalar, cache=False), (0.3, -0.7, 3))
    assert gradcheck(compile_grad(R.gc_scalar, cache=False, wrt="y"), (0.3, -0.7, 3))


def _arrays_work() -> bool:
    try:
        compile_grad(R.gc_array, cache=False).grad(np.ones(2), np.ones(2), 2)
        return True
    except (InputError, CompileError):
        return False


@pytest.mark.skipif(not _arrays_work(), reason="compile_grad does not take arrays yet")
def test_gradcheck_compiled_arrays_with_int_data():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(5), rng.standard_normal(5)
    assert gradcheck(compile_grad(R.gc_array, cache=False), (x, w, 3))
    assert gradcheck(compile_grad(R.gc_array, cache=False, wrt=("w",)), (x, w, 3))


def test_gradcheck_compiled_reports_a_wrong_gradient(monkeypatch):
    cf = compile_grad(R.gc_wrong, cache=False)
    monkeypatch.setattr(cf, "grad", lambda x: 3.0 * x)  # d(x*x) is 2x: inject a wrong one
    with pytest.raises(GradcheckError, match=r"input 0[\s\S]*analytical \S*1\.5\S* vs numerical"):
        gradcheck(cf, (0.5,))
    assert gradcheck(cf, (0.5,), raise_exception=False) is False


def test_gradgradcheck_of_a_compiled_function_says_why_not():
    with pytest.raises(NotImplementedError, match="second"):
        gradgradcheck(compile_grad(R.gc_wrong, cache=False), (0.5,))
