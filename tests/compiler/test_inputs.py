"""Bad inputs to native array functions: every kind raises `InputError` naming the argument
with expected vs actual, and none kills the process (checked in a subprocess)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fuse_funcs import bad_inputs, w1
from symgrad import CompileError, InputError, compile_grad


@pytest.fixture(scope="module")
def f():
    g = compile_grad(w1, cache=False, backend="native")
    g.value_and_grad(np.ones(3), np.ones(3))
    return g


@pytest.mark.parametrize("args,words", [
    ((np.ones(3), np.ones(4)), ["incompatible shapes", "(3,)", "(4,)"]),
    ((np.ones((3, 2)), np.ones(3)), ["shape"]),
    ((np.ones(3),), ["argument"]),
    ((np.ones(3), "abc"), ["b"]),
    ((np.ones(3), [[1.0, 2.0], [3.0]]), ["b"]),
    ((np.ones(3), np.ones(3, dtype=complex)), ["b"]),
])
def test_bad_inputs_raise_input_error(f, args, words):
    with pytest.raises(InputError) as e:
        f.value_and_grad(*args)
    for w in words:
        assert w in str(e.value)


def test_fine_inputs(f):
    x = np.arange(8.0)
    ro = np.ones(4)
    ro.flags.writeable = False
    for a, b in [(x[::2], ro), (x[::-2], x[1::2]), (np.full(4, np.nan), np.full(4, np.inf)),
                 (np.zeros(0), np.zeros(0)), (np.ones(4, dtype=np.float32), np.ones(4)),
                 (np.ones(5, dtype=">f8"), np.ones(5))]:
        v, (ga, gb) = f.value_and_grad(a, b)
        assert ga.shape == a.shape and gb.shape == b.shape
    unaligned = np.frombuffer(b"\0" + np.ones(4).tobytes(), dtype=np.float64, offset=1)
    v, _ = f.value_and_grad(unaligned, np.ones(4))
    assert v == 2.0 * 4 / 4 * 2 - 0.0 or np.isfinite(v)


def test_out_buffers_are_checked(f):
    a, b = np.ones(3), np.ones(3)
    for out in [(np.empty(3),), (np.empty(3), np.empty(3, dtype=np.float32)), (a, np.empty(3)),
                (np.empty(4), np.empty(3))]:
        with pytest.raises(InputError):
            f.value_and_grad(a, b, out=out)


def test_index_arrays_are_bounds_checked():
    g = compile_grad(bad_inputs, cache=False, backend="native", wrt="x")
    x = np.arange(5.0)
    assert g(x, np.array([0, 4, -1])) == pytest.approx(0 + 4 + 4 + 20)
    with pytest.raises(IndexError):
        g(x, np.array([0, 5]))
    with pytest.raises((InputError, CompileError)):  # float indices: refused at the source line
        g(x, np.array([0.5]))


def test_bad_inputs_never_kill_the_process():
    code = textwrap.dedent("""
        import sys, numpy as np
        sys.path.insert(0, %r)
        from fuse_funcs import w1, bad_inputs
        from symgrad import compile_grad
        f = compile_grad(w1, cache=False, backend="native")
        g = compile_grad(bad_inputs, cache=False, backend="native", wrt="x")
        bad = [(np.ones(3), np.ones(4)), (np.ones(3),), (None, None), (np.ones((2, 2)), 1.0),
               (np.ones(3), np.ones(3), np.ones(3)), (np.ones(2**20)[::7], np.ones(2**20)[::7])]
        for args in bad:
            try:
                f.value_and_grad(*args)
            except Exception:
                pass
        for idx in ([10**12], [-10**12], [2**62]):
            try:
                g(np.ones(3), np.array(idx))
            except Exception:
                pass
        print("alive")
    """) % (__import__("os").path.dirname(__file__),)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "alive" in r.stdout
