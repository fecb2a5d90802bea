"""The native back end on arrays: IR built with `ir.Builder` (and small compiled
functions), lowered to loop nests, checked against `numpy_exec` at edge shapes: empty
arrays, size-1 broadcasting, non-contiguous and negative-stride inputs, f32/i64/bool,
reductions (whole, axis, keepdims), views, BLAS contractions, in-place gradient buffers."""
from __future__ import annotations

import numpy as np
import pytest

import llvm_helpers
from symgrad import InputError, ir
from symgrad.backend import blas, llvm as B, numpy_exec

A1, A2 = (lambda d: ir.Type(d, 1)), (lambda d: ir.Type(d, 2))


def build(types, body, meta=None):
    return llvm_helpers.build(types, body, meta=meta or {"arg_names": [f"a{i}" for i in range(len(types))]})


def check(fn, *args, rtol=1e-12):
    want = numpy_exec.run(fn, *args)
    got = B.compile_function(fn)(*args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64),
                                   rtol=rtol, atol=1e-12)
        assert np.shape(g) == np.shape(w)
    return got


SHAPES = [((5,), (5,)), ((0,), (0,)), ((1,), (7,)), ((3, 1), (4,)), ((2, 3), (1, 3)),
          ((4, 1), (1, 5)), ((0, 3), (3,))]


@pytest.mark.parametrize("sx,sy", SHAPES)
def test_elementwise_broadcasting(sx, sy):
    r = np.random.default_rng(0)
    x, y = r.standard_normal(sx), r.standard_normal(sy)
    rank = max(len(sx), len(sy))
    fn = build([ir.Type("f64", len(sx)), ir.Type("f64", len(sy))],
               lambda b, x, y: ops_chain(b, x, y))
    (got,) = check(fn, x, y)
    assert got.shape == np.broadcast_shapes(sx, sy) and got.ndim == rank


def ops_chain(b, x, y):
    return b.op("add", b.op("mul", b.op("exp", b.op("mul", x, 0.1)), y), b.op("tanh", x))


def test_noncontiguous_and_negative_strides_are_read_in_place():
    r = np.random.default_rng(1)
    base = r.standard_normal((6, 8))
    fn = build([A2("f64"), A2("f64")], lambda b, x, y: b.op("sum", b.op("mul", x, y), axis=(1,)))
    check(fn, base[:, ::2], base[::-1, 1::2])
    check(fn, base.T[:4, ::-1], base.T[4:, :])


@pytest.mark.parametrize("dtype", ["f32", "i64", "bool"])
def test_dtypes(dtype):
    r = np.random.default_rng(2)
    npd = {"f32": np.float32, "i64": np.int64, "bool": np.bool_}[dtype]
    x = (r.standard_normal(9) * 4).astype(npd)
    y = (r.standard_normal(9) * 4).astype(npd)
    if dtype == "bool":
        fn = build([A1("bool"), A1("bool")], lambda b, x, y: b.op("logical_and", x, b.op("logical_not", y)))
    else:
        fn = build([A1(dtype), A1(dtype)], lambda b, x, y: (b.op("maximum", x, y), b.op("sum", b.op("mul", x, y))))
    check(fn, x, y, rtol=1e-6)


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("axis,keep", [(None, False), ((0,), False), ((1,), True), ((0, 1), True)])
def test_reductions(op, axis, keep):
    x = np.random.default_rng(3).standard_normal((4, 5))
    fn = build([A2("f64")], lambda b, x: b.op(op, x, axis=axis, keepdims=keep))
    check(fn, x, rtol=1e-12)


def test_float32_sum_accumulates_in_float64():
    x = np.full(10_000_001 // 10, 0.1, dtype=np.float32)
    fn = build([A1("f32")], lambda b, x: b.op("sum", x))
    (got,) = B.compile_function(fn)(x)
    # float32 accumulation would be off by about 1e3 here; f64 then rounding is exact.
    assert got == float(np.float32(np.sum(x, dtype=np.float64)))


def test_empty_max_is_value_error_and_empty_sum_is_zero():
    fn = build([A1("f64")], lambda b, x: b.op("max", x))
    with pytest.raises(ValueError):
        B.compile_function(fn)(np.zeros(0))
    fn = build([A1("f64")], lambda b, x: (b.op("sum", x), b.op("prod", x)))
    assert B.compile_function(fn)(np.zeros(0)) == (0.0, 1.0)


def test_views_transpose_expand_squeeze_reshape_getitem():
    x = np.arange(24.0).reshape(4, 6)

    def body(b, x):
        t = b.op("transpose", x, axes=(1, 0))
        e = b.op("expand_dims", b.op("sum", t, axis=(0,)), axis=(0,))
        r = b.op("reshape", x, 3, 8)
        s = b.op("getitem", x, index=(slice(1, None, 2), slice(None, None, -1)))
        return b.op("add", e, 1.0), r, s, b.op("squeeze", e, axis=(0,))
    check(build([A2("f64")], body), x)


@pytest.mark.skipif(not blas.available(), reason="no BLAS provider")
@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((3, 4), (4,)), ((4,), (4, 2)), ((6,), (6,)),
                                   ((0, 4), (4, 2)), ((3, 0), (0, 2))])
def test_matmul_blas(sa, sb):
    r = np.random.default_rng(4)
    a, c = r.standard_normal(sa), r.standard_normal(sb)
    fn = build([ir.Type("f64", len(sa)), ir.Type("f64", len(sb))], lambda b, x, y: b.op("matmul", x, y))
    check(fn, a, c)
    if len(sa) == 2:
        check(fn, np.asfortranarray(a), c)  # a transposed layout goes to BLAS as is
    assert "symgrad_gemm" in B.compile_function(fn).llvm_ir or len(sa) == len(sb) == 1


def test_gradient_buffers_are_written_in_place():
    meta = {"kind": "joint", "wrt": ["a0", "a1"], "arg_names": ["a0", "a1"]}
    fn = build([A1("f64"), A1("f64")], lambda b, x, y: (b.op("sum", b.op("mul", x, y)),
                                                       b.op("mul", y, 2.0), b.op("mul", x, 3.0)), meta)
    f = B.compile_function(fn)
    x, y = np.arange(5.0), np.ones(5)
    gx, gy = np.empty(5), np.empty(5)
    v, rx, ry = f(x, y, out=(gx, gy))
    assert rx is gx and ry is gy and np.all(gx == 2.0) and np.all(gy == 3 * x)
    with pytest.raises(InputError):
        f(x, y, out=(gx, x))  # overlaps an input
    with pytest.raises(InputError):
        f(x, y, out=(gx, np.empty(4)))


def test_reused_buffers_never_clobber_held_results():
    meta = {"kind": "joint", "wrt": ["a0"], "arg_names": ["a0"]}
    fn = build([A1("f64")], lambda b, x: (b.op("sum", x), b.op("mul", x, 2.0)), meta)
    f = B.compile_function(fn)
    _, g1 = f(np.ones(3))
    _, g2 = f(np.full(3, 5.0))
    assert g1 is not g2 and np.all(g1 == 2.0) and np.all(g2 == 10.0)


def test_loop_carried_array_with_row_writes():
    def body(b, x):
        n = b.op("dim", x, axis=0)
        acc = b.op("full", 0.0, n, dtype="f64")
        blk = ir.Block([ir.Arg(ir.I64, "i"), ir.Arg(acc.type, "acc")])
        with b.inside(blk):
            i, a = blk.args
            v = b.op("getitem", x, i, index=(__import__("symgrad").prims.IndexArg(0),))
            b.yield_(b.op("setitem", a, b.op("mul", v, v), i,
                          index=(__import__("symgrad").prims.IndexArg(0),)))
        (res,) = b.emit("for_", [ir.Const(0), n, ir.Const(1), acc], types=[acc.type], regions=[blk]).results
        return res
    check(build([A1("f64")], body), np.arange(6.0))


def test_stack_and_concatenate():
    r = np.random.default_rng(5)
    x, y = r.standard_normal((2, 3)), r.standard_normal((4, 3))
    fn = build([A2("f64"), A2("f64")], lambda b, x, y: (b.op("concatenate", x, y, axis=0),
                                                       b.op("stack", x, x, axis=1)))
    check(fn, x, y)
    with pytest.raises(InputError):
        B.compile_function(fn)(x, np.ones((4, 2)))
