"""The JIT layer: host target, the process-wide engine, object-code capture and reload
(also in a fresh process), libmvec vectorisation, and refusals instead of crashes."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from symgrad import CompileError, ir
from symgrad.backend import jit
from symgrad.backend import llvm as B

F64, I64 = ir.F64, ir.I64
ROOT = Path(__file__).resolve().parents[2]


def _fn(name="g"):
    x, n = ir.Arg(F64, "x"), ir.Arg(I64, "n")
    blk = ir.Block([x, n])
    with ir.Builder(blk) as b:
        body = ir.Block([ir.Arg(I64, "i"), ir.Arg(F64, "s")])
        with b.inside(body):
            i, s = body.args
            b.yield_(b.op("sub", s, b.op("mul", b.op("sin", s), x)))
        (r,) = b.emit("for_", [ir.Const(0), n, ir.Const(1), x], types=[F64], regions=[body]).results
        b.ret(r, b.op("mul", n, 2))
    fn = ir.Function(name, blk, [F64, I64])
    ir.verify(fn)
    return fn


def _py(x, n):
    s = x
    for _ in range(n):
        s = s - math.sin(s) * x
    return s


def test_host_info_names_the_cpu_and_versions():
    h = jit.host()
    assert h.cpu and h.cpu != "generic"
    assert h.triple.startswith(("x86_64", "aarch64"))
    assert "+" in h.features or "-" in h.features
    assert h.llvm_version.split(".")[0].isdigit() and h.llvmlite_version


def test_one_engine_per_process():
    assert jit.engine() is jit.engine()


def test_compiles_from_many_threads_at_once():
    results, errors = [], []

    def work(k):
        try:
            f = B.compile_function(_fn(f"t{k}"))
            results.append(f(0.5, 10 + k) == (_py(0.5, 10 + k), 2 * (10 + k)))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [True] * 6


def test_object_code_is_captured_without_a_second_codegen():
    f = B.compile_function(_fn())
    assert f.object_code[:4] == b"\x7fELF"
    assert set(f.timings) >= {"lower", "optimize", "codegen"}


def test_cached_object_code_loads_in_a_fresh_process(tmp_path):
    f = B.compile_function(_fn("fresh"))
    (tmp_path / "obj.o").write_bytes(f.object_code)
    (tmp_path / "abi.json").write_text(json.dumps(f.abi))
    script = textwrap.dedent(f"""
        import json, sys, time
        t0 = time.perf_counter()
        from symgrad.backend.llvm import load_object
        abi = json.load(open({str(tmp_path / 'abi.json')!r}))
        obj = open({str(tmp_path / 'obj.o')!r}, 'rb').read()
        t1 = time.perf_counter()
        g = load_object(abi, obj, {{}})
        t2 = time.perf_counter()
        print(json.dumps({{"r": g(0.5, 100), "load_s": t2 - t1}}))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert tuple(res["r"]) == f(0.5, 100) == (_py(0.5, 100), 200)
    assert res["load_s"] < 0.5  # measured about 2 ms; generous for loaded CI machines


def test_loading_the_same_symbol_twice_is_refused():
    f = B.compile_function(_fn())
    with pytest.raises(CompileError, match="already"):
        jit.engine().add_object(f.object_code, [f.symbol], f.abi["needs"])


def test_unknown_external_symbol_is_refused_not_fatal():
    eng = jit.engine()
    text = textwrap.dedent("""
        declare double @symgrad_no_such_function(double)
        define double @sg_uses_missing(double %x) {
          %r = call double @symgrad_no_such_function(double %x)
          ret double %r
        }
    """)
    mod = eng.parse(text, "sg_uses_missing")
    with pytest.raises(CompileError, match="symgrad_no_such_function"):
        eng.add_module(mod, ["sg_uses_missing"])


def test_object_code_needing_a_missing_symbol_is_refused_before_loading():
    f = B.compile_function(_fn())
    assert "sin" in f.abi["needs"] and not any(n.startswith("llvm.") for n in f.abi["needs"])
    abi = {**f.abi, "symbol": "sg_other_name", "needs": f.abi["needs"] + ["symgrad_missing"]}
    from symgrad.backend.native import load_object
    with pytest.raises(CompileError, match="symgrad_missing"):
        load_object(abi, f.object_code, {})


def test_invalid_llvm_ir_is_a_compile_error():
    with pytest.raises(CompileError, match="invalid LLVM IR"):
        jit.engine().parse("define i32 @bad( {", "bad")


def test_unknown_symbol_address_is_refused():
    with pytest.raises(CompileError):
        jit.engine().address("sg_never_defined")


def _sin_table(b, n):
    buf = b.op("alloc", n, dtype="f64")
    body = ir.Block([ir.Arg(I64, "i")])
    with b.inside(body):
        b.op("store", buf, body.args[0], b.op("sin", b.op("mul", body.args[0], 0.001)))
        b.yield_()
    b.emit("for_", [ir.Const(0), n, ir.Const(1)], types=[], regions=[body])
    acc = ir.Block([ir.Arg(I64, "i"), ir.Arg(F64, "s")])
    with b.inside(acc):
        b.yield_(b.op("add", acc.args[1], b.op("load", buf, acc.args[0])))
    return b.emit("for_", [ir.Const(0), n, ir.Const(1), ir.Const(0.0)], types=[F64],
                  regions=[acc]).result


@pytest.mark.skipif(not jit.host().libmvec, reason="glibc libmvec not available")
def test_libmvec_variants_vectorise_math_loops():
    n = ir.Arg(I64, "n")
    blk = ir.Block([n])
    with ir.Builder(blk) as b:
        b.ret(_sin_table(b, n))
    fn = ir.Function("sintab", blk, [F64])
    want = math.fsum(math.sin(i * 0.001) for i in range(1000))
    for check in (True, False):  # bounds checks must not stop vectorisation
        f = B.compile_function(fn, boundscheck=check)
        body = f.llvm_opt.split("\ndeclare")[0]
        assert "@_ZGV" in body, "sin was not vectorised through libmvec"
        assert f(1000)[0] == pytest.approx(want, rel=1e-12)


def test_without_libmvec_math_stays_scalar_libm(monkeypatch):
    real = jit.host()
    monkeypatch.setattr(jit, "host", lambda: real.__class__(**{**real.__dict__, "libmvec": False}))
    n = ir.Arg(I64, "n")
    blk = ir.Block([n])
    with ir.Builder(blk) as b:
        b.ret(_sin_table(b, n))
    f = B.compile_function(ir.Function("sintab_scalar", blk, [F64]))
    assert "vector-function-abi-variant" not in f.llvm_ir and "@_ZGV" not in f.llvm_opt
    want = math.fsum(math.sin(i * 0.001) for i in range(1000))
    assert f(1000)[0] == pytest.approx(want, rel=1e-12)


@pytest.mark.skipif(not jit.host().libmvec, reason="glibc libmvec not available")
def test_vector_variant_names_exist_for_f64_and_f32():
    for name, nargs, f32 in (("exp", 1, False), ("sinf", 1, True), ("pow", 2, False)):
        names = jit.vector_variants(name, nargs, f32)
        assert names and all(n.endswith("_" + name) for n in names)
    assert jit.vector_variants("sqrt", 1, False) == []  # an LLVM intrinsic, vectorised natively
