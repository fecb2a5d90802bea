"""Type inference check: re-derives every primitive's result type from its operands.

Types are computed by `ir.Builder` while the front end builds the IR (it needs them to
pick Python's int/float semantics and to widen loop-carried values); this pass checks the
finished function against the same rules, so a pass that breaks typing is caught where it
happened, with the user's line.
"""
from __future__ import annotations

from .. import ir
from ..errors import CompileError

_SAME_OPERANDS = ir.ARITH | ir.COMPARE | frozenset({"div", "pow"})


def infer(fn: ir.Function) -> ir.Function:
    """Check operand and result types of every instruction; returns `fn`."""
    for ins in ir.walk(fn.body):
        if ins.op in ir.STRUCTURED or ins.op in ir.TERMINATORS or ins.op == "store":
            continue
        if ins.op in _SAME_OPERANDS and len({o.dtype for o in ins.operands}) != 1:
            raise CompileError(f"internal type error: {ins.op} on "
                               f"{', '.join(str(o.type) for o in ins.operands)}", ins.loc)
        want = ir.result_types(ins.op, ins.operands, ins.params)
        got = [r.type for r in ins.results]
        if want != got:
            raise CompileError(f"internal type error: {ins.op} gives {got}, expected {want}", ins.loc)
    ir.verify(fn)
    return fn
