"""The gamma-family primitives (`lgamma`, its derivative `digamma`, and `trigamma`): the NumPy
implementations against mpmath (always installed with SymPy), Python's `math.lgamma` and,
where installed, SciPy; the native lowering against them; `math.lgamma` in compiled code
on both back ends, with gradients against central differences."""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from compiler_helpers import BACKENDS, HAVE_NATIVE
from llvm_helpers import F32, F64, FLOATS, same
from symgrad import compile_grad, special

GAMMA = ("lgamma", "digamma", "trigamma")
# Away from poles and zeros: relative accuracy is meaningful everywhere here.
POINTS = [1e-8, 0.01, 0.3, 0.5, 0.99, 1.5, 2.75, 3.0, 5.5, 9.99, 10.0, 10.01, 17.3, 123.4,
          1e5, 3.2e9, 1e17, -0.3, -0.5, -1.25, -2.75, -7.9, -30.5, -1e-9]
MP = {"lgamma": lambda v: mpmath.log(abs(mpmath.gamma(v))), "digamma": mpmath.digamma,
      "trigamma": lambda v: mpmath.polygamma(1, v)}


def _truth(name: str, x: float) -> float:
    with mpmath.workprec(120):
        return float(MP[name](mpmath.mpf(x)))


@pytest.mark.parametrize("name", GAMMA)
def test_numpy_matches_mpmath(name):
    got = getattr(special, name)(np.array(POINTS))
    want = np.array([_truth(name, x) for x in POINTS])
    # CPython's lgamma is good to ~1e-15 away from its zeros at 1 and 2, digamma and
    # trigamma to a few ulp (digamma loses more only right next to its negative roots).
    np.testing.assert_allclose(got, want, rtol=3e-14, atol=0)
    assert np.array_equal(special.lgamma(np.array(POINTS)), [math.lgamma(x) for x in POINTS])


def test_numpy_matches_scipy():
    sp = pytest.importorskip("scipy.special")
    x = np.concatenate([np.random.default_rng(3).uniform(-25, 25, 4000), np.arange(-4.5, 12.0, 0.5),
                        10.0 ** np.arange(-300, 300, 7.0)])
    with np.errstate(all="ignore"):
        ours = {"digamma": special.digamma(x), "trigamma": special.trigamma(x)}
        theirs = {"digamma": sp.digamma(x), "trigamma": sp.polygamma(1, x)}
    for name in ours:
        # digamma's negative roots: relative error there is large in both, absolute tiny
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-13, atol=1e-14, err_msg=name)


def test_special_values():
    inf, nan = math.inf, math.nan
    cases = {  # SciPy's (and PyTorch's) conventions; pairs, as 0.0 == -0.0 as a dict key
        "lgamma": [(0.0, inf), (-0.0, inf), (-1.0, inf), (-7.0, inf), (1.0, 0.0), (2.0, 0.0),
                   (inf, inf), (-inf, inf), (1e308, inf)],
        "digamma": [(0.0, -inf), (-0.0, inf), (-1.0, nan), (-7.0, nan), (1.0, -0.5772156649015329),
                    (inf, inf), (-inf, nan)],
        "trigamma": [(0.0, inf), (-1.0, inf), (-7.0, inf), (1.0, math.pi ** 2 / 6), (inf, 0.0),
                     (-inf, nan)],
    }
    for name, pairs in cases.items():
        for x, want in pairs:
            assert same(getattr(special, name)(x), want, 1e-15), (name, x)
        assert math.isnan(getattr(special, name)(nan))


@pytest.mark.parametrize("name", GAMMA)
def test_dtypes(name):
    f = getattr(special, name)
    assert isinstance(f(2.5), np.float64)
    assert f(np.float32(2.5)).dtype == np.float32
    assert f(np.arange(1, 4)).dtype == np.float64          # ints in, floats out
    assert f(np.ones((2, 3))).shape == (2, 3)


# ------------------------------------------------------------------------ native lowering
native_only = pytest.mark.skipif(not HAVE_NATIVE, reason="symgrad.backend.llvm not importable")


def _native(name, t):
    from llvm_helpers import native
    return native([t], lambda b, x: b.op(name, x))


@native_only
@pytest.mark.parametrize("name", GAMMA)
def test_native_f64_matches_numpy(name):
    f = _native(name, F64)
    rng = np.random.default_rng(7)
    xs = FLOATS + POINTS + list(rng.uniform(-20, 20, 300)) + [-3.0, 4.0, 7.0, 1 - 1e-17]
    for x in xs:
        (got,) = f(x)
        with np.errstate(all="ignore"):
            want = getattr(special, name)(x)
        if name == "lgamma":  # glibc's lgamma_r against CPython's: ulps apart, 0 at 1 and 2
            ok = same(got, want) or abs(got - want) <= 1e-14 * max(1.0, abs(want))
        else:  # the same steps; only libm's tan/sin/log against NumPy's may differ in an ulp
            ok = same(got, want, 1e-14) or (math.isinf(want) and got == want)
        assert ok, (name, x, got, want)


@native_only
@pytest.mark.parametrize("name", GAMMA)
def test_native_f32_stays_f32(name):
    f = _native(name, F32)
    assert f.result_dtypes == ["f32"]
    for x in (0.3, 2.5, -1.5, 11.0):
        (got,) = f(np.float32(x))
        assert np.float32(got) == getattr(special, name)(np.float32(x)), (name, x)


@native_only
def test_native_calls_the_reentrant_lgamma():
    from symgrad.backend.jit import externals
    cf = compile_grad(plain_lgamma, cache=False)
    cf(2.5)
    needs = externals(cf.inspect("llvm"))
    assert "lgamma_r" in needs and "lgamma" not in needs  # plain lgamma writes a global


def plain_lgamma(x):
    return math.lgamma(x)


# ----------------------------------------------------------------------- compiled code
def multigamma(a, p):
    """log Gamma_p(a), the multivariate gamma function of the Wishart normaliser."""
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out += math.lgamma(a + 0.5 * (1 - j))
    return out


def shifted_sum(x, m):
    s = 0.0
    for j in range(x.shape[0]):
        s += math.lgamma(x[j] * x[j] + 0.5 * m) - math.lgamma(m + 1)  # int operand: float result
    return s


def _fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_multigamma(backend):
    cf = compile_grad(multigamma, wrt="a", cache=False, backend=backend)
    for a, p in ((3.7, 3), (10.25, 6), (0.9, 1)):
        value, grad = cf.value_and_grad(a, p)
        assert value == pytest.approx(multigamma(a, p), rel=1e-13, abs=1e-14)
        assert grad == pytest.approx(sum(float(special.digamma(a + 0.5 * (1 - j)))
                                         for j in range(1, p + 1)), rel=1e-13)
        assert grad == pytest.approx(_fd(lambda v: multigamma(v, p), a), rel=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_array_loop(backend):
    x = np.array([0.3, -1.2, 2.5, 0.05])
    cf = compile_grad(shifted_sum, wrt="x", cache=False, backend=backend)
    value, grad = cf.value_and_grad(x, 3)
    assert value == pytest.approx(shifted_sum(x, 3), rel=1e-13)
    want = 2 * x * special.digamma(x * x + 1.5)
    np.testing.assert_allclose(grad, want, rtol=1e-13)


@native_only
def test_backends_agree():
    x = np.random.default_rng(5).uniform(-3, 3, 50)
    got = [compile_grad(shifted_sum, wrt="x", cache=False, backend=b).value_and_grad(x, 2)
           for b in ("numpy", "native")]
    assert got[0][0] == pytest.approx(got[1][0], rel=1e-14)
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-14, atol=1e-300)
