"""The array ABI of native functions: a CPython-facing entry plus a `noalias` body.

`i32 @sym(<scalars by value>, i64 <address of each ndarray argument>, ptr out)` reads
each array's data pointer, sizes and byte strides straight from NumPy's `PyArrayObject`
(offsets checked once per process against `__array_interface__`, see `native.py`), turns
byte strides into element strides (an unaligned array or a stride that is no multiple of
the item size returns `ERR_LAYOUT` with the argument's index in `out[0]`, and Python
copies it), and calls

`i32 @sym.body(<scalar>, ptr noalias data, i64 sizes..., i64 strides..., ...,
              ptr noalias dest_k..., ptr out)`

where `dest_k` is the caller's buffer for array result k when its shape is known before
the call (a gradient is shaped like its argument: `abi["result_like"]`). Out slots: a
scalar result takes one 8-byte slot; an array result of rank r takes 1 + r slots: on entry
the address of the destination ndarray (or 0), on return the data pointer of a `malloc`ed
result when there was no destination (Python owns and frees it) and its sizes.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir as L

from .. import ir
from .llvm_prims import I1, I8, I64, LTYPE
from .loops import ESIZE, Arr, KOut, c64, emit_kernel, product, row_major
from .native import ERR_LAYOUT, ERR_NOMEM

I32 = L.IntType(32)
PTR = L.PointerType()
# PyArrayObject_fields: ob_refcnt, ob_type, data, nd, dimensions, strides, base, descr, flags
OFF_DATA, OFF_DIMS, OFF_STRIDES, OFF_FLAGS = 16, 32, 40, 64
NPY_ALIGNED = 0x100


def slots(fn: ir.Function) -> list[int]:
    """First out slot of every result."""
    out, k = [], 0
    for t in fn.result_types:
        out.append(k)
        k += 1 + t.rank if t.rank else 1
    return out


def result_like(fn: ir.Function) -> list[int | None]:
    """Per result: the argument whose shape it has (gradients of a joint function), or None."""
    like: list[int | None] = [None] * len(fn.result_types)
    wrt = fn.meta.get("wrt") or []
    names = fn.meta.get("arg_names") or [a.name for a in fn.args]
    if fn.meta.get("kind") == "joint":
        for j, w in enumerate(wrt):
            k = 1 + j
            if k < len(like) and w in names:
                i = names.index(w)
                if fn.args[i].type.rank == fn.result_types[k].rank and fn.result_types[k].rank:
                    like[k] = i
    return like


def _scalar_type(dtype: str) -> L.Type:
    return I8 if dtype == "bool" else LTYPE[dtype]


def build(cx: Any) -> tuple[L.Function, list]:
    """The body function with the array ABI; returns it and its parameter groups."""
    fn = cx.fn
    tys, groups = [], []
    for a in fn.args:
        if a.type.rank:
            groups.append(("array", len(tys), a.type.rank))
            tys += [PTR] + [I64] * (2 * a.type.rank)
        else:
            groups.append(("scalar", len(tys), 0))
            tys.append(_scalar_type(a.type.dtype))
    cx.like = result_like(fn)
    dest_idx = {}
    for k, i in enumerate(cx.like):
        if i is not None:
            dest_idx[k] = len(tys)
            tys.append(PTR)
    tys.append(PTR)
    func = L.Function(cx.module, L.FunctionType(I32, tys), name=cx.symbol + ".body")
    func.linkage = "internal"
    func.attributes.add("nounwind")
    for g in groups:
        if g[0] == "array":
            func.args[g[1]].add_attribute("noalias")
    for k, pos in dest_idx.items():
        func.args[pos].add_attribute("noalias")
    func.args[-1].add_attribute("noalias")
    cx.arg_groups, cx.dest_idx = groups, dest_idx
    ret = fn.body.terminator
    for k, v in enumerate(ret.operands if ret is not None else []):
        if cx.like[k] is None:
            continue
        cands = [v]
        if isinstance(v, ir.Result) and v.instr.op == "if_":  # e.g. fuse.specialise's versions
            cands = [r.terminator.operands[v.index] for r in v.instr.regions]
        for c in cands:
            if id(c) not in cx.dests and not isinstance(c, ir.Arg):
                cx.dests[id(c)] = k
    return func, list(func.args)


def bind_params(cx: Any, params: list) -> None:
    b = cx.b
    for a, (kind, pos, r) in zip(cx.fn.args, cx.arg_groups):
        p = params[pos]
        if kind == "scalar":
            p.name = a.name or "arg"
            cx.values[id(a)] = b.trunc(p, I1) if a.type.dtype == "bool" else p
            continue
        p.name = a.name or "arr"
        sizes, strides = params[pos + 1:pos + 1 + r], params[pos + 1 + r:pos + 1 + 2 * r]
        cx.values[id(a)] = Arr(p, a.type.dtype, list(sizes), list(strides), (), False)
    for k, pos in cx.dest_idx.items():
        like = cx.values[id(cx.fn.args[cx.like[k]])]
        cx.result_dests[k] = Arr(params[pos], cx.fn.result_types[k].dtype, list(like.sizes),
                                 row_major(b, like.sizes), (), True)


def store_scalar(b: L.IRBuilder, val: L.Value, dtype: str, slot: L.Value) -> None:
    """A scalar result into its 8-byte out slot (f32 widened to f64, bool to i64)."""
    if dtype == "f32":
        val = b.fpext(val, LTYPE["f64"])
    elif dtype == "bool":
        val = b.zext(val, I64)
    b.store(val, slot)


def emit_return(cx: Any, ins: ir.Instr, vals: list, out: L.Value) -> None:
    b = cx.b
    first = slots(cx.fn)
    for k, (v, val) in enumerate(zip(ins.operands, vals)):
        slot = b.gep(out, [c64(first[k])], source_etype=I64)
        if not v.type.rank:
            store_scalar(b, val, v.dtype, slot)
            continue
        dest = cx.result_dests.get(k)
        if dest is None:
            n = product(b, val.sizes)
            nbytes = b.mul(n, c64(ESIZE[v.dtype]))
            malloc = cx.module_fn("malloc", L.FunctionType(PTR, [I64]))
            p = b.call(malloc, [b.select(b.icmp_unsigned("==", nbytes, c64(0)), c64(1), nbytes)])
            cx.fail_if(b.icmp_unsigned("==", p, L.Constant(PTR, None)), ERR_NOMEM)
            dest = Arr(p, v.dtype, list(val.sizes), row_major(b, val.sizes), (), True)
            b.store(b.ptrtoint(p, I64), slot)
        if val.ptr is not dest.ptr:  # a kernel wrote it in place already when the pointers agree
            with b.if_then(b.icmp_unsigned("!=", b.ptrtoint(val.ptr, I64), b.ptrtoint(dest.ptr, I64))):
                emit_kernel(cx, [val], lambda x: x, [KOut("map", v.dtype, dest=dest)], -1)
        for j, s in enumerate(val.sizes):
            b.store(s, b.gep(out, [c64(first[k] + 1 + j)], source_etype=I64))


def build_entry(cx: Any, body: L.Function) -> None:
    """`@sym`: read the ndarray objects, check their layout, call the body."""
    fn = cx.fn
    tys = []
    for a in fn.args:
        tys.append(I64 if a.type.rank else _scalar_type(a.type.dtype))
    tys.append(PTR)
    f = L.Function(cx.module, L.FunctionType(I32, tys), name=cx.symbol)
    f.attributes.add("nounwind")
    b = L.IRBuilder(f.append_basic_block("entry"))
    out = f.args[-1]
    args = []
    for i, (a, la) in enumerate(zip(fn.args, f.args)):
        if not a.type.rank:
            args.append(la)
            continue
        obj = b.inttoptr(la, PTR)

        def field(off, ty):
            return b.load(b.gep(obj, [c64(off)], source_etype=I8), typ=ty)
        data = field(OFF_DATA, PTR)
        dims, strides = field(OFF_DIMS, PTR), field(OFF_STRIDES, PTR)
        flags = field(OFF_FLAGS, I32)
        esize = ESIZE[a.type.dtype]
        bad = b.icmp_unsigned("==", b.and_(flags, L.Constant(I32, NPY_ALIGNED)), L.Constant(I32, 0))
        sizes, estr = [], []
        for d in range(a.type.rank):
            sizes.append(b.load(b.gep(dims, [c64(d)], source_etype=I64), typ=I64))
            bs = b.load(b.gep(strides, [c64(d)], source_etype=I64), typ=I64)
            if esize > 1:
                bad = b.or_(bad, b.icmp_unsigned("!=", b.srem(bs, c64(esize)), c64(0)))
                bs = b.sdiv(bs, c64(esize))
            estr.append(bs)
        fail, ok = f.append_basic_block(f"layout{i}"), f.append_basic_block(f"ok{i}")
        b.cbranch(bad, fail, ok)
        b.position_at_end(fail)
        b.store(c64(i), out)
        b.ret(L.Constant(I32, ERR_LAYOUT))
        b.position_at_end(ok)
        args += [data] + sizes + estr
    first = slots(fn)
    for k in sorted(cx.dest_idx):
        addr = b.load(b.gep(out, [c64(first[k])], source_etype=I64), typ=I64)
        obj = b.inttoptr(addr, PTR)
        args.append(b.load(b.gep(obj, [c64(OFF_DATA)], source_etype=I8), typ=PTR))
    args.append(out)
    b.ret(b.call(body, args))
