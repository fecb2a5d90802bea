"""Symbolic shapes: which array values provably have the same shape.

Every array value gets one symbol per axis: the constant 1, a token standing for a size
read at runtime (an argument's axis, the result of an op whose sizes only the data
decide), or None where broadcasting leaves it open. Reverse mode wraps every broadcast
in `sum_to` / `expand_as` because at compile time it cannot know whether a broadcast
happened; where the symbols show the shapes are equal, those are identities.
`drop_identities` deletes them, so fusion sees one chain instead of a reduction barrier
(in `logsumexp`'s adjoint: three passes over the matrix fewer).

A symbol is trustworthy because SSA values do not change: `%y = mul %x, 2.0` has the
sizes of `%x` on every execution of that instruction, whatever they are.
"""
from __future__ import annotations

from typing import Any, Callable

from .. import ir, prims
from ..irarrays import REDUCE

Shape = tuple  # per axis: 1, a token (any other hashable), or None


def broadcast(shapes: list[Shape]) -> Shape:
    """NumPy broadcasting of symbolic shapes: an axis is known when every operand having
    it agrees, counting the constant 1 as agreeing with anything."""
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for d in range(rank):
        dims = [s[d - rank + len(s)] for s in shapes if d >= rank - len(s)]
        real = {x for x in dims if x != 1}
        if not real:
            out.append(1)
        elif len(real) == 1 and None not in real:
            # Sizes `a` and 1: `a`. Sizes `a` and `a`: `a`. A token that is 1 at runtime
            # broadcasts too, but then every operand's size is 1 or `a`, so the result is `a`.
            out.append(next(iter(real)))
        else:
            out.append(None)
    return tuple(out)


class ShapeTable:
    """Symbolic shapes of the values of one function (`shape_of`)."""

    def __init__(self, fn: ir.Function):
        self.shapes: dict[int, Shape] = {}
        self.dims: dict[int, Any] = {}   # i64 values read with `dim`: their symbol
        for a in fn.args:
            self._fresh(a)
        self._block(fn.body)

    def shape_of(self, v: ir.Value) -> Shape | None:
        if not v.type.rank:
            return ()
        return self.shapes.get(id(v))

    def _fresh(self, v: ir.Value) -> None:
        if v.type.rank:
            self.shapes[id(v)] = tuple(("size", id(v), d) for d in range(v.type.rank))

    def _block(self, block: ir.Block) -> None:
        for a in block.args:
            self._fresh(a)
        for ins in block.instrs:
            for r in ins.regions:
                self._block(r)
            rule = RULES.get(ins.op)
            if rule is None and prims.REGISTRY.get(ins.op) is not None \
                    and prims.REGISTRY[ins.op].kind in ("elementwise", "compare", "cast"):
                rule = _elementwise
            if ins.op == "dim" and ins.operands[0].type.rank:
                s = self.shape_of(ins.operands[0])
                if s is not None:
                    self.dims[id(ins.results[0])] = s[ins.params["axis"]]
            for k, r in enumerate(ins.results):
                if not r.type.rank:
                    continue
                s = rule(self, ins) if rule is not None and k == 0 else None
                if s is not None and len(s) == r.type.rank:
                    self.shapes[id(r)] = s
                else:
                    self._fresh(r)

    def _operand_shapes(self, ins: ir.Instr) -> list[Shape] | None:
        out = []
        for o in ins.operands:
            s = self.shape_of(o)
            if s is None:
                return None
            out.append(s)
        return out


def _elementwise(t: ShapeTable, ins: ir.Instr) -> Shape | None:
    shapes = t._operand_shapes(ins)
    return broadcast(shapes) if shapes is not None else None


def _like(t: ShapeTable, ins: ir.Instr) -> Shape | None:
    return t.shape_of(ins.operands[1])


def _first(t: ShapeTable, ins: ir.Instr) -> Shape | None:
    return t.shape_of(ins.operands[0])


def _reduce(t: ShapeTable, ins: ir.Instr) -> Shape | None:
    s = t.shape_of(ins.operands[0])
    axes = ins.params.get("axis")
    if s is None or axes is None:
        return None if s is None or ins.params.get("keepdims") else ()
    if ins.params.get("keepdims"):
        return tuple(1 if d in axes else x for d, x in enumerate(s))
    return tuple(x for d, x in enumerate(s) if d not in axes)


def _reshape(t: ShapeTable, ins: ir.Instr) -> Shape | None:
    out = []
    for o in ins.operands[1:]:
        if isinstance(o, ir.Const):
            out.append(int(o.value))
        else:
            out.append(t.dims.get(id(o), ("size", id(ins), len(out))))
    return tuple(out)


def _squeeze(t: ShapeTable, ins: ir.Instr) -> Shape | None:
    s = t.shape_of(ins.operands[0])
    axes = ins.params["axis"]
    return None if s is None else tuple(x for d, x in enumerate(s) if d not in axes)


def _expand_dims(t: ShapeTable, ins: ir.Instr) -> Shape | None:
    s = t.shape_of(ins.operands[0])
    if s is None:
        return None
    out, it = [], iter(s)
    for d in range(len(s) + len(ins.params["axis"])):
        out.append(1 if d in ins.params["axis"] else next(it))
    return tuple(out)


def _matmul(t: ShapeTable, ins: ir.Instr) -> Shape | None:
    a, b = (t.shape_of(o) for o in ins.operands)
    if a is None or b is None:
        return None
    return tuple(a[:-1]) + tuple(b[1:] if len(b) == 2 else ())


def _getitem(t: ShapeTable, ins: ir.Instr) -> Shape | None:
    """Basic indexing by full slices and scalars: `m[:, 0]` keeps axis 0's symbol."""
    s = t.shape_of(ins.operands[0])
    index = ins.params.get("index")
    if s is None or not isinstance(index, tuple) or len(index) > len(s):
        return None
    out = []
    for d, part in enumerate(index):
        if isinstance(part, prims.SliceT) and tuple(part) == (None, None, None):
            out.append(s[d])
        elif isinstance(part, int) and not isinstance(part, bool):
            continue
        elif isinstance(part, prims.IndexArg) and not ins.operands[1 + part.pos].type.rank:
            continue
        else:
            return None
    return tuple(out) + tuple(s[len(index):])


RULES: dict[str, Callable[[ShapeTable, ir.Instr], Shape | None]] = {
    "expand_as": _like, "sum_to": _like, "index_add_zeros": _like,
    "copy": _first, "setitem": _first, "index_add": _first, "extremum_onehot": _first,
    "reshape": _reshape, "getitem": _getitem, "squeeze": _squeeze, "expand_dims": _expand_dims, "matmul": _matmul,
    **{r: _reduce for r in REDUCE if r != "logsumexp"},
}


def same_shape(t: ShapeTable, a: ir.Value, b: ir.Value) -> bool:
    """Whether `a` and `b` provably have equal shapes (same rank, every axis known equal)."""
    sa, sb = t.shape_of(a), t.shape_of(b)
    return sa is not None and sb is not None and len(sa) == len(sb) and None not in sa and sa == sb


def drop_identities(fn: ir.Function) -> ir.Function:
    """Simplify broadcast adjoints by their symbolic shapes (in place):
    - `sum_to x, like` and `expand_as x, like` where `x` has `like`'s shape: uses take `x`;
    - `sum_to x, like` of equal rank that reduces known axes: `sum x {axis, keepdims}`, a
      reduction fusion can fold into the loop that makes `x`."""
    table = ShapeTable(fn)
    sub: dict[int, ir.Value] = {}

    def visit(block: ir.Block) -> None:
        keep = []
        for ins in block.instrs:
            ins.operands = [sub.get(id(o), o) for o in ins.operands]
            for r in ins.regions:
                visit(r)
            if ins.op in ("sum_to", "expand_as"):
                x, like = ins.operands
                res = ins.results[0]
                if x.type == res.type and same_shape(table, x, like):
                    sub[id(res)] = x
                    continue
                axes = _reduced_axes(table, x, like) if ins.op == "sum_to" else None
                if axes is not None and x.type == res.type:
                    ins.op, ins.operands = "sum", [x]
                    ins.params = {"axis": axes, "keepdims": True}
            keep.append(ins)
        block.instrs[:] = keep
    visit(fn.body)
    return fn


def _reduced_axes(t: ShapeTable, x: ir.Value, like: ir.Value) -> tuple | None:
    """The axes `sum_to x, like` sums over when both have the same rank and every other
    axis is provably equal; None when that is not known."""
    sx, sl = t.shape_of(x), t.shape_of(like)
    if sx is None or sl is None or len(sx) != len(sl) or not sx:
        return None
    axes = []
    for d, (a, b) in enumerate(zip(sx, sl)):
        if b == 1:
            if a != 1:
                axes.append(d)
        elif a is None or a != b:
            return None
    return tuple(axes) if axes else None
