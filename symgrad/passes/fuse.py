"""Kernel fusion: maximal elementwise array chains become one `map_` op (docs/ir.md).

`%o1, %s = map_ %x, %y, %c, %like {outs=(("map", None, False), ("sum", None, False)),
shape_only=1}` with a region `body(%xe: f64, %ye: f64, %ce: f64)` ending in `yield` of one
scalar per output: the operands broadcast together (NumPy rules, runtime sizes; the last
`shape_only` operands only contribute their shape), the body runs per element, and each
output is either the elementwise array (`map`) or a reduction of it (`sum mean prod max
min` over `axes`, None = all, with `keepdims`). The native back end makes one loop nest of
it; `numpy_exec` runs the body on whole arrays.

Grouping, per block: connected components of elementwise/compare/cast ops with array
results, plus `expand_as` of a scalar (a broadcast: no loads) and reductions whose operand
is in the group and used nowhere else. A component's iteration shape is the broadcast of
all its inputs; a member used outside the group (an output) must depend on every input, so
its shape is that shape at runtime; a member breaking this, or an output used by an outside
instruction placed before the group, leaves the group, and grouping repeats.
"""
from __future__ import annotations

from typing import Any

from .. import ir, prims

REDUCE = ("sum", "mean", "prod", "max", "min")


def _elementwise(ins: ir.Instr) -> bool:
    if not ins.results or not ins.results[0].type.rank or ins.regions:
        return False
    if ins.op == "expand_as":  # a broadcast: the operand is read with stride 0 where needed
        return True
    p = prims.REGISTRY.get(ins.op)
    return p is not None and p.kind in ("elementwise", "compare", "cast")


def fuse(fn: ir.Function) -> ir.Function:
    """Replace elementwise chains in every block of `fn` by `map_` kernels (in place)."""
    from .remat import rematerialise
    users = users_of(fn)
    _fuse_block(fn.body, users)
    return rematerialise(fn)


def users_of(fn: ir.Function) -> dict[int, list]:
    """value id -> the instructions using it, anywhere in the function."""
    out: dict[int, list] = {}

    def visit(block: ir.Block) -> None:
        for ins in block.instrs:
            for o in ins.operands:
                out.setdefault(id(o), []).append(ins)
            for r in ins.regions:
                visit(r)
    visit(fn.body)
    return out


def _fuse_block(block: ir.Block, users: dict) -> None:
    for ins in block.instrs:
        for r in ins.regions:
            _fuse_block(r, users)
    pos = {id(i): k for k, i in enumerate(block.instrs)}
    owner = {}  # any nested instruction -> the top-level instruction of this block holding it
    for top in block.instrs:
        owner[id(top)] = top
        for r in top.regions:
            for inner in ir.walk(r):
                owner[id(inner)] = top
    banned: set[int] = set()
    while True:
        groups = _components(block, banned)
        bad = None
        for g in groups:
            bad = _check(g, users, pos, owner)
            if bad is not None:
                banned.add(id(bad))
                break
        if bad is None:
            break
    sub: dict[int, ir.Value] = {}
    for g in groups:
        sub.update(_rewrite(block, g, users, pos))
    if sub:
        for ins in ir.walk(block):
            ins.operands = [sub.get(id(o), o) for o in ins.operands]


def _components(block: ir.Block, banned: set) -> list[dict]:
    cand = [i for i in block.instrs if _elementwise(i) and id(i) not in banned]
    ids = {id(r): i for i in cand for r in i.results}
    parent = {id(i): id(i) for i in cand}
    detour = _detours(block, {id(i) for i in cand})

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for i in cand:
        for o in i.operands:
            p = ids.get(id(o))
            # Not across a detour: `i` also needs `p` through an instruction outside the
            # group (a reduction of it, say), so one loop cannot compute both. This is what
            # splits an adjoint's chains from the forward chains they read.
            if p is not None and id(p) not in detour[id(i)]:
                parent[find(id(p))] = find(id(i))
    comps: dict[int, list] = {}
    for i in cand:
        comps.setdefault(find(id(i)), []).append(i)
    return [{"members": m, "reduces": []} for m in comps.values()]


def _detours(block: ir.Block, cand: set) -> dict[int, set]:
    """Per instruction: the candidates it depends on through a non-candidate instruction."""
    made = {id(r): i for i in block.instrs for r in i.results}
    anc: dict[int, set] = {}
    via: dict[int, set] = {}
    for i in block.instrs:
        a, v = set(), set()
        for o in _all_operands(i):
            q = made.get(id(o))
            if q is None or id(q) not in anc:
                continue
            a |= anc[id(q)]
            v |= via[id(q)]
            if id(q) in cand:
                a.add(id(q))
            else:
                v |= anc[id(q)]
        anc[id(i)], via[id(i)] = a, v
    return via


def _all_operands(i: ir.Instr) -> list:
    """Operands of `i` and of everything nested in its regions."""
    if not i.regions:
        return i.operands
    out = list(i.operands)
    for r in i.regions:
        for inner in ir.walk(r):
            out.extend(inner.operands)
    return out


def _deps(g: dict) -> dict[int, frozenset]:
    """Per member result: the external array inputs its shape is the broadcast of."""
    member = {id(r) for i in g["members"] for r in i.results}
    deps: dict[int, frozenset] = {}
    for i in g["members"]:
        ops = i.operands
        d: set = set()
        for o in ops:
            if id(o) in member:
                d |= deps[id(o)]
            elif o.type.rank:
                d.add(id(o))
        deps[id(i.results[0])] = frozenset(d)
    return deps


def _check(g: dict, users: dict, pos: dict, owner: dict) -> ir.Instr | None:
    """A member to expel from the group, or None when the group is valid."""
    members = g["members"]
    mset = {id(i) for i in members}
    deps = _deps(g)
    full = frozenset().union(*deps.values()) if deps else frozenset()
    last = max(pos[id(i)] for i in members)
    g["reduces"] = []
    g["outputs"] = []
    pending = []
    for i in members:
        r = i.results[0]
        outside = [u for u in users.get(id(r), []) if id(u) not in mset]
        if not outside:
            continue
        # Reductions of a member fold into the loop, also when the member is stored too.
        reds = [u for u in outside if u.op in REDUCE and id(u) in pos]
        rest = [u for u in outside if not (u.op in REDUCE and id(u) in pos)]
        if reds and deps[id(r)] != full and i.op != "expand_as":
            # Consumers of other shapes (often of this very reduction) leave the group.
            foreign = [m for m in members if not deps[id(m.results[0])] <= deps[id(r)]]
            return max(foreign, key=lambda m: pos[id(m)])
        if reds and i.op != "expand_as":
            g["reduces"].extend((i, red) for red in reds)
            if not rest:
                continue
        if deps[id(r)] != full or i.op == "expand_as":
            return i
        pending.append((i, rest))
    anchor = max([last] + [pos[id(red)] for _, red in g["reduces"]])
    for i, red in g["reduces"]:
        for u in users.get(id(red.results[0]), []):
            top = owner.get(id(u))
            if top is None or pos[id(top)] <= anchor:
                return i
    for i, outside in pending:
        for u in outside:
            top = owner.get(id(u))
            if top is None or pos[id(top)] <= anchor:
                return i
        g["outputs"].append(i)
    g["full"] = full
    return None


def _rewrite(block: ir.Block, g: dict, users: dict, pos: dict) -> dict[int, ir.Value]:
    """Insert the `map_` of group `g`; returns old value id -> new value."""
    members = sorted(g["members"], key=lambda i: pos[id(i)])
    if not g["outputs"] and not g["reduces"]:
        return {}
    mres = {id(i.results[0]) for i in members}
    operands: list[ir.Value] = []
    body = ir.Block()
    env: dict[int, ir.Value] = {}

    def arg(v: ir.Value) -> ir.Value:
        if isinstance(v, ir.Const):
            return v
        if id(v) in env:
            return env[id(v)]
        a = ir.Arg(ir.Type(v.dtype), v.name)
        body.args.append(a)
        operands.append(v)
        env[id(v)] = a
        return a
    loaded: set[int] = set()
    for i in members:
        if i.op == "expand_as":
            x = i.operands[0]
            env[id(i.results[0])] = x if isinstance(x, ir.Const) else (
                env[id(x)] if id(x) in mres else arg(x))
            continue
        ops = []
        for o in i.operands:
            if id(o) in mres:
                ops.append(env[id(o)])
            else:
                ops.append(arg(o))
                loaded.add(id(o))
        new = ir.Instr(i.op, ops, dict(i.params), [], [], i.loc, i.note)
        new.results = [ir.Result(ir.Type(r.dtype), new, k, r.name) for k, r in enumerate(i.results)]
        body.instrs.append(new)
        env[id(i.results[0])] = new.results[0]
    loaded_ids = {id(o) for o in operands}
    shape_only = [v for v in _values(g["full"], block, members) if id(v) not in loaded_ids]
    outs, yields, types, replaced = [], [], [], []
    for i in g["outputs"]:
        outs.append(("map", None, False))
        yields.append(env[id(i.results[0])])
        types.append(i.results[0].type)
        replaced.append(i.results[0])
    for i, red in g["reduces"]:
        outs.append((red.op, red.params.get("axis"), bool(red.params.get("keepdims", False))))
        yields.append(env[id(i.results[0])])
        types.append(red.results[0].type)
        replaced.append(red.results[0])
    body.instrs.append(ir.Instr("yield", yields))
    anchor = max(members + [r for _, r in g["reduces"]], key=lambda i: pos[id(i)])
    m = ir.Instr("map_", operands + shape_only,
                 {"outs": tuple(outs), "shape_only": len(shape_only)}, [], [body],
                 anchor.loc, anchor.note)
    m.results = [ir.Result(t, m, k, r.name) for k, (t, r) in enumerate(zip(types, replaced))]
    sub = {id(old): new for old, new in zip(replaced, m.results)}
    drop = {id(i) for i in members} | {id(r) for _, r in g["reduces"]}
    idx = block.instrs.index(anchor)
    block.instrs.insert(idx + 1, m)
    block.instrs[:] = [i for i in block.instrs if id(i) not in drop]
    for v_old, v_new in zip(replaced, m.results):
        users.setdefault(id(v_new), []).extend(users.get(id(v_old), []))
    return sub


def _values(ids: frozenset, block: ir.Block, members: list) -> list[ir.Value]:
    """The values behind `ids`, in a stable order."""
    seen: dict[int, ir.Value] = {}
    for i in members:
        for o in i.operands:
            if id(o) in ids:
                seen.setdefault(id(o), o)
    return list(seen.values())


def count_kernels(fn: ir.Function) -> int:
    """Number of `map_` ops (tests read kernel counts with it and the printed IR)."""
    return sum(1 for i in ir.walk(fn.body) if i.op == "map_")


def interpret(ins: ir.Instr, vals: list, run_block: Any) -> list:
    """`numpy_exec` semantics of `map_`: the body on whole (broadcast) arrays."""
    import numpy as np
    (body,) = ins.regions
    n = ins.params.get("shape_only", 0)
    shape = np.broadcast_shapes(*[np.shape(v) for v in vals])
    env_vals = vals[:len(vals) - n] if n else vals
    outs = run_block(body, env_vals)
    res = []
    for (kind, axes, keep), v, r in zip(ins.params["outs"], outs, ins.results):
        v = np.broadcast_to(np.asarray(v), shape)
        dt = {"f64": np.float64, "f32": np.float32, "i64": np.int64, "bool": np.bool_}[r.type.dtype]
        if kind == "map":
            res.append(np.array(v, dtype=dt))
            continue
        ax = None if axes is None else tuple(axes)
        f = {"sum": np.sum, "mean": np.mean, "prod": np.prod, "max": np.max, "min": np.min}[kind]
        acc = np.float64 if kind in ("sum", "mean") and v.dtype == np.float32 else None
        out = f(v, axis=ax, keepdims=keep, dtype=acc) if acc else f(v, axis=ax, keepdims=keep)
        out = np.asarray(out).astype(dt)
        res.append(out if r.type.rank else dt(out))
    return res


# ------------------------------------------------------------ equal-shape speculation
_STRAIGHT_OK = frozenset({"dim", "expand_as", "sum_to", "expand_dims", "squeeze", "transpose",
                          "reshape", "matmul", "full", "copy", "getitem"}) | set(REDUCE) \
    | {"logsumexp"}


def specialise(fn: ir.Function) -> ir.Function:
    """Straight-line array code gets a fast version for the common case where all array
    arguments of one rank have equal shapes at runtime: there every `sum_to` between
    values derived from them only is the identity, so forward and adjoint chains fuse into
    single loops. `if_ <shapes equal>` selects it; the general code stays in `else`."""
    body = fn.body
    instrs = body.instrs[:-1]
    if any(i.regions or i.op in ir.SIDE_EFFECTS for i in instrs):
        return fn
    by_rank: dict[int, list] = {}
    for a in fn.args:
        if a.type.rank:
            by_rank.setdefault(a.type.rank, []).append(a)
    deps: dict[int, frozenset] = {}
    for a in fn.args:
        deps[id(a)] = frozenset({id(a)}) if a.type.rank else frozenset()
    hits = []
    for i in instrs:
        d = _spec_deps(i, deps)
        for r in i.results:
            deps[id(r)] = d
        if i.op == "sum_to":
            x, like = i.operands
            if x.type.rank == like.type.rank and x.type.rank and deps.get(id(x)) \
                    and deps.get(id(like)) and _one_rank(deps[id(x)] | deps[id(like)], fn):
                hits.append(i)
    if not hits:
        return fn
    ranks = {fn.args[[id(a) for a in fn.args].index(k)].type.rank
             for i in hits for k in deps[id(i.operands[0])] | deps[id(i.operands[1])]}
    term = body.terminator
    then_b, else_b = ir.Block(), ir.Block(list(), list(instrs))
    with ir.Builder(else_b) as bld:
        bld.yield_(*term.operands)
    mapping: dict[int, ir.Value] = {}
    skip = {id(i) for i in hits}
    for i in instrs:
        if id(i) in skip:
            mapping[id(i.results[0])] = mapping.get(id(i.operands[0]), i.operands[0])
            continue
        new = ir.Instr(i.op, [mapping.get(id(o), o) for o in i.operands], dict(i.params), [], [],
                       i.loc, i.note)
        new.results = [ir.Result(r.type, new, k, r.name) for k, r in enumerate(i.results)]
        for r, nr in zip(i.results, new.results):
            mapping[id(r)] = nr
        then_b.instrs.append(new)
    then_b.instrs.append(ir.Instr("yield", [mapping.get(id(o), o) for o in term.operands]))
    head = ir.Block(list(fn.args))
    with ir.Builder(head, loc=term.loc) as bld:
        cond = None
        for r in sorted(ranks):
            group = by_rank[r]
            for a in group[1:]:
                for ax in range(r):
                    c = bld.op("eq", bld.op("dim", group[0], axis=ax), bld.op("dim", a, axis=ax))
                    cond = c if cond is None else bld.op("logical_and", cond, c)
        if cond is None:
            cond = ir.Const(True)
        res = bld.emit("if_", [cond], types=[o.type for o in term.operands],
                       regions=[then_b, else_b], names=[o.name for o in term.operands]).results
        bld.ret(*res)
    fn.body = head
    return fn


def _one_rank(ids: frozenset, fn: ir.Function) -> bool:
    ranks = {a.type.rank for a in fn.args if id(a) in ids}
    return len(ranks) == 1


def _spec_deps(i: ir.Instr, deps: dict) -> frozenset:
    """Arguments whose (asserted equal) shape `i`'s result has; empty when unknown."""
    if i.op in ("expand_as", "sum_to"):
        return deps.get(id(i.operands[1]), frozenset())
    if _elementwise(i):
        out: frozenset = frozenset()
        for o in i.operands:
            if o.type.rank:
                d = deps.get(id(o), frozenset())
                if not d:
                    return frozenset()
                out |= d
        return out
    return frozenset()
