"""Regression tests for the bugs the differential fuzzer found (see the README's Reliability section)."""
from __future__ import annotations

import math

import pytest

import fuzz_regression_funcs as R
from compiler_helpers import BACKENDS
from symgrad import compile_grad


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("simplify", [True, False], ids=["simplified", "unsimplified"])
def test_loop_body_yielding_a_value_from_outside_keeps_its_gradient(backend, simplify):
    opts = dict(cache=False, backend=backend, simplify=simplify)
    assert compile_grad(R.loop_yields_free_value, **opts).value_and_grad(0.5, 0.7) == (0.7, (0.0, 1.0))
    f = compile_grad(R.loop_yields_free_value_n, **opts)
    v, g = f.value_and_grad(0.5, 0.7, 3)
    assert v == pytest.approx(0.49) and g == pytest.approx((0.0, 1.4))
    v, g = f.value_and_grad(0.5, 0.7, 0)
    assert v == pytest.approx(0.25) and g == pytest.approx((1.0, 0.0))
    assert compile_grad(R.while_yields_free_value, **opts).value_and_grad(0.5, 0.7) == (0.7, (0.0, 1.0))
    # s = ((x/2 + y)/2 + y) + y after three steps: ds/dx = 1/4 + 0, ds/dy = 1/2 + 1 + 1.
    g = compile_grad(R.loop_mixes_free_value, **opts)
    v, (gx, gy) = g.value_and_grad(0.5, 0.7, 3)
    assert v == pytest.approx(R.loop_mixes_free_value(0.5, 0.7, 3))
    assert (gx, gy) == pytest.approx((0.25, 2.5))


@pytest.mark.parametrize("backend", BACKENDS)
def test_hypot_at_origin_is_nan_unsimplified_like_pytorch(backend):
    un = compile_grad(R.hypot_at_origin, cache=False, backend=backend, simplify=False)
    v, g = un.value_and_grad(0.3)
    assert v == 0.0 and math.isnan(g)
    v, g = compile_grad(R.hypot_at_origin, cache=False, backend=backend).value_and_grad(0.3)
    assert v == 0.0 and (g == 0.0 or math.isnan(g))  # the limit, or NaN as without simplify


@pytest.mark.parametrize("backend", BACKENDS)
def test_maximum_minimum_pass_the_gradient_to_both_inputs_at_nan(backend):
    f = compile_grad(R.maximum_nan, cache=False, backend=backend)
    v, g = f.value_and_grad(float("nan"), 1.0)
    assert math.isnan(v) and g == (2.0, 2.0)
    assert f.value_and_grad(2.0, 1.0)[1] == (1.0, 1.0)
    assert f.value_and_grad(1.0, 1.0)[1] == (1.0, 1.0)  # ties split 0.5/0.5 in each


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("simplify", [True, False], ids=["simplified", "unsimplified"])
def test_value_read_only_by_a_loop_condition_gets_no_nan_gradient(backend, simplify):
    f = compile_grad(R.condition_only_value, cache=False, backend=backend, simplify=simplify)
    v, g = f.value_and_grad(0.9, 1.3, 0)
    assert v == pytest.approx(3.4) and g == (1.0, 0.0)
    v, g = f.value_and_grad(-0.5, 1.3, 3)  # the loop runs once: x = y
    assert v == pytest.approx(3.8) and g == (0.0, 1.0)
