"""Compiler core on arrays: front end, typing, reverse mode, simplify, numpy_exec, printers.

Every function is checked on the NumPy oracle against central finite differences, the
simplified and unsimplified joint functions must agree, the printed Python must reproduce
the results, and refused constructs must raise located errors.
"""
from __future__ import annotations

import inspect
import os
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import arrays_core_funcs as F
from symgrad import CompileError, InputError, compile_grad, ir
from symgrad.backend import numpy_exec
from symgrad.frontend import parse
from symgrad.passes import cleanup, infer, reverse_mode
from symgrad.passes.simplify import simplify
from symgrad.printer import format_function

R = np.random.default_rng(7)
CASES: dict[str, tuple] = {
    "rnn": (R.normal(size=(3, 3)) * 0.5, R.normal(size=(4, 3)), R.normal(size=3)),
    "cumprod_loop": (R.normal(size=5),),
    "while_arr": (R.normal(size=4),),
    "if_arr": (R.normal(size=4), 0.7),
    "reductions": (R.normal(size=(3, 4)),),
    "gather": (R.normal(size=(3, 4)), np.array([1, 2, 0])),
    "slices": (R.normal(size=6),),
    "dynamic_slice": (R.normal(size=6), 2),
    "row_writes": (R.normal(size=(5, 4)), R.normal(size=4)),
    "array_literal": (0.3, 1.2),
    "shape_ops": (R.normal(size=(2, 3)),),
    "elementwise_mix": (R.normal(size=5), 0.4),
    "logsumexp_rows": (R.normal(size=(3, 4)),),
    "broadcast_pair": (R.normal(size=(3, 1)), R.normal(size=(1, 4))),
    "matvec_forms": (R.normal(size=(3, 3)), R.normal(size=3)),
    "allocations": (R.normal(size=4),),
    "mse": (R.normal(size=(6, 3)), R.normal(size=3), R.normal(size=6)),
    "softmax_xent": (R.normal(size=(4, 3)), R.normal(size=(5, 4)), np.array([0, 2, 1, 1, 0])),
}


def _fd(fn: Any, args: tuple, i: int, eps: float = 1e-6) -> np.ndarray:
    x = np.array(args[i], dtype=float)
    g = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[k] += eps
        xm[k] -= eps
        hi = list(args)
        lo = list(args)
        hi[i], lo[i] = xp, xm
        g[k] = (fn(*hi) - fn(*lo)) / (2 * eps)
    return g


def _types(args: tuple) -> list[ir.Type]:
    out = []
    for a in args:
        arr = np.asarray(a)
        d = {"f": "f64", "i": "i64", "b": "bool"}[arr.dtype.kind]
        out.append(ir.Type(d, arr.ndim))
    return out


def _float_positions(args: tuple) -> list[int]:
    return [i for i, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_finite_differences(name: str) -> None:
    fn, args = getattr(F, name), CASES[name]
    wrt = _float_positions(args)
    primal = cleanup(infer(parse(fn, _types(args))))
    joint = cleanup(reverse_mode(primal, wrt))
    ir.verify(joint)
    value, *grads = numpy_exec.run(joint, *args)
    assert value == pytest.approx(fn(*args), rel=1e-12, abs=1e-12)
    for i, g in zip(wrt, grads):
        assert np.shape(g) == np.shape(args[i])
        np.testing.assert_allclose(g, _fd(fn, args, i), rtol=1e-5, atol=1e-6, err_msg=f"{name} arg {i}")
    simp = cleanup(simplify(joint))
    ir.verify(simp)
    for a, b in zip(numpy_exec.run(simp, *args), (value, *grads)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_printed_python_reproduces_the_joint(name: str) -> None:
    fn, args = getattr(F, name), CASES[name]
    cf = compile_grad(fn, cache=False, backend="numpy")
    value, grad = cf.value_and_grad(*args)
    ns: dict = {}
    exec(compile(cf.inspect("python"), "<python stage>", "exec"), ns)  # noqa: S102 - our output
    printed = [v for k, v in ns.items() if isinstance(v, types.FunctionType) and not k.startswith("_")]
    got = printed[0](*args)
    want = (value,) + (grad if isinstance(grad, tuple) else (grad,))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_runtime_size_one_axes_broadcast_and_sum_back() -> None:
    cf = compile_grad(F.broadcast_pair, cache=False, backend="numpy")
    for a, b in (((3, 1), (1, 4)), ((3, 4), (4,)), ((1, 4), (3, 4)), ((3, 4), (1, 1))):
        x, y = R.normal(size=a), R.normal(size=b)
        ga, gb = cf.grad(x, y)
        np.testing.assert_allclose(ga, _fd(F.broadcast_pair, (x, y), 0), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(gb, _fd(F.broadcast_pair, (x, y), 1), rtol=1e-6, atol=1e-8)


def test_float32_stays_float32() -> None:
    x, y = R.normal(size=5).astype(np.float32), R.normal(size=5).astype(np.float32)
    cf = compile_grad(F.f32_loss, cache=False, backend="numpy")
    v, (gx, gy) = cf.value_and_grad(x, y)
    assert gx.dtype == np.float32 and gy.dtype == np.float32
    np.testing.assert_allclose(gx, y, rtol=1e-6)
    joint = cf._compiled[cf._last].joint_ir
    assert "f64[" not in format_function(joint)


def test_int_data_arrays_get_no_adjoint() -> None:
    args = CASES["softmax_xent"]
    primal = cleanup(infer(parse(F.softmax_xent, _types(args))))
    joint = cleanup(reverse_mode(primal, [0, 1]))
    for ins in ir.walk(joint.body):
        for r in ins.results:
            assert not (r.type.dtype == "i64" and r.type.rank and ins.note), (ins.op, r.type)


def test_loop_carried_array_is_taped_per_iteration() -> None:
    args = CASES["rnn"]
    joint = cleanup(reverse_mode(cleanup(infer(parse(F.rnn, _types(args)))), [0, 1, 2]))
    tapes = [i for i in ir.walk(joint.body) if i.op == "alloc"]
    assert any(t.results[0].type == ir.Type("f64", 2) for t in tapes)


def test_gradient_accumulates_in_place_with_index_add() -> None:
    args = CASES["gather"]
    joint = cleanup(reverse_mode(cleanup(infer(parse(F.gather, _types(args)))), [0]))
    ops = [i.op for i in ir.walk(joint.body)]
    assert "index_add" in ops  # z_bar[i, y[i]] += g inside the reverse loop, not a full add


def test_simplify_keeps_broadcast_shapes() -> None:
    def fn_src(a, b):
        return np.sum(a + b - b)
    primal = cleanup(infer(parse(F.broadcast_pair, [ir.Type("f64", 1), ir.Type("f64", 1)])))
    joint = cleanup(reverse_mode(primal, [0, 1]))
    simp = cleanup(simplify(joint))
    args = (np.array([1.5]), np.array([1.0, 2.0, 3.0]))
    for a, b in zip(numpy_exec.run(simp, *args), numpy_exec.run(joint, *args)):
        np.testing.assert_allclose(a, b)


def test_array_result_runs_forward_and_refuses_grad() -> None:
    cf = compile_grad(F.returns_array, cache=False, backend="numpy")
    np.testing.assert_allclose(cf(np.arange(3.0)), np.arange(3.0) * 2.0)
    with pytest.raises(InputError, match="array"):
        cf.grad(np.arange(3.0))


def test_signature_strings_carry_rank() -> None:
    cf = compile_grad(F.mse, cache=False, backend="numpy")
    text = cf.inspect("ssa", signature="f64[:,:], f64[:], f64[:]")
    assert "%X: f64[:,:]" in text and "matmul" in text


def test_wrong_rank_names_the_argument() -> None:
    cf = compile_grad(F.gather, cache=False, backend="numpy")
    with pytest.raises(InputError, match="'z'"):
        cf(np.ones(4), np.array([0, 1]))


REFUSED = [
    ("write_argument", "function argument"), ("augmented_argument", "function argument"),
    ("write_view", "view"), ("write_alias", "shares its array"), ("write_alias_loop", "shares its array"),
    ("boolean_mask", "boolean masks"), ("fancy_write", "integer-array indices"),
    ("uses_einsum", "einsum"), ("array_truth", "truth value of an array"),
    ("ellipsis_index", "Ellipsis"), ("writes_in_helper", "function argument"),
]


@pytest.mark.parametrize("name,fragment", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_with_location(name: str, fragment: str) -> None:
    fn = getattr(F, name)
    args = (np.arange(3.0), np.array([0, 0, 1])) if name == "fancy_write" else (np.arange(3.0),)
    if name in ("write_alias", "write_alias_loop"):
        args = (1.0,)
    with pytest.raises(CompileError) as info:
        compile_grad(fn, cache=False, backend="numpy")(*args)
    err = info.value
    assert fragment in err.message, err.message
    src, first = inspect.getsourcelines(getattr(F, "helper_writes" if name == "writes_in_helper" else name))
    line = first + next(k for k, t in enumerate(src) if "# ERR" in t)
    assert err.loc is not None and err.loc.line == line, (err.loc, err.message)


GOLDEN = Path(__file__).parent / "golden"
GOLDEN_CASES = {"mse": (True, [0]), "cumprod_loop": (True, [0]), "logsumexp_rows": (False, [0])}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_array_golden(name: str) -> None:
    with_adjoint, wrt = GOLDEN_CASES[name]
    primal = cleanup(infer(parse(getattr(F, name), _types(CASES[name]))))
    texts = {"ssa": format_function(primal)}
    if with_adjoint:
        texts["adjoint"] = format_function(cleanup(reverse_mode(primal, wrt)))
    for stage, text in texts.items():
        path = GOLDEN / f"array_{name}.{stage}"
        if os.environ.get("SYMGRAD_UPDATE_GOLDEN"):
            path.write_text(text)
        assert path.exists(), f"missing {path}; run with SYMGRAD_UPDATE_GOLDEN=1"
        assert text == path.read_text()


def _native_arrays() -> bool:
    try:
        from symgrad.backend import llvm
    except Exception:  # noqa: BLE001 - no native back end here
        return False
    return bool(getattr(llvm, "SUPPORTS_ARRAYS", False))


@pytest.mark.skipif(not _native_arrays(), reason="native array path not complete (llvm.SUPPORTS_ARRAYS)")
@pytest.mark.parametrize("name", sorted(CASES))
def test_native_agrees_with_the_oracle(name: str) -> None:
    fn, args = getattr(F, name), CASES[name]
    nat = compile_grad(fn, cache=False, backend="native").value_and_grad(*args)
    ref = compile_grad(fn, cache=False, backend="numpy").value_and_grad(*args)
    assert nat[0] == pytest.approx(ref[0], rel=1e-10, abs=1e-12)
    ng = nat[1] if isinstance(nat[1], tuple) else (nat[1],)
    rg = ref[1] if isinstance(ref[1], tuple) else (ref[1],)
    for a, b in zip(ng, rg):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_vjp_of_an_array_result() -> None:
    cf = compile_grad(F.vector_map, cache=False, backend="numpy")
    x, w, v = R.normal(size=4), 0.7, R.normal(size=4)
    gx, gw = cf.vjp(x, w, cotangent=v)
    np.testing.assert_allclose(gx, v * w * np.cos(x * w) + 2.0 * v * x, rtol=1e-12)
    assert gw == pytest.approx(np.sum(v * x * np.cos(x * w)), rel=1e-12)
    with pytest.raises(InputError, match="cotangent"):
        cf.vjp(x, w, cotangent=np.ones(3))


def test_carried_array_changing_shape_is_an_error_not_a_wrong_gradient() -> None:
    cf = compile_grad(F.shrinking_carry, cache=False, backend="numpy")
    x = R.normal(size=3)
    assert cf(x) == pytest.approx(F.shrinking_carry(x))
    with pytest.raises(InputError, match="changed shape"):
        cf.grad(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_literal_carry_takes_numpy_type(dtype: type) -> None:
    cf = compile_grad(F.weak_carry, cache=False, backend="numpy")
    x = np.arange(1, 5).astype(dtype)
    want = F.weak_carry(x)
    got = cf(x)
    assert got == pytest.approx(float(want), rel=1e-6)
    ssa = cf.inspect("ssa")
    expect = {np.float32: "%s: f32", np.float64: "%s: f64", np.int64: "%s: f64"}[dtype]
    assert expect in ssa, ssa
