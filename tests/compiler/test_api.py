"""The public API of compile_grad: decorator forms, dispatch, argument checks, inspect."""
from __future__ import annotations

import math

import numpy as np
import pytest

import api_funcs as A
from compiler_helpers import HAVE_NATIVE
from symgrad import CompileError, InputError, compile_grad
from symgrad.pipeline import STAGES


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    # Never touch the user's cache directory from tests.
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "symgrad-cache"))


def test_decorator_forms() -> None:
    plain = compile_grad(A.f2)
    configured = compile_grad(wrt=["y"], simplify=False, cache=False, fastmath=False)(A.f2)
    assert plain(1.5, 0.5) == pytest.approx(A.f2(1.5, 0.5))
    assert configured.grad(1.5, 0.5) == pytest.approx(1.5 * 1.5 + math.cos(0.5))
    assert plain.__name__ == "f2" and plain.py_func is A.f2


def test_value_and_grad_order_and_tuple() -> None:
    f = compile_grad(A.f2, cache=False)
    value, (gx, gy) = f.value_and_grad(1.5, 0.5)
    assert value == pytest.approx(A.f2(1.5, 0.5))
    assert gx == pytest.approx(2 * 1.5 * 0.5)
    assert gy == pytest.approx(1.5 ** 2 + math.cos(0.5))
    assert f.grad(1.5, 0.5) == (gx, gy)
    assert f.vjp(1.5, 0.5, cotangent=2.0) == (2 * gx, 2 * gy)


def test_keywords_and_defaults() -> None:
    f = compile_grad(A.with_defaults, cache=False)
    assert f(1.5) == pytest.approx(9.0)
    assert f(1.5, n=4) == pytest.approx(12.0)
    assert f(x=1.5, scale=1.0) == pytest.approx(4.5)
    assert f.grad(1.5) == pytest.approx((6.0, 4.5))  # x and scale are floats


def test_lazy_compile_per_signature() -> None:
    f = compile_grad(A.counter, cache=False)
    assert f.signatures == []
    f(2.0, 3)
    f(2.0, 4)
    assert f.signatures == ["f64, i64"]
    f(2.0, 3.0)
    assert f.signatures == ["f64, i64", "f64, f64"]
    assert f.stats["compiles"] == 2
    assert f.grad(2.0, 3.0) == pytest.approx((12.0, 8.0 * math.log(2.0)))
    assert f.grad(2.0, 3) == pytest.approx(12.0)


def test_input_errors_name_the_argument() -> None:
    f = compile_grad(A.f2, cache=False)
    with pytest.raises(InputError, match="'y'"):
        f(1.0, "a")
    # Arrays are accepted (issue 4); an array result has no gradient.
    np.testing.assert_allclose(f(np.ones(3), 1.0), np.ones(3) + math.sin(1.0))
    with pytest.raises(InputError, match="array"):
        f.grad(np.ones(3), 1.0)
    with pytest.raises(InputError):
        f(1.0)
    with pytest.raises(TypeError):  # InputError is a TypeError too
        f(1.0, 2.0, 3.0)


def test_wrt_validation() -> None:
    with pytest.raises(CompileError, match="'z'"):
        compile_grad(A.f2, wrt=["z"])
    g = compile_grad(A.counter, wrt="x", cache=False)
    assert g.grad(2.0, 3) == pytest.approx(12.0)
    h = compile_grad(A.f2, wrt=("x",), cache=False)
    assert h.grad(3, 0.5) == pytest.approx(3.0)  # an int for a wrt argument is taken as float
    with pytest.raises(InputError, match="nothing to differentiate"):
        compile_grad(A.ints_only, cache=False).grad(2, 3)
    assert compile_grad(A.ints_only, cache=False)(2, 3) == 7


def test_inspect_every_stage() -> None:
    f = compile_grad(A.f2, cache=False)
    with pytest.raises(InputError, match="not been compiled"):
        f.inspect("ssa")
    f(1.0, 2.0)
    for stage in STAGES:
        text = f.inspect(stage)
        assert isinstance(text, str) and text.strip(), stage
    assert "def f2(x, y):" in f.inspect("source")
    assert "func f2(%x: f64, %y: f64) -> f64:" in f.inspect("ssa")
    assert "func f2_vg(" in f.inspect("adjoint") and "grad of L6" in f.inspect("adjoint")
    assert "def f2_vg(x, y):" in f.inspect("python")
    assert "func f2(%x: f64, %y: i64)" in f.inspect("ssa", signature="f64, i64")
    with pytest.raises(ValueError):
        f.inspect("nonsense")
    if HAVE_NATIVE:
        assert "define" in f.inspect("llvm")


def test_dump_env(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SYMGRAD_DUMP", "ssa,adjoint")
    compile_grad(A.f2, cache=False)(1.0, 2.0)
    err = capsys.readouterr().err
    assert "=== symgrad ssa: f2 ===" in err and "=== symgrad adjoint: f2 ===" in err
    assert "func f2_vg" in err


def test_pass_errors_are_wrapped(monkeypatch) -> None:
    import symgrad.passes.ad as ad

    def boom(fn, wrt):
        raise RuntimeError("kaboom")
    monkeypatch.setattr("symgrad.pipeline.JOINT", [("ad", boom)])
    with pytest.raises(CompileError, match="internal error in pass 'ad'.*kaboom") as info:
        compile_grad(A.f2, cache=False)(1.0, 2.0)
    assert info.value.loc is not None and info.value.loc.file.endswith("api_funcs.py")
    assert ad.reverse_mode is not boom


@pytest.mark.skipif(not HAVE_NATIVE, reason="native back end not importable")
def test_cache_hit_keeps_stages() -> None:
    first = compile_grad(A.with_defaults)
    v = first.value_and_grad(1.25, 2.0, 5)
    second = compile_grad(A.with_defaults)
    assert second.value_and_grad(1.25, 2.0, 5) == v
    assert second.stats["cache_hits"] >= 1
    assert "func with_defaults_vg" in second.inspect("adjoint")
    assert "define" in second.inspect("llvm")


@pytest.mark.skipif(not HAVE_NATIVE, reason="native back end not importable")
def test_fastmath_and_boundscheck_options() -> None:
    f = compile_grad(A.with_defaults, cache=False, fastmath=True, boundscheck=False)
    v, g = f.value_and_grad(1.25, 2.0, 5)
    assert v == pytest.approx(12.5, rel=1e-12)
    assert g == pytest.approx((10.0, 6.25), rel=1e-12)


def test_both_backends_agree() -> None:
    a = compile_grad(A.f2, cache=False, backend="numpy").value_and_grad(0.3, 1.7)
    b = compile_grad(A.f2, cache=False).value_and_grad(0.3, 1.7)
    assert a[0] == pytest.approx(b[0], rel=1e-14)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-13)


def test_tensor_arguments_join_the_autograd_graph() -> None:
    import symgrad
    x = symgrad.tensor(1.5, dtype=symgrad.float64, requires_grad=True)
    y = symgrad.tensor(0.5, dtype=symgrad.float64, requires_grad=True)
    f = compile_grad(A.f2, cache=False)
    out = f(x * 2.0, y)
    assert type(out.grad_fn).__name__ == "CompiledFunctionBackward" or \
        out.grad_fn.name() == "CompiledFunctionBackward"
    (out * 3.0).backward()
    assert x.grad.item() == pytest.approx(3.0 * 2.0 * (2 * 3.0 * 0.5))
    assert y.grad.item() == pytest.approx(3.0 * (3.0 ** 2 + math.cos(0.5)))
    with symgrad.no_grad():
        r = f(x, y)
    assert isinstance(r, symgrad.Tensor) and not r.requires_grad
    assert r.item() == pytest.approx(A.f2(1.5, 0.5))
