"""The native back end's primitives: every scalar registry primitive against NumPy (and
Python's `math`) at edge values, in f64, f32, i64 and bool, plus random programs of exact
primitives checked bit for bit against the `numpy_exec` reference interpreter."""
from __future__ import annotations

import math

import numpy as np
import pytest

from llvm_helpers import FLOATS, INTS, NP, B, F32, F64, I64, BOOL, build, native, ref, same
from symgrad import ir, prims
from symgrad.backend.llvm_prims import TABLE


# ---------------------------------------------------------------------------- the table
def test_every_scalar_primitive_has_a_lowering():
    scalar = {n for n, p in prims.REGISTRY.items()
              if p.kind in ("elementwise", "compare", "cast")}
    assert scalar - set(TABLE) == set()


UNARY = ["neg", "abs", "sign", "floor", "ceil", "round", "exp", "log", "log1p", "expm1", "sin",
         "cos", "tan", "tanh", "sinh", "cosh", "arcsin", "arccos", "arctan", "sqrt", "relu",
         "sigmoid"]
MATH = {"exp": math.exp, "log": math.log, "log1p": math.log1p, "expm1": math.expm1,
        "sin": math.sin, "cos": math.cos, "tan": math.tan, "tanh": math.tanh, "sinh": math.sinh,
        "cosh": math.cosh, "arcsin": math.asin, "arccos": math.acos, "arctan": math.atan,
        "sqrt": math.sqrt}
# NumPy's own SIMD loops differ from glibc's libm by a few ulp on these.
LIBM_RTOL = 1e-14


@pytest.mark.parametrize("name", UNARY)
def test_unary_f64_matches_numpy(name):
    f = native([F64], lambda b, x: b.op(name, x))
    for x in FLOATS:
        (got,) = f(x)
        want = ref(name, np.float64(x))
        assert same(got, want, LIBM_RTOL if name in MATH or name == "sigmoid" else 0.0), (name, x)
        if name in MATH:  # libm is called, so Python's math module agrees bit for bit
            try:
                exact = MATH[name](x)
            except (ValueError, OverflowError):
                continue
            assert same(got, exact), (name, x, got, exact)


@pytest.mark.parametrize("name", ["neg", "abs", "floor", "round", "exp", "log", "sin", "tanh",
                                  "sqrt", "sigmoid", "relu", "sign"])
def test_unary_f32_stays_f32(name):
    f = native([F32], lambda b, x: b.op(name, x))
    for x in FLOATS:
        (got,) = f(x)
        with np.errstate(over="ignore"):
            want = ref(name, np.float32(x))
        assert np.float32(got) == np.float32(got) or math.isnan(got)
        assert same(np.float32(got), want, 1e-6 if name not in ("neg", "abs", "floor", "round",
                                                                 "relu", "sign") else 0.0), (name, x)


@pytest.mark.parametrize("name", ["neg", "abs", "sign", "floor", "ceil", "round"])
def test_unary_int(name):
    f = native([I64], lambda b, x: b.op(name, x))
    assert f.result_dtypes == ["i64"]
    for x in INTS:
        assert f(x)[0] == int(ref(name, np.int64(x))), (name, x)


BINARY = ["add", "sub", "mul", "div", "pow", "floordiv", "mod", "maximum", "minimum"]


@pytest.mark.parametrize("name", BINARY)
def test_binary_f64_matches_numpy(name):
    f = native([F64, F64], lambda b, x, y: b.op(name, x, y))
    for x in FLOATS:
        for y in FLOATS:
            (got,) = f(x, y)
            want = ref(name, np.float64(x), np.float64(y))
            if name == "pow" and (x, y) == (-math.inf, 0.5):
                want = math.pow(x, y)  # libm (and Python) say inf, NumPy's AVX-512 loop nan
            assert same(got, want, LIBM_RTOL if name == "pow" else 0.0), (name, x, y, got, want)


@pytest.mark.parametrize("name", ["floordiv", "mod"])
def test_float_floordiv_mod_match_python(name):
    f = native([F64, F64], lambda b, x, y: b.op(name, x, y))
    op = (lambda x, y: x // y) if name == "floordiv" else (lambda x, y: x % y)
    vals = [7.0, -7.0, 0.5, -0.5, 3.0, -3.0, 1e300, -1e-300, 0.0, -0.0, 2.0**53 + 1]
    for x in vals:
        for y in [v for v in vals if v != 0]:
            assert same(f(x, y)[0], op(x, y)), (x, y)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "floordiv", "mod", "maximum", "minimum"])
def test_binary_int_matches_numpy(name):
    f = native([I64, I64], lambda b, x, y: b.op(name, x, y))
    for x in INTS:
        for y in INTS:
            assert f(x, y)[0] == int(ref(name, np.int64(x), np.int64(y))), (name, x, y)


def test_int_floordiv_mod_python_semantics_and_no_trap():
    fd = native([I64, I64], lambda b, x, y: (b.op("floordiv", x, y), b.op("mod", x, y)))
    for x in range(-9, 10):
        for y in [v for v in range(-4, 5) if v]:
            assert fd(x, y) == (x // y, x % y)
    # Division by zero and INT_MIN // -1 would trap in `idiv`: NumPy's results instead.
    assert fd(5, 0) == (0, 0)
    assert fd(-2**63, -1) == (-2**63, 0)


@pytest.mark.parametrize("e", [0, 1, 2, 3, 7, 40, 63])
def test_int_pow_constant_exponent(e):
    f = native([I64], lambda b, x: b.op("pow", x, e))
    assert f.result_dtypes == ["i64"]
    for x in [0, 1, -1, 2, -2, 3, -3, 10]:
        assert f(x)[0] == int(ref("pow", np.int64(x), np.int64(e))), (x, e)


def test_pow_float_with_int_and_variable_exponents():
    f = native([F64, I64], lambda b, x, n: b.op("pow", x, n))   # ints cast to f64
    for x in [2.0, -2.0, 0.0, -0.0, 0.5, math.inf, math.nan]:
        for n in [-3, -1, 0, 1, 2, 3]:
            assert same(f(x, n)[0], ref("pow", np.float64(x), np.float64(n))), (x, n)


@pytest.mark.parametrize("name", ["lt", "le", "gt", "ge", "eq", "ne"])
@pytest.mark.parametrize("dtype", ["f64", "i64", "bool"])
def test_comparisons(name, dtype):
    t = ir.Type(dtype)
    f = native([t, t], lambda b, x, y: b.op(name, x, y))
    vals = {"f64": [0.0, -0.0, 1.0, -1.0, math.inf, math.nan], "i64": INTS[:9] + [-2**63],
            "bool": [False, True]}[dtype]
    for x in vals:
        for y in vals:
            (got,) = f(x, y)
            assert got is bool(ref(name, NP[dtype](x), NP[dtype](y))), (name, x, y)


def test_logical_ops_and_where():
    f = native([BOOL, BOOL, F64, F64],
               lambda b, p, q, x, y: (b.op("logical_and", p, q), b.op("logical_or", p, q),
                                      b.op("logical_not", p), b.op("where", p, x, y)))
    for p in (False, True):
        for q in (False, True):
            assert f(p, q, 1.5, -2.0) == (p and q, p or q, not p, 1.5 if p else -2.0)


@pytest.mark.parametrize("lo,hi", [(0.0, 1.0), (None, 1.0), (0.0, None), (2.0, 1.0),
                                   (-0.0, None), (0.0, 0.0)])
def test_clamp(lo, hi):
    f = native([F64], lambda b, x: b.op("clamp", x, min=lo, max=hi))
    for x in FLOATS:
        assert same(f(x)[0], ref("clamp", np.float64(x), lo, hi)), (x, lo, hi)


def test_clamp_int():
    f = native([I64], lambda b, x: b.op("clamp", x, min=-3, max=5))
    assert [f(x)[0] for x in (-10, -3, 0, 5, 9)] == [-3, -3, 0, 5, 5]


CASTS = [("f64", "i64"), ("f64", "f32"), ("f64", "bool"), ("f32", "f64"), ("f32", "i64"),
         ("i64", "f64"), ("i64", "f32"), ("i64", "bool"), ("bool", "f64"), ("bool", "i64")]


@pytest.mark.parametrize("src,dst", CASTS)
def test_cast_matches_numpy(src, dst):
    f = native([ir.Type(src)], lambda b, x: b.op("cast", x, dtype=dst))
    vals = {"f64": FLOATS + [2.7, -2.7, 9.3e18, -9.3e18], "f32": FLOATS[:12], "i64": INTS,
            "bool": [False, True]}[src]
    for x in vals:
        (got,) = f(x)
        want = ref("cast", NP[src](x), NP[dst])
        if dst == "bool":
            assert got is bool(want), (x, got, want)
        elif dst == "i64":
            assert got == int(want), (x, got, want)
        else:
            assert same(NP[dst](got), want), (x, got, want)


def test_f32_constants_round_like_numpy():
    f = native([F32], lambda b, x: b.op("add", b.op("mul", x, 0.1), 1e-3))
    for x in (3.0, -7.5, 1e30):
        assert f(x)[0] == float(np.float32(x) * np.float32(0.1) + np.float32(1e-3))


# Correctly rounded / exact primitives: native and numpy_exec must agree bit for bit.
EXACT_BIN = ["add", "sub", "mul", "div", "floordiv", "mod", "maximum", "minimum", "lt", "le",
             "gt", "ge", "eq", "ne"]
EXACT_UN = ["neg", "abs", "sign", "floor", "ceil", "round", "sqrt", "relu"]
POOL = {"f64": FLOATS + [0.1, 1e16, -3.5], "f32": [0.0, -0.0, 1.5, -2.5, 3.0, 1e30, -1e-30,
                                                 math.inf, math.nan, 7.0],
        "i64": [0, 1, -1, 3, -3, 7, -8, 2**62, -2**63, 2**63 - 1, 5]}


@pytest.mark.parametrize("dtype", ["f64", "f32", "i64"])
@pytest.mark.parametrize("seed", range(6))
def test_random_programs_agree_with_numpy_exec(dtype, seed):
    import random

    from symgrad.backend import numpy_exec
    rng = random.Random(seed * 31 + len(dtype))
    t = ir.Type(dtype)

    def body(b, *xs):
        vals = list(xs)
        for _ in range(14):
            r = rng.random()
            a, c = rng.choice(vals), rng.choice(vals)
            if r < 0.55:
                v = b.op(rng.choice(EXACT_BIN), a, c)
            elif r < 0.85:
                v = b.op(rng.choice(EXACT_UN), a)
            elif r < 0.95:
                v = b.op("where", b.op("lt", a, c), a, c)
            else:
                v = b.op("clamp", a, min=-2, max=5)
            # Keep the program in one numeric type: comparisons come back as bool.
            vals.append(b.op("cast", v, dtype=dtype) if v.dtype == "bool" else v)
        return tuple(vals[-4:])
    fn = build([t, t, t], body)
    f = B.compile_function(fn)
    for _ in range(40):
        args = [rng.choice(POOL[dtype]) for _ in range(3)]
        try:
            want = numpy_exec.run(fn, *args)
        except (ValueError, OverflowError):
            continue  # NumPy refuses e.g. NaN -> int64; native gives INT_MIN
        got = f(*args)
        for g, w in zip(got, want):
            assert same(g, w), (seed, args, got, want)
