"""The native back end beyond single primitives: structured control flow (if_, for_ with
Python range semantics, while_), local buffers (tapes, grow, freeing, bounds), the call
boundary (argument checks, errors, the GIL) and the texts `inspect` shows."""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from llvm_helpers import B, BOOL, F32, F64, I64, build, for_, if_, native, same, while_
from symgrad import InputError, ir


# --------------------------------------------------------------------------- control flow
def test_if_selects_and_nests():
    def body(b, x):
        (r,) = if_(b, b.op("gt", x, 0.0),
                   lambda b: if_(b, b.op("gt", x, 10.0), lambda b: (b.op("mul", x, 2.0),),
                                 lambda b: (b.op("sin", x),), [F64]),
                   lambda b: (b.op("neg", x),), [F64])
        return r
    f = native([F64], body)
    for x in [-3.0, 0.0, 0.5, 11.0, math.nan]:
        want = (x * 2.0 if x > 10 else math.sin(x)) if x > 0 else -x
        assert same(f(x)[0], want)


@pytest.mark.parametrize("start,stop,step", [(0, 10, 1), (10, 0, -1), (3, 17, 4), (17, 3, -4),
                                             (5, 5, 1), (5, 1, 1), (1, 5, -1), (-7, 7, 3),
                                             (2**63 - 5, 2**63 - 1, 1), (-2**63, -2**63 + 10, 3),
                                             (2**63 - 1, -2**63, -2**62), (0, 2**63 - 1, 2**62)])
def test_for_range_semantics(start, stop, step):
    def body(b, a, s, t):
        n, acc = for_(b, a, s, t, [ir.Const(0), ir.Const(0)],
                      lambda b, i, n, acc: (b.op("add", n, 1),
                                            b.op("add", acc, b.op("mod", i, 1000))))
        return n, acc
    f = native([I64, I64, I64], body)
    r = range(start, stop, step)
    assert f(start, stop, step) == (len(r), sum(i % 1000 for i in r))


def test_for_zero_step_raises_like_python():
    f = native([I64], lambda b, s: for_(b, 0, 10, s, [ir.Const(1.0)],
                                        lambda b, i, c: (b.op("mul", c, 2.0),))[0])
    assert f(1) == (1024.0,)
    with pytest.raises(ValueError, match="must not be zero"):
        f(0)


def test_nested_loops_and_carried_state():
    # s = sum_{i<n} sum_{j<i} sin(i*x + j)
    def body(b, x, n):
        (s,) = for_(b, 0, n, 1, [ir.Const(0.0)], lambda b, i, s: for_(
            b, 0, i, 1, [s], lambda b, j, s2: (
                b.op("add", s2, b.op("sin", b.op("add", b.op("mul", i, x), j))),)))
        return s
    f = native([F64, I64], body)
    want = sum(math.sin(i * 0.3 + j) for i in range(7) for j in range(i))
    assert f(0.3, 7)[0] == pytest.approx(want, rel=1e-14)


def test_while_collatz():
    def body(b, n):
        steps, _ = while_(b, [ir.Const(0), n], lambda b, k, m: b.op("ne", m, 1),
                          lambda b, k, m: (b.op("add", k, 1), if_(
                              b, b.op("eq", b.op("mod", m, 2), 0),
                              lambda b: (b.op("floordiv", m, 2),),
                              lambda b: (b.op("add", b.op("mul", m, 3), 1),), [I64])[0]))
        return steps
    f = native([I64], body)

    def collatz(n):
        k = 0
        while n != 1:
            n, k = (n // 2 if n % 2 == 0 else 3 * n + 1), k + 1
        return k
    for n in (1, 2, 7, 27, 97, 871):
        assert f(n) == (collatz(n),)


def test_recurrence_matches_python_exactly():
    def body(b, x0, h, p):
        (x,) = for_(b, 0, 1000, 1, [x0], lambda b, i, x: (
            b.op("sub", x, b.op("mul", b.op("mul", h, b.op("sin", x)), p)),))
        return x

    def py(x, h, p):
        for _ in range(1000):
            x = x - h * math.sin(x) * p
        return x
    f = native([F64, F64, F64], body)
    assert f(0.7, 0.01, 1.3) == (py(0.7, 0.01, 1.3),)


# -------------------------------------------------------------------------------- buffers
def _tape_fn(b, x, n):
    """Forward loop writes a tape, a reverse loop reads it back."""
    tape = b.op("alloc", n, dtype="f64")
    _, = for_(b, 0, n, 1, [x], lambda b, i, v: (b.op("store", tape, i, v) or b.op("mul", v, 1.5),))
    (acc,) = for_(b, b.op("sub", n, 1), -1, -1, [ir.Const(0.0)],
                  lambda b, i, s: (b.op("add", b.op("mul", s, 2.0), b.op("load", tape, i)),))
    return acc


def test_alloc_store_load_tape():
    f = native([F64, I64], _tape_fn)
    for n in (0, 1, 5, 100):
        xs = [0.3 * 1.5 ** i for i in range(n)]
        want = 0.0
        for v in reversed(xs):
            want = want * 2.0 + v
        assert f(0.3, n)[0] == pytest.approx(want, rel=1e-15)


def test_grow_in_while_keeps_contents():
    # Store k at k while k < n, growing the buffer from capacity 1; then sum it back.
    def body(b, n):
        buf0 = b.op("alloc", 1, dtype="i64")
        k, buf = while_(b, [ir.Const(0), buf0], lambda b, k, buf: b.op("lt", k, n),
                        lambda b, k, buf: _grow_store(b, k, buf))
        (s,) = for_(b, 0, k, 1, [ir.Const(0)], lambda b, i, s: (b.op("add", s, b.op("load", buf, i)),))
        return s, k

    def _grow_store(b, k, buf):
        nb = b.op("grow", buf, b.op("add", k, 1))
        b.op("store", nb, k, b.op("mul", k, k))
        return b.op("add", k, 1), nb
    f = native([I64], body)
    for n in (0, 1, 2, 3, 100, 5000):
        assert f(n) == (sum(i * i for i in range(n)), n)


def test_buffers_are_freed():
    f = native([F64, I64], _tape_fn)

    def rss():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096
    f(0.1, 200_000)
    before = rss()
    for _ in range(300):   # 1.6 MB a call: 480 MB if it leaked
        f(0.1, 200_000)
    assert rss() - before < 100e6


def test_out_of_range_buffer_index_is_an_error_not_a_crash():
    f = native([I64], lambda b, i: b.op("load", b.op("alloc", 4, dtype="f64"), i))
    assert f(3) == (0.0,)
    for i in (4, -1, 2**40):
        with pytest.raises(IndexError):
            f(i)


def test_impossible_allocation_is_a_memory_error():
    f = native([I64], lambda b, n: b.op("load", b.op("alloc", n, dtype="f64"), 0))
    assert f(10) == (0.0,)
    for n in (2**61, 2**62, 2**63 - 1):
        with pytest.raises(MemoryError):
            f(n)


def test_bool_and_f32_buffers():
    def body(b, x):
        bb = b.op("alloc", 2, dtype="bool")
        fb = b.op("alloc", 2, dtype="f32")
        b.op("store", bb, 1, b.op("gt", x, 0.0))
        b.op("store", fb, 1, b.op("cast", x, dtype="f32"))
        return b.op("load", bb, 1), b.op("load", bb, 0), b.op("load", fb, 1)
    f = native([F64], body)
    assert f(0.1) == (True, False, float(np.float32(0.1)))


# --------------------------------------------------------------------------- the boundary
def test_multiple_results_of_every_dtype():
    f = native([F64, I64, BOOL, F32], lambda b, x, n, p, y: (y, p, n, x))
    assert f.result_dtypes == ["f32", "bool", "i64", "f64"]
    r = f(1.5, -2**63, True, 0.1)
    assert r == (float(np.float32(0.1)), True, -2**63, 1.5)
    assert type(r[1]) is bool and type(r[2]) is int


def test_bad_arguments_raise_input_error_before_native_code():
    f = native([F64, I64, BOOL], lambda b, x, n, p: b.op("where", p, x, b.op("cast", n, dtype="f64")))
    assert f(np.float64(2.0), np.int64(3), np.bool_(False)) == (3.0,)
    for args in [(1.0, 2), (1.0, 2, True, 4), ("x", 1, True), (1.0, 2**63, True),
                 (1.0, 1.5, True), (1.0, 1, "yes"), (None, 1, True), (10**400, 1, True)]:
        with pytest.raises(InputError):
            f(*args)


def test_native_call_releases_the_gil():
    def body(b, n):
        (s,) = for_(b, 0, n, 1, [ir.Const(0.0)], lambda b, i, s: (b.op("add", s, b.op("sin", i)),))
        return s
    f = native([I64], body)
    n = 3_000_000
    t = time.perf_counter()
    f(n)
    alone = time.perf_counter() - t
    ticks = []
    th = threading.Thread(target=f, args=(n,))
    th.start()
    while th.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.0005)
    th.join()
    # With the GIL held, the main thread could not run until the call returned.
    assert alone > 0.005 and len(ticks) > 5


def test_texts_for_inspect_and_fastmath_flags():
    body = lambda b, x, y: b.op("add", b.op("mul", x, y), b.op("exp", x))  # noqa: E731
    f = native([F64, F64], body)
    assert "define i32" in f.llvm_ir and "fmul double" in f.llvm_ir and "fast" not in f.llvm_ir
    assert f.symbol in f.llvm_opt and "target datalayout" in f.llvm_opt
    assert f.symbol in f.asm and ("vmulsd" in f.asm or "mulsd" in f.asm)
    g = native([F64, F64], body, fastmath=True)
    assert "fmul fast double" in g.llvm_ir
    assert g(0.5, 2.0)[0] == pytest.approx(f(0.5, 2.0)[0], rel=1e-15)
    assert repr(f).startswith("<NativeFunction f(f64, f64)")


def test_unsupported_op_is_a_compile_error():
    from symgrad import CompileError
    args = [ir.Arg(F64, "x")]
    blk = ir.Block(args)
    with ir.Builder(blk) as b:
        r = b.emit("matmul", [args[0], args[0]], types=[F64]).result
        b.ret(r)
    with pytest.raises(CompileError, match="matmul"):
        B.compile_function(ir.Function("g", blk, [F64]))


def _recurrence_joint(b, x0, h, p):
    """Hand-written joint value+gradient of `x = x - h*sin(x)*p` (1000 steps), as reverse
    mode builds it: a forward loop taping x, a reverse loop reading the tape."""
    n = 1000
    tape = b.op("alloc", n, dtype="f64")
    (x,) = for_(b, 0, n, 1, [x0], lambda b, i, x: (
        b.op("store", tape, i, x) or b.op("sub", x, b.op("mul", b.op("mul", h, b.op("sin", x)), p)),))

    def rev(b, k, xb, hb, pb):
        xk = b.op("load", tape, k)
        s = b.op("sin", xk)
        return (b.op("mul", xb, b.op("sub", 1.0, b.op("mul", b.op("mul", h, p), b.op("cos", xk)))),
                b.op("sub", hb, b.op("mul", xb, b.op("mul", s, p))),
                b.op("sub", pb, b.op("mul", xb, b.op("mul", h, s))))
    xb, hb, pb = for_(b, n - 1, -1, -1, [ir.Const(1.0), ir.Const(0.0), ir.Const(0.0)], rev)
    return x, xb, hb, pb


def test_handwritten_adjoint_with_tape_matches_finite_differences():
    f = native([F64, F64, F64], _recurrence_joint)
    args = [0.7, 0.01, 1.3]
    val, *grads = f(*args)

    def py(x, h, p):
        for _ in range(1000):
            x = x - h * math.sin(x) * p
        return x
    assert val == py(*args)
    for k in range(3):
        e = 1e-6
        hi, lo = list(args), list(args)
        hi[k] += e
        lo[k] -= e
        assert grads[k] == pytest.approx((py(*hi) - py(*lo)) / (2 * e), rel=1e-6)


SAMPLES = {
    "recurrence": ([F64, F64, F64], _recurrence_joint, (0.7, 0.01, 1.3)),
    "tape": ([F64, I64], _tape_fn, (0.3, 17)),
    "ops": ([F64, F64], lambda b, x, y: (b.op("floordiv", x, y), b.op("mod", x, y),
                                         b.op("maximum", x, y), b.op("pow", x, y),
                                         b.op("sigmoid", x), b.op("clamp", y, min=-1.0, max=1.0)),
            (-7.5, 2.0)),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_native_agrees_with_numpy_exec(name):
    from symgrad.backend import numpy_exec
    types, body, args = SAMPLES[name]
    fn = build(types, body)
    want = numpy_exec.run(fn, *args)
    got = B.compile_function(fn)(*args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert same(g, w, 1e-14), (name, got, want)


def test_unicode_function_names_get_ascii_symbols():
    fn = build([F64], lambda b, x: b.op("mul", x, 2.0), name="größe_ƒ")
    f = B.compile_function(fn)
    assert f.symbol.isascii() and f(2.0) == (4.0,)


def test_buffer_chosen_by_if_keeps_bounds_checks():
    def body(b, p, i):
        small, big = b.op("alloc", 2, dtype="f64"), b.op("alloc", 8, dtype="f64")
        b.op("store", big, 7, 1.5)
        (buf,) = if_(b, p, lambda b: (small,), lambda b: (big,), [ir.Type("f64", 1)])
        return b.op("load", buf, i)
    f = native([BOOL, I64], body)
    assert f(False, 7) == (1.5,) and f(True, 1) == (0.0,)
    with pytest.raises(IndexError):
        f(True, 7)  # in range of `big`, not of `small`
