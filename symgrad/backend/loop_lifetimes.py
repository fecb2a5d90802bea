"""Which array temporaries inside loops die within their iteration (an IR analysis).

The native back end gives such an allocation site one block, reused by every iteration
(`runtime_ir.LoopSlots`); the others come from the per-call arena (`runtime_ir.Arena`).
"""
from __future__ import annotations

from typing import Any


# Ops whose array results never share storage with an operand (kernels, reductions, fresh
# buffers, copies). Every other op with an array result may return a view of, or write in
# place into, its operands (`getitem`, `sum_to`, `setitem`, ...).
_FRESH = frozenset({"map_", "full", "copy", "load", "sum", "mean", "max", "min", "prod",
                    "logsumexp", "matmul", "dot", "stack", "concatenate", "extremum_onehot",
                    "index_add_zeros"})
_WRITES_INTO_FIRST = frozenset({"setitem", "index_add"})  # the written value is copied in


def iteration_local(fn: Any) -> set[int]:
    """Ids of the instructions inside loops whose array results (and every view of or
    in-place write into them) die before the next iteration of their innermost loop starts.

    An allocation made while lowering such an instruction can reuse the block of the same
    site's previous execution: between two executions of a site there is always an
    iteration boundary of its innermost loop, and storage that does not reach that loop
    body's terminator is unreachable after the boundary (values are SSA, loop bodies see
    the previous iteration only through their block arguments, `store` copies). Aliasing is
    one union-find class per set of values that may share storage (conservative: an op not
    known to produce fresh storage is assumed to alias all its array operands).
    """
    from .. import ir, prims
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    def union(a: Any, b: Any) -> None:
        if not (a.type.rank and b.type.rank) or isinstance(a, ir.Const) or isinstance(b, ir.Const):
            return
        ra, rb = find(id(a)), find(id(b))
        if ra != rb:
            parent[ra] = rb

    def fresh(ins: Any) -> bool:
        if ins.op in _FRESH:
            return True
        p = prims.REGISTRY.get(ins.op)
        return p is not None and p.kind in ("elementwise", "compare", "cast", "reduce") \
            and ins.op not in ("sum_to", "expand_as")

    def yields(block: Any) -> list:
        t = block.terminator
        return list(t.operands) if t is not None else []

    for ins in ir.walk(fn.body):
        if ins.op == "if_":
            for reg in ins.regions:
                for r, y in zip(ins.results, yields(reg)):
                    union(r, y)
        elif ins.op == "for_":
            (body,) = ins.regions
            for r, a, v, y in zip(ins.results, body.args[1:], ins.operands[3:], yields(body)):
                union(r, a), union(a, v), union(a, y)
        elif ins.op == "while_":
            before, body = ins.regions
            cond = yields(before)[1:]
            for a, v, y in zip(before.args, ins.operands, yields(body)):
                union(a, v), union(a, y)
            for r, a, c in zip(ins.results, body.args, cond):
                union(r, c), union(a, c)
        elif ins.op in _WRITES_INTO_FIRST:
            for r in ins.results:
                union(r, ins.operands[0])
        elif ins.op in ("grow",):
            union(ins.results[0], ins.operands[0])
        elif not ins.regions and not fresh(ins):
            for r in ins.results:
                for o in ins.operands:
                    if isinstance(o, ir.Value) and not isinstance(o, ir.Const):
                        union(r, o)

    out: set[int] = set()

    def visit(block: Any, loop_block: Any) -> None:
        if loop_block is not None:
            leaving = {find(id(v)) for v in yields(loop_block) if v.type.rank}
        for ins in block.instrs:
            if loop_block is not None and any(r.type.rank for r in ins.results) \
                    and not any(find(id(r)) in leaving for r in ins.results if r.type.rank):
                out.add(id(ins))
            if ins.op in ("for_", "while_"):
                for reg in ins.regions:
                    visit(reg, reg)
            else:
                for reg in ins.regions:
                    visit(reg, loop_block)

    visit(fn.body, None)
    return out
