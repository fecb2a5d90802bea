"""Cleanup: constant folding, CSE of identical pure instructions, dead-code elimination.

DCE is a liveness fixed point over the whole function: results used by `return` are
live; an instruction with a live result makes its operands live; a `store` is live only
if its buffer is (so tapes nobody reads disappear); loop-carried slots and `if_` results
that nobody needs are dropped from the structured ops. The pass edits `fn` in place and
returns it.
"""
from __future__ import annotations

from typing import Any

from .. import ir

PURE_SKIP = frozenset(ir.STRUCTURED) | frozenset(ir.SIDE_EFFECTS) | frozenset(ir.TERMINATORS)


def cleanup(fn: ir.Function) -> ir.Function:
    """Fold, CSE and DCE until nothing changes (a few rounds at most)."""
    for _ in range(4):
        n0 = _count(fn.body)
        cse_fold(fn)
        dce(fn)
        if _count(fn.body) == n0:
            break
    return fn


def _count(b: ir.Block) -> int:
    return sum(1 for _ in ir.walk(b))


# ---------------------------------------------------------------------- fold + CSE
def _key(v: ir.Value) -> Any:
    if isinstance(v, ir.Const):
        return ("c", v.type, repr(v.value))
    return id(v)


def cse_fold(fn: ir.Function) -> None:
    repl: dict[ir.Value, ir.Value] = {}
    b = ir.Builder()
    with b:
        _cse_block(fn.body, {}, repl, b)


def _cse_block(block: ir.Block, table: dict, repl: dict, b: ir.Builder) -> None:
    out: list[ir.Instr] = []
    table = dict(table)
    for ins in block.instrs:
        ins.operands = [repl.get(o, o) for o in ins.operands]
        if ins.op == "if_" and isinstance(ins.operands[0], ir.Const):
            taken = ins.regions[0] if ins.operands[0].value else ins.regions[1]
            _cse_block(taken, table, repl, b)
            body = taken.instrs
            for r, y in zip(ins.results, body[-1].operands):
                repl[r] = repl.get(y, y)
            # Splice the taken branch in place; its values were already numbered in `table`
            # only inside the recursive call, so number them again here.
            for inner in body[:-1]:
                out.append(inner)
                _number(inner, table)
            continue
        if ins.op in ("for_", "while_"):
            _invariant_slots(ins, repl)
        for r in ins.regions:
            _cse_block(r, table, repl, b)
        if ins.op == "if_":
            _flag_results(ins, repl, b, out)
        if ins.op in PURE_SKIP or not ins.results:
            out.append(ins)
            continue
        if all(isinstance(o, ir.Const) for o in ins.operands) and ins.op in ir.FOLDABLE:
            t = ins.results[0].type
            repl[ins.results[0]] = ir.Const(ir.fold(ins.op, [o.value for o in ins.operands], ins.params, t), t)
            continue
        if ins.op != "cast":
            same = ir.identity(ins.op, ins.operands)
            if same is not None and same.type == ins.results[0].type:
                repl[ins.results[0]] = same
                continue
        k = (ins.op, tuple(_key(o) for o in ins.operands), tuple(sorted(ins.params.items(), key=str)))
        prev = table.get(k)
        if prev is not None:
            for r, p in zip(ins.results, prev.results):
                repl[r] = p
                if p.name is None and r.name is not None:
                    p.name = r.name
            continue
        table[k] = ins
        out.append(ins)
    block.instrs = out


def _invariant_slots(ins: ir.Instr, repl: dict) -> None:
    """A carried value the body yields back unchanged is its initial value everywhere."""
    skip, lead = (1, 3) if ins.op == "for_" else (0, 0)
    body = ins.regions[-1]
    for k, y in enumerate(body.terminator.operands):
        if y is body.args[skip + k]:
            init = ins.operands[lead + k]
            for reg in ins.regions:
                repl[reg.args[k + (skip if reg is body else 0)]] = init
            repl[ins.results[k]] = init


def _flag_results(ins: ir.Instr, repl: dict, b: ir.Builder, out: list) -> None:
    """`if_ c` yielding (True, False) is `c`; (False, True) is `not c` (flags of break/return)."""
    then, other = (r.terminator.operands for r in ins.regions)
    for r, t, e in zip(ins.results, then, other):
        if isinstance(t, ir.Const) and isinstance(e, ir.Const) and r.type == ir.BOOL and t.value != e.value:
            if t.value:
                repl[r] = ins.operands[0]
            else:
                with b.inside(ir.Block()) as blk, b.at(ins.loc):
                    repl[r] = b.op("logical_not", ins.operands[0], name=r.name)
                out.extend(blk.instrs)


def _number(ins: ir.Instr, table: dict) -> None:
    if ins.op in PURE_SKIP or not ins.results:
        return
    k = (ins.op, tuple(_key(o) for o in ins.operands), tuple(sorted(ins.params.items(), key=str)))
    table.setdefault(k, ins)


# ---------------------------------------------------------------------------- DCE
def dce(fn: ir.Function) -> None:
    live: set[ir.Value] = set(o for o in fn.body.terminator.operands)
    needed: set[int] = set()   # id() of instructions to keep
    changed = True

    def mark(vs: Any) -> None:
        nonlocal changed
        for v in vs:
            if not isinstance(v, ir.Const) and v not in live:
                live.add(v)
                changed = True

    def need(ins: ir.Instr) -> None:
        nonlocal changed
        if id(ins) not in needed:
            needed.add(id(ins))
            changed = True

    def visit(block: ir.Block) -> bool:
        """Propagate liveness in `block`; True if it holds a needed instruction."""
        any_needed = False
        for ins in reversed(block.instrs):
            if ins.op in ir.TERMINATORS:
                continue
            if ins.op == "store":
                if ins.operands[0] in live:
                    need(ins)
                    mark(ins.operands)
            elif ins.op == "if_":
                inner = [visit(r) for r in ins.regions]
                for k, r in enumerate(ins.results):
                    if r in live:
                        mark(reg.terminator.operands[k] for reg in ins.regions)
                if any(r in live for r in ins.results) or any(inner):
                    need(ins)
                    mark(ins.operands[:1])
            elif ins.op in ("for_", "while_"):
                _visit_loop(ins, visit, live, mark, need)
            elif any(r in live for r in ins.results):
                need(ins)
                mark(ins.operands)
            any_needed = any_needed or id(ins) in needed
        return any_needed

    while changed:
        changed = False
        visit(fn.body)
    _sweep(fn.body, live, needed)


def _visit_loop(ins: ir.Instr, visit: Any, live: set, mark: Any, need: Any) -> None:
    is_for = ins.op == "for_"
    lead = 3 if is_for else 0
    skip = 1 if is_for else 0
    body = ins.regions[-1]
    inner = any([visit(r) for r in ins.regions])
    for k, res in enumerate(ins.results):
        args = [r.args[k + (skip if r is body else 0)] for r in ins.regions]
        if res in live or any(a in live for a in args):
            mark([res, ins.operands[lead + k], body.terminator.operands[k]] + args)
            if not is_for:
                mark([ins.regions[0].terminator.operands[1 + k]])
    if inner or any(r in live for r in ins.results):
        need(ins)
        mark(ins.operands[:lead])
        if not is_for:
            mark(ins.regions[0].terminator.operands[:1])


def _sweep(block: ir.Block, live: set, needed: set) -> None:
    out = []
    for ins in block.instrs:
        if ins.op in ir.TERMINATORS:
            out.append(ins)
            continue
        if id(ins) not in needed:
            continue
        if ins.op == "if_":
            keep = [k for k, r in enumerate(ins.results) if r in live]
            for reg in ins.regions:
                _sweep(reg, live, needed)
                reg.terminator.operands = [reg.terminator.operands[k] for k in keep]
            ins.results = [ins.results[k] for k in keep]
            for i, r in enumerate(ins.results):
                r.index = i
        elif ins.op in ("for_", "while_"):
            _shrink_loop(ins, live, needed)
        out.append(ins)
    block.instrs = out


def _shrink_loop(ins: ir.Instr, live: set, needed: set) -> None:
    is_for = ins.op == "for_"
    lead, skip = (3, 1) if is_for else (0, 0)
    body = ins.regions[-1]
    keep = [k for k, r in enumerate(ins.results)
            if r in live or any(reg.args[k + (skip if reg is body else 0)] in live for reg in ins.regions)]
    for reg in ins.regions:
        _sweep(reg, live, needed)
        s = skip if reg is body else 0
        reg.args = reg.args[:s] + [reg.args[s + k] for k in keep]
        t = reg.terminator
        head = 1 if t.op == "condition" else 0
        t.operands = t.operands[:head] + [t.operands[head + k] for k in keep]
    ins.operands = ins.operands[:lead] + [ins.operands[lead + k] for k in keep]
    ins.results = [ins.results[k] for k in keep]
    for i, r in enumerate(ins.results):
        r.index = i
