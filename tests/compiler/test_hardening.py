"""Hardening: bad input never crashes the process, numerics at the edges follow PyTorch,
threads and processes compile concurrently, damaged cache files cost only a recompile.

What test_cache.py covers at the cache-module level (each damaged-file kind, concurrent
writers of one entry) is not repeated here; these go through `compile_grad` itself.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import symgrad
from compiler_helpers import BACKENDS, HAVE_NATIVE
from symgrad import compile_grad

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{HERE}"}
needs_native = pytest.mark.skipif(not HAVE_NATIVE, reason="native back end not importable")


# ------------------------------------------------------------------------ bad input
def test_every_bad_input_kind_is_refused_or_computed_never_a_crash(tmp_path):
    out = subprocess.run([sys.executable, str(HERE / "hardening_script.py")], capture_output=True,
                         text=True, env={**ENV, "SYMGRAD_CACHE_DIR": str(tmp_path)}, timeout=600)
    assert out.returncode >= 0, f"killed by signal {-out.returncode}: {out.stderr[-2000:]}"
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert rows[-1]["done"] == len(rows) - 1 >= 90
    wrong = []
    for r in rows[:-1]:
        o = r["outcome"]
        ok = o.startswith("value") or o in ("input-error", "index-error", "refused") or \
            (o.startswith("input-error unnamed") and r["kind"] == "too many arguments")
        if not ok:
            wrong.append(r)
    assert not wrong, wrong
    by = {(r["func"], r["kind"]): r["outcome"] for r in rows[:-1]}
    # NaN and inf propagate as in NumPy; objects, strings and big ints are named refusals.
    for k in ("nan", "inf", "-inf", "-0.0", "subnormal", "np.float32", "0-d array", "tensor"):
        assert by[("f1", k)] == "value", (k, by[("f1", k)])
    for k in ("str", "none", "list", "dict", "complex", "object", "bytes", "decimal", "huge-int"):
        assert by[("f1", k)] == "input-error", (k, by[("f1", k)])
    for k in ("too few arguments", "unknown keyword", "keyword given twice", "missing first argument"):
        assert by[("f1" if k != "missing first argument" else "f3", k)] == "input-error", k


# ------------------------------------------------------------------ edges vs PyTorch
def _edge_funcs():
    import hardening_edges as E
    return E


NAN, INF = math.nan, math.inf
# (function, arguments, value, gradient): PyTorch's results (checked against torch below).
EDGES = [
    ("sqrt_", (0.0,), 0.0, (INF,)), ("sqrt_", (-1.0,), NAN, (NAN,)),
    ("log_", (0.0,), -INF, (INF,)), ("log_", (-1.0,), NAN, (-1.0,)),
    ("abs_", (0.0,), 0.0, (0.0,)), ("abs_", (-0.0,), 0.0, (0.0,)),
    ("max_", (1.0, 1.0), 1.0, (0.5, 0.5)), ("maximum_", (1.0, 1.0), 1.0, (0.5, 0.5)),
    ("maximum_", (NAN, 1.0), NAN, (1.0, 1.0)), ("min_", (1.0, 1.0), 1.0, (0.5, 0.5)),
    ("pow_", (0.0, 2.0), 0.0, (0.0, 0.0)), ("pow_", (0.0, 0.0), 1.0, (0.0, 0.0)),
    ("pow_", (0.0, 0.5), 0.0, (INF, 0.0)), ("pow_", (0.0, -1.0), INF, (-INF, -INF)),
    ("pow_", (-2.0, 3.0), -8.0, (12.0, NAN)), ("pow_", (-2.0, 0.5), NAN, (NAN, NAN)),
    ("sq_", (0.0,), 0.0, (0.0,)), ("half_", (0.0,), 0.0, (INF,)),
    ("exp_", (1000.0,), INF, (INF,)), ("exp_", (-1000.0,), 0.0, (0.0,)),
    ("where_", (-1.0,), 0.0, (NAN,)), ("where_", (4.0,), 2.0, (0.25,)),
    ("tern_", (-1.0,), 0.0, (0.0,)),
]


def _same(a, b):
    return bool(np.all(np.isclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-12, atol=0,
                                  equal_nan=True)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", EDGES, ids=lambda c: f"{c[0]}{c[1]}")
def test_compiled_edges_follow_pytorch(case, backend):
    name, args, value, grad = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v, g = compile_grad(getattr(_edge_funcs(), name), cache=False, backend=backend).value_and_grad(*args)
    g = g if isinstance(g, tuple) else (g,)
    assert _same(v, value) and _same(g, grad), (v, g)


_EAGER = {"sqrt_": lambda t, x: t.sqrt(x), "log_": lambda t, x: t.log(x), "abs_": lambda t, x: t.abs(x),
          "max_": lambda t, x, y: t.maximum(x, y), "maximum_": lambda t, x, y: t.maximum(x, y),
          "min_": lambda t, x, y: t.minimum(x, y), "pow_": lambda t, x, y: t.pow(x, y),
          "sq_": lambda t, x: x ** 2, "half_": lambda t, x: x ** 0.5, "exp_": lambda t, x: t.exp(x),
          "where_": lambda t, x: t.where(x > 0, t.sqrt(x), t.zeros_like(x)),
          "tern_": lambda t, x: t.sqrt(x) if x > 0 else x * 0.0}


def _eager(t, name, args):
    xs = [t.tensor(a, dtype=t.float64, requires_grad=True) for a in args]
    out = _EAGER[name](t, *xs)
    gs = t.autograd.grad(out, xs, allow_unused=True)
    return float(out.detach()), tuple(0.0 if g is None else float(g) for g in gs)


@pytest.mark.parametrize("case", EDGES, ids=lambda c: f"{c[0]}{c[1]}")
def test_eager_runtime_edges_follow_pytorch(case):
    name, args, value, grad = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v, g = _eager(symgrad, name, args)
    assert _same(v, value) and _same(g, grad), (v, g)


@pytest.mark.parametrize("case", EDGES, ids=lambda c: f"{c[0]}{c[1]}")
def test_the_edge_table_is_pytorchs(case):
    torch = pytest.importorskip("torch")
    name, args, value, grad = case
    v, g = _eager(torch, name, args)
    assert _same(v, value) and _same(g, grad), (v, g)


# ------------------------------------------------------------------------ concurrency
def test_sixteen_threads_compile_and_call_concurrently():
    import hardening_edges as E
    shared = compile_grad(E.poly, cache=False)
    funcs = [E.poly, E.loop, E.branchy, E.poly2]
    want = {(f.__name__, a): compile_grad(f, cache=False, backend="numpy").value_and_grad(a, 3)
            for f in funcs for a in (0.25, -0.75, 1.5)}
    errors: list = []
    barrier = threading.Barrier(16)

    def work(k: int) -> None:
        try:
            barrier.wait()
            own = compile_grad(funcs[k % 4], cache=False)  # a fresh compile in every thread
            for rep in range(30):
                a = (0.25, -0.75, 1.5)[rep % 3]
                for cf, f in ((own, funcs[k % 4]), (shared, E.poly)):
                    v, g = cf.value_and_grad(a, 3)
                    wv, wg = want[(f.__name__, a)]
                    if not (math.isclose(v, wv, rel_tol=1e-12) and math.isclose(g, wg, rel_tol=1e-9)):
                        errors.append((k, f.__name__, a, v, g, wv, wg))
                assert math.isclose(own(a, 3), want[(funcs[k % 4].__name__, a)][0], rel_tol=1e-12)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[:5]
    assert shared.stats["compiles"] == 1


@needs_native
def test_two_processes_compiling_the_same_function_at_once_both_succeed(tmp_path):
    script = textwrap.dedent("""
        import json, sys, time
        import hardening_edges as E
        from symgrad import compile_grad
        while time.time() < float(sys.argv[1]):  # start together
            time.sleep(0.001)
        cf = compile_grad(E.branchy)
        v, g = cf.value_and_grad(0.5, 4)
        print(json.dumps({"v": v, "g": g, "hits": cf.stats["cache_hits"]}))
    """)
    env = {**ENV, "SYMGRAD_CACHE_DIR": str(tmp_path / "cache")}
    import time
    start = str(time.time() + 4.0)
    procs = [subprocess.Popen([sys.executable, "-c", script, start], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (o, e) in zip(procs, outs):
        assert p.returncode == 0, e[-2000:]
    res = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    assert res[0]["v"] == res[1]["v"] and res[0]["g"] == res[1]["g"]
    # The entries they left are valid: a third process loads them without compiling.
    third = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", script, "0"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert third.returncode == 0, third.stderr[-2000:]
    r3 = json.loads(third.stdout.strip().splitlines()[-1])
    assert r3["hits"] > 0 and r3["v"] == res[0]["v"]


# ------------------------------------------------------------------ cache, end to end
def _damage():
    def truncated(b):
        return b[: len(b) // 3]

    def bit_flipped(b):
        return b[:100] + bytes([b[100] ^ 0x04]) + b[101:]

    def empty(b):
        return b""

    def wrong_version(b):
        return b[:8] + (99).to_bytes(4, "little") + b[12:]

    def foreign(b):
        return b"#!/bin/sh\necho not a cache file\n" * 10

    return [truncated, bit_flipped, empty, wrong_version, foreign]


@needs_native
@pytest.mark.parametrize("damage", _damage(), ids=lambda f: f.__name__)
def test_damaged_cache_files_recompile_with_a_warning_through_compile_grad(damage, tmp_path, monkeypatch):
    from symgrad.backend import cache
    import hardening_edges as E
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cache, "_loaded", {})  # nothing compiled earlier in this process counts
    want = compile_grad(E.branchy).value_and_grad(0.5, 4)
    files = sorted(tmp_path.glob("*.sgc"))
    assert files
    for f in files:
        f.write_bytes(damage(f.read_bytes()))
    monkeypatch.setattr(cache, "_loaded", {})  # as a new process would start
    with pytest.warns(cache.CacheWarning, match="recompiling"):
        cf = compile_grad(E.branchy)
        got = cf.value_and_grad(0.5, 4)
    assert got == want and cf.stats["cache_hits"] == 0
    # Rewritten: a new process now gets a clean hit (warnings are errors there).
    code = ("import json, hardening_edges as E; from symgrad import compile_grad; "
            "cf = compile_grad(E.branchy); v, g = cf.value_and_grad(0.5, 4); "
            "print(json.dumps([v, g, cf.stats['cache_hits']]))")
    out = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code], capture_output=True,
                         text=True, env={**ENV, "SYMGRAD_CACHE_DIR": str(tmp_path)}, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    v, g, hits = json.loads(out.stdout.strip().splitlines()[-1])
    assert (v, g) == want and hits > 0


@needs_native
def test_junk_in_the_cache_directory_is_ignored(tmp_path, monkeypatch):
    from symgrad.backend import cache
    import hardening_edges as E
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path))
    (tmp_path / ".tmp-abandoned.sgc").write_bytes(b"SYMGRADC\x01")  # a writer that died
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "sub.sgc").mkdir()
    (tmp_path / "link.sgc").symlink_to(tmp_path / "missing")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compile_grad(E.poly).value_and_grad(0.5, 3) == \
            compile_grad(E.poly, cache=False).value_and_grad(0.5, 3)
    info = cache.info()
    assert info["entries"] >= 1
    cache.clear()
    assert (tmp_path / "notes.txt").exists()
