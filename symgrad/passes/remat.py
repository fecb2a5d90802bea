"""Rematerialisation: recompute cheap kernel outputs in the kernels that read them.

After fusion a `map_` output that other `map_` kernels read is stored to memory and read
back. When the output is a few cheap operations (no transcendental functions) of its
kernel's operands, each consumer can recompute it from those operands instead, and the
store disappears. In `logsumexp`'s adjoint that is the `g / s * exp(x - m)` matrix the last
kernel reads: one write of the whole matrix fewer.

It is done only when it cannot add memory traffic: every user is a `map_` in the same
block, and each user reads at most two arrays it did not read before (the stored output
cost one write and one read). The recomputed values are the same operations on the same
inputs, so results are bitwise unchanged.
"""
from __future__ import annotations

from .. import ir

CHEAP = frozenset({"add", "sub", "mul", "div", "neg", "where", "maximum", "minimum", "abs",
                   "cast", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
                   "logical_not"})
MAX_OPS = 4        # instructions recomputed per element, per consumer
MAX_NEW_READS = 2  # arrays a consumer may start reading (the store cost a write and a read)


def rematerialise(fn: ir.Function) -> ir.Function:
    """Recompute cheap `map_` outputs in their consumers (in place)."""
    from .fuse import users_of
    users = users_of(fn)
    blocks = [fn.body] + [r for i in ir.walk(fn.body) for r in i.regions]
    for block in blocks:
        _block(block, users)
    return fn


def _block(block: ir.Block, users: dict) -> None:
    here = {id(i) for i in block.instrs}
    for k1 in [i for i in block.instrs if i.op == "map_"]:
        for j in reversed(range(len(k1.results))):
            if k1.params["outs"][j][0] != "map":
                continue
            out = k1.results[j]
            us = users.get(id(out), [])
            if not us or any(u.op != "map_" or id(u) not in here or u is k1 for u in us):
                continue
            expr = _expression(k1, j)
            if expr is None:
                continue
            needed = _needed_args(k1, expr, j)
            n_loaded = len(k1.operands) - k1.params.get("shape_only", 0)
            args = k1.regions[0].args
            ops = [k1.operands[next(k for k, b in enumerate(args) if b is a)] for a in needed]
            shape = [o for o in k1.operands[:n_loaded] + k1.operands[n_loaded:]
                     if o.type.rank and all(o is not p for p in ops)]
            if any(_new_reads(u, out, ops) > MAX_NEW_READS for u in set(us)):
                continue
            for u in dict.fromkeys(us):
                _inline(u, out, k1, j, expr, needed, ops, shape)
                for v in ops + shape:
                    users.setdefault(id(v), []).append(u)
            users[id(out)] = []
            _drop_output(k1, j)
        if not k1.results:
            block.instrs.remove(k1)


def _expression(k1: ir.Instr, j: int) -> list | None:
    """The body instructions output j needs, in order, or None when not cheap."""
    body = k1.regions[0]
    y = body.terminator.operands[j]
    if isinstance(y, ir.Const):
        return None
    made = {id(r): i for i in body.instrs for r in i.results}
    need: dict[int, ir.Instr] = {}
    stack = [y]
    while stack:
        v = stack.pop()
        ins = made.get(id(v))
        if ins is None or id(ins) in need:
            continue
        if ins.op not in CHEAP or ins.regions or len(need) >= MAX_OPS:
            return None
        need[id(ins)] = ins
        stack.extend(ins.operands)
    return [i for i in body.instrs if id(i) in need]


def _needed_args(k1: ir.Instr, expr: list, j: int) -> list:
    args = k1.regions[0].args
    used = {id(o) for i in expr for o in i.operands}
    used.add(id(k1.regions[0].terminator.operands[j]))
    return [a for a in args if id(a) in used]


def _loads(u: ir.Instr, v: ir.Value) -> bool:
    """Whether `u` reads `v`'s elements (not only its shape)."""
    n_loaded = len(u.operands) - u.params.get("shape_only", 0)
    return any(o is v for o in u.operands[:n_loaded])


def _new_reads(u: ir.Instr, out: ir.Value, ops: list) -> int:
    """Arrays `u` would start reading (its operands other than `out` already count)."""
    if not _loads(u, out):
        return 0  # `out` only gives `u` its shape: the operands' shapes replace it
    have = [o for o in u.operands if o is not out]
    return sum(1 for v in ops if v.type.rank and all(v is not h for h in have))


def _inline(u: ir.Instr, out: ir.Value, k1: ir.Instr, j: int, expr: list, needed: list,
            ops: list, shape: list) -> None:
    """Make `u` compute `out` itself from `ops` (and broadcast over `shape` as well)."""
    body = u.regions[0]
    n_shape = u.params.get("shape_only", 0)
    n_loaded = len(u.operands) - n_shape
    loaded = list(zip(u.operands[:n_loaded], body.args))
    shape_only = [o for o in u.operands[n_loaded:] if o is not out]
    old_args = [a for o, a in loaded if o is out]
    loaded = [(o, a) for o, a in loaded if o is not out]
    if not old_args:  # `out` was a shape-only operand: its inputs' shapes stand in for it
        needed, ops, expr, shape = [], [], [], [v for v in ops + shape if v.type.rank]
    env: dict[int, ir.Value] = {}
    for a, v in zip(needed, ops):
        have = next((b for o, b in loaded if o is v), None)
        if have is None:
            have = ir.Arg(ir.Type(v.dtype), getattr(a, "name", None))
            loaded.append((v, have))
        env[id(a)] = have
    clones = []
    for ins in expr:
        new = ir.Instr(ins.op, [env.get(id(o), o) for o in ins.operands], dict(ins.params), [],
                       [], ins.loc, ins.note)
        new.results = [ir.Result(r.type, new, k, r.name) for k, r in enumerate(ins.results)]
        env.update({id(r): nr for r, nr in zip(ins.results, new.results)})
        clones.append(new)
    if old_args:
        y = k1.regions[0].terminator.operands[j]
        value = env.get(id(y), y)
        for ins in ir.walk(body):
            ins.operands = [value if any(o is a for a in old_args) else o for o in ins.operands]
    body.instrs[:0] = clones
    body.args[:] = [a for _, a in loaded]
    present = [o for o, _ in loaded] + shape_only
    for v in shape:
        if all(v is not p for p in present):
            shape_only.append(v)
            present.append(v)
    u.operands = [o for o, _ in loaded] + shape_only
    u.params = dict(u.params, shape_only=len(shape_only))


def _drop_output(k1: ir.Instr, j: int) -> None:
    outs = list(k1.params["outs"])
    del outs[j]
    k1.params = dict(k1.params, outs=tuple(outs))
    term = k1.regions[0].terminator
    term.operands = [o for k, o in enumerate(term.operands) if k != j]
    del k1.results[j]
    for k, r in enumerate(k1.results):
        r.index = k
    body = k1.regions[0]
    live = {id(o) for o in term.operands}
    # Instructions only the dropped output needed go too (a backwards sweep).
    keep = []
    for ins in reversed(body.instrs[:-1]):
        if any(id(r) in live for r in ins.results):
            keep.append(ins)
            live.update(id(o) for o in ins.operands)
    body.instrs[:] = keep[::-1] + [term]
    # Operands the remaining body no longer reads: only their shape is left to contribute.
    n_shape = k1.params.get("shape_only", 0)
    n_loaded = len(k1.operands) - n_shape
    read = {id(o) for i in body.instrs for o in i.operands}
    loaded = [(o, a) for o, a in zip(k1.operands[:n_loaded], body.args) if id(a) in read]
    shape_only = list(k1.operands[n_loaded:])
    for o, a in zip(k1.operands[:n_loaded], body.args):
        if id(a) not in read and o.type.rank and all(o is not p for p, _ in loaded) \
                and all(o is not p for p in shape_only):
            shape_only.append(o)
    body.args[:] = [a for _, a in loaded]
    k1.operands = [o for o, _ in loaded] + shape_only
    k1.params = dict(k1.params, shape_only=len(shape_only))
