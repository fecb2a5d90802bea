"""Reverse mode on the structured SSA IR (joint mode): `f(args) -> (f, *df/dwrt)`.

- Activity: only float values that depend on a `wrt` argument get adjoints; rules whose
  input is inactive are never applied, and a missing adjoint is a symbolic zero (no
  `0 + ...` is ever built).
- Straight-line code: the registry's VJP rules run on IR values (they are written with
  the op mixin), emitting adjoint instructions noted `grad of L<n>`.
- `if_`: the adjoint is an `if_` on the same predicate value; each branch replays its
  primal region (to rebuild intermediates) and then runs its reverse.
- `for_`/`while_`: the forward loop stores the loop-carried values each iteration reads
  into a tape (`alloc` of the trip count for `for_`, a `grow`n buffer and an iteration
  count for `while_`); the reverse loop runs the iterations backwards, loads the carried
  values, replays the body (nested loops taped again, per iteration) and reverses it.
  Memory is O(trip count x carried state).
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import ir, prims
from .. import ops as O
from ..errors import CompileError

Tapes = dict  # primal loop Instr -> (count, start, step, {carried index: buffer})


def activity(fn: ir.Function, wrt: Sequence[int]) -> set[ir.Value]:
    """Values that depend (differentiably) on the wrt arguments; a fixed point over loops."""
    active: set[ir.Value] = {fn.args[i] for i in wrt}
    changed = True

    def mark(v: ir.Value) -> None:
        nonlocal changed
        if v.type.is_float and v not in active:
            active.add(v)
            changed = True

    def visit(b: ir.Block) -> None:
        for ins in b.instrs:
            if ins.op == "if_":
                for r in ins.regions:
                    visit(r)
                for k, res in enumerate(ins.results):
                    if any(r.terminator.operands[k] in active for r in ins.regions):
                        mark(res)
            elif ins.op in ("for_", "while_"):
                lead = 3 if ins.op == "for_" else 0
                body = ins.regions[-1]
                skip = 1 if ins.op == "for_" else 0
                for r in ins.regions:
                    visit(r)
                for k, res in enumerate(ins.results):
                    if ins.operands[lead + k] in active or body.terminator.operands[k] in active:
                        mark(res)
                        for r in ins.regions:
                            mark(r.args[k + (skip if r is body else 0)])
            elif ins.op not in ir.TERMINATORS and ins.results:
                p = prims.REGISTRY.get(ins.op)
                if p is not None and p.differentiable and any(o in active for o in ins.operands):
                    for r in ins.results:
                        mark(r)

    while changed:
        changed = False
        visit(fn.body)
    return active


def _uses(blocks: Sequence[ir.Block], own_terminators: bool) -> tuple[set, set]:
    """(values used, values defined) in `blocks` and everything nested in them."""
    used, defined = set(), set()
    for b in blocks:
        defined.update(b.args)
        for ins in ir.walk(b):
            if ins is b.terminator and not own_terminators:
                continue
            used.update(o for o in ins.operands if not isinstance(o, ir.Const))
            defined.update(ins.results)
            for r in ins.regions:
                defined.update(r.args)
    return used, defined


class ReverseMode:
    """Builds the joint function of one primal function."""

    def __init__(self, fn: ir.Function, wrt: Sequence[int], seeded: bool = False):
        self.fn = fn
        self.seeded = seeded  # the cotangent of the result is an extra last argument (vjp)
        self.wrt = list(wrt)
        for i in self.wrt:
            if not fn.args[i].type.is_float:
                raise CompileError(f"cannot differentiate with respect to '{fn.args[i].name}': "
                                   f"it is {fn.args[i].type}, not a float", fn.loc)
        self.active = activity(fn, wrt)
        self.b = ir.Builder()

    def run(self) -> ir.Function:
        fn = self.fn
        if fn.result_types[0].rank and not self.seeded:
            raise CompileError(f"'{fn.name}' returns an array ({fn.result_types[0]}): gradients "
                               "need a scalar output (reduce it, e.g. with np.sum)", fn.loc)
        args = [ir.Arg(a.type, a.name) for a in fn.args]
        vmap: dict[ir.Value, ir.Value] = dict(zip(fn.args, args))
        out = fn.body.terminator.operands[0]
        seed = ir.Arg(out.type, "cotangent") if self.seeded else None
        self.b.block.args[:] = args + ([seed] if seed is not None else [])
        tapes: Tapes = {}
        with self.b:
            self.forward(fn.body, vmap, tapes)
            value = self.m(vmap, out)
            adj: dict[ir.Value, ir.Value] = {}
            if out in self.active:
                adj[out] = seed if seed is not None else ir.Const(1.0, out.type)
            self.reverse(fn.body, vmap, adj, tapes)
            grads = [_zero_if_none(adj.get(fn.args[i]), vmap[fn.args[i]]) for i in self.wrt]
            with self.b.at(fn.body.terminator.loc):
                self.b.ret(value, *grads)
        meta = dict(fn.meta, kind="vjp" if self.seeded else "joint", wrt=[fn.args[i].name for i in self.wrt])
        return ir.Function(f"{fn.name}_vg", self.b.block, [value.type] + [g.type for g in grads],
                           fn.loc, fn.source, meta)

    # ------------------------------------------------------------------ forward sweep
    @staticmethod
    def m(vmap: dict, v: ir.Value) -> ir.Value:
        return v if isinstance(v, ir.Const) else vmap[v]

    def forward(self, block: ir.Block, vmap: dict, tapes: Tapes) -> None:
        """Clone `block` (without its terminator) into the current block; tape active loops."""
        for ins in block.instrs:
            if ins is block.terminator:
                return
            if ins.op in ("for_", "while_") and any(r in self.active for r in ins.results):
                with self.b.at(ins.loc):
                    (self.tape_for if ins.op == "for_" else self.tape_while)(ins, vmap, tapes)
            else:
                self.clone(ins, vmap)

    def clone(self, ins: ir.Instr, vmap: dict) -> ir.Instr:
        regions = [self.clone_block(r, vmap) for r in ins.regions]
        new = self.b.emit(ins.op, [self.m(vmap, o) for o in ins.operands], ins.params,
                          types=[r.type for r in ins.results], regions=regions,
                          names=[r.name for r in ins.results])
        new.loc, new.note = ins.loc, ins.note
        vmap.update(zip(ins.results, new.results))
        return new

    def clone_block(self, block: ir.Block, vmap: dict) -> ir.Block:
        new = ir.Block([ir.Arg(a.type, a.name) for a in block.args])
        vmap.update(zip(block.args, new.args))
        with self.b.inside(new):
            for ins in block.instrs:
                self.clone(ins, vmap)
        return new

    def _taped(self, body: ir.Block, skip: int) -> list[int]:
        """Carried positions the body reads (they must be restored for the replay)."""
        used, _ = _uses([body], own_terminators=False)
        return [k for k, a in enumerate(body.args[skip:]) if a in used]

    def tape_for(self, ins: ir.Instr, vmap: dict, tapes: Tapes) -> None:
        start, stop, step = (self.m(vmap, o) for o in ins.operands[:3])
        if isinstance(step, ir.Const) and step.value == 1:
            n = O.maximum(stop - start, 0)
        else:  # len(range(start, stop, step)) == max(0, ceil((stop - start) / step))
            n = O.maximum(-((start - stop) // step), 0)
        (body,) = ins.regions
        taped = self._taped(body, 1)
        inits = [self.m(vmap, o) for o in ins.operands[3:]]
        bufs = {k: self.b.op("alloc", n, *inits[k].shape, dtype=body.args[1 + k].dtype,
                             name=f"{body.args[1 + k].name or 'v'}_tape")
                for k in taped}
        new = ir.Block([ir.Arg(a.type, a.name) for a in body.args])
        vmap.update(zip(body.args, new.args))
        with self.b.inside(new):
            k_idx = (new.args[0] - start) // step
            for k, buf in bufs.items():
                self.b.op("store", buf, k_idx, new.args[1 + k])
            for b_ins in body.instrs:
                self.clone(b_ins, vmap)
        res = self.b.emit("for_", [start, stop, step] + [self.m(vmap, o) for o in ins.operands[3:]],
                          types=[r.type for r in ins.results], regions=[new],
                          names=[r.name for r in ins.results])
        vmap.update(zip(ins.results, res.results))
        tapes[ins] = (n, start, step, bufs)

    def tape_while(self, ins: ir.Instr, vmap: dict, tapes: Tapes) -> None:
        before, body = ins.regions
        taped = self._taped(body, 0)
        inits = [self.m(vmap, o) for o in ins.operands]
        bufs0 = [self.b.op("alloc", 16, *inits[k].shape, dtype=body.args[k].dtype,
                           name=f"{body.args[k].name or 'v'}_tape")
                 for k in taped]
        lead_types = [ir.I64] + [b.type for b in bufs0]

        def lead_args() -> list[ir.Arg]:
            return [ir.Arg(ir.I64, "count")] + [ir.Arg(b.type, b.name) for b in bufs0]

        nb = ir.Block(lead_args() + [ir.Arg(a.type, a.name) for a in before.args])
        vmap.update(zip(before.args, nb.args[len(lead_types):]))
        with self.b.inside(nb):
            for b_ins in before.instrs[:-1]:
                self.clone(b_ins, vmap)
            cond = before.terminator
            self.b.emit("condition", [self.m(vmap, cond.operands[0])] + nb.args[:len(lead_types)]
                        + [self.m(vmap, o) for o in cond.operands[1:]])
        nbody = ir.Block(lead_args() + [ir.Arg(a.type, a.name) for a in body.args])
        carried = nbody.args[len(lead_types):]
        vmap.update(zip(body.args, carried))
        with self.b.inside(nbody):
            count = nbody.args[0]
            grown = []
            for k, buf in zip(taped, nbody.args[1:len(lead_types)]):
                g = self.b.op("grow", buf, count + 1, name=buf.name)
                self.b.op("store", g, count, carried[k])
                grown.append(g)
            for b_ins in body.instrs[:-1]:
                self.clone(b_ins, vmap)
            self.b.yield_(count + 1, *grown, *[self.m(vmap, o) for o in body.terminator.operands])
        res = self.b.emit("while_", [ir.Const(0)] + bufs0 + [self.m(vmap, o) for o in ins.operands],
                          types=lead_types + [r.type for r in ins.results], regions=[nb, nbody],
                          names=["count"] + [b.name for b in bufs0] + [r.name for r in ins.results])
        vmap.update(zip(ins.results, res.results[len(lead_types):]))
        tapes[ins] = (res.results[0], None, None, dict(zip(taped, res.results[1:len(lead_types)])))

    # ------------------------------------------------------------------ reverse sweep
    def accumulate(self, adj: dict, v: ir.Value, ct: Any) -> None:
        if ct is None or v not in self.active:
            return
        if not isinstance(ct, ir.Value):
            ct = ir.Const(ct, ir.Type(v.dtype))
        if ct.dtype != v.dtype:  # rules may promote (`where(c, 0.5, 1.0)` is f64): keep v's dtype
            ct = O.cast(ct, ir.TO_NUMPY[v.dtype])
        if ct.type.rank != v.type.rank:  # never let a cotangent of the wrong shape through
            raise CompileError(f"internal error: cotangent of rank {ct.type.rank} for a value of "
                               f"type {v.type}", self.b.loc)
        old = adj.get(v)
        new = ct if old is None else add_into(old, ct)
        if isinstance(new, ir.Result) and new.name is None and v.name:
            new.name = f"{v.name}_bar"
        adj[v] = new

    def reverse(self, block: ir.Block, vmap: dict, adj: dict, tapes: Tapes) -> None:
        """Emit the adjoint of `block`'s instructions (terminator seeds are already in adj)."""
        for ins in reversed(block.instrs):
            if ins is block.terminator or not ins.results:
                continue
            note = f"grad of L{ins.loc.line}" if ins.loc else "grad"
            with self.b.at(ins.loc, note):
                if ins.op == "if_":
                    self.reverse_if(ins, vmap, adj)
                elif ins.op in ("for_", "while_"):
                    self.reverse_loop(ins, vmap, adj, tapes)
                else:
                    try:
                        self.reverse_prim(ins, vmap, adj)
                    except CompileError:
                        raise
                    except Exception as e:  # noqa: BLE001 - name the user's line, not ours
                        raise CompileError(f"cannot differentiate '{ins.op}': {type(e).__name__}: {e}",
                                           ins.loc) from e

    def reverse_prim(self, ins: ir.Instr, vmap: dict, adj: dict) -> None:
        g = adj.get(ins.results[0])
        p = prims.REGISTRY.get(ins.op)
        if g is None or p is None or not p.differentiable:
            return
        rules = p.vjp_rules(len(ins.operands))
        if rules is None:
            raise CompileError(f"'{ins.op}' has no derivative rule", ins.loc)
        args = [o.value if isinstance(o, ir.Const) else vmap[o] for o in ins.operands]
        out = vmap[ins.results[0]]
        order = list(zip(ins.operands, args, rules))
        if ins.op in READ_BEFORE_WRITE:
            order.reverse()
        for o, a, rule in order:
            if rule is not None and o in self.active:
                ct = undo_broadcast(p, rule(g, out, *args, **ins.params), a, out, args)
                self.accumulate(adj, o, ct)

    def _seed(self, block: ir.Block, cts: Sequence[Any], adj: dict, skip: int = 0) -> None:
        for o, ct in zip(block.terminator.operands[skip:], cts):
            if ct is not None and not isinstance(o, ir.Const):
                self.accumulate(adj, o, ct)

    def _free(self, ins: ir.Instr) -> list[ir.Value]:
        used, defined = _uses(ins.regions, own_terminators=True)
        return [v for v in used - defined if v in self.active]

    def reverse_if(self, ins: ir.Instr, vmap: dict, adj: dict) -> None:
        cts = [adj.get(r) for r in ins.results]
        if all(c is None for c in cts):
            return
        free = sorted(self._free(ins), key=_order_key(self.fn))
        blocks = []
        for region in ins.regions:
            blk = ir.Block()
            with self.b.inside(blk):
                vmap2, adj2, tapes2 = dict(vmap), {}, {}
                self.forward(region, vmap2, tapes2)
                self._seed(region, cts, adj2)
                self.reverse(region, vmap2, adj2, tapes2)
                self.b.yield_(*[_zero_if_none(adj2.get(f), vmap2[f]) for f in free])
            blocks.append(blk)
        res = self.b.emit("if_", [vmap[ins.operands[0]]], types=[f.type for f in free], regions=blocks,
                          names=[f"{f.name}_bar" if f.name else None for f in free])
        for f, r in zip(free, res.results):
            self.accumulate(adj, f, r)

    def reverse_loop(self, ins: ir.Instr, vmap: dict, adj: dict, tapes: Tapes) -> None:
        is_for = ins.op == "for_"
        body = ins.regions[-1]
        skip = 1 if is_for else 0
        lead = 3 if is_for else 0
        slots = [k for k, a in enumerate(body.args[skip:]) if a in self.active]
        cts = [adj.get(ins.results[k]) for k in slots]
        if all(c is None for c in cts):
            return
        if ins not in tapes:  # never drop a gradient silently
            raise CompileError(f"internal error: the {ins.op} loop was not taped", ins.loc)
        n, start, step, bufs = tapes[ins]
        free = sorted(self._free(ins), key=_order_key(self.fn))
        init = [_zero_if_none(c, vmap[ins.results[k]]) for k, c in zip(slots, cts)]
        # A free value's accumulator starts from the gradient gathered so far, so the loop
        # adds into it (in place where the back end can) instead of into fresh zeros that
        # are added afterwards: in a loop nest that was a new array per outer iteration.
        prior = [adj.get(f) for f in free]
        init += [_zero_if_none(p, vmap[f]) for f, p in zip(free, prior)]
        rb = ir.Block([ir.Arg(ir.I64, "k")] + [ir.Arg(v.type, _bar(body.args[skip + k])) for k, v in zip(slots, init)]
                      + [ir.Arg(f.type, _bar(f)) for f in free])
        with self.b.inside(rb):
            k_it = rb.args[0]
            vmap2, adj2, tapes2 = dict(vmap), {}, {}
            if is_for:
                vmap2[body.args[0]] = start + k_it * step
            for pos, buf in bufs.items():
                vmap2[body.args[skip + pos]] = self.b.op("load", buf, k_it, name=body.args[skip + pos].name)
            self.forward(body, vmap2, tapes2)
            carried_cts = rb.args[1:1 + len(slots)]
            full = [None] * (len(body.args) - skip)
            for k, c in zip(slots, carried_cts):
                full[k] = c
            # Free values' cotangents accumulate straight into the loop's accumulators, so
            # `x_bar[i] += g` is one index_add per iteration (in place), not a full add.
            # Installed before seeding: a body that yields a free value directly (`x = y`
            # in the loop) seeds that value's adjoint, which must add to the accumulator.
            accs_in = rb.args[1 + len(slots):]
            for f, acc in zip(free, accs_in):
                adj2[f] = acc
            self._seed(body, full, adj2)
            self.reverse(body, vmap2, adj2, tapes2)
            outs = [_zero_if_none(adj2.get(body.args[skip + k]), vmap2[body.args[skip + k]]) for k in slots]
            accs = [adj2[f] for f in free]
            # A free value the body never differentiates (one read only by the loop
            # condition, say) must stay a symbolic zero: a materialised 0 times a singular
            # derivative upstream (hypot at the origin) would make the gradient NaN.
            touched = [a is not acc for a, acc in zip(accs, accs_in)]
            self.b.yield_(*outs, *accs)
        res = self.b.emit("for_", [n - 1, ir.Const(-1), ir.Const(-1)] + init,
                          types=[v.type for v in init], regions=[rb],
                          names=[a.name for a in rb.args[1:]])
        # Free values first: their results replace the prior gradient, which a carried
        # slot's init (`h = x` before the loop) may add to next.
        for f, r, t, p in zip(free, res.results[len(slots):], touched, prior):
            if p is not None:
                adj[f] = r if t else p  # r = p + what the loop added
            elif t:
                self.accumulate(adj, f, r)
        for k, r in zip(slots, res.results):
            o = ins.operands[lead + k]
            if not isinstance(o, ir.Const):
                self.accumulate(adj, o, r)


# Ops whose adjoint must read the incoming cotangent before overwriting it (setitem's x rule
# writes zeros into g; its value rule reads g): their rules run in reverse operand order.
READ_BEFORE_WRITE = frozenset({"setitem"})


def add_into(old: ir.Value, ct: ir.Value) -> ir.Value:
    """old + ct; a fresh scatter (`index_add_zeros`) becomes `index_add` into `old`."""
    ins = getattr(ct, "instr", None)
    if ins is not None and ins.op == "index_add_zeros" and old.type.rank:
        g, _like, *idx = ins.operands
        return ir.current().op("index_add", old, g, *idx, index=ins.params["index"])
    return old + ct


def _zero_if_none(v: ir.Value | None, like: ir.Value) -> ir.Value:
    """`v`, or a zero shaped like `like` (a scalar Const, or `full 0.0` of like's runtime shape)."""
    if v is not None:
        return v
    if like.type.rank == 0:
        return ir.Const(0.0, like.type)
    return ir.current().op("full", 0.0, *like.shape, dtype=like.dtype, name=_bar(like))


def undo_broadcast(p: prims.Prim, ct: Any, arg: Any, out: ir.Value, operands: Sequence[Any]) -> Any:
    """Sum an elementwise cotangent down to `arg`'s shape; skipped when shapes surely agree."""
    if ct is None or p.kind != "elementwise" or not isinstance(arg, ir.Value):
        return ct
    if arg.type.rank == 0:
        return ct if out.type.rank == 0 else O.sum(ct)
    if all(o is arg or not isinstance(o, ir.Value) or o.type.rank == 0 for o in operands):
        return ct  # the only array operand: its shape is the output's
    return O.sum_to(ct, arg)


def _bar(v: ir.Value) -> str | None:
    return f"{v.name}_bar" if v.name else None


def _order_key(fn: ir.Function) -> Any:
    """A deterministic order of values: definition order in the primal function."""
    order: dict[ir.Value, int] = {}
    for a in fn.args:
        order.setdefault(a, len(order))
    for ins in ir.walk(fn.body):
        for r in ins.regions:
            for a in r.args:
                order.setdefault(a, len(order))
        for r in ins.results:
            order.setdefault(r, len(order))
    return lambda v: order.get(v, 1 << 30)


def reverse_mode(fn: ir.Function, wrt: Sequence[int], seeded: bool = False) -> ir.Function:
    """The joint function `fn_vg(args) -> (value, *grads in wrt order)`; with `seeded`, the
    vector-Jacobian product `fn_vg(args, cotangent)` (array results too)."""
    return ReverseMode(fn, wrt, seeded).run()
