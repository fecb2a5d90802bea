"""Kernel fusion (`passes/fuse.py`): maximal elementwise chains become one `map_`, a
reduction of such a chain joins it, and W1's value and both gradients are ONE loop."""
from __future__ import annotations

import numpy as np
import pytest

from fuse_funcs import softplus_mean, w1, w6
from symgrad import compile_grad, ir
from symgrad.backend import llvm as B, numpy_exec
from symgrad.passes.fuse import count_kernels, fuse, specialise
from symgrad.printer import format_function


def joint_ir(f, *args):
    g = compile_grad(f, cache=False, backend="numpy")
    g.value_and_grad(*args)
    return g._get(g._last)


def test_w1_forward_is_one_map_reduce():
    c = joint_ir(w1, np.ones(4), np.ones(4))
    fn = fuse(c.primal_ir)
    assert count_kernels(fn) == 1
    text = format_function(fn)
    assert "map_ %a, %b {outs=(('sum', None, False),)" in text
    assert [i.op for i in fn.body.instrs] == ["map_", "return"]


def test_w1_joint_is_one_loop_writing_both_gradients():
    c = joint_ir(w1, np.ones(4), np.ones(4))
    fn = fuse(specialise(c.joint_ir))
    then = fn.body.instrs[-2].regions[0]  # the equal-shapes version
    maps = [i for i in then.instrs if i.op == "map_"]
    assert len(maps) == 1 and len(maps[0].results) == 3
    assert sorted(k for k, *_ in maps[0].params["outs"]) == ["map", "map", "sum"]


@pytest.mark.parametrize("f,shapes", [(w1, [(7,), (7,)]), (w1, [(1,), (6,)]), (w6, [(5, 4)]),
                                      (softplus_mean, [(3, 4), (4,)]), (softplus_mean, [(0, 4), (4,)])])
def test_fused_ir_matches_the_oracle_on_both_back_ends(f, shapes):
    r = np.random.default_rng(0)
    args = [r.standard_normal(s) for s in shapes]
    c = joint_ir(f, *args)
    want = numpy_exec.run(c.joint_ir, *args)
    fused = fuse(specialise(c.joint_ir))
    ir.verify(fused)
    got_np = numpy_exec.run(fused, *args)
    got_native = B.compile_function(fused)(*args)
    for w, g1, g2 in zip(want, got_np, got_native):
        np.testing.assert_allclose(g1, w, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g2, w, rtol=1e-10, atol=1e-12)


def test_w6_kernel_count():
    c = joint_ir(w6, np.ones((3, 4)))
    fn = fuse(c.primal_ir)
    # max (a reduction kernel), exp-sum (map-reduce), log + m (map-reduce to the scalar)
    assert count_kernels(fn) <= 3
