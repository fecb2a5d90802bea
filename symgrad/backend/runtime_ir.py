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

from .loop_lifetimes import iteration_local

I8, I64 = L.IntType(8), L.IntType(64)
PTR = L.PointerType()
VOID = L.VoidType()
TRACKER = L.LiteralStructType([PTR, I64, I64])
_ESCAPE = L.InlineAsm(L.FunctionType(VOID, [PTR, PTR]), "", "r,r,~{memory}", side_effect=True)
_ESCAPE4 = L.InlineAsm(L.FunctionType(VOID, [PTR] * 4), "", "r,r,r,r,~{memory}", side_effect=True)
_HEADER = 16
_MAX_BYTES = 1 << 62  # refuse sizes whose byte count could overflow


def _c(v: int) -> L.Constant:
    return L.Constant(I64, v)


class BufferRuntime:
    """Emits the buffer helpers into `low.module` and the tracking table into its frame."""

    def __init__(self, low: Any):
        self.low = low
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


def _fit_block(low: Any, pp: L.Value, cp: L.Value, nbytes: L.Value, malloc: L.Function,
               free: L.Function) -> L.Value:
    """The block at `*pp` (capacity `*cp`), replaced by a fresh `malloc` of `nbytes` when it
    is smaller (contents are not kept; failure returns ERR_NOMEM)."""
    from .native import ERR_NOMEM
    b = low.b
    with b.if_then(b.icmp_unsigned("<", b.load(cp, typ=I64), nbytes), likely=False):
        b.call(free, [b.load(pp, typ=PTR)])
        b.store(L.Constant(PTR, None), pp)
        b.store(_c(0), cp)
        q = b.call(malloc, [b.select(b.icmp_unsigned("==", nbytes, _c(0)), _c(1), nbytes)])
        low.fail_if(b.icmp_unsigned("==", q, L.Constant(PTR, None)), ERR_NOMEM)
        b.store(q, pp)
        b.store(nbytes, cp)
    return b.load(pp, typ=PTR)


def _join_ptr(b: L.IRBuilder, join: L.Block, incoming: list) -> L.Value:
    """Branch the current block to `join` and return there the phi of the (pointer, block)
    pairs (the last pair's block is the current one)."""
    b.branch(join)
    b.position_at_end(join)
    phi = b.phi(PTR)
    for v, blk in incoming:
        phi.add_incoming(v, blk)
    return phi


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
        self.local = iteration_local(low.fn)
        self.slots = LoopSlots(low)
        self.arena: Arena | None = None

    def release(self) -> None:
        b = self.low.b
        self.slots.release()
        if self.arena is not None:
            self.arena.release()
        with b.if_then(self.use):
            b.store_atomic(L.Constant(L.IntType(32), 0), self.busy, "release", 4)

    def alloc(self, low: Any, n: L.Value, esize: int) -> L.Value:
        """A data pointer for n elements of esize bytes (not zeroed)."""
        b = low.b
        from .native import ERR_NOMEM
        low.fail_if(b.icmp_unsigned(">", n, _c(_MAX_BYTES // esize)), ERR_NOMEM)
        nbytes = b.mul(n, _c(esize))
        if low.loop_depth:
            ins = low.current_instr()
            if ins is not None and id(ins) in self.local:
                return self.slots.alloc(nbytes)
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
        p_ws = _fit_block(low, pp, cp, nbytes, self.malloc, self.free)
        mine_end = b.block
        b.branch(join)
        b.position_at_end(other)
        p_tmp = self._tracked(low, n, esize)
        return _join_ptr(b, join, [(p_ws, mine_end), (p_tmp, b.block)])

    def _tracked(self, low: Any, n: L.Value, esize: int) -> L.Value:
        """Storage that lives until the call returns: bump-allocated from the arena."""
        if self.arena is None:
            self.arena = Arena(low, self)
        return self.arena.alloc(low.b.mul(n, _c(esize)))


class Arena:
    """Bump allocation for array temporaries that live until the call returns (a loop's
    carried or escaping values, and every temporary of a concurrent call).

    Chunks `[next][bytes][pad to 64][data]` are malloc'd with doubling sizes (at least 64
    KiB) and freed at exit; a call that owns the workspace keeps its last (largest) chunk
    for the next call, so steady-state calls allocate nothing. Pieces are 64-byte aligned.
    Before this each such temporary was a `calloc` tracked and freed at return: ~30k small
    blocks a call in an LSTM gradient, where malloc, memset and free took half the time.
    """

    HDR = 64
    MIN_CHUNK = 1 << 16

    def __init__(self, low: Any, ws: Workspace):
        self.low, self.ws = low, ws
        m, sym = low.module, low.symbol
        self.g_head = L.GlobalVariable(m, PTR, f"{sym}.arena")
        self.g_bytes = L.GlobalVariable(m, I64, f"{sym}.arena.bytes")
        for g, v in ((self.g_head, L.Constant(PTR, None)), (self.g_bytes, _c(0))):
            g.linkage = "internal"
            g.initializer = v
        self._more = self._build_more()
        self._free = self._build_free()
        b = low.b
        here = b.block
        b.position_after(ws.use)
        null = L.Constant(PTR, None)
        self.cur, self.end, self.head = (b.alloca(PTR, name=n) for n in ("arena.cur", "arena.end", "arena.head"))
        self.last = b.alloca(I64, name="arena.last")
        use = ws.use
        h = b.select(use, b.load(self.g_head, typ=PTR), null)
        nb = b.select(use, b.load(self.g_bytes, typ=I64), _c(0))
        b.store(b.select(use, null, b.load(self.g_head, typ=PTR)), self.g_head)  # taken
        has = b.icmp_unsigned("!=", h, null)
        b.store(h, self.head)
        b.store(nb, self.last)
        b.store(b.select(has, b.gep(h, [_c(self.HDR)], source_etype=I8), null), self.cur)
        b.store(b.select(has, b.gep(h, [nb], source_etype=I8), null), self.end)
        b.call(_ESCAPE4, [self.cur, self.end, self.head, self.last])  # no mem2reg phis
        b.position_at_end(here)

    def alloc(self, nbytes: L.Value) -> L.Value:
        from .native import ERR_NOMEM
        low = self.low
        b = low.b
        n = b.and_(b.add(nbytes, _c(63)), _c(~63))
        cur, end = b.load(self.cur, typ=PTR), b.load(self.end, typ=PTR)
        avail = b.sub(b.ptrtoint(end, I64), b.ptrtoint(cur, I64))
        fits, more, join = (b.append_basic_block(x) for x in ("arena.fits", "arena.more", "arena.end"))
        br = b.cbranch(b.icmp_unsigned("<=", n, avail), fits, more)
        br.set_weights([1 << 20, 1])
        b.position_at_end(fits)
        b.store(b.gep(cur, [n], source_etype=I8), self.cur)
        b.branch(join)
        b.position_at_end(more)
        q = b.call(self._more, [self.cur, self.end, self.head, self.last, n])
        low.fail_if(b.icmp_unsigned("==", q, L.Constant(PTR, None)), ERR_NOMEM)
        return _join_ptr(b, join, [(cur, fits), (q, b.block)])

    def release(self) -> None:
        b = self.low.b
        b.call(self._free, [b.load(self.head, typ=PTR), self.ws.use, self.g_head, self.g_bytes])

    def _fn(self, name: str, ret: L.Type, args: list) -> tuple:
        f = L.Function(self.low.module, L.FunctionType(ret, args), f"{self.low.symbol}.arena.{name}")
        f.linkage = "internal"
        f.attributes.add("nounwind")
        f.attributes.add("noinline")
        return f, L.IRBuilder(f.append_basic_block("entry"))

    def _build_more(self) -> L.Function:
        """A new chunk of max(2 * last, n + HDR, MIN_CHUNK) bytes; returns n bytes of it."""
        f, b = self._fn("more", PTR, [PTR, PTR, PTR, PTR, I64])
        cur_p, end_p, head_p, last_p, n = f.args
        last = b.load(last_p, typ=I64)
        want = b.add(n, _c(self.HDR))
        size = b.select(b.icmp_unsigned(">", want, b.mul(last, _c(2))), want, b.mul(last, _c(2)))
        size = b.select(b.icmp_unsigned("<", size, _c(self.MIN_CHUNK)), _c(self.MIN_CHUNK), size)
        bad, ok = f.append_basic_block("bad"), f.append_basic_block("ok")
        b.cbranch(b.icmp_unsigned(">", n, _c(_MAX_BYTES)), bad, ok)
        b.position_at_end(bad)
        b.ret(L.Constant(PTR, None))
        b.position_at_end(ok)
        c = b.call(self.ws.malloc, [size])
        got = f.append_basic_block("got")
        b.cbranch(b.icmp_unsigned("==", c, L.Constant(PTR, None)), bad, got)
        b.position_at_end(got)
        b.store(b.load(head_p, typ=PTR), b.bitcast(c, PTR))
        b.store(size, b.gep(c, [_c(1)], source_etype=I64))
        b.store(c, head_p)
        b.store(size, last_p)
        data = b.gep(c, [_c(self.HDR)], source_etype=I8)
        b.store(b.gep(data, [n], source_etype=I8), cur_p)
        b.store(b.gep(c, [size], source_etype=I8), end_p)
        b.ret(data)
        return f

    def _build_free(self) -> L.Function:
        """Free the chunk list; with `keep`, the newest (largest) chunk goes to the globals."""
        f, b = self._fn("free", L.VoidType(), [PTR, L.IntType(1), PTR, PTR])
        head, keep, g_head, g_bytes = f.args
        null = L.Constant(PTR, None)
        entry = b.block
        save, walk_in = f.append_basic_block("save"), f.append_basic_block("walk.in")
        loop, body, done = (f.append_basic_block(x) for x in ("walk", "walk.body", "done"))
        b.cbranch(b.and_(keep, b.icmp_unsigned("!=", head, null)), save, walk_in)
        b.position_at_end(save)
        rest = b.load(head, typ=PTR)
        b.store(null, head)
        b.store(head, g_head)
        b.store(b.load(b.gep(head, [_c(1)], source_etype=I64), typ=I64), g_bytes)
        b.branch(walk_in)
        b.position_at_end(walk_in)
        first = b.phi(PTR)
        first.add_incoming(head, entry)
        first.add_incoming(rest, save)
        b.branch(loop)
        b.position_at_end(loop)
        c = b.phi(PTR)
        c.add_incoming(first, walk_in)
        b.cbranch(b.icmp_unsigned("==", c, null), done, body)
        b.position_at_end(body)
        nxt = b.load(c, typ=PTR)
        b.call(self.ws.free, [c])
        c.add_incoming(nxt, body)
        b.branch(loop)
        b.position_at_end(done)
        b.ret_void()
        return f


class LoopSlots:
    """Per-call reusable blocks for allocation sites inside loops (`iteration_local`).

    Each site owns a (pointer, bytes) pair in the frame: it mallocs on its first execution
    (or when it needs more room) and reuses the block afterwards; the function's exit frees
    them. Without this every kernel temporary in a loop body was a fresh `calloc`, tracked
    and freed only at return (an LSTM gradient: ~250k blocks a call, 70% of its time).
    """

    def __init__(self, low: Any):
        self.low = low
        self.slots: list = []
        self.malloc = low.module_fn("malloc", L.FunctionType(PTR, [I64]))
        self.free = low.module_fn("free", L.FunctionType(VOID, [PTR]))

    def alloc(self, nbytes: L.Value) -> L.Value:
        low = self.low
        b = low.b
        here = b.block
        b.position_at_start(low.entry_block)
        pp = b.alloca(PTR, name="slot")
        cp = b.alloca(I64, name="slot.bytes")
        b.store(L.Constant(PTR, None), pp)
        b.store(_c(0), cp)
        # The slot's address escapes into an empty asm statement: otherwise mem2reg turns
        # every slot into phis through every enclosing loop (measured: 8x the phis, 3x the
        # optimise + codegen time of an LSTM gradient), for no runtime gain.
        b.call(_ESCAPE, [pp, cp])
        b.position_at_end(here)
        self.slots.append(pp)
        return _fit_block(low, pp, cp, nbytes, self.malloc, self.free)

    def release(self) -> None:
        b = self.low.b
        for pp in self.slots:
            b.call(self.free, [b.load(pp, typ=PTR)])
