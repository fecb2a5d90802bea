"""Lower a scalar `ir.Function` to LLVM IR (llvmlite.ir) and JIT it into a `NativeFunction`.

Native ABI: `i32 @sym(<scalar args by value>, ptr noalias %out)`. Each result goes to an
8-byte slot of `out` (f64, f32 widened to f64, i64, bool as i64); the i32 is a status code
(0 = success, else `native.ERRORS`). Every exit frees every buffer the call allocated.

Structured control flow becomes basic blocks with phis: `if_` a diamond, `for_` a counted
loop (trip count computed up front in unsigned arithmetic, so Python's range semantics
hold for negative steps and near the int64 limits), `while_` a loop whose header runs the
`before` region. Local buffers are heap blocks with a 16-byte header (tracker slot,
capacity), tracked per call in a small table so that all are freed on return or error.
Primitive lowering rules live in `llvm_prims.TABLE`.

Floating-point flags: none by default, so results equal Python's and NumPy's bit for bit
(no FMA contraction, no reassociation: a scalar loop's `s += ...` must not be reordered).
`reassoc` is reserved for the array `sum` reduction (issue 4, DESIGN.md); `fastmath=True`
puts the full `fast` flags on every float operation and libm call.
"""
from __future__ import annotations

import time
import uuid

from llvmlite import ir as L

from .. import ir
from ..errors import CompileError
from . import jit
from .llvm_prims import I1, I8, I64, LTYPE, TABLE, const
from typing import Any

from .llvm_arrays import ArrayLowering
from .llvm_buffers import BufferLowering
from .llvm_writes import WriteLowering, private_carried, viewed
from .loops import Arr
from .native import (ERR_RANGE_STEP, NativeFunction, abi_for,
                     load_object)  # noqa: F401  (load_object re-exported)
from .runtime_ir import BufferRuntime, Workspace
from . import entry as array_entry

I32 = L.IntType(32)
PTR = L.PointerType()
SUPPORTS_ARRAYS = True  # array functions lower natively (pipeline.py routes them here)
_ELEM = {"f64": LTYPE["f64"], "f32": LTYPE["f32"], "i64": I64, "bool": I8}
_ESIZE = {"f64": 8, "f32": 4, "i64": 8, "bool": 1}
_HEADER = 16
FAST = ("fast",)


class Lowering(BufferLowering, ArrayLowering, WriteLowering):
    """State of lowering one function: values, the builder, error exits, declarations."""

    def __init__(self, fn: ir.Function, symbol: str, *, fastmath: bool, boundscheck: bool):
        self.fn = fn
        self.fm: tuple[str, ...] = FAST if fastmath else ()
        self.boundscheck = boundscheck
        self.module = L.Module(name=symbol)
        self.module.triple = jit.host().triple
        self.values: dict[int, L.Value] = {}
        self._decls: dict[str, L.Function] = {}
        self._mvec_used: list[L.Function] = []
        self.symbol = symbol
        self.runtime: BufferRuntime | None = None
        self._last_line: tuple | None = None
        self.caps: dict[int, L.Value] = {}
        self.sites: list = []              # shape-error sites reported by status code
        self.dests: dict[int, int] = {}    # returned value -> result index with a caller buffer
        self.dests_used: set[int] = set()
        self.result_dests: dict[int, L.Value] = {}
        self.loop_depth = 0
        self.in_kernel = 0
        self.frames: list = []
        self.buf_dims: dict[int, list] = {}
        self.viewed: set[int] = set()
        self.carried_private: set[int] = set()
        self.workspace: Workspace | None = None
        self.out_ptr: L.Value | None = None

    # ------------------------------------------------------------- declarations
    def module_fn(self, name: str, fnty: L.FunctionType) -> L.Function:
        f = self._decls.get(name)
        if f is None:
            f = L.Function(self.module, fnty, name=name)
            self._decls[name] = f
        return f

    def intrinsic(self, name: str, ty: L.Type) -> L.Function:
        """A float intrinsic such as `llvm.floor.f64` (`llvm.copysign` takes two operands)."""
        suffix = "f64" if ty == LTYPE["f64"] else "f32"
        nargs = 2 if name in ("llvm.copysign", "llvm.maximum", "llvm.minimum") else 1
        return self.module_fn(f"{name}.{suffix}", L.FunctionType(ty, [ty] * nargs))

    def libm(self, name: str, dtype: str, nargs: int) -> L.Function:
        """A libm function, pure (no errno), tagged with its libmvec variants if any."""
        cname = name if dtype == "f64" else name + "f"
        ty = LTYPE[dtype]
        if cname in self._decls:
            return self._decls[cname]
        f = self.module_fn(cname, L.FunctionType(ty, [ty] * nargs))
        attrs = _OpenAttributes(["nounwind", "willreturn", "memory(none)"])
        variants = jit.vector_variants(cname, nargs, dtype == "f32")
        if variants:
            spec = ",".join(f"{v}({v})" for v in variants)
            attrs.add(f'"vector-function-abi-variant"="{spec}"')
            for v in variants:
                lanes = int(v[6:v.index("v", 6)])
                vty = L.VectorType(ty, lanes)
                self._mvec_used.append(self.module_fn(v, L.FunctionType(vty, [vty] * nargs)))
        f.attributes = attrs
        return f

    # ------------------------------------------------------------------- errors
    def fail_if(self, cond: L.Value, code: int, info: int | None = None) -> None:
        """Leave the function with status `code` when `cond` holds (cold path); `info`
        (an error site) goes to the first out slot."""
        b = self.b
        if isinstance(cond, L.Constant) and not cond.constant:
            return
        bad = b.append_basic_block("fail")
        ok = b.append_basic_block("ok")
        br = b.cbranch(cond, bad, ok)
        br.set_weights([1, 1 << 20])
        b.position_at_end(bad)
        if info is not None and self.out_ptr is not None:
            b.store(L.Constant(I64, info), self.out_ptr)
        b.store(L.Constant(I32, code), self.status)
        b.branch(self.cleanup)
        b.position_at_end(ok)

    # -------------------------------------------------------------------- lower
    def lower(self) -> L.Module:
        fn = self.fn
        arrays = any(a.type.rank for a in fn.args) or any(t.rank for t in fn.result_types) \
            or any(r.type.rank for i in ir.walk(fn.body) for r in i.results
                   if i.op not in ("alloc", "grow", "load"))
        if arrays:
            func, params = array_entry.build(self)
        else:
            argtys = [_abi_type(a.type.dtype) for a in fn.args] + [PTR]
            func = L.Function(self.module, L.FunctionType(I32, argtys), name=self.symbol)
            params = list(func.args[:-1])
            func.args[-1].name = "out"
            func.args[-1].add_attribute("noalias")
            func.args[-1].add_attribute(NO_CAPTURE)
            func.attributes.add("nounwind")
        entry = func.append_basic_block("entry")
        self.entry_block = entry
        self.cleanup = func.append_basic_block("cleanup")
        self.b = b = L.IRBuilder(entry)
        self.out_ptr = func.args[-1]
        self.status = b.alloca(I32, name="status")
        b.store(L.Constant(I32, 0), self.status)
        if any(i.op == "alloc" for i in ir.walk(fn.body)):
            self.runtime = BufferRuntime(self)
        if arrays:
            self.workspace = Workspace(self)
            self.viewed, self.carried_private = viewed(fn), private_carried(fn)
            array_entry.bind_params(self, params)
        else:
            for a, la in zip(fn.args, params):
                la.name = a.name or "arg"
                self.values[id(a)] = b.trunc(la, I1) if a.type.dtype == "bool" else la
        self.lower_block(fn.body, func.args[-1])
        b.position_at_end(self.cleanup)
        if self.runtime is not None:
            self.runtime.free_all()
        if self.workspace is not None:
            self.workspace.release()
        b.ret(b.load(self.status, typ=I32))
        if arrays:
            array_entry.build_entry(self, func)
        if self._mvec_used:
            # Without this GlobalDCE drops the vector declarations before the vectoriser
            # looks for them (measured: scalarised calls, 8x slower).
            arr = L.ArrayType(PTR, len(self._mvec_used))
            used = L.GlobalVariable(self.module, arr, "llvm.compiler.used")
            used.linkage = "appending"
            used.section = "llvm.metadata"
            used.initializer = L.Constant(arr, self._mvec_used)
        return self.module

    def get(self, v: ir.Value) -> L.Value:
        if isinstance(v, ir.Const):
            return const(v.dtype, v.value)
        try:
            return self.values[id(v)]
        except KeyError:
            raise CompileError(f"internal error: {v!r} used before its definition") from None

    def lower_block(self, block: ir.Block, out: L.Value | None = None) -> list[L.Value]:
        """Lower the instructions of `block`; returns the operands of its terminator."""
        last: dict[int, int] = {}
        for k, ins in enumerate(block.instrs):  # liveness for in-place array writes
            for o in ins.operands:
                last[id(o)] = k
            for r in ins.regions:
                for inner in ir.walk(r):
                    for o in inner.operands:
                        last[id(o)] = k
        defined = {id(a) for a in block.args} | {id(r) for i in block.instrs for r in i.results}
        frame = [block, 0, last, defined]
        self.frames.append(frame)
        try:
            return self._lower_instrs(block, out, frame)
        finally:
            self.frames.pop()

    def live_after(self, v: ir.Value) -> bool:
        """Whether `v` may be read after the instruction being lowered (conservative)."""
        block, k, last, defined = self.frames[-1]
        if id(v) not in defined:
            return True  # from an enclosing block: a loop may read it again
        return last.get(id(v), -1) > k

    def current_instr(self) -> ir.Instr | None:
        """The instruction being lowered (innermost block), if any."""
        if not self.frames:
            return None
        block, k = self.frames[-1][0], self.frames[-1][1]
        return block.instrs[k] if k < len(block.instrs) else None

    def _lower_instrs(self, block: ir.Block, out: L.Value | None, frame: list) -> list[L.Value]:
        for k, ins in enumerate(block.instrs):
            frame[1] = k
            if ins.op in ir.TERMINATORS:
                vals = [self.get(v) for v in ins.operands]
                if ins.op == "return":
                    self.emit_return(ins, vals, out)
                return vals
            self.lower_instr(ins)
        raise CompileError(f"internal error: block without terminator in {self.fn.name}")

    def lower_instr(self, ins: ir.Instr) -> None:
        loc = ins.loc
        if loc is not None and (loc.line, ins.note) != self._last_line:
            # Provenance for `inspect("llvm")`: the user's line, once per run of instructions.
            self._last_line = (loc.line, ins.note)
            text = loc.source_line().strip()[:80]
            self.b.comment(f"L{loc.line}  {text}" + (f"  ({ins.note})" if ins.note else ""))
        handler = _STRUCTURAL.get(ins.op)
        outs = None
        if handler is not None:
            outs = handler(self, ins)
        elif self.workspace is not None:
            outs = self.lower_array(ins)
        if outs is None:
            rule = TABLE.get(ins.op)
            if rule is None:
                raise CompileError(f"the native back end cannot lower primitive {ins.op!r}",
                                   ins.loc)
            args = [self.get(v) for v in ins.operands]
            dtype = ins.operands[1].dtype if ins.op == "where" else ins.operands[0].dtype
            outs = [rule(self, args, dtype, ins.params)]
        for r, v in zip(ins.results, outs):
            # Source names in `inspect("llvm")`; llvmlite's own names start with a dot.
            if r.name and isinstance(v, L.Instruction) and not isinstance(v, L.Constant) and v.name.startswith("."):
                v.name = r.name
            self.values[id(r)] = v

    def emit_return(self, ins: ir.Instr, vals: list[L.Value], out: L.Value | None) -> None:
        b = self.b
        if self.workspace is not None:
            array_entry.emit_return(self, ins, vals, out)
            b.branch(self.cleanup)
            return
        for k, (v, val) in enumerate(zip(ins.operands, vals)):
            array_entry.store_scalar(b, val, v.dtype, b.gep(out, [L.Constant(I64, k)], source_etype=I64))
        b.branch(self.cleanup)

    # ------------------------------------------------------------ structured ops
    def region(self, block: ir.Block, args: list[L.Value], src: list | None = None) -> list[L.Value]:
        for k, (a, v) in enumerate(zip(block.args, args)):
            self.values[id(a)] = v
            if src is not None and k < len(src) and id(src[k]) in self.buf_dims:
                self.buf_dims[id(a)] = self.buf_dims[id(src[k])]
        return self.lower_block(block)

    def lower_if(self, ins: ir.Instr) -> list[L.Value]:
        b = self.b
        then_bb, else_bb, join = (b.append_basic_block(n) for n in ("then", "else", "endif"))
        b.cbranch(self.get(ins.operands[0]), then_bb, else_bb)
        incoming = []
        for bb, region in ((then_bb, ins.regions[0]), (else_bb, ins.regions[1])):
            b.position_at_end(bb)
            vals = self.region(region, [])
            incoming.append((vals, b.block))
            b.branch(join)
        b.position_at_end(join)
        return self._phis(ins, incoming)

    def _phis(self, ins: ir.Instr, incoming: list) -> list[L.Value]:
        outs = []
        for k, r in enumerate(ins.results):
            phi = self.new_phi(r.type, r.name, incoming[0][0][k])
            for vals, bb in incoming:
                self.add_incoming(phi, vals[k], bb)
            outs.append(phi)
        return outs

    def new_phi(self, t: ir.Type, name: str | None, like: Any) -> Any:
        """A phi, or for an array (`like` is an Arr) an Arr of phis (pointer, sizes, strides)."""
        if not isinstance(like, Arr):
            return self.b.phi(self._ltype(t), name=name or "")
        return Arr(self.b.phi(PTR, name=name or ""), t.dtype, [self.b.phi(I64) for _ in range(t.rank)],
                   [self.b.phi(I64) for _ in range(t.rank)], (), False)

    @staticmethod
    def add_incoming(phi: Any, v: Any, bb: L.Block) -> None:
        if not isinstance(phi, Arr):
            phi.add_incoming(v, bb)
            return
        phi.ptr.add_incoming(v.ptr, bb)
        for p, x in zip(phi.sizes + phi.strides, v.sizes + v.strides):
            p.add_incoming(x, bb)

    def lower_for(self, ins: ir.Instr) -> list[L.Value]:
        b = self.b
        start, stop, step = (self.get(v) for v in ins.operands[:3])
        init = self._own_inits(ins, ins.regions[0].args[1:], list(ins.operands[3:]))
        cs = [v.value if isinstance(v, ir.Const) else None for v in ins.operands[:3]]
        if None not in cs and cs[2] != 0:  # constant bounds: the trip count is known here
            trips = const("i64", len(range(*cs)))
        else:
            trips = self._trip_count(ins.operands[2], start, stop, step)
        zero, one = const("i64", 0), const("i64", 1)
        pre = b.block
        head, body_bb, done = (b.append_basic_block(n) for n in ("for", "for.body", "for.end"))
        b.branch(head)
        b.position_at_end(head)
        k = b.phi(I64, name="k")
        carried = [self.new_phi(a.type, a.name, v) for a, v in zip(ins.regions[0].args[1:], init)]
        b.cbranch(b.icmp_unsigned("<", k, trips), body_bb, done)
        b.position_at_end(body_bb)
        iname = ins.regions[0].args[0].name or "i"
        if cs[2] == 1:
            i = k if cs[0] == 0 else b.add(start, k, name=iname)
        else:
            i = b.mul(k, step) if cs[0] == 0 else b.add(start, b.mul(k, step), name=iname)
        self.loop_depth += 1
        nxt = self.region(ins.regions[0], [i] + carried, [None] + list(ins.operands[3:]))
        self._dims_to(ins.results, ins.operands[3:])
        self.loop_depth -= 1
        latch = b.block
        k_next = b.add(k, one, name="k.next")
        b.branch(head)
        k.add_incoming(zero, pre)
        k.add_incoming(k_next, latch)
        for phi, v0, v1 in zip(carried, init, nxt):
            self.add_incoming(phi, v0, pre)
            self.add_incoming(phi, v1, latch)
        b.position_at_end(done)
        return list(carried)

    def _trip_count(self, step_v: ir.Value, start: L.Value, stop: L.Value,
                    step: L.Value) -> L.Value:
        """len(range(start, stop, step)) in unsigned arithmetic: exact for all int64s."""
        b = self.b
        zero, one = const("i64", 0), const("i64", 1)
        if isinstance(step_v, ir.Const):  # the common case: no checks, readable IR
            if step_v.value == 0:
                self.fail_if(L.Constant(I1, 1), ERR_RANGE_STEP)
                return zero
            up = step_v.value > 0
            span = b.sub(stop, start) if up else b.sub(start, stop)
            mag = const("i64", abs(step_v.value)) if step_v.value != -(1 << 63) else step
            nonempty = b.icmp_signed(">" if up else "<", stop, start)
        else:
            self.fail_if(b.icmp_signed("==", step, zero), ERR_RANGE_STEP)
            upv = b.icmp_signed(">", step, zero)
            span = b.select(upv, b.sub(stop, start), b.sub(start, stop))
            mag = b.select(upv, step, b.sub(zero, step))
            nonempty = b.select(upv, b.icmp_signed(">", stop, start),
                                b.icmp_signed("<", stop, start))
        unit = isinstance(mag, L.Constant) and mag.constant == 1
        count = span if unit else b.add(b.udiv(b.sub(span, one), mag), one)
        return b.select(nonempty, count, zero, name="trips")

    def _dims_to(self, dst: list, src: list) -> None:
        for d, s_ in zip(dst, src):
            if id(s_) in self.buf_dims:
                self.buf_dims[id(d)] = self.buf_dims[id(s_)]

    def _own_inits(self, loop: ir.Instr, args: list, operands: list) -> list:
        """Copy the initial value of arrays the loop writes in place (it owns them then),
        unless the loop can take the initial value's storage over: dead after the loop,
        never viewed, not read inside the loop, not another slot's initial value too. (The
        gradient accumulators of a loop nest: a copy per outer iteration, each kept until
        return, grew the GMM gradient by 1.3 MB per data point.)"""
        from .loops import KOut, emit_kernel
        inner = {id(o) for r in loop.regions for i in ir.walk(r) for o in i.operands}
        out = []
        for a, o in zip(args, operands):
            v = self.get(o)
            if id(a) in self.carried_private and isinstance(v, Arr):
                takeover = self.can_write_in_place(o) and id(o) not in inner \
                    and sum(1 for x in operands if x is o) == 1
                if not takeover:
                    (v,) = emit_kernel(self, [v], lambda x: x, [KOut("map", v.dtype)], -1)
            out.append(v)
        return out

    def lower_while(self, ins: ir.Instr) -> list[L.Value]:
        b = self.b
        init = self._own_inits(ins, ins.regions[1].args, list(ins.operands))
        pre = b.block
        head, body_bb, done = (b.append_basic_block(n) for n in ("while", "while.body",
                                                                 "while.end"))
        b.branch(head)
        b.position_at_end(head)
        before, body = ins.regions
        carried = [self.new_phi(a.type, a.name, v) for a, v in zip(before.args, init)]
        self.loop_depth += 1
        cond = self.region(before, carried, list(ins.operands))
        self._dims_to(body.args, ins.operands)
        self._dims_to(ins.results, ins.operands)
        flag, vals = cond[0], cond[1:]
        b.cbranch(flag, body_bb, done)
        b.position_at_end(body_bb)
        nxt = self.region(body, vals)
        self.loop_depth -= 1
        latch = b.block
        b.branch(head)
        for phi, v0, v1 in zip(carried, init, nxt):
            self.add_incoming(phi, v0, pre)
            self.add_incoming(phi, v1, latch)
        b.position_at_end(done)
        return vals

    def _ltype(self, t: ir.Type) -> L.Type:
        return PTR if t.rank else LTYPE[t.dtype]


# LLVM 21+ (llvmlite 0.50) spells it `captures(none)` and llvmlite rejects `nocapture`;
# older LLVMs (llvmlite 0.47-0.49) know only `nocapture`.
NO_CAPTURE = "captures(none)" if "captures(none)" in L.values.ArgumentAttributes._known else "nocapture"

_STRUCTURAL = {"if_": Lowering.lower_if, "for_": Lowering.lower_for,
               "while_": Lowering.lower_while, "alloc": Lowering.lower_alloc,
               "grow": Lowering.lower_grow, "load": Lowering.lower_load,
               "store": Lowering.lower_store}


class _OpenAttributes(L.values.FunctionAttributes):
    """Function attributes that also take LLVM's newer and string attributes."""

    def add(self, name: str) -> None:
        set.add(self, name)


def _abi_type(dtype: str) -> L.Type:
    return I8 if dtype == "bool" else LTYPE[dtype]


def lower_function(fn: ir.Function, symbol: str, *, fastmath: bool = False,
                   boundscheck: bool = True) -> str:
    """LLVM IR text of `fn` under the native ABI, exported as `symbol`."""
    return str(Lowering(fn, symbol, fastmath=fastmath, boundscheck=boundscheck).lower())


def _symbol_for(name: str) -> str:
    # ASCII only: symbol lookup encodes names as ASCII, and identifiers may be Unicode.
    safe = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in name)[:40]
    return f"sg_{safe}_{uuid.uuid4().hex[:16]}"


def compile_function(fn: ir.Function, *, fastmath: bool = False, boundscheck: bool = True,
                     symbol: str | None = None) -> NativeFunction:
    """Lower, optimise (O2, vectorising) and JIT `fn`; returns a callable NativeFunction."""
    t0 = time.perf_counter()
    symbol = symbol or _symbol_for(fn.name)
    if any(r.type.rank for i in ir.walk(fn.body) for r in i.results):
        import copy
        from ..passes.fuse import fuse, specialise
        from ..passes.cleanup import cleanup
        from ..passes.shapes import drop_identities
        # On a copy: callers keep the unfused IR (reverse mode, numpy_exec, inspect).
        # Broadcast adjoints that are identities go first: they are fusion barriers.
        fn = fuse(specialise(cleanup(drop_identities(copy.deepcopy(fn)))))
    low = Lowering(fn, symbol, fastmath=fastmath, boundscheck=boundscheck)
    text = str(low.lower())
    t1 = time.perf_counter()
    eng = jit.engine()
    with eng.lock:  # LLVM's global context is not thread-safe
        mod = eng.parse(text, symbol)
        # Array kernels: vectorised loops need no unrolling, and it doubles compile time.
        eng.optimize(mod, unroll=low.workspace is None)
        opt = str(mod)
        t2 = time.perf_counter()
        obj = eng.add_module(mod, [symbol], opt)
    t3 = time.perf_counter()
    abi = abi_for(fn, symbol, jit.externals(opt), low)
    timings = {"lower": t1 - t0, "optimize": t2 - t1, "codegen": t3 - t2}
    return NativeFunction(abi, eng.address(symbol), {"llvm": text, "llvm-opt": opt},
                          object_code=obj, timings=timings)
