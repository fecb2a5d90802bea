"""Rematerialisation (`passes/remat.py`): a cheap kernel output read by later kernels is
recomputed there instead of stored, only when that adds no memory traffic, and never
changes a value."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from compiler_helpers import HAVE_NATIVE
from llvm_helpers import build
from symgrad import ir
from symgrad.backend import numpy_exec
from symgrad.passes.fuse import fuse


def _fn(names_types, body):
    return build([t for _, t in names_types], lambda b, *a: tuple(body(b, *a)), name="k")


M = ir.Type("f64", 2)


def _cheap(b, x, y):
    p = b.op("mul", b.op("add", x, 1.0), y)        # cheap: recomputed where read
    s = b.op("sum", b.op("neg", p), axis=(1,), keepdims=True)
    q = b.op("add", b.op("mul", p, s), x)
    return [q]


def _costly(b, x, y):
    p = b.op("exp", b.op("mul", x, y))             # exp: stays stored
    s = b.op("sum", p, axis=(1,), keepdims=True)
    return [b.op("mul", p, s)]


def _wide(b, x, y, z, w):
    p = b.op("add", b.op("mul", x, y), b.op("mul", z, w))  # 3 new reads for the consumer
    s = b.op("sum", p, axis=(1,), keepdims=True)
    return [b.op("mul", p, s)]


def _stored_2d(fn):
    return sum(1 for i in ir.walk(fn.body) if i.op == "map_"
               for (k, *_), r in zip(i.params["outs"], i.results) if k == "map" and r.type.rank == 2)


@pytest.mark.parametrize("build,n_args,stored_before,stored_after", [
    (_cheap, 2, 2, 1), (_costly, 2, 2, 2), (_wide, 4, 2, 2)])
def test_what_is_recomputed(build, n_args, stored_before, stored_after):
    names = [("x", M), ("y", M), ("z", M), ("w", M)][:n_args]
    fn = _fn(names, build)
    from symgrad.passes import fuse as F
    plain = copy.deepcopy(fn)
    F._fuse_block(plain.body, F.users_of(plain))
    assert _stored_2d(plain) == stored_before
    fused = fuse(copy.deepcopy(fn))
    ir.verify(fused)
    assert _stored_2d(fused) == stored_after
    r = np.random.default_rng(0)
    args = [r.standard_normal((3, 5)) for _ in range(n_args)]
    want = numpy_exec.run(fn, *args)
    outs = [numpy_exec.run(fused, *args)]
    if HAVE_NATIVE:
        from symgrad.backend import llvm as B
        outs.append(B.compile_function(fn)(*args))
    for got in outs:
        np.testing.assert_allclose(got[0], want[0], rtol=1e-13, atol=1e-13)


def test_broadcast_shapes_survive_recomputation():
    # p has the broadcast shape of x (3, 1) and y (1, 5); its consumer only reads a (3, 5)
    # matrix besides: the shape must still come out (3, 5) where x and y are the only inputs.
    fn = _fn([("x", M), ("y", M), ("z", M)], lambda b, x, y, z: [
        b.op("mul", b.op("add", x, y), b.op("sum", b.op("add", x, y), axis=(1,), keepdims=True))])
    fused = fuse(copy.deepcopy(fn))
    r = np.random.default_rng(1)
    args = [r.standard_normal((3, 1)), r.standard_normal((1, 5)), r.standard_normal((3, 5))]
    np.testing.assert_allclose(numpy_exec.run(fused, *args)[0], numpy_exec.run(fn, *args)[0])
    assert numpy_exec.run(fused, *args)[0].shape == (3, 5)


def test_a_shape_only_reader_gets_shapes_not_reads():
    # q's kernel reads p only for its shape (expand_as of a scalar over p): after p's store
    # goes, that kernel must not start reading x and y.
    def build(b, x, y):
        p = b.op("mul", b.op("add", x, 1.0), y)
        s = b.op("sum", p, axis=(1,), keepdims=True)
        q = b.op("expand_as", 2.0, p)
        t = b.op("mul", b.op("add", q, 1.0), s)
        return [b.op("mul", p, t)]
    fn = _fn([("x", M), ("y", M)], build)
    fused = fuse(copy.deepcopy(fn))
    ir.verify(fused)
    r = np.random.default_rng(2)
    args = [r.standard_normal((3, 4)), r.standard_normal((3, 4))]
    np.testing.assert_allclose(numpy_exec.run(fused, *args)[0], numpy_exec.run(fn, *args)[0],
                               rtol=1e-13)
    for m in (i for i in ir.walk(fused.body) if i.op == "map_"):
        n = len(m.operands) - m.params.get("shape_only", 0)
        assert len(m.regions[0].args) == n   # every loaded operand is read by the body
