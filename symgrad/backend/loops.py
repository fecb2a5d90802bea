"""Loop nests for array kernels: broadcasting maps, map-reductions, `sum_to`.

An array value in native code is an `Arr`: an element pointer, one i64 size per axis and
one i64 *element* stride per axis (SSA values), plus what is known statically (axes of
size 1, row-major contiguity). A kernel iterates the broadcast shape of its operands
(NumPy rules with runtime sizes: a size-1 axis gets stride 0), runs a scalar body per
element and either stores each output (`map`) or folds it (`sum prod max min`, whole or
along axes). The innermost loop exists twice: a fast version with constant unit strides
(taken when every operand is unit-stride or statically broadcast along that axis), which
LLVM vectorises, and a general one with runtime strides. Sum reductions carry their
accumulator in a register with the `reassoc` flag on that `fadd` only, so they vectorise
and stay deterministic for a given build; float32 sums accumulate in float64.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from llvmlite import ir as L

from .llvm_prims import I1, I8, I64, LTYPE, _nan_max, const

ELEM = {"f64": LTYPE["f64"], "f32": LTYPE["f32"], "i64": I64, "bool": I8}
ESIZE = {"f64": 8, "f32": 4, "i64": 8, "bool": 1}
REDUCE_KINDS = ("sum", "prod", "max", "min")


@dataclass
class Arr:
    """An array in native code (see the module docstring)."""

    ptr: L.Value
    dtype: str
    sizes: list
    strides: list
    unit: tuple = ()          # axes statically known to have size 1
    contiguous: bool = False  # statically row-major contiguous

    def __post_init__(self) -> None:
        if len(self.unit) != len(self.sizes):
            self.unit = tuple(isinstance(s, L.Constant) and s.constant == 1 for s in self.sizes)

    @property
    def rank(self) -> int:
        return len(self.sizes)


@dataclass
class KOut:
    """One kernel output: `map` (iteration-shaped array) or a reduction over `axes`."""

    kind: str
    dtype: str
    axes: tuple | None = None
    keepdims: bool = False
    dest: Arr | None = None
    mean: bool = False
    like: Arr | None = None   # sum_to: reduce to this runtime shape (runtime strides)


def c64(v: int) -> L.Constant:
    return L.Constant(I64, v)


def row_major(b: L.IRBuilder, sizes: Sequence[L.Value]) -> list:
    out, s = [], c64(1)
    for n in reversed(sizes):
        out.append(s)
        s = s if isinstance(n, L.Constant) and n.constant == 1 else b.mul(s, n)
    return out[::-1]


def product(b: L.IRBuilder, sizes: Sequence[L.Value]) -> L.Value:
    p = None
    for n in sizes:
        p = n if p is None else b.mul(p, n)
    return c64(1) if p is None else p


def eff_stride(b: L.IRBuilder, a: Arr, d: int) -> L.Value:
    """The stride used when iterating axis d: 0 where the size is 1 (broadcasting)."""
    if a.unit[d]:
        return c64(0)
    return b.select(b.icmp_unsigned("==", a.sizes[d], c64(1)), c64(0), a.strides[d])


def load_elem(b: L.IRBuilder, a: Arr, off: L.Value) -> L.Value:
    v = b.load(b.gep(a.ptr, [off], source_etype=ELEM[a.dtype]), typ=ELEM[a.dtype])
    return b.trunc(v, I1) if a.dtype == "bool" else v


def store_elem(b: L.IRBuilder, a: Arr, off: L.Value, v: L.Value) -> None:
    if a.dtype == "bool":
        v = b.zext(v, I8)
    b.store(v, b.gep(a.ptr, [off], source_etype=ELEM[a.dtype]))


def scalar_loop_hint(module: L.Module) -> L.Value:
    """`!llvm.loop` metadata asking LLVM not to vectorise or unroll a loop (one node per
    loop: loop IDs must be distinct, hence the self-reference)."""
    opts = [module.add_metadata([L.MetaDataString(module, "llvm.loop.vectorize.enable"),
                                 L.Constant(I1, 0)]),
            module.add_metadata([L.MetaDataString(module, "llvm.loop.unroll.disable")])]
    md = module.add_metadata([L.MetaDataString(module, f"symgrad.loop.{len(module.metadata)}")])
    md.operands = (md, *opts)
    return md


def counted_loop(cx: Any, n: L.Value, body: Callable[[L.Value, list], list],
                 init: Sequence[L.Value] = (), name: str = "k", scalar: bool = False) -> list:
    """for i in [0, n): carried = body(i, carried); returns the final carried values.
    `scalar`: a loop not worth vectorising (a strided fallback, a fill); each vectorised
    loop costs LLVM milliseconds of compile time and kilobytes of code."""
    b = cx.b
    pre = b.block
    head, blk, done = (b.append_basic_block(f"{name}.{s}") for s in ("head", "body", "end"))
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64, name=name)
    phis = [b.phi(v.type) for v in init]
    b.cbranch(b.icmp_unsigned("<", i, n), blk, done)
    b.position_at_end(blk)
    nxt = body(i, phis)
    latch = b.block
    i_next = b.add(i, c64(1))
    br = b.branch(head)
    if scalar:
        br.set_metadata("llvm.loop", scalar_loop_hint(b.module))
    i.add_incoming(c64(0), pre)
    i.add_incoming(i_next, latch)
    for p, v0, v1 in zip(phis, init, nxt):
        p.add_incoming(v0, pre)
        p.add_incoming(v1, latch)
    b.position_at_end(done)
    return list(phis)


# ----------------------------------------------------------------------- combining
def acc_dtype(o: KOut) -> str:
    if o.kind == "sum" and o.dtype == "f32":
        return "f64"
    return o.dtype


def identity(kind: str, dtype: str) -> L.Constant:
    inf = float("inf")
    if dtype in ("f64", "f32"):
        return const(dtype, {"sum": -0.0, "prod": 1.0, "max": -inf, "min": inf}[kind])
    if dtype == "bool":
        return L.Constant(I1, {"sum": 0, "prod": 1, "max": 0, "min": 1}[kind])
    return const("i64", {"sum": 0, "prod": 1, "max": -(1 << 63), "min": (1 << 63) - 1}[kind])


def combine(cx: Any, kind: str, dtype: str, acc: L.Value, v: L.Value, vdtype: str) -> L.Value:
    b = cx.b
    if vdtype == "f32" and dtype == "f64":
        v = b.fpext(v, LTYPE["f64"])
    if kind == "sum":
        if dtype in ("f64", "f32"):
            return b.fadd(acc, v, flags=cx.fm or ("reassoc",))
        return b.add(acc, v)
    if kind == "prod":
        return b.fmul(acc, v, flags=cx.fm) if dtype in ("f64", "f32") else b.mul(acc, v)
    if dtype in ("f64", "f32"):
        # llvm.maximum/minimum propagate NaN as np.max does and vectorise as reductions
        # (a select chain does not); they order -0.0 below +0.0, NumPy may return either.
        f = cx.intrinsic("llvm.maximum" if kind == "max" else "llvm.minimum", LTYPE[dtype])
        return b.call(f, [acc, v])
    return _nan_max(cx, acc, v, dtype, ">" if kind == "max" else "<")


# --------------------------------------------------------------------------- kernel
def broadcast_sizes(cx: Any, arrs: Sequence[Arr], site: int) -> tuple[list, list]:
    """Iteration sizes of right-aligned broadcasting, checked (status + site on mismatch)."""
    b = cx.b
    R = max(a.rank for a in arrs)
    sizes, units = [], []
    bad = L.Constant(I1, 0)
    for d in range(R):
        cand = [a.sizes[d - R + a.rank] for a in arrs if d >= R - a.rank and not a.unit[d - R + a.rank]]
        if not cand:
            sizes.append(c64(1))
            units.append(True)
            continue
        n = cand[0]
        for s in cand[1:]:
            n = b.select(b.icmp_unsigned("!=", s, c64(1)), s, n)
        for s in cand:
            if s is not n:
                bad = b.or_(bad, b.and_(b.icmp_unsigned("!=", s, c64(1)), b.icmp_unsigned("!=", s, n)))
        sizes.append(n)
        units.append(False)
    if len(arrs) > 1:
        cx.shape_error_if(bad, site)
    return sizes, units


def emit_kernel(cx: Any, operands: Sequence[Any], body: Callable[[list], list],
                outs: Sequence[KOut], site: int, shape_of: Sequence[Arr] = ()) -> list:
    """Lower one kernel; returns per output an Arr (or a scalar for a full reduction)."""
    b = cx.b
    arrs = [o for o in operands if isinstance(o, Arr)]
    sizes, units = broadcast_sizes(cx, arrs + list(shape_of), site)
    R = len(sizes)
    # Per array operand: effective stride per iteration axis (0 where broadcast).
    ostr = {}
    for a in arrs:
        if id(a) not in ostr:
            ostr[id(a)] = [c64(0) if d < R - a.rank else eff_stride(b, a, d - R + a.rank)
                           for d in range(R)]
    # Outputs: storage and their strides in iteration space.
    results, targets = [], []
    for o in outs:
        if o.kind == "map":
            if o.dest is not None:  # the caller's buffer or a (possibly strided) region
                cx.dest_check(o.dest, sizes)
                strides = list(o.dest.strides) if not o.dest.contiguous else row_major(b, sizes)
                dst = Arr(o.dest.ptr, o.dest.dtype, list(sizes), strides, tuple(units),
                          o.dest.contiguous)
            else:
                t = cx.temp_array(o.dtype, sizes)
                dst = Arr(t.ptr, t.dtype, list(sizes), row_major(b, sizes), tuple(units), True)
            targets.append((o, dst, dst.strides, None))
            results.append(dst)
            continue
        targets.append(_reduce_target(cx, o, sizes, units))
        results.append(None)
    fast_ok = L.Constant(I1, 1)
    for a in arrs:
        if not a.unit[-1]:
            fast_ok = b.and_(fast_ok, b.icmp_unsigned("==", ostr[id(a)][-1], c64(1)))
    fast_inner = {id(a): c64(0) if a.unit[-1] else c64(1) for a in arrs}
    for o, dst, strides, _ in targets:
        if o.kind != "map" and o.like is None:
            cx.empty_reduce_check(o, sizes)

    def nest(d: int, offs: dict, toffs: list) -> None:
        if d == R - 1 or R == 0:
            _inner(cx, d, sizes, arrs, operands, ostr, fast_ok, fast_inner, offs, toffs,
                   targets, body)
            return

        def step(i, _):
            offs2 = {k: b.add(v, b.mul(i, ostr[k][d])) for k, v in offs.items()}
            toffs2 = [b.add(t, b.mul(i, s[d])) for t, (_o, _a, s, _c) in zip(toffs, targets)]
            nest(d + 1, offs2, toffs2)
            return []
        counted_loop(cx, sizes[d], step, name=f"ax{d}")

    nest(0, {k: c64(0) for k in ostr}, [c64(0) for _ in targets])
    for k, (o, dst, strides, final) in enumerate(targets):
        if o.kind != "map":
            results[k] = _finish_reduce(cx, o, dst, final, sizes)
    return results


def _reduce_target(cx: Any, o: KOut, sizes: list, units: list) -> tuple:
    """Accumulator storage of a reduction, filled with its identity."""
    b = cx.b
    R = len(sizes)
    ad = acc_dtype(o)
    if o.like is not None:  # sum_to: output shaped like `like`, strides chosen at runtime
        lk = o.like
        kept = list(lk.sizes)
        acc = cx.temp_array(ad, kept)
        rm = row_major(b, kept)
        strides = [c64(0) if d < R - lk.rank else
                   b.select(b.icmp_unsigned("==", lk.sizes[d - R + lk.rank], c64(1)), c64(0),
                            rm[d - R + lk.rank]) for d in range(R)]
    else:
        axes = tuple(range(R)) if o.axes is None else o.axes
        kept = [sizes[d] for d in range(R) if d not in axes]
        acc = cx.temp_array(ad, kept) if kept else cx.cell(ad)
        rm = row_major(b, kept)
        it = iter(rm)
        strides = [c64(0) if d in axes else next(it) for d in range(R)]
    n = product(b, kept)
    ident = identity(o.kind, ad)

    def fill(i, _):
        store_elem(b, acc, i, ident)
        return []
    counted_loop(cx, n, fill, name="fill", scalar=True)
    return (o, acc, strides, kept)


def _inner(cx: Any, d: int, sizes: list, arrs: list, operands: Sequence[Any], ostr: dict,
           fast_ok: L.Value, fast_inner: dict, offs: dict, toffs: list, targets: list,
           body: Callable[[list], list]) -> None:
    b = cx.b
    R = len(sizes)
    if R == 0:
        _element(cx, arrs, operands, offs, toffs, targets, body, None, [])
        return
    n = sizes[d]
    reg = [k for k, (o, _a, s, _c) in enumerate(targets)
           if o.kind != "map" and o.like is None and (o.axes is None or d in o.axes)]
    fast_bb, slow_bb, join = (b.append_basic_block(s) for s in ("fast", "strided", "inner.end"))
    b.cbranch(fast_ok, fast_bb, slow_bb)
    for bb, strides in ((fast_bb, fast_inner), (slow_bb, {k: v[d] for k, v in ostr.items()})):
        b.position_at_end(bb)
        init = [identity(targets[k][0].kind, acc_dtype(targets[k][0])) for k in reg]

        def step(i, accs, strides=strides):
            o2 = {k: b.add(v, b.mul(i, strides[k])) for k, v in offs.items()}
            t2 = [b.add(t, b.mul(i, s[d])) for t, (_o, _a, s, _c) in zip(toffs, targets)]
            return _element(cx, arrs, operands, o2, t2, targets, body, reg, accs)
        accs = counted_loop(cx, n, step, init, name="i", scalar=bb is slow_bb)
        for k, acc in zip(reg, accs):  # fold the register accumulator into its cell
            o, dst, s, _ = targets[k]
            ad = acc_dtype(o)
            cur = load_elem(b, dst, toffs[k])
            store_elem(b, dst, toffs[k], combine(cx, o.kind, ad, cur, acc, ad))
        b.branch(join)
    b.position_at_end(join)


def _element(cx: Any, arrs: list, operands: Sequence[Any], offs: dict, toffs: list,
             targets: list, body: Callable[[list], list], reg: list | None,
             accs: list) -> list:
    b = cx.b
    vals = [load_elem(b, o, offs[id(o)]) if isinstance(o, Arr) else o for o in operands]
    cx.in_kernel += 1
    outs = body(vals)
    cx.in_kernel -= 1
    new_accs = list(accs)
    for k, ((o, dst, s, _), v) in enumerate(zip(targets, outs)):
        if o.kind == "map":
            store_elem(b, dst, toffs[k], v)
            continue
        ad = acc_dtype(o)
        if reg is not None and k in reg:
            j = reg.index(k)
            new_accs[j] = combine(cx, o.kind, ad, accs[j], v, o.dtype)
        else:
            cur = load_elem(b, dst, toffs[k])
            store_elem(b, dst, toffs[k], combine(cx, o.kind, ad, cur, v, o.dtype))
    return new_accs


def _finish_reduce(cx: Any, o: KOut, acc: Arr, kept: list, sizes: list) -> Any:
    """Mean scaling, float64 -> float32, keepdims, scalars."""
    b = cx.b
    R = len(sizes)
    ad = acc_dtype(o)
    if o.like is not None:
        shape, units = list(o.like.sizes), o.like.unit
    elif o.keepdims:
        axes = tuple(range(R)) if o.axes is None else o.axes
        shape = [c64(1) if d in axes else sizes[d] for d in range(R)]
        units = tuple(d in axes for d in range(R))
    else:
        shape, units = kept, tuple(False for _ in kept)
    scale = None
    if o.mean:
        axes = tuple(range(R)) if o.axes is None else o.axes
        cnt = product(b, [sizes[d] for d in axes])
        scale = b.sitofp(cnt, LTYPE[ad])
    if not shape:  # a scalar
        v = load_elem(b, acc, c64(0))
        if scale is not None:
            v = b.fdiv(v, scale, flags=cx.fm)
        return b.fptrunc(v, LTYPE["f32"]) if ad != o.dtype else v
    out = acc
    if ad != o.dtype or scale is not None:
        out = acc if ad == o.dtype else cx.temp_array(o.dtype, shape)
        n = product(b, shape)

        def conv(i, _):
            v = load_elem(b, acc, i)
            if scale is not None:
                v = b.fdiv(v, scale, flags=cx.fm)
            store_elem(b, out, i, b.fptrunc(v, LTYPE["f32"]) if ad != o.dtype else v)
            return []
        counted_loop(cx, n, conv, name="fin")
    return Arr(out.ptr, o.dtype, shape, row_major(b, shape), tuple(units), True)


__all__ = ["Arr", "KOut", "emit_kernel", "counted_loop", "row_major", "product", "eff_stride",
           "load_elem", "store_elem", "c64", "ELEM", "ESIZE", "REDUCE_KINDS"]
