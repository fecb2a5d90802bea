"""`inspect("python")` is runnable: executing it reproduces the compiled results."""
from __future__ import annotations

import inspect
import types

import numpy as np
import pytest

from compiler_zoo import ZOO, Case
from symgrad import compile_grad


def load_printed(source: str) -> types.FunctionType:
    ns: dict = {}
    exec(compile(source, "<symgrad python stage>", "exec"), ns)  # noqa: S102 - our own output
    fns = [v for k, v in ns.items() if isinstance(v, types.FunctionType) and not k.startswith("_")]
    assert len(fns) == 1
    return fns[0]


@pytest.mark.parametrize("backend", ["auto"])
@pytest.mark.parametrize("case", ZOO, ids=lambda c: c.name)
def test_printed_python_matches_compiled(case: Case, backend: str) -> None:
    cf = compile_grad(case.fn, wrt=case.wrt, cache=False, backend=backend)
    for point in case.points:
        cf(*point)
        fn = load_printed(cf.inspect("python"))
        bound = inspect.signature(case.fn).bind(*point)
        bound.apply_defaults()  # the printed function takes every argument explicitly
        got = fn(*bound.arguments.values())
        if cf._compiled[cf._last].joint is None:
            assert np.allclose(got, cf(*point), rtol=1e-12, atol=1e-13)
            continue
        value, grad = cf.value_and_grad(*point)
        want = (value,) + (grad if isinstance(grad, tuple) else (grad,))
        np.testing.assert_allclose(np.array(got, dtype=float), np.array(want, dtype=float),
                                   rtol=1e-12, atol=1e-13, err_msg=case.name)


def test_python_stage_has_provenance_comments() -> None:
    from compiler_zoo import recurrence
    cf = compile_grad(recurrence, cache=False, backend="numpy")
    text = cf.inspect("python", signature="f64, f64, f64")
    assert "# L" in text and "# grad of L" in text
    assert "for k in range(49, -1, -1):" in text
