"""Symbolic shapes (`passes/shapes.py`): broadcast adjoints proven identities are deleted,
a `sum_to` over known axes becomes a keepdims `sum`, and nothing changes any value."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from compiler_helpers import HAVE_NATIVE
from fuse_funcs import centered_var, scaled_rows, w1, w6
from symgrad import compile_grad, ir
from symgrad.backend import numpy_exec
from symgrad.passes.fuse import count_kernels, fuse, specialise
from symgrad.passes.shapes import ShapeTable, broadcast, drop_identities
from symgrad.printer import format_function


def joint_ir(f, *args):
    g = compile_grad(f, cache=False, backend="numpy")
    g.value_and_grad(*args)
    return g._get(g._last).joint_ir


@pytest.mark.parametrize("shapes,want", [
    ([(1, "a"), ("b", "a")], ("b", "a")),
    ([("a",), ("b",)], (None,)),          # either may be 1 at runtime: unknown
    ([("a",), (1,)], ("a",)),
    ([(), ("a", "b")], ("a", "b")),
    ([("b",), ("a", "b")], ("a", "b")),
    ([(None,), ("a",)], (None,)),
    ([(1,), (1, 1)], (1, 1)),
])
def test_broadcast_of_symbolic_shapes(shapes, want):
    assert broadcast(shapes) == want


def test_shape_table_follows_keepdims_reductions_and_broadcasts():
    fn = joint_ir(w6, np.ones((3, 4)))
    t = ShapeTable(fn)
    X = fn.args[0]
    sx = t.shape_of(X)
    by_op = {}
    for i in ir.walk(fn.body):
        if i.results and i.results[0].type.rank:
            by_op.setdefault(i.op, []).append(t.shape_of(i.results[0]))
    assert (sx[0], 1) in by_op["max"]
    assert sx in by_op["sub"] and sx in by_op["exp"]


def test_logsumexp_adjoint_loses_every_sum_to():
    fn = joint_ir(w6, np.ones((3, 4)))
    before = format_function(fn)
    assert before.count("sum_to") >= 3
    after = format_function(drop_identities(copy.deepcopy(fn)))
    assert "sum_to" not in after
    assert "keepdims=True" in after and "extremum_onehot %X, %m" in after


def test_unprovable_broadcasts_keep_their_sum_to():
    fn = joint_ir(scaled_rows, np.ones((3, 4)), np.ones((3, 1)))
    assert "sum_to" in format_function(drop_identities(copy.deepcopy(fn)))
    fn = joint_ir(w1, np.ones(4), np.ones(4))
    assert format_function(drop_identities(copy.deepcopy(fn))).count("sum_to") == \
        format_function(fn).count("sum_to")


CASES = [(w6, [(5, 4)]), (w6, [(1, 3)]), (w6, [(4, 1)]), (centered_var, [(3, 5)]),
         (centered_var, [(2, 1)]), (scaled_rows, [(3, 4), (3, 1)]), (scaled_rows, [(3, 4), (3, 4)]),
         (scaled_rows, [(3, 4), (1, 4)]), (w1, [(6,), (1,)]), (w1, [(5,), (5,)])]


@pytest.mark.parametrize("f,shapes", CASES)
def test_values_and_gradients_are_unchanged(f, shapes):
    r = np.random.default_rng(1)
    args = [r.standard_normal(s) for s in shapes]
    fn = joint_ir(f, *args)
    want = numpy_exec.run(fn, *args)
    slim = drop_identities(copy.deepcopy(fn))
    ir.verify(slim)
    fused = fuse(specialise(copy.deepcopy(slim)))
    outs = [numpy_exec.run(slim, *args), numpy_exec.run(fused, *args)]
    if HAVE_NATIVE:
        from symgrad.backend import llvm as B
        outs.append(B.compile_function(slim)(*args))
    for got in outs:
        for w, g in zip(want, got):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_logsumexp_joint_fuses_into_few_passes():
    fn = joint_ir(w6, np.ones((3, 4)))
    fused = fuse(specialise(drop_identities(copy.deepcopy(fn))))
    text = format_function(fused)
    assert count_kernels(fused) <= 6 and "sum_to" not in text
    maps = [i for i in ir.walk(fused.body) if i.op == "map_"]
    # the exp map is stored for the adjoint and summed in the same loop
    assert any({k for k, *_ in m.params["outs"]} == {"map", "sum"} for m in maps)
    # only two matrices are written: exp(X - m) and X_bar (the adjoint's product is
    # recomputed in the last kernel, passes/remat.py)
    stored = [r for m in maps for (k, *_), r in zip(m.params["outs"], m.results)
              if k == "map" and r.type.rank == 2]
    assert len(stored) == 2
