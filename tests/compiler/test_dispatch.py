"""The call fast paths of CompiledFunction: they must dispatch exactly like the general path."""
import numpy as np
import pytest

from symgrad import compile_grad
from symgrad.errors import InputError

from compiler_helpers import HAVE_NATIVE

needs_native = pytest.mark.skipif(not HAVE_NATIVE, reason="native back end not importable")


def linreg(w, b, x, y):
    return np.mean((np.sum(w * x) + b - y) ** 2)


def _ref(w, b, x, y):
    r = np.sum(w * x) + b - y
    g = 2.0 * r / r.size
    return float(np.mean(r * r)), g * x, g


def _args(dtype=np.float64):
    r = np.random.default_rng(0)
    return [r.standard_normal(3).astype(dtype), r.standard_normal(1).astype(dtype),
            np.array([1.0, 2.0, 3.0], dtype), np.array([2.0], dtype)]


@needs_native
def test_value_and_grad_fast_path_switches_signatures_and_keeps_results():
    cf = compile_grad(linreg, wrt=["w", "b"])
    a64, a32 = _args(), _args(np.float32)
    v, (gw, gb) = cf.value_and_grad(*a64)
    v2, (gw2, gb2) = cf.value_and_grad(*a64)   # the fast path
    assert v == v2 and gw2 is not gw          # a held gradient is never overwritten
    rv, rgw, rgb = _ref(*a64)
    assert v == pytest.approx(rv) and np.allclose(gw, rgw) and np.allclose(gb, rgb)
    v32, (gw32, _) = cf.value_and_grad(*a32)
    assert gw32.dtype == np.float32 and np.allclose(gw32, rgw, rtol=1e-4)
    assert cf.value_and_grad(*a64)[0] == v and len(cf.signatures) == 2
    assert np.allclose(cf.grad(*a64)[0], rgw)
    calls = cf.stats["calls"]
    cf.value_and_grad(*a64)
    assert cf.stats["calls"] == calls + 1
    assert "f64[:]" in cf.inspect("ssa") or cf.signatures  # _last follows the fast path


@needs_native
def test_fast_path_errors_are_the_general_paths():
    cf = compile_grad(linreg, wrt=["w", "b"])
    a = _args()
    cf.value_and_grad(*a)
    with pytest.raises(InputError, match="incompatible shapes"):
        cf.value_and_grad(a[0], a[1], np.ones(4), a[3])
    with pytest.raises(InputError):
        cf.value_and_grad(*a[:3])
    # A non-contiguous view leaves the generated entry and is copied by the general one.
    w2 = np.repeat(a[0], 2)[::2]
    assert cf.value_and_grad(w2, *a[1:])[0] == pytest.approx(_ref(*a)[0])


@needs_native
def test_call_fast_path_matches_general_path():
    cf = compile_grad(linreg, wrt=["w", "b"])
    a = _args()
    first = cf(*a)
    assert cf(*a) == first == pytest.approx(_ref(*a)[0])
    assert cf(np.repeat(a[0], 2)[::2], *a[1:]) == pytest.approx(first)
    assert cf(*_args(np.float32)) == pytest.approx(first, rel=1e-5)
    with pytest.raises(InputError, match="incompatible shapes"):
        cf(a[0], a[1], np.ones(5), a[3])


@pytest.mark.parametrize("call,msg", [
    (lambda f: f(1.0, 2, 3.0, 4.0), r"scaled_product\(x, n, scale\) takes 3 positional arguments but 4 were given"),
    (lambda f: f(1.0), r"scaled_product\(x, n, scale\) is missing argument 'n'$"),
    (lambda f: f(), r"is missing arguments 'x', 'n'$"),
    (lambda f: f.value_and_grad(1.0, 2, 3.0, 4.0), r"takes 3 positional arguments but 4 were given"),
    (lambda f: f(1.0, 2, bogus=1), r"unexpected keyword argument 'bogus'"),
])
def test_wrong_argument_counts_name_the_parameters(call, msg):
    from api_funcs import scaled_product
    f = compile_grad(scaled_product, cache=False)
    with pytest.raises(InputError, match=msg):
        call(f)
