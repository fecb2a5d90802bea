"""The symbolic simplification pass: SymPy over straight-line elementwise regions.

`simplify(fn)` cuts every block into regions (maximal runs of translatable elementwise
instructions; structured ops, buffers, reductions and calls are barriers whose nested
blocks are simplified in turn), hands each region to `rewrite.simplify_region` (CSE plus
rewrites that cannot grow an expression, domain- and type-checked) and splices the result
back only if its instruction count did not grow. A region's interface is its inputs (values
defined before it, including outer values read inside nested blocks) and its outputs
(values used after it). Compile time is bounded: `budget_s` for the whole function, and a
region over `max_ops` instructions is left as it is.

Contract: a kept rewrite is equal to the original for every real input at which the
original is defined, and undefined (nan/inf) wherever the original hits a domain error
(division by zero, log/sqrt/pow/asin/acos outside their domain) - checked with domain
guards, see `domain.py`. Points where the original overflows to inf are outside the
contract (`x*y - x*y` may become 0 where the original gives inf - inf). Integer
arithmetic stays integer, floor division and mod are never rewritten, and each region's
output types are checked. Any failure inside SymPy keeps the region as it was.

`sympy_view(fn)` prints each region's expressions (what `inspect("sympy")` shows).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator

import sympy

from .. import ir
from ..printer import Namer
from .rewrite import Outcome, resubstitute, cse, simplify_region
from .sympy_bridge import RConst, Region, RInput, ROp, to_sympy, translatable

DEFAULT_BUDGET_S = 0.2
DEFAULT_MAX_OPS = 400


def is_region_op(ins: ir.Instr) -> bool:
    """An instruction SymPy may see: an elementwise primitive (registry) without regions.

    Everything else is a barrier: structured ops, buffers (alloc/load/store/grow),
    reductions, shape, indexing and linear algebra, calls.
    """
    return not ins.regions and len(ins.results) == 1 and translatable(ins.op)


def segments(block: ir.Block) -> Iterator[tuple[bool, list[ir.Instr]]]:
    """(is_region, instructions) runs of `block` in order; barriers come one at a time."""
    run: list[ir.Instr] = []
    for ins in block.instrs:
        if is_region_op(ins):
            run.append(ins)
            continue
        if run:
            yield True, run
            run = []
        yield False, [ins]
    if run:
        yield True, run


def _uses(ins: ir.Instr) -> Iterator[ir.Value]:
    yield from ins.operands
    for r in ins.regions:
        for inner in ir.walk(r):
            yield from inner.operands


def _outside_uses(block: ir.Block) -> dict[int, set[int]]:
    """id(value) -> indices of the block's top-level instructions using it (nested too)."""
    out: dict[int, set[int]] = {}
    for k, ins in enumerate(block.instrs):
        for v in _uses(ins):
            if not isinstance(v, ir.Const):
                out.setdefault(id(v), set()).add(k)
    return out


@dataclass
class RegionSlice:
    """A region of an IR block and its translation to a `Region`."""

    instrs: list[ir.Instr]
    region: Region
    out_values: list[ir.Value]


def make_region(instrs: list[ir.Instr], block: ir.Block, users: dict[int, set[int]],
                names: dict[int, str] | None = None) -> RegionSlice:
    index = {id(ins): k for k, ins in enumerate(block.instrs)}
    mine = {index[id(i)] for i in instrs}
    slot: dict[int, int] = {}
    inputs: list[RInput] = []
    defs: dict[int, ir.Instr] = {}
    for ins in instrs:
        for o in ins.operands:
            if not isinstance(o, ir.Const) and id(o) not in slot and id(o) not in defs:
                slot[id(o)] = len(inputs)
                inputs.append(RInput(o.type, names.get(id(o), o.name) if names else o.name, o))
        defs[id(ins.result)] = ins
    n_in = len(inputs)
    ops: list[ROp] = []
    for k, ins in enumerate(instrs):
        args = tuple(RConst(o.value, o.type) if isinstance(o, ir.Const) else slot[id(o)] for o in ins.operands)
        name = names.get(id(ins.result), ins.result.name) if names else ins.result.name
        ops.append(ROp(ins.op, args, ins.result.type, dict(ins.params), name, ins.loc, ins.note))
        slot[id(ins.result)] = n_in + k
    outs = [ins.result for ins in instrs if users.get(id(ins.result), set()) - mine]
    for inp in inputs:  # known definitions let rewrites reuse primal values
        d = getattr(inp.key, "instr", None)
        if d is not None and is_region_op(d) and all(id(o) in slot and slot[id(o)] < n_in for o in d.operands):
            inp.definition = (d.op, tuple(slot[id(o)] for o in d.operands), dict(d.params))
    return RegionSlice(instrs, Region(inputs, ops, [slot[id(v)] for v in outs]), outs)


@dataclass
class _State:
    deadline: float
    max_ops: int
    outcomes: list[Outcome]


def simplify(fn: ir.Function, *, budget_s: float = DEFAULT_BUDGET_S,
             max_ops: int = DEFAULT_MAX_OPS) -> ir.Function:
    """A new function with every straight-line elementwise region simplified."""
    t0 = time.perf_counter()
    st = _State(t0 + budget_s, max_ops, [])
    vmap: dict[int, ir.Value] = {}
    body = _block(fn.body, vmap, st)
    meta = dict(fn.meta)
    meta["simplify"] = {
        "seconds": time.perf_counter() - t0,
        "regions": len(st.outcomes),
        "ops_before": sum(o.before for o in st.outcomes),
        "ops_after": sum(o.result.count if o.result else o.before for o in st.outcomes),
        "outcomes": [(o.reason, o.before, o.result.count if o.result else o.before, o.rules)
                     for o in st.outcomes],
    }
    return ir.Function(fn.name, body, list(fn.result_types), fn.loc, fn.source, meta)


def _get(vmap: dict[int, ir.Value], v: ir.Value) -> ir.Value:
    return v if isinstance(v, ir.Const) else vmap.get(id(v), v)


def _block(block: ir.Block, vmap: dict[int, ir.Value], st: _State) -> ir.Block:
    nb = ir.Block([ir.Arg(a.type, a.name) for a in block.args], [])
    for a, n in zip(block.args, nb.args):
        vmap[id(a)] = n
    users = _outside_uses(block)
    for is_region, instrs in segments(block):
        if is_region and not _simplified(instrs, block, users, nb, vmap, st):
            is_region = False
        if not is_region:
            for ins in instrs:
                _copy(ins, nb, vmap, st)
    return nb


def _copy(ins: ir.Instr, nb: ir.Block, vmap: dict[int, ir.Value], st: _State) -> None:
    new = ir.Instr(ins.op, [_get(vmap, o) for o in ins.operands], dict(ins.params), [],
                   [], ins.loc, ins.note)
    new.regions = [_block(r, vmap, st) for r in ins.regions]
    new.results = [ir.Result(r.type, new, i, r.name) for i, r in enumerate(ins.results)]
    for r, n in zip(ins.results, new.results):
        vmap[id(r)] = n
    nb.instrs.append(new)


def _simplified(instrs: list[ir.Instr], block: ir.Block, users: dict[int, set[int]], nb: ir.Block,
                vmap: dict[int, ir.Value], st: _State) -> bool:
    """Emit the simplified region into `nb`; False (nothing emitted) to keep the original."""
    if len(instrs) < 2 or len(instrs) > st.max_ops or time.perf_counter() > st.deadline:
        return False
    rs = make_region(instrs, block, users)
    if not rs.out_values:
        return False
    try:
        outcome = simplify_region(rs.region, deadline=st.deadline, make_type=ir.Type)
    except Exception as e:  # noqa: BLE001  (an optimisation fails closed: keep the original)
        st.outcomes.append(Outcome(None, len(instrs), [], f"error: {type(e).__name__}: {e}", 0.0))
        return False
    st.outcomes.append(outcome)
    cand = outcome.result
    if cand is None:
        return False
    r = rs.region
    if any(i.type.rank for i in r.inputs) and \
            _array_deps(r.inputs, cand.ops, cand.outputs) != _array_deps(r.inputs, r.ops, r.outputs):
        # `a + b - b -> a` is exact elementwise but changes the broadcast shape when b is
        # larger than a (sizes are runtime values): keep regions whose outputs read other arrays.
        outcome.result, outcome.reason = None, "array operands changed (broadcast shape)"
        return False
    scratch = ir.Block()
    b = ir.Builder(scratch)
    vals: list[Any] = [_get(vmap, i.key) for i in rs.region.inputs]

    def arg(a):
        return ir.Const(a.value, a.type) if isinstance(a, RConst) else vals[a]

    try:
        with b:
            for o in cand.ops:
                with b.at(o.loc, o.note):
                    vals.append(b.op(o.op, *[arg(a) for a in o.args], name=o.name, **o.params))
    except Exception as e:  # noqa: BLE001  (the builder rejected an op: keep the original)
        outcome.result, outcome.reason = None, f"IR rebuild failed: {e}"
        return False
    news = [arg(a) for a in cand.outputs]
    if len(scratch.instrs) > len(instrs) or any(n.type != v.type for n, v in zip(news, rs.out_values)):
        outcome.result, outcome.reason = None, "IR typing grew the region"
        return False
    for v, n in zip(rs.out_values, news):
        if isinstance(n, ir.Result) and n.instr in scratch.instrs and n.name is None:
            n.name = v.name
        vmap[id(v)] = n
    nb.instrs.extend(scratch.instrs)
    return True


# ---------------------------------------------------------------------------------------
# the SymPy view
# ---------------------------------------------------------------------------------------
def _array_deps(inputs: list, ops: list, outputs: list) -> list[frozenset]:
    """For each output, the array inputs it reads (they fix its broadcast shape)."""
    deps = [frozenset([k]) if inp.type.rank else frozenset() for k, inp in enumerate(inputs)]
    for o in ops:
        deps.append(frozenset().union(*[deps[a] for a in o.args if isinstance(a, int)]))
    return [deps[a] if isinstance(a, int) else frozenset() for a in outputs]


def _regions(block: ir.Block, where: str, names: dict[int, str]) -> Iterator[tuple[str, RegionSlice]]:
    users = _outside_uses(block)
    for is_region, instrs in segments(block):
        if is_region:
            rs = make_region(instrs, block, users, names)
            if rs.out_values:
                yield where, rs
        else:
            ins = instrs[0]
            for k, r in enumerate(ins.regions):
                line = f" L{ins.loc.line}" if ins.loc else ""
                yield from _regions(r, f"{where} > {ins.op}{line} region {k}", names)


def printed_names(fn: ir.Function) -> dict[int, str]:
    """id(value) -> the name `printer.format_function` gives it (without the `%`)."""
    namer = Namer(prefix="", anon="%")
    out: dict[int, str] = {}

    def name(vs):
        for v in vs:
            if not isinstance(v, ir.Const):
                out[id(v)] = namer(v)

    def block(b: ir.Block) -> None:
        for ins in b.instrs:
            name(ins.operands[:3] if ins.op == "for_" else ins.operands)
            name(ins.operands[3:] if ins.op == "for_" else [])
            name(ins.results)
            for r in ins.regions:
                name(r.args)
                block(r)

    name(fn.args)
    block(fn.body)
    return out


def sympy_view(fn: ir.Function, *, latex: bool = False, max_ops: int = DEFAULT_MAX_OPS) -> str:
    """Each region's outputs as SymPy expressions of its inputs (pretty or LaTeX).

    Values carry the names of the SSA text (`inspect("ssa")`); a shared subexpression is
    named after the SSA value it computes, or `_t0`, `_t1`... when it has none.
    """
    names = printed_names(fn)
    out = [f"# SymPy view of {fn.name}: straight-line regions over real symbols"]
    for k, (where, rs) in enumerate(_regions(fn.body, "body", names)):
        lines = sorted({i.loc.line for i in rs.instrs if i.loc is not None})
        span = (f", L{lines[0]}" + (f"-L{lines[-1]}" if lines[-1] != lines[0] else "")) if lines else ""
        out.append(f"\n# region {k}: {where}{span}, {len(rs.instrs)} ops")
        if len(rs.instrs) > max_ops:
            out.append("#   (over max_ops: not translated)")
            continue
        try:
            sr = to_sympy(rs.region)
            lhs = [sympy.Symbol(names.get(id(v), f"out{i}")) for i, v in enumerate(rs.out_values)]
            pairs = list(sr.bindings) + list(zip(lhs, sr.outputs))
            keep = {s.name: s for s in sr.symbols + [s for s, _ in sr.bindings]}
            reps, red = cse([e for _, e in pairs], keep)
            _, full = resubstitute(reps, red)
        except Exception as e:  # noqa: BLE001  (the view reports, never fails)
            out.append(f"#   (not translatable: {type(e).__name__}: {e})")
            continue
        taken = {s.name for s in sr.symbols} | {s.name for s in lhs}
        rename = _temp_names([(s, sr.meta.get(full.get(s))) for s, _ in reps]
                             + [(b, sr.binding_meta.get(b)) for b, _ in sr.bindings], taken)
        for lhs_sym, rhs in list(reps) + [(p[0], r) for p, r in zip(pairs, red)]:
            out.append(_show(rename.get(lhs_sym, lhs_sym), rhs.xreplace(rename), latex))
    return "\n".join(out) + "\n"


def _temp_names(temps: list[tuple[sympy.Symbol, ROp | None]], taken: set[str]) -> dict:
    out = {}
    for i, (s, op) in enumerate(temps):
        name = op.name if op is not None and op.name and op.name not in taken else f"_t{i}"
        taken.add(name)
        out[s] = sympy.Symbol(name)
    return out


def _latex_name(name: str) -> str:
    base, _, sub = name.replace("%", "t").partition(".")
    base = base.replace("_", r"\_")
    return f"{base}_{{{sub}}}" if sub else base


def _show(lhs: sympy.Symbol, rhs: sympy.Expr, latex: bool) -> str:
    if latex:
        sn = {s: _latex_name(s.name) for s in rhs.free_symbols | {lhs}}
        return f"{sympy.latex(lhs, symbol_names=sn)} = {sympy.latex(rhs, symbol_names=sn)}"
    return sympy.pretty(sympy.Eq(lhs, rhs, evaluate=False), use_unicode=True, wrap_line=False)
