"""Array arguments at the call boundary (issue 4 item 4), on both back ends.

Every bad input raises `symgrad.InputError` naming the argument before native code runs;
non-contiguous and negative-stride views give the right answer (copied, never modified);
empty arrays and NaN behave as in NumPy.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from compiler_helpers import BACKENDS
from symgrad import InputError, compile_grad


def sum_squares(values):
    return np.sum(values * values)


def weighted_sin(values, weights):
    return np.sum(np.sin(values) * weights)


def pair_sum(left, right):
    return np.sum(left * right)


def projected(weights, data):
    return np.sum((data @ weights) ** 2)


def table_corner(table):
    return table[0, 1] * 2.0 + np.sum(table)


def pick_labels(logits, labels):
    s = 0.0
    for i in range(logits.shape[0]):
        s += logits[i, labels[i]]
    return s


def neighbours(values):
    s = 0.0
    for i in range(5):
        s += values[i] * values[i + 1]
    return s


def scaled(values, factor=2.0):
    return factor * np.sum(values ** 2)


def largest(values):
    return np.max(values) + np.sum(np.maximum(values, 0.0))


FUNCS = {f.__name__: f for f in (sum_squares, weighted_sin, pair_sum, projected, table_corner,
                                  pick_labels, neighbours, scaled, largest)}
_COMPILED: dict[tuple[str, str], Any] = {}


def cf(name: str, backend: str) -> Any:
    """One compiled object per (function, back end), shared by the tests."""
    key = (name, backend)
    if key not in _COMPILED:
        _COMPILED[key] = compile_grad(FUNCS[name], cache=False, backend=backend)
    return _COMPILED[key]


def names_argument(err: BaseException, arg: str) -> bool:
    return re.search(rf"\b{re.escape(arg)}\b", str(err)) is not None


# ------------------------------------------------------------------ bad inputs
BAD_DTYPES = [
    pytest.param(np.array([1 + 2j, 3 - 1j]), id="complex128"),
    pytest.param(np.array([1.0, "a"], dtype=object), id="object"),
    pytest.param(np.array(["ab", "cd"]), id="str"),
    pytest.param(np.array(["2020-01-01"], dtype="datetime64[D]"), id="datetime64"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", BAD_DTYPES)
def test_wrong_dtype(bad: np.ndarray, backend: str) -> None:
    for call in (cf("sum_squares", backend), cf("sum_squares", backend).grad):
        with pytest.raises(InputError) as info:
            call(bad)
        assert names_argument(info.value, "values"), str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bool_array_for_differentiated_argument(backend: str) -> None:
    f = compile_grad(sum_squares, wrt="values", cache=False, backend=backend)
    with pytest.raises(InputError) as info:
        f.grad(np.array([True, False]))
    assert names_argument(info.value, "values"), str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_int_array_has_nothing_to_differentiate(backend: str) -> None:
    f = cf("sum_squares", backend)
    assert f(np.array([1, 2, 3])) == 14
    with pytest.raises(InputError):
        f.grad(np.array([1, 2, 3]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,args,arg", [
    ("table_corner", (np.ones(4),), "table"),
    ("pick_labels", (np.ones(4), np.array([0, 1, 0, 1])), "logits"),
], ids=["1d-for-2d", "1d-logits"])
def test_wrong_rank(name: str, args: tuple, arg: str, backend: str) -> None:
    with pytest.raises(InputError) as info:
        cf(name, backend)(*args)
    assert names_argument(info.value, arg), str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,args,arg_names,size", [
    ("pair_sum", (np.ones(3), np.ones(4)), ("left", "right"), "4"),
    ("pair_sum", (np.ones((2, 3)), np.ones((3, 2))), ("left", "right"), "2"),
    ("weighted_sin", (np.ones((3, 4)), np.ones((2, 4))), ("values", "weights"), "2"),
    ("projected", (np.ones(3), np.ones((5, 4))), ("weights", "data"), "4"),
], ids=["1d", "2d", "rows", "matmul-inner"])
def test_mismatched_shapes(name: str, args: tuple, arg_names: tuple, size: str, backend: str) -> None:
    f = cf(name, backend)
    for call in (f, f.grad, f.value_and_grad):
        with pytest.raises(InputError) as info:
            call(*args)
        msg = str(info.value)
        assert any(names_argument(info.value, a) for a in arg_names), msg
        assert size in msg, f"the message should show the shapes: {msg}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_broadcast_compatible_shapes_are_accepted(backend: str) -> None:
    a, b = np.arange(6.0).reshape(2, 3), np.array([1.0, -2.0, 0.5])
    f = cf("pair_sum", backend)
    assert f(a, b) == pytest.approx(np.sum(a * b))
    ga, gb = f.grad(a, b)
    np.testing.assert_allclose(ga, np.broadcast_to(b, a.shape))
    np.testing.assert_allclose(gb, a.sum(axis=0))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("labels", [np.array([0, 4, 1]), np.array([0, 1, 17])], ids=["4", "17"])
def test_index_array_out_of_bounds(labels: np.ndarray, backend: str) -> None:
    with pytest.raises(InputError) as info:
        cf("pick_labels", backend)(np.ones((3, 4)), labels)
    assert names_argument(info.value, "labels"), str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_loop_index_past_the_end_raises(backend: str) -> None:
    f = cf("neighbours", backend)
    assert f(np.arange(6.0)) == pytest.approx(neighbours(np.arange(6.0)))
    for call in (f, f.grad):
        with pytest.raises((InputError, IndexError)):
            call(np.arange(4.0))


PY_OBJECTS = [pytest.param(None, id="None"), pytest.param("abc", id="str"),
              pytest.param(object(), id="object"), pytest.param({"a": 1.0}, id="dict"),
              pytest.param([[1.0], [1.0, 2.0]], id="ragged-list"), pytest.param(1 + 2j, id="complex")]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("obj", PY_OBJECTS)
def test_python_objects_where_arrays_are_expected(obj: Any, backend: str) -> None:
    f = cf("weighted_sin", backend)
    for call in (f, f.grad):
        with pytest.raises(InputError) as info:
            call(np.ones(3), obj)
        assert names_argument(info.value, "weights"), str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_number_of_arguments(backend: str) -> None:
    f = cf("pair_sum", backend)
    for call in (f, f.grad, f.value_and_grad):
        with pytest.raises(InputError) as info:
            call(np.ones(3))
        assert names_argument(info.value, "right"), str(info.value)
        with pytest.raises(InputError):
            call(np.ones(3), np.ones(3), np.ones(3))
        with pytest.raises(InputError):
            call()


@pytest.mark.parametrize("backend", BACKENDS)
def test_keyword_mistakes(backend: str) -> None:
    f = cf("pair_sum", backend)
    for call in (f, f.grad):
        with pytest.raises(InputError) as info:
            call(np.ones(3), np.ones(3), scale=2.0)
        assert names_argument(info.value, "scale"), str(info.value)
        with pytest.raises(InputError) as info:  # misspelt: naming either side helps the user
            call(np.ones(3), rigth=np.ones(3))
        assert names_argument(info.value, "rigth") or names_argument(info.value, "right"), str(info.value)
        with pytest.raises(InputError) as info:
            call(np.ones(3), left=np.ones(3))
        assert names_argument(info.value, "left"), str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_keywords_and_defaults(backend: str) -> None:
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    f = cf("pair_sum", backend)
    assert f(right=b, left=a) == pytest.approx(np.sum(a * b))
    ga, gb = f.grad(right=b, left=a)  # gradients in argument order, whatever the call order
    np.testing.assert_allclose(ga, b)
    np.testing.assert_allclose(gb, a)
    g = cf("scaled", backend)
    assert g(a) == pytest.approx(2.0 * np.sum(a ** 2))
    assert g(a, factor=3.0) == pytest.approx(3.0 * np.sum(a ** 2))
    gv, gfac = g.grad(a, factor=3.0)
    np.testing.assert_allclose(gv, 6.0 * a)
    assert gfac == pytest.approx(np.sum(a ** 2))


# ------------------------------------------------------------------ views are copied
def _views() -> list:
    base = np.linspace(-1.0, 2.0, 12)
    mat = np.linspace(-1.0, 1.0, 20).reshape(4, 5)
    return [
        pytest.param(base[::2], id="stride-2"),
        pytest.param(base[::-1], id="negative-stride"),
        pytest.param(base[10:1:-3], id="negative-stride-3"),
        pytest.param(mat.T, id="transposed"),
        pytest.param(mat[:, 1], id="column"),
        pytest.param(mat[::2, ::-1], id="2d-mixed-strides"),
        pytest.param(np.asfortranarray(mat), id="fortran-order"),
        pytest.param(base.astype(np.float32)[::-2], id="float32-negative-stride"),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("view", _views())
def test_non_contiguous_views(view: np.ndarray, backend: str) -> None:
    weights = np.cos(np.arange(view.size, dtype=view.dtype)).reshape(view.shape)
    before, wbefore = view.copy(), weights.copy()
    f = cf("weighted_sin", backend)
    want = np.sum(np.sin(before) * wbefore)
    tol = 1e-5 if view.dtype == np.float32 else 1e-12
    assert float(f(view, weights)) == pytest.approx(float(want), rel=tol, abs=tol)
    gv, gw = f.grad(view, weights)
    assert gv.shape == view.shape and gw.shape == weights.shape
    np.testing.assert_allclose(gv, np.cos(before) * wbefore, rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, np.sin(before), rtol=tol, atol=tol)
    np.testing.assert_array_equal(view, before)  # the argument is read, never written


@pytest.mark.parametrize("backend", BACKENDS)
def test_read_only_and_byte_swapped(backend: str) -> None:
    x = np.array([0.5, -1.5, 2.0])
    ro = x.copy()
    ro.setflags(write=False)
    f = cf("sum_squares", backend)
    assert f(ro) == pytest.approx(np.sum(x * x))
    np.testing.assert_allclose(f.grad(ro), 2 * x)
    swapped = x.astype(">f8")
    try:
        value, grad = f.value_and_grad(swapped)
    except InputError as e:  # refusing a byte order is fine; a wrong answer is not
        assert names_argument(e, "values"), str(e)
    else:
        assert value == pytest.approx(np.sum(x * x))
        np.testing.assert_allclose(grad, 2 * x)


# ------------------------------------------------------------------ empty arrays, NaN
@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_arrays(backend: str) -> None:
    f = cf("sum_squares", backend)
    assert f(np.zeros(0)) == 0.0
    g = f.grad(np.zeros(0))
    assert isinstance(g, np.ndarray) and g.shape == (0,)
    assert cf("sum_squares", backend).grad(np.zeros((0, 3))).shape == (0, 3)
    p = cf("projected", backend)
    value, (gw, gd) = p.value_and_grad(np.ones(3), np.zeros((0, 3)))
    assert value == 0.0
    np.testing.assert_array_equal(gw, np.zeros(3))
    assert gd.shape == (0, 3)
    assert cf("pick_labels", backend)(np.zeros((0, 3)), np.zeros(0, dtype=np.int64)) == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_max_raises_not_crashes(backend: str) -> None:
    f = cf("largest", backend)
    with pytest.raises(ValueError):  # NumPy: "zero-size array to reduction operation maximum"
        f(np.zeros(0))
    with pytest.raises(ValueError):
        f.grad(np.zeros(0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_propagates(backend: str) -> None:
    x = np.array([1.0, np.nan, 2.0])
    f = cf("sum_squares", backend)
    assert np.isnan(f(x))
    value, g = f.value_and_grad(x)
    assert np.isnan(value)
    np.testing.assert_array_equal(g, [2.0, np.nan, 4.0])
    m = cf("largest", backend)
    assert np.isnan(m(x))
    assert np.isnan(m(np.array([np.nan, -1.0])))
    _, gw = cf("weighted_sin", backend).grad(x, np.ones(3))
    np.testing.assert_array_equal(np.isnan(gw), [False, True, False])
