"""Local buffers and tapes of the native back end: a mixin of `llvm.Lowering`.

Scalar tapes (`alloc %n`) and array tapes (`alloc %n, *dims`: n rows of that shape) are heap
blocks with a 16-byte header from `runtime_ir.BufferRuntime`, freed when the function
returns. Bounds checks compare against the capacity as an SSA value (only `alloc`/`grow`
change it), so LLVM removes them in counted loops. A row `load` is a copy (later stores
must not change it); a row `store` copies the value into the row.
"""
from __future__ import annotations

from typing import Any

from llvmlite import ir as L

from .. import ir
from ..errors import CompileError
from .llvm_prims import I1, I8, I64
from .loops import Arr
from .native import ERR_INDEX, ERR_NOMEM
from .runtime_ir import BufferRuntime

PTR = L.PointerType()
_ELEM = {"f64": L.DoubleType(), "f32": L.FloatType(), "i64": I64, "bool": I8}
_ESIZE = {"f64": 8, "f32": 4, "i64": 8, "bool": 1}
_HEADER = 16


class BufferLowering:
    """`alloc`, `grow`, `load`, `store` (mixed into `llvm.Lowering`)."""

    runtime: Any

    def buffer_runtime(self) -> BufferRuntime:
        if self.runtime is None:
            here = self.b.block
            self.b.position_at_start(self.entry_block)
            self.runtime = BufferRuntime(self)
            self.b.position_at_end(here)
        return self.runtime
    def _need_runtime(self, ins: ir.Instr) -> BufferRuntime:
        if self.runtime is None:
            raise CompileError("internal error: buffer op without an alloc", ins.loc)
        return self.runtime

    def _row_bytes(self, buf: ir.Value) -> tuple[list, L.Value]:
        """Row sizes of an array tape and its row size in bytes (esize for scalar tapes)."""
        dims = self.buf_dims.get(id(buf), [])
        from .loops import product
        return dims, self.b.mul(product(self.b, dims), L.Constant(I64, _ESIZE[buf.dtype]))

    def lower_alloc(self, ins: ir.Instr) -> list[L.Value]:
        if len(ins.operands) > 1:  # an array tape: n rows of shape dims
            r = ins.results[0]
            self.buf_dims[id(r)] = [self.get(o) for o in ins.operands[1:]]
            dims, row = self._row_bytes(r)
            p = self._need_runtime(ins).alloc(self.get(ins.operands[0]), row)
            self.fail_if(self.b.icmp_unsigned("==", p, L.Constant(PTR, None)), ERR_NOMEM)
            self._remember_capacity(ins, p)
            return [p]
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
        if buf.type.rank > 1:
            self.buf_dims[id(ins.results[0])] = self.buf_dims.get(id(buf), [])
            dims, row = self._row_bytes(buf)
            p = self._need_runtime(ins).grow(self.get(buf), self.get(ins.operands[1]), row)
            self.fail_if(self.b.icmp_unsigned("==", p, L.Constant(PTR, None)), ERR_NOMEM)
            self._remember_capacity(ins, p)
            return [p]
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

    def _row(self, buf: ir.Value, idx: ir.Value) -> Arr:
        """Row `idx` of an array tape as a view."""
        from .loops import row_major
        b = self.b
        dims, row = self._row_bytes(buf)
        p, i = self.get(buf), self.get(idx)
        if self.boundscheck:
            cap = self.caps.get(id(buf))
            if cap is None:
                cap = b.load(b.gep(p, [L.Constant(I64, 1)], source_etype=I64), typ=I64)
            self.fail_if(b.icmp_unsigned(">=", i, cap), ERR_INDEX)
        data = b.gep(p, [b.add(L.Constant(I64, _HEADER), b.mul(i, row))], source_etype=I8)
        return Arr(data, buf.dtype, list(dims), row_major(b, dims), (), True)

    def lower_load(self, ins: ir.Instr) -> list[L.Value]:
        buf = ins.operands[0]
        if buf.type.rank > 1:  # a copy: later stores must not change it
            from .loops import KOut, emit_kernel
            return emit_kernel(self, [self._row(buf, ins.operands[1])], lambda v: v,
                               [KOut("map", buf.dtype)], -1)
        v = self.b.load(self._element(buf, ins.operands[1]), typ=_ELEM[buf.dtype])
        return [self.b.trunc(v, I1) if buf.dtype == "bool" else v]

    def lower_store(self, ins: ir.Instr) -> list[L.Value]:
        buf, idx, val = ins.operands
        if buf.type.rank > 1:
            from .loops import KOut, emit_kernel
            row = self._row(buf, idx)
            emit_kernel(self, [self.get(val)], lambda v: v, [KOut("map", buf.dtype, dest=row)],
                        self.site(ins, "tape row shape"), [row])
            return []
        v = self.get(val)
        if buf.dtype == "bool":
            v = self.b.zext(v, I8)
        self.b.store(v, self._element(buf, idx))
        return []

