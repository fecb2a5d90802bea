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
from .native import (ERR_INDEX, ERR_NOMEM, ERR_RANGE_STEP, NativeFunction, abi_for,
                     load_object)  # noqa: F401  (load_object re-exported)
from .runtime_ir import BufferRuntime

I32 = L.IntType(32)
PTR = L.PointerType()
_ELEM = {"f64": LTYPE["f64"], "f32": LTYPE["f32"], "i64": I64, "bool": I8}
_ESIZE = {"f64": 8, "f32": 4, "i64": 8, "bool": 1}
_HEADER = 16
FAST = ("fast",)


class Lowering:
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
        nargs = 2 if name == "llvm.copysign" else 1
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
    def fail_if(self, cond: L.Value, code: int) -> None:
        """Leave the function with status `code` when `cond` holds (cold path)."""
        b = self.b
        bad = b.append_basic_block("fail")
        ok = b.append_basic_block("ok")
        br = b.cbranch(cond, bad, ok)
        br.set_weights([1, 1 << 20])
        b.position_at_end(bad)
        b.store(L.Constant(I32, code), self.status)
        b.branch(self.cleanup)
        b.position_at_end(ok)

    # -------------------------------------------------------------------- lower
    def lower(self) -> L.Module:
        fn = self.fn
        for a in fn.args:
            if a.type.rank:
                raise CompileError(f"{fn.name}: array arguments are not supported by the "
                                   "native back end yet", fn.loc)
        for t in fn.result_types:
            if t.rank:
                raise CompileError(f"{fn.name}: returning a buffer is not supported", fn.loc)
        argtys = [_abi_type(a.type.dtype) for a in fn.args] + [PTR]
        func = L.Function(self.module, L.FunctionType(I32, argtys), name=self.symbol)
        func.args[-1].name = "out"
        func.args[-1].add_attribute("noalias")
        func.args[-1].add_attribute(NO_CAPTURE)
        func.attributes.add("nounwind")
        entry = func.append_basic_block("entry")
        self.cleanup = func.append_basic_block("cleanup")
        self.b = b = L.IRBuilder(entry)
        self.status = b.alloca(I32, name="status")
        b.store(L.Constant(I32, 0), self.status)
        if any(i.op == "alloc" for i in ir.walk(fn.body)):
            self.runtime = BufferRuntime(self)
        for a, la in zip(fn.args, func.args):
            la.name = a.name or "arg"
            self.values[id(a)] = b.trunc(la, I1) if a.type.dtype == "bool" else la
        self.lower_block(fn.body, func.args[-1])
        b.position_at_end(self.cleanup)
        if self.runtime is not None:
            self.runtime.free_all()
        b.ret(b.load(self.status, typ=I32))
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
        for ins in block.instrs:
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
        if handler is not None:
            outs = handler(self, ins)
        else:
            rule = TABLE.get(ins.op)
            if rule is None:
                raise CompileError(f"the native back end cannot lower primitive {ins.op!r}",
                                   ins.loc)
            args = [self.get(v) for v in ins.operands]
            dtype = ins.operands[1].dtype if ins.op == "where" else ins.operands[0].dtype
            outs = [rule(self, args, dtype, ins.params)]
        for r, v in zip(ins.results, outs):
            # Source names in `inspect("llvm")`; llvmlite's own names start with a dot.
            if r.name and isinstance(v, L.Instruction) and v.name.startswith("."):
                v.name = r.name
            self.values[id(r)] = v

    def emit_return(self, ins: ir.Instr, vals: list[L.Value], out: L.Value | None) -> None:
        b = self.b
        for k, (v, val) in enumerate(zip(ins.operands, vals)):
            slot = b.gep(out, [L.Constant(I64, k)], source_etype=I64)
            d = v.dtype
            if d == "f32":
                val = b.fpext(val, LTYPE["f64"])
            elif d == "bool":
                val = b.zext(val, I64)
            b.store(val, slot)
        b.branch(self.cleanup)

    # ------------------------------------------------------------ structured ops
    def region(self, block: ir.Block, args: list[L.Value]) -> list[L.Value]:
        for a, v in zip(block.args, args):
            self.values[id(a)] = v
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
            phi = self.b.phi(self._ltype(r.type), name=r.name or "")
            for vals, bb in incoming:
                phi.add_incoming(vals[k], bb)
            outs.append(phi)
        return outs

    def lower_for(self, ins: ir.Instr) -> list[L.Value]:
        b = self.b
        start, stop, step = (self.get(v) for v in ins.operands[:3])
        init = [self.get(v) for v in ins.operands[3:]]
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
        carried = [b.phi(self._ltype(a.type), name=a.name or "")
                   for a in ins.regions[0].args[1:]]
        b.cbranch(b.icmp_unsigned("<", k, trips), body_bb, done)
        b.position_at_end(body_bb)
        iname = ins.regions[0].args[0].name or "i"
        if cs[2] == 1:
            i = k if cs[0] == 0 else b.add(start, k, name=iname)
        else:
            i = b.mul(k, step) if cs[0] == 0 else b.add(start, b.mul(k, step), name=iname)
        nxt = self.region(ins.regions[0], [i] + carried)
        latch = b.block
        k_next = b.add(k, one, name="k.next")
        b.branch(head)
        k.add_incoming(zero, pre)
        k.add_incoming(k_next, latch)
        for phi, v0, v1 in zip(carried, init, nxt):
            phi.add_incoming(v0, pre)
            phi.add_incoming(v1, latch)
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

    def lower_while(self, ins: ir.Instr) -> list[L.Value]:
        b = self.b
        init = [self.get(v) for v in ins.operands]
        pre = b.block
        head, body_bb, done = (b.append_basic_block(n) for n in ("while", "while.body",
                                                                 "while.end"))
        b.branch(head)
        b.position_at_end(head)
        before, body = ins.regions
        carried = [b.phi(self._ltype(a.type), name=a.name or "") for a in before.args]
        cond = self.region(before, carried)
        flag, vals = cond[0], cond[1:]
        b.cbranch(flag, body_bb, done)
        b.position_at_end(body_bb)
        nxt = self.region(body, vals)
        latch = b.block
        b.branch(head)
        for phi, v0, v1 in zip(carried, init, nxt):
            phi.add_incoming(v0, pre)
            phi.add_incoming(v1, latch)
        b.position_at_end(done)
        return vals

    # ------------------------------------------------------------------ buffers
    def _need_runtime(self, ins: ir.Instr) -> BufferRuntime:
        if self.runtime is None:
            raise CompileError("internal error: buffer op without an alloc", ins.loc)
        return self.runtime

    def lower_alloc(self, ins: ir.Instr) -> list[L.Value]:
        d = ir.NP_NAMES[ins.params["dtype"]]
        p = self._need_runtime(ins).alloc(self.get(ins.operands[0]), _ESIZE[d])
        self.fail_if(self.b.icmp_unsigned("==", p, L.Constant(PTR, None)), ERR_NOMEM)
        self._remember_capacity(ins, p)
        return [p]

    def _remember_capacity(self, ins: ir.Instr, p: L.Value) -> None:
        # Only alloc/grow change a header, so its capacity is an SSA value from here on:
        # bounds checks then need no reload and LLVM can prove them away in counted loops.
        if self.boundscheck:
            cap = self.b.load(self.b.gep(p, [L.Constant(I64, 1)], source_etype=I64), typ=I64,
                              name="cap")
            self.caps[id(ins.results[0])] = cap

    def lower_grow(self, ins: ir.Instr) -> list[L.Value]:
        buf = ins.operands[0]
        p = self._need_runtime(ins).grow(self.get(buf), self.get(ins.operands[1]),
                                         _ESIZE[buf.dtype])
        self.fail_if(self.b.icmp_unsigned("==", p, L.Constant(PTR, None)), ERR_NOMEM)
        self._remember_capacity(ins, p)
        return [p]

    def _element(self, buf: ir.Value, idx: ir.Value) -> L.Value:
        b, p, i = self.b, self.get(buf), self.get(idx)
        if self.boundscheck:
            cap = self.caps.get(id(buf))
            if cap is None:  # a buffer carried through a loop or branch
                cap = b.load(b.gep(p, [L.Constant(I64, 1)], source_etype=I64), typ=I64)
            self.fail_if(b.icmp_unsigned(">=", i, cap), ERR_INDEX)
        data = b.gep(p, [L.Constant(I64, _HEADER)], source_etype=I8)
        return b.gep(data, [i], source_etype=_ELEM[buf.dtype])

    def lower_load(self, ins: ir.Instr) -> list[L.Value]:
        buf = ins.operands[0]
        v = self.b.load(self._element(buf, ins.operands[1]), typ=_ELEM[buf.dtype])
        return [self.b.trunc(v, I1) if buf.dtype == "bool" else v]

    def lower_store(self, ins: ir.Instr) -> list[L.Value]:
        buf, idx, val = ins.operands
        v = self.get(val)
        if buf.dtype == "bool":
            v = self.b.zext(v, I8)
        self.b.store(v, self._element(buf, idx))
        return []

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
    """Lower, optimise (O3, vectorising) and JIT `fn`; returns a callable NativeFunction."""
    t0 = time.perf_counter()
    symbol = symbol or _symbol_for(fn.name)
    text = lower_function(fn, symbol, fastmath=fastmath, boundscheck=boundscheck)
    t1 = time.perf_counter()
    eng = jit.engine()
    with eng.lock:  # LLVM's global context is not thread-safe
        mod = eng.parse(text, symbol)
        eng.optimize(mod)
        opt = str(mod)
        t2 = time.perf_counter()
        obj = eng.add_module(mod, [symbol], opt)
    t3 = time.perf_counter()
    abi = abi_for(fn, symbol, jit.externals(opt))
    timings = {"lower": t1 - t0, "optimize": t2 - t1, "codegen": t3 - t2}
    return NativeFunction(abi, eng.address(symbol), {"llvm": text, "llvm-opt": opt},
                          object_code=obj, timings=timings)
