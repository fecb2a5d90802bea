"""Array writes of the native back end: `setitem`, `index_add`, `index_add_zeros`, `stack`,
`extremum_onehot`.

Arrays are values (docs/ir.md), so `setitem %x, %v` means "a copy of x with x[index] = v".
It is done in place, without the copy, when x is dead afterwards and its storage is
private: the result of a kernel or another write in this function (never an argument or
a view), not viewed by any other value, or a loop-carried array whose loop copied its
initial value on entry and whose next value is such a result (`out[i] = ...` in a loop is
then O(1), not O(n)). Integer-array positions in `index_add` scatter-add element by
element, so repeated indices accumulate (`np.add.at`).
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir as L

from .. import ir, prims
from ..errors import CompileError
from .llvm_prims import I1, const
from .loops import Arr, KOut, c64, counted_loop, emit_kernel, load_elem, row_major, store_elem

VIEWS = frozenset({"getitem", "transpose", "reshape", "expand_dims", "squeeze", "expand_as",
                   "sum_to"})
WRITES = frozenset({"setitem", "index_add"})


def viewed(fn: ir.Function) -> set[int]:
    """Values some view op (with an array result) reads: never written in place."""
    out: set[int] = set()
    for ins in ir.walk(fn.body):
        if ins.op in VIEWS and ins.results and ins.results[0].type.rank:
            out.add(id(ins.operands[0]))
        if ins.op == "yield" or ins.op == "return":
            continue
    return out


def private_carried(fn: ir.Function) -> set[int]:
    """Loop block args whose array storage the loop owns (init copied on entry, next value
    a fresh result): candidates for in-place writes."""
    out: set[int] = set()
    for ins in ir.walk(fn.body):
        if ins.op not in ("for_", "while_"):
            continue
        body = ins.regions[-1]
        skip = 1 if ins.op == "for_" else 0
        nxt = body.terminator.operands if body.terminator is not None else []
        for k, a in enumerate(body.args[skip:]):
            if not a.type.rank or k >= len(nxt):
                continue
            y = nxt[k]
            if isinstance(y, ir.Result) and y.instr.op not in VIEWS and y.instr.op != "load":
                out.add(id(a))
    return out


def owned(x: ir.Value) -> bool:
    return isinstance(x, ir.Result) and x.instr.op not in VIEWS and x.instr.op not in ("load",) \
        and bool(x.type.rank)


class WriteLowering:
    """Mixed into `llvm.Lowering`."""

    def can_write_in_place(self, x: ir.Value) -> bool:
        if id(x) in self.viewed or self.live_after(x):
            return False
        return owned(x) or id(x) in self.carried_private

    def writable(self, ins: ir.Instr) -> Arr:
        """The storage the write goes to: the operand itself, or a fresh copy of it."""
        x = ins.operands[0]
        xv = self.get(x)
        if self.can_write_in_place(x):
            return xv
        dest = self.dest_for(ins.results[0])
        (cp,) = emit_kernel(self, [xv], lambda v: v, [KOut("map", x.dtype, dest=dest)], -1)
        return cp

    def lower_setitem(self, ins: ir.Instr) -> list:
        from .llvm_index import basic_index
        out = self.writable(ins)
        region = basic_index(self, ins, base=out, lead=2, view=True)
        v = self.get(ins.operands[1])
        self._assign(region, v, ins, lambda vals: [vals[0]])
        return [out]

    def lower_index_add(self, ins: ir.Instr) -> list:
        out = self.writable(ins)
        self._add_at(ins, out, self.get(ins.operands[1]))
        return [out]

    def lower_index_add_zeros(self, ins: ir.Instr) -> list:
        g, like = (self.get(o) for o in ins.operands[:2])
        dtype = ins.results[0].type.dtype
        dest = self.dest_for(ins.results[0])
        out = dest or self.temp_array(dtype, list(like.sizes))
        out = Arr(out.ptr, dtype, list(like.sizes), row_major(self.b, like.sizes), (), True)
        flat = Arr(out.ptr, dtype, [c64(0)], [c64(1)])
        n = c64(1)
        for s in like.sizes:
            n = self.b.mul(n, s)
        counted_loop(self, n, lambda i, _: (store_elem(self.b, flat, i, const(dtype, 0)), [])[1],
                     name="zeros")
        self._add_at(ins, out, g)
        return [out]

    def _add_at(self, ins: ir.Instr, out: Arr, g: Any) -> None:
        from .llvm_index import basic_index, scatter_offsets
        index = ins.params["index"]
        lead = 2
        b = self.b
        dtype = out.dtype
        add = (lambda x, y: b.fadd(x, y, flags=self.fm)) if dtype in ("f64", "f32") else b.add
        if any(isinstance(i, prims.IndexArg) and ins.operands[lead + i.pos].type.rank for i in index):
            if len(index) != out.rank or any(isinstance(i, prims.SliceT) for i in index):
                self._add_rows(ins, out, g, lead, add)
                return
            ia, base, n, stride = scatter_offsets(self, ins, out, lead)
            elem = Arr(base, dtype, [], [])

            from .llvm_index import _wrap_check

            def body(vals):
                j = _wrap_check(self, vals[0], n)
                off = b.mul(j, stride)
                cur = load_elem(b, elem, off)
                store_elem(b, elem, off, add(cur, vals[1] if len(vals) > 1 else g))
                return []
            ops = [ia] + ([g] if isinstance(g, Arr) else [])
            if not isinstance(g, Arr):
                body_g = body
                body = lambda vals: body_g(vals + [g])  # noqa: E731
            emit_kernel(self, ops, body, [], self.site(ins, "index_add"))
            return
        region = basic_index(self, ins, base=out, lead=lead, view=True)
        self._assign(region, g, ins, lambda vals: [add(vals[1], vals[0])], accumulate=True)

    def _add_rows(self, ins: ir.Instr, out: Arr, g: Any, lead: int, add) -> None:
        """acc[y[j], ...] += g[j, ...] for a 1-D index array y (repeated rows accumulate)."""
        from .llvm_index import _wrap_check
        from .loops import ELEM
        b = self.b
        index = ins.params["index"]
        k = next(p for p, i in enumerate(index) if isinstance(i, prims.IndexArg)
                 and ins.operands[lead + i.pos].type.rank)
        ia = self.get(ins.operands[lead + index[k].pos])
        if ia.rank != 1 or k != 0 or not isinstance(g, Arr):
            raise CompileError("the native back end scatters rows with a 1-D index array in the "
                               "first position only", ins.loc)
        tail = list(range(1, out.rank))

        def row(i, _):
            j = _wrap_check(self, load_elem(b, ia, b.mul(i, ia.strides[0])), out.sizes[0])
            dst = Arr(b.gep(out.ptr, [b.mul(j, out.strides[0])], source_etype=ELEM[out.dtype]),
                      out.dtype, [out.sizes[d] for d in tail], [out.strides[d] for d in tail])
            src = Arr(b.gep(g.ptr, [b.mul(i, g.strides[0])], source_etype=ELEM[g.dtype]), g.dtype,
                      g.sizes[1:], g.strides[1:], g.unit[1:])
            emit_kernel(self, [src, dst], lambda v: [add(v[1], v[0])],
                        [KOut("map", out.dtype, dest=dst)], self.site(ins, "index_add rows"))
            return []
        counted_loop(self, ia.sizes[0], row, name="scatter")

    def _assign(self, region: Arr, v: Any, ins: ir.Instr, body, accumulate: bool = False) -> None:
        b = self.b
        if not region.rank:
            cur = load_elem(b, region, c64(0)) if accumulate else None
            (val,) = body([v, cur] if accumulate else [v])
            store_elem(b, region, c64(0), val)
            return
        ops = [v] + ([region] if accumulate else [])
        shape = [] if accumulate else [region]
        emit_kernel(self, ops, body, [KOut("map", region.dtype, dest=region)],
                    self.site(ins, "the value does not fit the indexed region"), shape)

    def lower_stack(self, ins: ir.Instr) -> list:
        b = self.b
        xs = [self.get(o) for o in ins.operands]
        axis = ins.params.get("axis", 0)
        dtype = ins.results[0].type.dtype
        first = xs[0]
        inner = list(first.sizes) if isinstance(first, Arr) else []
        sizes = inner[:axis] + [c64(len(xs))] + inner[axis:]
        out = self.dest_for(ins.results[0]) or self.temp_array(dtype, sizes)
        out = Arr(out.ptr, dtype, sizes, row_major(b, sizes), (), True)
        site = self.site(ins, "stack of arrays with different shapes")
        for k, x in enumerate(xs):
            off = b.mul(c64(k), out.strides[axis])
            from .loops import ELEM
            ptr = b.gep(out.ptr, [off], source_etype=ELEM[dtype])
            keep = [d for d in range(len(sizes)) if d != axis]
            view = Arr(ptr, dtype, [sizes[d] for d in keep], [out.strides[d] for d in keep])
            if not isinstance(x, Arr):
                store_elem(b, view, c64(0), x)
                continue
            bad = L.Constant(I1, 0)
            for s, t in zip(x.sizes, inner):
                bad = b.or_(bad, b.icmp_unsigned("!=", s, t))
            self.shape_error_if(bad, site)
            emit_kernel(self, [x], lambda v: v, [KOut("map", dtype, dest=view)], site)
        return [out]

    def lower_concatenate(self, ins: ir.Instr) -> list:
        """Each piece copied into its slab of the output along `axis`."""
        b = self.b
        xs = [self.get(o) for o in ins.operands]
        axis = ins.params.get("axis", 0)
        dtype = ins.results[0].type.dtype
        total = c64(0)
        for x in xs:
            total = b.add(total, x.sizes[axis])
        sizes = list(xs[0].sizes)
        sizes[axis] = total
        out = self.dest_for(ins.results[0]) or self.temp_array(dtype, sizes)
        out = Arr(out.ptr, dtype, sizes, row_major(b, sizes), (), True)
        site = self.site(ins, "concatenate of arrays whose other axes differ")
        from .loops import ELEM
        start = c64(0)
        for x in xs:
            bad = L.Constant(I1, 0)
            for d, (s_, t) in enumerate(zip(x.sizes, sizes)):
                if d != axis:
                    bad = b.or_(bad, b.icmp_unsigned("!=", s_, t))
            self.shape_error_if(bad, site)
            ptr = b.gep(out.ptr, [b.mul(start, out.strides[axis])], source_etype=ELEM[dtype])
            part = list(sizes)
            part[axis] = x.sizes[axis]
            view = Arr(ptr, dtype, part, list(out.strides))
            emit_kernel(self, [x], lambda v: v, [KOut("map", dtype, dest=view)], site)
            start = b.add(start, x.sizes[axis])
        return [out]

    def lower_extremum_onehot(self, ins: ir.Instr) -> list:
        """True at the first position along `axis` where x equals the extremum."""
        b = self.b
        x, o = (self.get(v) for v in ins.operands)
        axis = ins.params["axis"][0]
        site = self.site(ins, "extremum_onehot")
        cmp = TABLE_EQ(self, x.dtype)
        (hit,) = emit_kernel(self, [x, o], lambda v: [cmp(v[0], v[1])], [KOut("map", "bool")], site)
        rest = [d for d in range(hit.rank) if d != axis]

        def scan(d_i: int, off: L.Value) -> None:
            if d_i == len(rest):
                def step(i, seen):
                    p = b.add(off, b.mul(i, hit.strides[axis]))
                    h = load_elem(b, hit, p)
                    store_elem(b, hit, p, b.and_(h, b.xor(seen[0], L.Constant(I1, 1))))
                    return [b.or_(seen[0], h)]
                counted_loop(self, hit.sizes[axis], step, [L.Constant(I1, 0)], name="scan")
                return
            d = rest[d_i]
            counted_loop(self, hit.sizes[d], lambda i, _: (scan(d_i + 1, b.add(off, b.mul(
                i, hit.strides[d]))), [])[1], name=f"scan{d}")
        scan(0, c64(0))
        return [hit]


def TABLE_EQ(cx: Any, dtype: str):
    from .llvm_prims import TABLE
    return lambda a, c: TABLE["eq"](cx, [a, c], dtype, {})


__all__ = ["WriteLowering", "viewed", "private_carried"]
