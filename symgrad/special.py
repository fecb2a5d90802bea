"""Vectorised NumPy log-gamma, digamma and trigamma (the `lgamma`, `digamma`, `trigamma`
primitives), with no SciPy dependency.

NumPy has no gamma-family ufuncs. `lgamma` maps Python's `math.lgamma` over the array.
`digamma` is Cephes' `psi` as SciPy ships it (reflection for x < 0, exact harmonic sums for
integers up to 10, recurrence into [1, 2], Boost's rational approximation around the
positive root there, the asymptotic series from 10 on), so it agrees with
`scipy.special.digamma` to a few ulp. `trigamma` reflects x < 0, recurs up to x >= 10 and
sums the asymptotic (Bernoulli) series. The native back end (`backend.llvm_special`) emits
the same steps with the constants defined here, so both back ends round alike.

Every function takes an array or scalar, computes in float64 and returns the input's float
dtype (float64 for integers); a 0-d input gives a NumPy scalar, as NumPy's ufuncs do.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

# --------------------------------------------------------------------- shared constants
EULER = 0.57721566490153286061
# digamma on [1, 2]: (x - root) * (Y + P(x - 1) / Q(x - 1)), coefficients highest degree
# first (Boost, via SciPy's Cephes psi). Y is a float32 constant in the original.
PSI_Y = float(np.float32(0.99558162689208984))
PSI_ROOTS = (1569415565.0 / 1073741824.0, (381566830.0 / 1073741824.0) / 1073741824.0,
             0.9016312093258695918615325266959189453125e-19)
PSI_P = (-0.0020713321167745952, -0.045251321448739056, -0.28919126444774784,
         -0.65031853770896507, -0.32555031186804491, 0.25479851061131551)
PSI_Q = (-0.55789841321675513e-6, 0.0021284987017821144, 0.054151797245674225,
         0.43593529692665969, 1.4606242909763515, 2.0767117023730469, 1.0)
# digamma(x) ~ log(x) - 1/(2x) - z * A(z), z = 1/x^2, for x >= 10 (Cephes' psi_A).
PSI_A = (8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
         -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
         8.33333333333333333333E-2)
PSI_SHIFTS = 8          # x in (2, 10) reaches [1, 2] in at most 8 steps down
# trigamma(x) ~ 1/x + 1/(2x^2) + sum_k B_2k / x^(2k+1), x >= 10: B_2 .. B_16, highest first
# in z = 1/x^2. The first omitted term is below 1e-17 relative at x = 10.
TRI_B = (-3617.0 / 510.0, 7.0 / 6.0, -691.0 / 2730.0, 5.0 / 66.0, -1.0 / 30.0, 1.0 / 42.0,
         -1.0 / 30.0, 1.0 / 6.0)
TRI_SHIFTS = 10         # x in (0, 10) reaches [10, 11) in at most 10 steps up


def horner(coefs: tuple[float, ...], x: Any, mul: Any = None, add: Any = None) -> Any:
    """coefs[0] x^n + ... + coefs[n] (Cephes' polevl), with the back end's mul/add if given."""
    mul = mul or (lambda a, b: a * b)
    add = add or (lambda a, b: a + b)
    acc = coefs[0]
    for c in coefs[1:]:
        acc = add(mul(acc, x), c)
    return acc


def _float_in(x: Any) -> tuple[np.ndarray, np.dtype]:
    a = np.asarray(x)
    dt = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
    return a.astype(np.float64), dt


def _float_out(r: np.ndarray, dt: np.dtype) -> Any:
    return r.astype(dt, copy=False)[()]


# ------------------------------------------------------------------------------ lgamma
def _lgamma1(v: float) -> float:
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):  # poles (0, -1, ...) and overflow: C's lgamma is +inf
        return math.inf


_LGAMMA = np.frompyfunc(_lgamma1, 1, 1)


def lgamma(x: Any) -> Any:
    """log|Gamma(x)|, elementwise (Python's `math.lgamma`; +inf at the poles)."""
    a, dt = _float_in(x)
    with np.errstate(all="ignore"):  # math.lgamma raises the overflow flag on the way to inf
        out = np.asarray(_LGAMMA(a), dtype=np.float64)
    return _float_out(out, dt)


# ----------------------------------------------------------------------------- digamma
def _psi_1_2(t: np.ndarray) -> np.ndarray:
    g = t - PSI_ROOTS[0]
    g = g - PSI_ROOTS[1]
    g = g - PSI_ROOTS[2]
    r = horner(PSI_P, t - 1.0) / horner(PSI_Q, t - 1.0)
    return g * PSI_Y + g * r


def _psi_asy(t: np.ndarray) -> np.ndarray:
    z = 1.0 / (t * t)
    y = np.where(t < 1.0e17, z * horner(PSI_A, z), 0.0)
    return np.log(t) - 0.5 / t - y


def digamma(x: Any) -> Any:
    """psi(x) = d/dx log Gamma(x), elementwise; -inf/+inf at +0/-0, NaN at negative integers."""
    v, dt = _float_in(x)
    with np.errstate(all="ignore"):
        neg = v < 0.0
        r = v - np.trunc(v)                            # modf: tan(pi r) is exact where tan(pi x) is not
        y = np.where(neg, -math.pi / np.tan(math.pi * r), 0.0)
        t = np.where(neg, 1.0 - v, v)
        # positive integers up to 10: harmonic numbers, summed in Cephes' order
        isint = (t <= 10.0) & (t == np.floor(t))
        yint = y
        for i in range(1, 10):
            yint = np.where(isint & (i < t), yint + 1.0 / i, yint)
        yint = yint - EULER
        # otherwise recur into [1, 2] (up from (0, 1), down from (2, 10))
        small = t < 1.0
        y = np.where(small, y - 1.0 / t, y)
        t = np.where(small, t + 1.0, t)
        for _ in range(PSI_SHIFTS):
            m = (t > 2.0) & (t < 10.0)
            t = np.where(m, t - 1.0, t)
            y = np.where(m, y + 1.0 / t, y)
        out = np.where(t <= 2.0, y + _psi_1_2(t), y + _psi_asy(t))
        out = np.where(isint, yint, out)
        out = np.where(neg & (r == 0.0), np.nan, out)
        out = np.where(v == 0.0, np.copysign(np.inf, -v), out)
    return _float_out(out, dt)


# ---------------------------------------------------------------------------- trigamma
def _tri_asy(t: np.ndarray) -> np.ndarray:
    z = 1.0 / (t * t)
    return (1.0 + 0.5 / t + z * horner(TRI_B, z)) / t


def trigamma(x: Any) -> Any:
    """psi'(x) = d^2/dx^2 log Gamma(x), elementwise; +inf at the poles 0, -1, -2, ..."""
    v, dt = _float_in(x)
    with np.errstate(all="ignore"):
        neg = v < 0.0
        # sin^2(pi x) has period 1; x - round(x) is exact and keeps pi r small near poles
        s = np.sin(math.pi * (v - np.round(v)))
        refl = (math.pi * math.pi) / (s * s)             # psi1(x) + psi1(1 - x) = pi^2 / sin^2(pi x)
        t = np.where(neg, 1.0 - v, v)
        y = np.zeros_like(t)
        for _ in range(TRI_SHIFTS):
            m = t < 10.0
            y = np.where(m, y + 1.0 / (t * t), y)
            t = np.where(m, t + 1.0, t)
        pos = y + _tri_asy(t)
        out = np.where(neg, refl - pos, pos)
        out = np.where((v <= 0.0) & (v == np.floor(v)) & np.isfinite(v), np.inf, out)
    return _float_out(out, dt)
