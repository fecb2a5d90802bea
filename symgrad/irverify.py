"""`verify(fn)`: SSA dominance, terminators and region signatures of structured ops."""
from __future__ import annotations

from typing import Sequence

from . import ir
from .errors import CompileError


class VerifyError(CompileError):
    """The IR broke one of its invariants (a compiler bug, not a user error)."""


def verify(fn: ir.Function) -> None:
    """Check SSA dominance, terminators and the region signatures of structured ops."""
    seen: set[int] = set()

    def define(vs: Sequence[ir.Value]) -> None:
        for v in vs:
            if id(v) in seen:
                raise VerifyError(f"{fn.name}: value {v!r} defined twice")
            seen.add(id(v))

    def check_block(b: ir.Block, scope: set[int], want: str) -> list[ir.Type]:
        local = set(scope)
        define(b.args)
        local.update(id(a) for a in b.args)
        term = b.terminator
        if term is None or term.op != want:
            raise VerifyError(f"{fn.name}: block must end in {want}, ends in "
                              f"{b.instrs[-1].op if b.instrs else 'nothing'}", term.loc if term else None)
        for ins in b.instrs:
            for o in ins.operands:
                if not isinstance(o, ir.Const) and id(o) not in local:
                    raise VerifyError(f"{fn.name}: {ins.op} uses {o!r} outside its scope", ins.loc)
            if ins.op in ir.TERMINATORS and ins is not term:
                raise VerifyError(f"{fn.name}: {ins.op} in the middle of a block", ins.loc)
            check_regions(ins, local)
            define(ins.results)
            local.update(id(r) for r in ins.results)
        return [o.type for o in term.operands]

    def check_regions(ins: ir.Instr, scope: set[int]) -> None:
        rt = [r.type for r in ins.results]
        if ins.op == "if_":
            if len(ins.regions) != 2 or ins.operands[0].type != ir.BOOL:
                raise VerifyError(f"{fn.name}: malformed if_", ins.loc)
            for r in ins.regions:
                if check_block(r, scope, "yield") != rt:
                    raise VerifyError(f"{fn.name}: if_ branch yields do not match its results", ins.loc)
        elif ins.op == "for_":
            (body,) = ins.regions
            carried = [o.type for o in ins.operands[3:]]
            if [a.type for a in body.args] != [ir.I64] + carried or carried != rt:
                raise VerifyError(f"{fn.name}: for_ body arguments do not match", ins.loc)
            if any(o.type != ir.I64 for o in ins.operands[:3]):
                raise VerifyError(f"{fn.name}: for_ bounds must be i64", ins.loc)
            if check_block(body, scope, "yield") != rt:
                raise VerifyError(f"{fn.name}: for_ yield types do not match", ins.loc)
        elif ins.op == "while_":
            before, body = ins.regions
            carried = [o.type for o in ins.operands]
            if [a.type for a in before.args] != carried or [a.type for a in body.args] != carried:
                raise VerifyError(f"{fn.name}: while_ region arguments do not match", ins.loc)
            if check_block(before, scope, "condition") != [ir.BOOL] + carried:
                raise VerifyError(f"{fn.name}: while_ condition does not match", ins.loc)
            if check_block(body, scope, "yield") != carried or carried != rt:
                raise VerifyError(f"{fn.name}: while_ yield types do not match", ins.loc)
        elif ins.op == "map_":  # fused kernel (passes/fuse.py): scalar body, one yield per result
            (body,) = ins.regions
            n = len(ins.operands) - ins.params.get("shape_only", 0)
            if [a.type for a in body.args] != [ir.Type(o.dtype) for o in ins.operands[:n]] \
                    or len(check_block(body, scope, "yield")) != len(rt):
                raise VerifyError(f"{fn.name}: malformed map_", ins.loc)
        elif ins.regions:
            raise VerifyError(f"{fn.name}: {ins.op} cannot own regions", ins.loc)

    got = check_block(fn.body, set(), "return")
    if got != list(fn.result_types):
        raise VerifyError(f"{fn.name}: returns {[str(t) for t in got]}, declared "
                          f"{[str(t) for t in fn.result_types]}")
