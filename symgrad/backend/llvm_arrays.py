"""Array ops of the native back end (docs/ir.md "Arrays"): a mixin of `llvm.Lowering`.

Arrays are `loops.Arr` values (pointer, sizes, element strides). Views (`transpose`,
`expand_dims`, `squeeze`, `expand_as`, basic `getitem`, `reshape` of contiguous data, `sum_to`
when nothing was broadcast) cost no memory traffic; elementwise ops and reductions are
kernels (`loops.emit_kernel`), fused ones come as `map_` from `passes/fuse.py`; `matmul`
calls BLAS (`blas.py`). Temporaries come from a per-function workspace that survives
calls (`runtime_ir.Workspace`), so repeated calls do not page-fault fresh memory.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir as L

from .. import ir
from ..errors import CompileError
from .llvm_prims import I1, I64, LTYPE, TABLE, const
from .loops import (ESIZE, Arr, KOut, c64, counted_loop, eff_stride, emit_kernel, load_elem,
                    product, row_major, store_elem)
from .native import ERR_DEST, ERR_EMPTY, ERR_SHAPE

PTR = L.PointerType()
ELEMENTWISE_KINDS = ("elementwise", "compare", "cast")


class ArrayLowering:
    """Array instruction lowering; mixed into `llvm.Lowering` (uses its b, fail_if, values)."""

    sites: list

    # -------------------------------------------------------------------- memory
    def temp_array(self, dtype: str, sizes: list) -> Arr:
        n = product(self.b, sizes)
        p = self.workspace.alloc(self, n, ESIZE[dtype])
        return Arr(p, dtype, list(sizes), row_major(self.b, sizes), (), True)

    def cell(self, dtype: str) -> Arr:
        from .loops import ELEM
        with self.b.goto_entry_block():
            p = self.b.alloca(ELEM[dtype])
        return Arr(p, dtype, [], [], (), True)

    # -------------------------------------------------------------------- checks
    def site(self, ins: ir.Instr | None, what: str) -> int:
        loc = ins.loc if ins is not None else None
        text = ""
        if loc is not None:
            try:
                text = f" at L{loc.line}: {loc.source_line().strip()}"
            except Exception:  # noqa: BLE001 - a missing file only loses the text
                text = f" at L{loc.line}"
        names = []
        if ins is not None:
            for o in ins.operands:
                if isinstance(o, ir.Arg) and o in self.fn.args and o.type.rank:
                    names.append(o.name or "?")
        self.sites.append({"what": what + text, "args": names})
        return len(self.sites) - 1

    def shape_error_if(self, bad: L.Value, site: int) -> None:
        if isinstance(bad, L.Constant) and not bad.constant:
            return
        self.fail_if(bad, ERR_SHAPE, info=site)

    def dest_check(self, dest: Arr, sizes: list) -> None:
        bad = L.Constant(I1, 0)
        for s, t in zip(dest.sizes, sizes):
            bad = self.b.or_(bad, self.b.icmp_unsigned("!=", s, t))
        self.fail_if(bad, ERR_DEST)

    def empty_reduce_check(self, o: KOut, sizes: list) -> None:
        if o.kind not in ("max", "min") or not sizes:
            return
        b = self.b
        axes = range(len(sizes)) if o.axes is None else o.axes
        red = product(b, [sizes[d] for d in axes])
        kept = product(b, [sizes[d] for d in range(len(sizes)) if d not in axes])
        bad = b.and_(b.icmp_unsigned("==", red, c64(0)),
                     b.icmp_unsigned("!=", kept, c64(0)) if o.axes is not None else L.Constant(I1, 1))
        self.fail_if(bad, ERR_EMPTY)

    # ------------------------------------------------------------------ dispatch
    def lower_array(self, ins: ir.Instr) -> list | None:
        """Lower `ins` if it involves arrays; None when it is a scalar instruction."""
        if ins.op == "map_":
            return self.lower_map(ins)
        handler = ARRAY_OPS.get(ins.op)
        arrays = any(o.type.rank for o in ins.operands) or any(r.type.rank for r in ins.results)
        if not arrays and handler is None:
            return None
        if handler is not None:
            return handler(self, ins)
        kind = _kind(ins.op)
        if kind in ELEMENTWISE_KINDS:
            return self.lower_elementwise(ins)
        raise CompileError(f"the native back end cannot lower array op {ins.op!r} yet", ins.loc)

    def operand(self, v: ir.Value) -> Any:
        return self.get(v)

    def kernel_body_rule(self, ins: ir.Instr):
        rule = TABLE[ins.op]
        dtype = ins.operands[1].dtype if ins.op == "where" else ins.operands[0].dtype
        return lambda vals: [rule(self, vals, dtype, ins.params)]

    def lower_elementwise(self, ins: ir.Instr) -> list:
        ops = [self.get(o) for o in ins.operands]
        outs = [KOut("map", r.type.dtype, dest=self.dest_for(r)) for r in ins.results]
        return emit_kernel(self, ops, self.kernel_body_rule(ins), outs,
                           self.site(ins, f"shapes do not broadcast in {ins.op}"))

    def lower_map(self, ins: ir.Instr) -> list:
        """A fused kernel (`passes/fuse.py`): operands broadcast, a scalar body region."""
        ops = [self.get(o) for o in ins.operands]
        (body,) = ins.regions
        nshape = ins.params.get("shape_only", 0)
        shape_of = [o for o in ops[len(ops) - nshape:]] if nshape else []
        ops = ops[:len(ops) - nshape] if nshape else ops
        outs = []
        for r, spec in zip(ins.results, ins.params["outs"]):
            kind, axes, keepdims = spec
            if kind == "mean":
                outs.append(KOut("sum", r.type.dtype, axes, keepdims, mean=True))
            else:
                outs.append(KOut(kind, r.type.dtype, axes, keepdims,
                                 dest=self.dest_for(r) if kind == "map" else None))
        return emit_kernel(self, ops, lambda vals: self.region(body, vals), outs,
                           self.site(ins, "shapes do not broadcast"), shape_of)

    def result_dest(self, k: int) -> Arr | None:
        return self.result_dests.get(k)

    def dest_for(self, r: ir.Value) -> Arr | None:
        """The caller's output buffer when `r` is returned as an array result."""
        k = self.dests.get(id(r))
        if k is None or id(r) in self.dests_used:
            return None
        self.dests_used.add(id(r))
        return self.result_dest(k)

    # -------------------------------------------------------------- reductions
    def lower_reduce(self, ins: ir.Instr) -> list:
        x = self.get(ins.operands[0])
        axis, keep = ins.params.get("axis"), ins.params.get("keepdims", False)
        kind = ins.op
        r = ins.results[0]
        site = self.site(ins, kind)
        if kind == "logsumexp":
            return [self._logsumexp(x, axis, keep, r.type.dtype, site)]
        o = KOut("sum" if kind == "mean" else kind, r.type.dtype, axis, keep, mean=kind == "mean")
        return emit_kernel(self, [x], lambda v: v, [o], site)

    def _logsumexp(self, x: Arr, axis: Any, keep: bool, dtype: str, site: int) -> Any:
        b, t = self.b, LTYPE[dtype]
        (m,) = emit_kernel(self, [x], lambda v: v, [KOut("max", dtype, axis, True)], site)
        zero = const(dtype, 0.0)

        def safe(mv):  # a non-finite max (all -inf, or inf) is replaced by 0, as SciPy does
            fin = b.fcmp_ordered("<", b.call(self.intrinsic("llvm.fabs", t), [mv]),
                                 const(dtype, float("inf")))
            return b.select(fin, mv, zero)

        def body(v):
            return [b.call(self.libm("exp", dtype, 1), [b.fsub(v[0], safe(v[1]), flags=self.fm)],
                           fastmath=self.fm)]
        (s,) = emit_kernel(self, [x, m], body, [KOut("sum", dtype, axis, True)], site)
        (res,) = emit_kernel(self, [s, m], lambda v: [b.fadd(
            b.call(self.libm("log", dtype, 1), [v[0]], fastmath=self.fm), safe(v[1]),
            flags=self.fm)], [KOut("map", dtype)], site)
        if keep:
            return res
        axes = tuple(range(x.rank)) if axis is None else axis
        if len(axes) == x.rank:
            return load_elem(b, res, c64(0))
        return _drop(res, axes)

    # ---------------------------------------------------------------- views
    def lower_dim(self, ins: ir.Instr) -> list:
        return [self.get(ins.operands[0]).sizes[ins.params["axis"]]]

    def lower_transpose(self, ins: ir.Instr) -> list:
        x, ax = self.get(ins.operands[0]), ins.params["axes"]
        return [Arr(x.ptr, x.dtype, [x.sizes[a] for a in ax], [x.strides[a] for a in ax],
                    tuple(x.unit[a] for a in ax), x.contiguous and list(ax) == sorted(ax))]

    def lower_expand_dims(self, ins: ir.Instr) -> list:
        x, axes = self.get(ins.operands[0]), ins.params["axis"]
        r = ins.results[0].type.rank
        it = iter(range(x.rank))
        sizes, strides, unit = [], [], []
        for d in range(r):
            if d in axes:
                sizes.append(c64(1)), strides.append(c64(0)), unit.append(True)
            else:
                k = next(it)
                sizes.append(x.sizes[k]), strides.append(x.strides[k]), unit.append(x.unit[k])
        return [Arr(x.ptr, x.dtype, sizes, strides, tuple(unit), x.contiguous)]

    def lower_squeeze(self, ins: ir.Instr) -> list:
        x, axes = self.get(ins.operands[0]), ins.params["axis"]
        bad = L.Constant(I1, 0)
        for a in axes:
            bad = self.b.or_(bad, self.b.icmp_unsigned("!=", x.sizes[a], c64(1)))
        self.shape_error_if(bad, self.site(ins, "squeeze of an axis whose size is not 1"))
        return [_drop(x, axes)]

    def lower_expand_as(self, ins: ir.Instr) -> list:
        x, like = self.get(ins.operands[0]), self.get(ins.operands[1])
        b = self.b
        if not isinstance(x, Arr):  # a scalar: stride 0 everywhere
            return [self._broadcast_scalar(x, ins.operands[0].dtype, like)]
        R = like.rank
        bad = L.Constant(I1, 0)
        strides = []
        for d in range(R):
            k = d - R + x.rank
            if k < 0:
                strides.append(c64(0))
                continue
            bad = b.or_(bad, b.and_(b.icmp_unsigned("!=", x.sizes[k], c64(1)),
                                    b.icmp_unsigned("!=", x.sizes[k], like.sizes[d])))
            strides.append(eff_stride(b, x, k))
        self.shape_error_if(bad, self.site(ins, "cannot broadcast"))
        return [Arr(x.ptr, x.dtype, list(like.sizes), strides, tuple(like.unit), False)]

    def _broadcast_scalar(self, v: L.Value, dtype: str, like: Arr) -> Arr:
        c = self.cell(dtype)
        store_elem(self.b, c, c64(0), v)
        return Arr(c.ptr, dtype, list(like.sizes), [c64(0)] * like.rank, tuple(like.unit), False)

    def lower_sum_to(self, ins: ir.Instr) -> list:
        """Undo broadcasting: a view when shapes already agree at runtime, else a reduction."""
        x, like = self.get(ins.operands[0]), self.get(ins.operands[1])
        b = self.b
        if not isinstance(x, Arr):
            return [self._broadcast_scalar(x, ins.operands[0].dtype, like)]
        site = self.site(ins, "sum_to")
        if x.rank != like.rank:
            return emit_kernel(self, [x], lambda v: v, [KOut("sum", x.dtype, like=like)],
                               site, [like])
        same = L.Constant(I1, 1)
        for s, t in zip(x.sizes, like.sizes):
            same = b.and_(same, b.icmp_unsigned("==", s, t))
        pre = b.block
        red_bb, join = b.append_basic_block("sum_to.reduce"), b.append_basic_block("sum_to.end")
        b.cbranch(same, join, red_bb)
        b.position_at_end(red_bb)
        (red,) = emit_kernel(self, [x], lambda v: v,
                             [KOut("sum", x.dtype, like=like)], site, [like])
        red_end = b.block
        b.branch(join)
        b.position_at_end(join)
        return [_phi_arr(b, [(x, pre), (red, red_end)])]

    def lower_reshape(self, ins: ir.Instr) -> list:
        x = self.get(ins.operands[0])
        b = self.b
        dims = [self.get(o) for o in ins.operands[1:]]
        total = product(b, x.sizes)
        known = [d for o, d in zip(ins.operands[1:], dims) if not (isinstance(o, ir.Const) and o.value == -1)]
        kp = product(b, known)
        safe = b.select(b.icmp_unsigned("==", kp, c64(0)), c64(1), kp)
        dims = [b.udiv(total, safe) if isinstance(o, ir.Const) and o.value == -1 else d
                for o, d in zip(ins.operands[1:], dims)]
        bad = b.icmp_unsigned("!=", product(b, dims), total)
        self.shape_error_if(bad, self.site(ins, "cannot reshape"))
        src = self.contiguous(x)
        return [Arr(src.ptr, x.dtype, dims, row_major(b, dims), (), True)]

    def contiguous(self, x: Arr) -> Arr:
        """`x` itself when row-major contiguous (checked at runtime), else a copy."""
        if x.contiguous:
            return x
        b = self.b
        ok = L.Constant(I1, 1)
        for s, want in zip(x.strides, row_major(b, x.sizes)):
            ok = b.and_(ok, b.icmp_unsigned("==", s, want))
        for n in x.sizes:  # sizes 0/1 make any stride fine; keep the check simple
            ok = b.or_(ok, b.icmp_unsigned("==", n, c64(0)))
        pre = b.block
        cp_bb, join = b.append_basic_block("copy"), b.append_basic_block("copy.end")
        b.cbranch(ok, join, cp_bb)
        b.position_at_end(cp_bb)
        (cp,) = emit_kernel(self, [x], lambda v: v, [KOut("map", x.dtype)], -1)
        end = b.block
        b.branch(join)
        b.position_at_end(join)
        ptr = b.phi(PTR)
        ptr.add_incoming(x.ptr, pre)
        ptr.add_incoming(cp.ptr, end)
        return Arr(ptr, x.dtype, list(x.sizes), row_major(b, x.sizes), x.unit, True)

    def lower_full(self, ins: ir.Instr) -> list:
        v = self.get(ins.operands[0])
        dims = [self.get(o) for o in ins.operands[1:]]
        dtype = ins.results[0].type.dtype
        out = self.dest_for(ins.results[0]) or self.temp_array(dtype, dims)
        out = Arr(out.ptr, dtype, dims, row_major(self.b, dims), (), True)
        n = product(self.b, dims)

        def fill(i, _):
            store_elem(self.b, out, i, v)
            return []
        counted_loop(self, n, fill, name="full")
        return [out]

    def lower_copy(self, ins: ir.Instr) -> list:
        x = self.get(ins.operands[0])
        return emit_kernel(self, [x], lambda v: v,
                           [KOut("map", x.dtype, dest=self.dest_for(ins.results[0]))], -1)

    def lower_getitem(self, ins: ir.Instr) -> list:
        from .llvm_index import basic_index
        return [basic_index(self, ins)]

    def lower_matmul(self, ins: ir.Instr) -> list:
        from .llvm_index import matmul
        return [matmul(self, ins)]

    def lower_cast_array(self, ins: ir.Instr) -> list:
        return self.lower_elementwise(ins)


def _kind(op: str) -> str:
    from .. import prims
    p = prims.REGISTRY.get(op)
    return p.kind if p is not None else ""


def _drop(x: Arr, axes: tuple) -> Arr:
    keep = [d for d in range(x.rank) if d not in axes]
    return Arr(x.ptr, x.dtype, [x.sizes[d] for d in keep], [x.strides[d] for d in keep],
               tuple(x.unit[d] for d in keep), x.contiguous)


def _phi_arr(b: L.IRBuilder, incoming: list) -> Arr:
    """One Arr from several (same rank) flowing into a join block."""
    first = incoming[0][0]
    ptr = b.phi(PTR)
    sizes = [b.phi(I64) for _ in first.sizes]
    strides = [b.phi(I64) for _ in first.sizes]
    for a, bb in incoming:
        ptr.add_incoming(a.ptr, bb)
        for p, v in zip(sizes, a.sizes):
            p.add_incoming(v, bb)
        for p, v in zip(strides, a.strides):
            p.add_incoming(v, bb)
    unit = tuple(all(a.unit[d] for a, _ in incoming) for d in range(first.rank))
    return Arr(ptr, first.dtype, sizes, strides, unit, all(a.contiguous for a, _ in incoming))


ARRAY_OPS = {
    "sum": ArrayLowering.lower_reduce, "mean": ArrayLowering.lower_reduce,
    "max": ArrayLowering.lower_reduce, "min": ArrayLowering.lower_reduce,
    "prod": ArrayLowering.lower_reduce, "logsumexp": ArrayLowering.lower_reduce,
    "dim": ArrayLowering.lower_dim, "transpose": ArrayLowering.lower_transpose,
    "expand_dims": ArrayLowering.lower_expand_dims, "squeeze": ArrayLowering.lower_squeeze,
    "expand_as": ArrayLowering.lower_expand_as, "sum_to": ArrayLowering.lower_sum_to,
    "reshape": ArrayLowering.lower_reshape, "full": ArrayLowering.lower_full,
    "copy": ArrayLowering.lower_copy, "getitem": ArrayLowering.lower_getitem,
    "matmul": ArrayLowering.lower_matmul,
}


def _writes() -> None:
    from .llvm_writes import WriteLowering as W
    ARRAY_OPS.update({"setitem": W.lower_setitem, "index_add": W.lower_index_add,
                      "index_add_zeros": W.lower_index_add_zeros, "stack": W.lower_stack, "concatenate": W.lower_concatenate,
                      "extremum_onehot": W.lower_extremum_onehot})


_writes()

__all__ = ["ArrayLowering", "ARRAY_OPS"]
