"""Shared helpers of the native back-end tests: build IR with `ir.Builder`, compare floats."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from symgrad import ir, prims
from symgrad.backend import llvm as B

F64, F32, I64, BOOL = ir.F64, ir.F32, ir.I64, ir.BOOL
NP = {"f64": np.float64, "f32": np.float32, "i64": np.int64, "bool": np.bool_}

FLOATS = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 3.0, -7.25, 1e-310, 1e-5, 0.9999,
          20.0, 700.0, -745.0, 1e300, -1e300, math.inf, -math.inf, math.nan]
INTS = [0, 1, -1, 2, -2, 3, -3, 7, -7, 10, -10, 2**62, 2**63 - 1, -2**63, -2**63 + 1]


def build(types, body, name="f", meta=None):
    """An ir.Function of `types` arguments whose body is `body(builder, *args)`."""
    args = [ir.Arg(t, f"a{i}") for i, t in enumerate(types)]
    blk = ir.Block(args)
    with ir.Builder(blk) as b:
        outs = body(b, *args)
        outs = outs if isinstance(outs, tuple) else (outs,)
        b.ret(*outs)
    fn = ir.Function(name, blk, [o.type for o in outs], meta=dict(meta or {}))
    ir.verify(fn)
    return fn


def native(types, body, **kw):
    return B.compile_function(build(types, body), **kw)


def for_(b, start, stop, step, init, body):
    """Emit `for_`: body(b, i, *carried) returns the next carried values (a tuple)."""
    init = [b.coerce(v, "f64") if isinstance(v, float) else v for v in init]
    blk = ir.Block([ir.Arg(I64, "i")] + [ir.Arg(v.type, f"c{k}") for k, v in enumerate(init)])
    with b.inside(blk):
        b.yield_(*body(b, *blk.args))
    ops = [b.coerce(v, "i64") for v in (start, stop, step)] + list(init)
    return b.emit("for_", ops, types=[v.type for v in init], regions=[blk]).results


def if_(b, cond, then, other, types):
    regions = []
    for fn in (then, other):
        blk = ir.Block()
        with b.inside(blk):
            b.yield_(*fn(b))
        regions.append(blk)
    return b.emit("if_", [cond], types=types, regions=regions).results


def while_(b, init, cond, body):
    before = ir.Block([ir.Arg(v.type) for v in init])
    with b.inside(before):
        b.emit("condition", [cond(b, *before.args), *before.args])
    blk = ir.Block([ir.Arg(v.type) for v in init])
    with b.inside(blk):
        b.yield_(*body(b, *blk.args))
    return b.emit("while_", list(init), types=[v.type for v in init],
                  regions=[before, blk]).results


def same(got, want, rtol=0.0):
    """Bitwise-equal floats (sign of zero and NaN included), or within rtol."""
    got, want = float(got), float(want)
    if math.isnan(want):
        return math.isnan(got)
    if rtol and math.isfinite(want):
        return got == pytest.approx(want, rel=rtol, abs=1e-300)
    return got == want and math.copysign(1, got) == math.copysign(1, want)


def ref(name, *xs, **params):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return prims.REGISTRY[name].impl(*xs, **params)
