"""Local buffers for native code: calloc/realloc/free with a per-call tracking table.

A buffer is a heap block `[i64 slot][i64 capacity][elements...]`. Every allocation is
recorded in a table that lives in the native function's frame (`{ptr items, i64 n,
i64 cap}`); `grow` reallocates and updates the buffer's table slot; the function's single
exit frees everything in the table, on success and on error alike. The helpers are
internal LLVM functions emitted into the module that uses them (no C runtime to ship).
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir as L

I8, I64 = L.IntType(8), L.IntType(64)
PTR = L.PointerType()
VOID = L.VoidType()
TRACKER = L.LiteralStructType([PTR, I64, I64])
_HEADER = 16
_MAX_BYTES = 1 << 62  # refuse sizes whose byte count could overflow


def _c(v: int) -> L.Constant:
    return L.Constant(I64, v)


class BufferRuntime:
    """Emits the buffer helpers into `low.module` and the tracking table into its frame."""

    def __init__(self, low: Any):
        self.low = low
        m = low.module
        self.tracker = low.b.alloca(TRACKER, name="buffers")
        low.b.store(L.Constant(TRACKER, [L.Constant(PTR, None), _c(0), _c(0)]), self.tracker)
        self.calloc = low.module_fn("calloc", L.FunctionType(PTR, [I64, I64]))
        self.realloc = low.module_fn("realloc", L.FunctionType(PTR, [PTR, I64]))
        self.free = low.module_fn("free", L.FunctionType(VOID, [PTR]))
        self.memset = low.module_fn("llvm.memset.p0.i64",
                                    L.FunctionType(VOID, [PTR, I8, I64, L.IntType(1)]))
        self._alloc = self._build_alloc()
        self._grow = self._build_grow()
        self._free_all = self._build_free_all()

    # ---------------------------------------------------------------- call sites
    def alloc(self, n: L.Value, esize: Any) -> L.Value:
        """`esize` (bytes per element or row) is an int or an i64 value (array tapes)."""
        return self.low.b.call(self._alloc, [self.tracker, n, _c(esize) if isinstance(esize, int) else esize])

    def grow(self, p: L.Value, n: L.Value, esize: Any) -> L.Value:
        return self.low.b.call(self._grow, [self.tracker, p, n, _c(esize) if isinstance(esize, int) else esize])

    def free_all(self) -> None:
        self.low.b.call(self._free_all, [self.tracker])

    # ------------------------------------------------------------------ helpers
    def _fn(self, name: str, ret: L.Type, args: list[L.Type]) -> tuple[L.Function, L.IRBuilder]:
        f = L.Function(self.low.module, L.FunctionType(ret, args), f"{self.low.symbol}.{name}")
        f.linkage = "internal"
        f.attributes.add("nounwind")
        return f, L.IRBuilder(f.append_basic_block("entry"))

    @staticmethod
    def _field(b: L.IRBuilder, tr: L.Value, k: int) -> L.Value:
        return b.gep(tr, [L.Constant(L.IntType(32), 0), L.Constant(L.IntType(32), k)],
                     source_etype=TRACKER)

    def _build_alloc(self) -> L.Function:
        f, b = self._fn("alloc", PTR, [PTR, I64, I64])
        tr, n, esize = f.args
        null = L.Constant(PTR, None)
        fail, do, track, more, push = (f.append_basic_block(s)
                                       for s in ("fail", "do", "track", "more", "push"))
        n1 = b.select(b.icmp_signed("<", n, _c(1)), _c(1), n)
        b.cbranch(b.icmp_unsigned(">", n1, b.udiv(_c(_MAX_BYTES), esize)), fail, do)
        b.position_at_end(fail)
        b.ret(null)
        b.position_at_end(do)
        p = b.call(self.calloc, [b.add(b.mul(n1, esize), _c(_HEADER)), _c(1)])
        b.cbranch(b.icmp_unsigned("==", p, null), fail, track)
        b.position_at_end(track)
        items_p, cnt_p, cap_p = (self._field(b, tr, k) for k in range(3))
        cnt, cap = b.load(cnt_p, typ=I64), b.load(cap_p, typ=I64)
        b.cbranch(b.icmp_unsigned("==", cnt, cap), more, push)
        b.position_at_end(more)
        newcap = b.select(b.icmp_unsigned("==", cap, _c(0)), _c(8), b.mul(cap, _c(2)))
        items = b.call(self.realloc, [b.load(items_p, typ=PTR), b.mul(newcap, _c(8))])
        nomem, grown = f.append_basic_block("nomem"), f.append_basic_block("grown")
        b.cbranch(b.icmp_unsigned("==", items, null), nomem, grown)
        b.position_at_end(nomem)
        b.call(self.free, [p])
        b.ret(null)
        b.position_at_end(grown)
        b.store(items, items_p)
        b.store(newcap, cap_p)
        b.branch(push)
        b.position_at_end(push)
        items = b.load(items_p, typ=PTR)
        b.store(p, b.gep(items, [cnt], source_etype=PTR))
        b.store(cnt, p)
        b.store(n1, b.gep(p, [_c(1)], source_etype=I64))
        b.store(b.add(cnt, _c(1)), cnt_p)
        b.ret(p)
        return f

    def _build_grow(self) -> L.Function:
        f, b = self._fn("grow", PTR, [PTR, PTR, I64, I64])
        tr, p, n, esize = f.args
        null = L.Constant(PTR, None)
        keep, check, do, fail, done = (f.append_basic_block(s)
                                       for s in ("keep", "check", "do", "fail", "done"))
        cap = b.load(b.gep(p, [_c(1)], source_etype=I64), typ=I64)
        b.cbranch(b.icmp_signed("<=", n, cap), keep, check)
        b.position_at_end(keep)
        b.ret(p)
        b.position_at_end(check)
        twice = b.mul(cap, _c(2))
        newcap = b.select(b.icmp_signed(">", n, twice), n, twice)
        b.cbranch(b.icmp_unsigned(">", newcap, b.udiv(_c(_MAX_BYTES), esize)), fail, do)
        b.position_at_end(fail)
        b.ret(null)  # the old block stays tracked and is freed at exit
        b.position_at_end(do)
        q = b.call(self.realloc, [p, b.add(b.mul(newcap, esize), _c(_HEADER))])
        b.cbranch(b.icmp_unsigned("==", q, null), fail, done)
        b.position_at_end(done)
        # Zero the new tail, so grown buffers read like fresh `alloc`s.
        tail = b.gep(q, [b.add(_c(_HEADER), b.mul(cap, esize))], source_etype=I8)
        b.call(self.memset, [tail, L.Constant(I8, 0), b.mul(b.sub(newcap, cap), esize),
                             L.Constant(L.IntType(1), 0)])
        b.store(newcap, b.gep(q, [_c(1)], source_etype=I64))
        slot = b.load(q, typ=I64)
        items = b.load(self._field(b, tr, 0), typ=PTR)
        b.store(q, b.gep(items, [slot], source_etype=PTR))
        b.ret(q)
        return f

    def _build_free_all(self) -> L.Function:
        f, b = self._fn("free_all", VOID, [PTR])
        (tr,) = f.args
        entry = b.block
        items = b.load(self._field(b, tr, 0), typ=PTR)
        cnt = b.load(self._field(b, tr, 1), typ=I64)
        head, body, done = (f.append_basic_block(s) for s in ("head", "body", "done"))
        b.branch(head)
        b.position_at_end(head)
        i = b.phi(I64)
        b.cbranch(b.icmp_unsigned("<", i, cnt), body, done)
        b.position_at_end(body)
        b.call(self.free, [b.load(b.gep(items, [i], source_etype=PTR), typ=PTR)])
        i1 = b.add(i, _c(1))
        b.branch(head)
        i.add_incoming(_c(0), entry)
        i.add_incoming(i1, body)
        b.position_at_end(done)
        b.call(self.free, [items])
        b.ret_void()
        return f


class Workspace:
    """Temporaries of array kernels that survive calls (fresh large blocks page-fault).

    Two globals (pointer, bytes) per allocation site outside loops; a site reuses its block
    when it is big enough, else frees and mallocs a bigger one (contents are never kept).
    A `busy` flag taken with an atomic exchange at entry makes a concurrent call (ctypes
    releases the GIL) fall back to per-call `calloc`ed blocks freed at exit, as do sites
    inside loops (a loop-carried array must not share storage with its next value).
    """

    def __init__(self, low: Any):
        self.low = low
        self.count = 0
        m = low.module
        self.busy = L.GlobalVariable(m, L.IntType(32), f"{low.symbol}.ws.busy")
        self.busy.linkage = "internal"
        self.busy.initializer = L.Constant(L.IntType(32), 0)
        b = low.b
        old = b.atomic_rmw("xchg", self.busy, L.Constant(L.IntType(32), 1), "acquire")
        self.use = b.icmp_unsigned("==", old, L.Constant(L.IntType(32), 0), name="ws.mine")
        self.malloc = low.module_fn("malloc", L.FunctionType(PTR, [I64]))
        self.free = low.module_fn("free", L.FunctionType(VOID, [PTR]))

    def release(self) -> None:
        b = self.low.b
        with b.if_then(self.use):
            b.store_atomic(L.Constant(L.IntType(32), 0), self.busy, "release", 4)

    def alloc(self, low: Any, n: L.Value, esize: int) -> L.Value:
        """A data pointer for n elements of esize bytes (not zeroed)."""
        b = low.b
        from .native import ERR_NOMEM
        low.fail_if(b.icmp_unsigned(">", n, _c(_MAX_BYTES // esize)), ERR_NOMEM)
        nbytes = b.mul(n, _c(esize))
        if low.loop_depth:
            return self._tracked(low, n, esize)
        pp = L.GlobalVariable(low.module, PTR, f"{low.symbol}.ws.{self.count}")
        cp = L.GlobalVariable(low.module, I64, f"{low.symbol}.ws.{self.count}.bytes")
        for g, v in ((pp, L.Constant(PTR, None)), (cp, _c(0))):
            g.linkage = "internal"
            g.initializer = v
        self.count += 1
        mine, other, join = (b.append_basic_block(s) for s in ("ws", "ws.tmp", "ws.end"))
        b.cbranch(self.use, mine, other)
        b.position_at_end(mine)
        cur, cap = b.load(pp, typ=PTR), b.load(cp, typ=I64)
        with b.if_then(b.icmp_unsigned("<", cap, nbytes)):
            b.call(self.free, [cur])
            b.store(L.Constant(PTR, None), pp)
            b.store(_c(0), cp)
            q = b.call(self.malloc, [b.select(b.icmp_unsigned("==", nbytes, _c(0)), _c(1), nbytes)])
            low.fail_if(b.icmp_unsigned("==", q, L.Constant(PTR, None)), ERR_NOMEM)
            b.store(q, pp)
            b.store(nbytes, cp)
        p_ws = b.load(pp, typ=PTR)
        mine_end = b.block
        b.branch(join)
        b.position_at_end(other)
        p_tmp = self._tracked(low, n, esize)
        other_end = b.block
        b.branch(join)
        b.position_at_end(join)
        phi = b.phi(PTR)
        phi.add_incoming(p_ws, mine_end)
        phi.add_incoming(p_tmp, other_end)
        return phi

    def _tracked(self, low: Any, n: L.Value, esize: int) -> L.Value:
        from .native import ERR_NOMEM
        rt = low.buffer_runtime()
        p = rt.alloc(n, _c(esize).constant)
        low.fail_if(low.b.icmp_unsigned("==", p, L.Constant(PTR, None)), ERR_NOMEM)
        return low.b.gep(p, [_c(_HEADER)], source_etype=I8)
