"""Memory of array temporaries in loops (`backend/runtime_ir.py`).

A temporary that dies within its iteration reuses one block per site (`LoopSlots`); one
that may outlive it (carried, a view of a carried value, yielded by a branch) is
bump-allocated from the call's arena (`Arena`). Wrong reuse would overwrite live values:
every function is checked native against numpy_exec, gradients against finite differences,
repeated calls (the arena's chunk kept between calls) and concurrent calls included.
"""
from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

import loop_memory_funcs as F
from symgrad import compile_grad
from symgrad.backend.loop_lifetimes import iteration_local
from symgrad.passes.fuse import fuse

R = np.random.default_rng(11)
CASES = {
    "local_temps": (F.local_temps, (R.normal(size=7), 5)),
    "view_carried": (F.view_carried, (R.normal(size=9), 6)),
    "branch_carried": (F.branch_carried, (R.normal(size=8), 7)),
    "rows_in_place": (F.rows_in_place, (R.normal(size=5) * 0.3, 6)),
    "nested_state": (F.nested_state, (R.normal(size=(3, 6)) * 0.5, R.normal(size=(4, 6)) * 0.5,
                                      R.normal(size=(5, 6)))),
    "while_carried": (F.while_carried, (R.normal(size=6) * 0.2, 3.0)),
    "big_carried": (F.big_carried, (R.normal(size=20_000), 5)),
}
_COMPILED: dict = {}


def both(name):
    if name not in _COMPILED:
        f, args = CASES[name]
        import inspect
        params = list(inspect.signature(f).parameters)
        wrt = [p for p, a in zip(params, args) if isinstance(a, np.ndarray) and p != "seq"]
        _COMPILED[name] = (compile_grad(f, wrt=wrt, cache=False, backend="native"),
                           compile_grad(f, wrt=wrt, cache=False, backend="numpy"))
    return _COMPILED[name]


def _close(a, b, rtol=1e-10):
    for x, y in zip(np.atleast_1d(a) if not isinstance(a, tuple) else a,
                    np.atleast_1d(b) if not isinstance(b, tuple) else b):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-11)


@pytest.mark.parametrize("name", sorted(CASES))
def test_native_matches_numpy_exec_on_repeated_calls(name):
    nat, ref = both(name)
    f, args = CASES[name]
    want_v, want_g = ref.value_and_grad(*args)
    for _ in range(3):  # later calls start from the arena chunk kept by the first
        v, g = nat.value_and_grad(*args)
        _close(v, want_v)
        _close(g, want_g)
        np.testing.assert_allclose(nat(*args), want_v, rtol=1e-10)
    # The python function itself (NumPy) agrees too.
    np.testing.assert_allclose(f(*[a.copy() if isinstance(a, np.ndarray) else a for a in args]),
                               want_v, rtol=1e-10)


@pytest.mark.parametrize("name", ["view_carried", "branch_carried", "nested_state", "rows_in_place"])
def test_gradient_matches_finite_differences(name):
    nat, _ = both(name)
    f, args = CASES[name]
    _, g = nat.value_and_grad(*args)
    g = g if isinstance(g, tuple) else (g,)
    arrays = [k for k, a in enumerate(args) if isinstance(a, np.ndarray)][:len(g)]
    eps = 1e-6
    for k, gk in zip(arrays, g):
        base = args[k]
        for idx in list(np.ndindex(base.shape))[:6]:
            plus, minus = [list(args) for _ in range(2)]
            plus[k], minus[k] = base.copy(), base.copy()
            plus[k][idx] += eps
            minus[k][idx] -= eps
            fd = (nat(*plus) - nat(*minus)) / (2 * eps)
            assert abs(fd - gk[idx]) <= 1e-6 * max(1.0, abs(fd)), (name, k, idx, fd, gk[idx])


def test_sizes_that_change_between_calls():
    nat, ref = both("local_temps")
    for n in (3, 40, 5, 1000, 2):  # slots and arena chunks grow, then are reused
        x = R.normal(size=n)
        v, g = nat.value_and_grad(x, 4)
        rv, rg = ref.value_and_grad(x, 4)
        np.testing.assert_allclose(v, rv, rtol=1e-10)
        np.testing.assert_allclose(g, rg, rtol=1e-10, atol=1e-12)
    nat, ref = both("big_carried")
    for n in (100, 50_000, 10):
        x = R.normal(size=n)
        np.testing.assert_allclose(nat.value_and_grad(x, 3)[1], ref.value_and_grad(x, 3)[1],
                                   rtol=1e-10, atol=1e-12)


def test_concurrent_calls_agree():
    # A call that finds the workspace busy uses per-call storage (arena freed at exit).
    nat, ref = both("nested_state")
    _, args = CASES["nested_state"]
    want = ref.value_and_grad(*args)
    errors = []

    def work():
        try:
            for _ in range(30):
                v, g = nat.value_and_grad(*args)
                _close(v, want[0])
                _close(g, want[1])
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[0]


def _local_ops(name):
    nat, _ = both(name)
    f, args = CASES[name]
    nat.value_and_grad(*args)
    c = nat._get(nat._last)
    out = {}
    for which, fn in (("primal", c.primal_ir), ("joint", c.joint_ir)):
        fused = fuse(copy.deepcopy(fn))
        local = iteration_local(fused)
        from symgrad import ir
        out[which] = [(i.op, tuple(r.name for r in i.results), id(i) in local)
                      for i in ir.walk(fused.body) if any(r.type.rank for r in i.results)]
    return out


def test_iteration_local_analysis():
    # local_temps: only the kernel yielding h escapes its iteration.
    ops = _local_ops("local_temps")["primal"]
    loop_kernels = [(names, loc) for op, names, loc in ops if op == "map_"][1:]  # skip h = x*0.5
    assert loop_kernels and [loc for _, loc in loop_kernels].count(False) == 1, loop_kernels
    # view_carried: t's kernel is viewed by the carried h, so it is not local.
    ops = _local_ops("view_carried")["primal"]
    t = [loc for op, names, loc in ops if op == "map_" and "t" in names]
    assert t == [False], ops
    # nested_state: the gate temporaries of the inner loop are local, hidden/cell are not.
    ops = _local_ops("nested_state")["primal"]
    assert any(loc for op, _, loc in ops if op == "map_")
    assert not any(loc for op, names, loc in ops if op == "setitem")


_MEMORY_SCRIPT = """
import resource, sys, numpy as np
sys.path.insert(0, sys.argv[1])
import loop_memory_funcs as F
from symgrad import compile_grad
W = np.random.default_rng(0).normal(size=(4, 16384)) * 0.01   # 512 KB
x = np.random.default_rng(1).normal(size=(3, 16384))
f = compile_grad(F.nested_accumulate, wrt=["W"], cache=False)
f.value_and_grad(W, x, 2)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
v, g = f.value_and_grad(W, x, 400)     # a copy of W_bar per point would be 200 MB
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
ref = compile_grad(F.nested_accumulate, wrt=["W"], cache=False, backend="numpy")
rv, rg = ref.value_and_grad(W, x, 3)
nv, ng = f.value_and_grad(W, x, 3)
assert np.allclose(ng, rg, rtol=1e-10, atol=1e-12) and abs(nv - rv) < 1e-9 * max(1.0, abs(rv))
print(grown)
"""


def test_loop_nest_gradient_accumulators_do_not_grow_with_the_trip_count(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    here = Path(__file__).resolve().parent
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(here)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    grown_mb = float(out.stdout.strip().splitlines()[-1])
    assert grown_mb < 60, f"peak memory grew by {grown_mb:.0f} MB over 400 outer iterations"


@pytest.mark.parametrize("f,args", [(F.nested_accumulate, (R.normal(size=(3, 5)), R.normal(size=(2, 5)), 4)),
                                    (F.nested_setitem, (R.normal(size=4), 3))])
def test_loop_nests_writing_carried_arrays_match_the_oracle_and_fd(f, args):
    nat = compile_grad(f, cache=False, backend="native")
    ref = compile_grad(f, cache=False, backend="numpy")
    v, g = nat.value_and_grad(*args)
    rv, rg = ref.value_and_grad(*args)
    _close(v, rv)
    _close(g, rg)
    x0 = args[0]
    eps = 1e-6
    for idx in [(0,) * x0.ndim, tuple(s - 1 for s in x0.shape)]:
        xp, xm = x0.copy(), x0.copy()
        xp[idx] += eps
        xm[idx] -= eps
        fd = (f(xp, *args[1:]) - f(xm, *args[1:])) / (2 * eps)
        got = g[0][idx] if isinstance(g, tuple) else g[idx]
        assert abs(got - fd) <= 1e-6 * max(1.0, abs(fd))
