"""Indexing views and BLAS contractions of the native back end.

`getitem` with ints, dynamic ints (negative counts from the end, bounds-checked when
`boundscheck=True`), slices with Python semantics at runtime sizes and `None` is a view
(pointer offset, new sizes and strides). An integer-array index gathers through a kernel
over the index array's shape. `matmul`/`dot` call BLAS (`blas.py`) on row-major or
transposed operands as they are, copying only operands with neither layout.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir as L

from .. import ir, prims
from ..errors import CompileError
from . import blas
from .llvm_prims import LTYPE
from .loops import Arr, KOut, c64, emit_kernel, load_elem, row_major
from .native import ERR_INDEX_ARG

PTR = L.PointerType()
I64 = L.IntType(64)


def _part(cx: Any, p: Any, idx: list) -> Any:
    if isinstance(p, prims.IndexArg):
        return idx[p.pos]
    return p


def _wrap_check(cx: Any, i: L.Value, n: L.Value) -> L.Value:
    b = cx.b
    i = b.select(b.icmp_signed("<", i, c64(0)), b.add(i, n), i)
    if cx.boundscheck:
        cx.fail_if(b.icmp_unsigned(">=", i, n), ERR_INDEX_ARG)
    return i


def _clamp(b: L.IRBuilder, v: L.Value, lo: L.Value, hi: L.Value) -> L.Value:
    v = b.select(b.icmp_signed("<", v, lo), lo, v)
    return b.select(b.icmp_signed(">", v, hi), hi, v)


def _slice(cx: Any, parts: tuple, n: L.Value, idx: list) -> tuple[L.Value, L.Value, int]:
    """(start, length, step) of slice `parts` on an axis of runtime size n (Python rules)."""
    b = cx.b
    start, stop, step = (_part(cx, p, idx) for p in parts)
    if step is None:
        step = 1
    if not isinstance(step, int) or step == 0:
        raise CompileError("slices need a constant non-zero step in compiled code")

    def norm(v, default, lo, hi):
        if v is None:
            return default
        v = c64(v) if isinstance(v, int) else v
        v = b.select(b.icmp_signed("<", v, c64(0)), b.add(v, n), v)
        return _clamp(b, v, lo, hi)
    if step > 0:
        s = norm(start, c64(0), c64(0), n)
        e = norm(stop, n, c64(0), n)
        span = b.sub(e, s)
    else:
        last = b.sub(n, c64(1))
        s = norm(start, last, c64(-1), last)
        e = norm(stop, c64(-1), c64(-1), last)
        span = b.sub(s, e)
    mag = abs(step)
    length = b.sdiv(b.add(span, c64(mag - 1)), c64(mag)) if mag != 1 else span
    length = b.select(b.icmp_signed("<", length, c64(0)), c64(0), length)
    return s, length, step


def basic_index(cx: Any, ins: ir.Instr, base: Arr | None = None, lead: int = 1,
                view: bool = False) -> Any:
    """The view `x[index]` (x = `base` or the first operand; index operands start at
    `lead`); a scalar position is loaded unless `view` (then a rank-0 Arr)."""
    b = cx.b
    x = base if base is not None else cx.get(ins.operands[0])
    idx = [cx.get(o) for o in ins.operands[lead:]]
    index = ins.params["index"]
    arrays = [k for k, i in enumerate(index) if isinstance(i, prims.IndexArg)
              and ins.operands[lead + i.pos].type.rank]
    if arrays:
        return _gather(cx, ins, x, idx, index, arrays)
    off = c64(0)
    sizes, strides, unit = [], [], []
    p = 0
    for i in index:
        if i is None:
            sizes.append(c64(1)), strides.append(c64(0)), unit.append(True)
            continue
        if isinstance(i, prims.SliceT):
            s, length, step = _slice(cx, tuple(i), x.sizes[p], idx)
            off = b.add(off, b.mul(b.select(b.icmp_signed(">", length, c64(0)), s, c64(0)),
                                   x.strides[p]))
            sizes.append(length), strides.append(b.mul(x.strides[p], c64(step)))
            unit.append(False)
        else:
            v = _part(cx, i, idx)
            v = c64(v) if isinstance(v, int) else v
            off = b.add(off, b.mul(_wrap_check(cx, v, x.sizes[p]), x.strides[p]))
        p += 1
    for d in range(p, x.rank):
        sizes.append(x.sizes[d]), strides.append(x.strides[d]), unit.append(x.unit[d])
    from .loops import ELEM
    ptr = b.gep(x.ptr, [off], source_etype=ELEM[x.dtype])
    if not sizes and not view:
        return load_elem(b, Arr(ptr, x.dtype, [], []), c64(0))
    return Arr(ptr, x.dtype, sizes, strides, tuple(unit), False)


def scatter_offsets(cx: Any, ins: ir.Instr, x: Arr, lead: int) -> tuple:
    """(index array, base pointer, axis size, axis stride) of a one-array index of `x`."""
    idx = [cx.get(o) for o in ins.operands[lead:]]
    index = ins.params["index"]
    arrays = [k for k, i in enumerate(index) if isinstance(i, prims.IndexArg)
              and ins.operands[lead + i.pos].type.rank]
    if len(arrays) != 1 or len(index) != x.rank or any(
            isinstance(i, prims.SliceT) or i is None for i in index):
        raise CompileError("the native back end scatters with one integer-array index and "
                           "otherwise integers only", ins.loc)
    k = arrays[0]
    base = _fixed_base(cx, x, index, idx, k)
    ia = idx[index[k].pos]
    n, stride = x.sizes[k], x.strides[k]
    return ia, base, n, stride


def _fixed_base(cx: Any, x: Arr, index: tuple, idx: list, k: int) -> Any:
    """The element pointer that the integer (bounds-checked) positions of `index` select,
    every position but the integer-array one `k`."""
    from .loops import ELEM
    b = cx.b
    off = c64(0)
    for p, i in enumerate(index):
        if p != k:
            v = _part(cx, i, idx)
            v = c64(v) if isinstance(v, int) else v
            off = b.add(off, b.mul(_wrap_check(cx, v, x.sizes[p]), x.strides[p]))
    return b.gep(x.ptr, [off], source_etype=ELEM[x.dtype])


def _gather(cx: Any, ins: ir.Instr, x: Arr, idx: list, index: tuple, arrays: list) -> Any:
    """One integer-array index (other positions ints or full slices): out[..., j, ...] =
    x[..., idx[j], ...], a kernel over the index array's shape."""
    b = cx.b
    if len(arrays) != 1 or any(isinstance(i, prims.SliceT) and tuple(i) != (None, None, None)
                               or i is None for i in index):
        raise CompileError("the native back end gathers with one integer-array index and "
                           "otherwise integers only", ins.loc)
    k = arrays[0]
    ia = idx[index[k].pos]
    from .loops import ELEM, counted_loop
    base = _fixed_base(cx, x, index, idx, k)
    n, stride = x.sizes[k], x.strides[k]
    if len(index) != x.rank or any(isinstance(i, prims.SliceT) for i in index):
        # x[y] (+ trailing full slices) with y rank 1: copy row x[y[j]] to out[j].
        if ia.rank != 1 or any(isinstance(i, prims.SliceT) for i in index[:k]):
            raise CompileError("the native back end gathers rows with a 1-D index array after "
                               "integer positions only", ins.loc)
        tail = list(range(k + 1, x.rank))
        sizes = [ia.sizes[0]] + [x.sizes[d] for d in tail]
        out = cx.temp_array(x.dtype, sizes)
        out = Arr(out.ptr, x.dtype, sizes, row_major(b, sizes), (), True)

        def row(i, _):
            j = _wrap_check(cx, load_elem(b, ia, b.mul(i, ia.strides[0])), n)
            src = Arr(b.gep(base, [b.mul(j, stride)], source_etype=ELEM[x.dtype]), x.dtype,
                      [x.sizes[d] for d in tail], [x.strides[d] for d in tail])
            dst = Arr(b.gep(out.ptr, [b.mul(i, out.strides[0])], source_etype=ELEM[x.dtype]),
                      x.dtype, sizes[1:], out.strides[1:], (), True)
            emit_kernel(cx, [src], lambda v: v, [KOut("map", x.dtype, dest=dst)], -1)
            return []
        counted_loop(cx, ia.sizes[0], row, name="gather")
        return out

    def body(vals):
        j = _wrap_check(cx, vals[0], n)
        return [load_elem(b, Arr(base, x.dtype, [], []), b.mul(j, stride))]
    (out,) = emit_kernel(cx, [ia], body, [KOut("map", x.dtype)], -1)
    return out


# ------------------------------------------------------------------------- matmul
def _layout(cx: Any, a: Arr) -> tuple[Arr, L.Value, L.Value]:
    """(matrix, leading dimension, transposed flag) of a 2-D operand, copied if needed."""
    b = cx.b
    rows, cols = a.sizes
    s0, s1 = a.strides
    one = c64(1)
    rm = b.and_(b.or_(b.icmp_unsigned("<=", cols, one), b.icmp_signed("==", s1, one)),
                b.or_(b.icmp_unsigned("<=", rows, one), b.icmp_signed(">=", s0, cols)))
    tr = b.and_(b.or_(b.icmp_unsigned("<=", rows, one), b.icmp_signed("==", s0, one)),
                b.or_(b.icmp_unsigned("<=", cols, one), b.icmp_signed(">=", s1, rows)))
    ld_rm = b.select(b.icmp_unsigned("<=", rows, one), cols, s0)
    ld_tr = b.select(b.icmp_unsigned("<=", cols, one), rows, s1)
    ld_pre = b.select(rm, ld_rm, ld_tr)
    t_pre = b.select(rm, c64(0), c64(1))
    pre = b.block
    cp_bb, join = b.append_basic_block("mm.copy"), b.append_basic_block("mm.join")
    b.cbranch(b.or_(rm, tr), join, cp_bb)
    b.position_at_end(cp_bb)
    (cp,) = emit_kernel(cx, [a], lambda v: v, [KOut("map", a.dtype)], -1)
    end = b.block
    b.branch(join)
    b.position_at_end(join)
    ptr, ld, t = b.phi(PTR), b.phi(I64), b.phi(I64)
    ptr.add_incoming(a.ptr, pre), ptr.add_incoming(cp.ptr, end)
    ld.add_incoming(ld_pre, pre), ld.add_incoming(cols, end)
    t.add_incoming(t_pre, pre), t.add_incoming(c64(0), end)
    ld = b.select(b.icmp_signed("<", ld, one), one, ld)
    return Arr(ptr, a.dtype, [rows, cols], row_major(b, [rows, cols])), ld, t


def matmul(cx: Any, ins: ir.Instr) -> Any:
    b = cx.b
    if not blas.available():
        raise CompileError("matmul needs BLAS (NumPy's bundled OpenBLAS or SciPy)", ins.loc)
    a, c = (cx.get(o) for o in ins.operands)
    dt = ins.results[0].type.dtype
    site = cx.site(ins, "matmul: inner sizes differ")
    if a.rank == 1 and c.rank == 1:
        cx.shape_error_if(b.icmp_unsigned("!=", a.sizes[0], c.sizes[0]), site)
        dot = cx.module_fn(blas.dot_symbol(dt), L.FunctionType(LTYPE[dt], [I64, PTR, I64, PTR, I64]))
        # BLAS walks negative increments from the other end; pass the lowest address.
        pa, sa = _vec_base(cx, a)
        pc, sc = _vec_base(cx, c)
        return b.call(dot, [a.sizes[0], pa, sa, pc, sc])
    A = a if a.rank == 2 else Arr(a.ptr, a.dtype, [c64(1), a.sizes[0]], [c64(0), a.strides[0]])
    B = c if c.rank == 2 else Arr(c.ptr, c.dtype, [c.sizes[0], c64(1)], [c.strides[0], c64(0)])
    m, k = A.sizes
    k2, n = B.sizes
    cx.shape_error_if(b.icmp_unsigned("!=", k, k2), site)
    A, lda, ta = _layout(cx, A)
    B, ldb, tb = _layout(cx, B)
    dest = cx.dest_for(ins.results[0])
    out = cx.temp_array(dt, [m, n]) if dest is None else dest
    if dest is not None:
        cx.dest_check(dest, [m, n] if ins.results[0].type.rank == 2 else
                      [m if c.rank == 1 else n])
    gemm = cx.module_fn(blas.gemm_symbol(dt), L.FunctionType(
        L.VoidType(), [I64, I64, I64, PTR, I64, I64, PTR, I64, I64, PTR, I64]))
    ldc = b.select(b.icmp_unsigned("<", n, c64(1)), c64(1), n)
    nonempty = b.and_(b.icmp_unsigned(">", m, c64(0)), b.icmp_unsigned(">", n, c64(0)))
    with b.if_else(b.icmp_unsigned("==", k, c64(0))) as (zero_k, call):
        with zero_k:  # C = 0 without trusting BLAS with k == 0
            total = b.mul(m, n)
            from .loops import counted_loop, store_elem
            flat = Arr(out.ptr, dt, [total], [c64(1)])
            counted_loop(cx, total, lambda i, _: (store_elem(b, flat, i, L.Constant(LTYPE[dt], 0.0)), [])[1])
        with call:
            with b.if_then(nonempty):
                b.call(gemm, [m, n, k, A.ptr, lda, ta, B.ptr, ldb, tb, out.ptr, ldc])
    shape = [m, n] if a.rank == 2 and c.rank == 2 else [m] if c.rank == 1 else [n]
    return Arr(out.ptr, dt, shape, row_major(b, shape), (), True)


def _vec_base(cx: Any, v: Arr) -> tuple[L.Value, L.Value]:
    b = cx.b
    from .loops import ELEM
    s = b.select(b.icmp_unsigned("<=", v.sizes[0], c64(1)), c64(1), v.strides[0])
    low = b.select(b.icmp_signed("<", s, c64(0)), b.mul(b.sub(v.sizes[0], c64(1)), s), c64(0))
    return b.gep(v.ptr, [low], source_etype=ELEM[v.dtype]), s


__all__ = ["basic_index", "matmul", "scatter_offsets"]
