"""`fused=True` for SGD and Adam/AdamW: one native kernel per optimizer configuration and
dtype updates every parameter of a group in a single call.

The kernels are LLVM IR written here and compiled by the process-wide JIT
(`symgrad.backend.jit`). They perform exactly the eager update's operations, in the same
order and precision (each hyperparameter is rounded to the parameter dtype once, as NumPy
does with a Python float; no fast-math, no FMA contraction), so results are bitwise equal
to the eager formulas. Each element's update reads and writes every buffer once, where the
eager update makes several passes over temporaries.

ABI of a kernel: `void k(i64 n, ptr P, ptr G, ptr S1, ptr S2, ptr S3, ptr sizes, ptr flags,
ptr per_param, ptr scalars)`: arrays of n data pointers (parameter, gradient, up to three
state buffers), n element counts, n first-step flags, two doubles per parameter, and the
group's doubles. The per-parameter loop calls an inner function whose pointers are
`noalias`, so it vectorises without runtime alias checks.
"""
from __future__ import annotations

import ctypes
import threading
from typing import Any, Callable

import numpy as np

__all__ = ["sgd_kernel", "adam_kernel", "FusedKernel", "PointerTable"]

_LLVM_T = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_SUFFIX = {"float": "f32", "double": "f64"}


class _Body:
    """Builds the element loop of one inner function: SSA lines with fresh names."""

    def __init__(self, t: str) -> None:
        self.t = t
        self.lines: list[str] = []
        self.n = 0

    def op(self, text: str) -> str:
        self.n += 1
        name = f"%v{self.n}"
        self.lines.append(f"  {name} = {text}")
        return name

    def load(self, buf: str) -> str:
        ptr = self.op(f"getelementptr inbounds {self.t}, ptr {buf}, i64 %i")
        return self.op(f"load {self.t}, ptr {ptr}, align 4")

    def store(self, buf: str, val: str) -> None:
        ptr = self.op(f"getelementptr inbounds {self.t}, ptr {buf}, i64 %i")
        self.lines.append(f"  store {self.t} {val}, ptr {ptr}, align 4")

    def bin(self, opname: str, a: str, b: str) -> str:
        return self.op(f"{opname} {self.t} {a}, {b}")

    def neg(self, a: str) -> str:
        return self.op(f"fneg {self.t} {a}")

    def sqrt(self, a: str) -> str:
        return self.op(f"call {self.t} @llvm.sqrt.{_SUFFIX[self.t]}({self.t} {a})")

    def maximum(self, a: str, b: str) -> str:
        # np.maximum: NaN in either operand gives NaN; else a >= b ? a : b.
        ge = self.op(f"fcmp uge {self.t} {a}, {b}")
        r = self.op(f"select i1 {ge}, {self.t} {a}, {self.t} {b}")
        bnan = self.op(f"fcmp uno {self.t} {b}, {b}")
        return self.op(f"select i1 {bnan}, {self.t} {b}, {self.t} {r}")

    def function(self, name: str) -> str:
        t = self.t
        params = ", ".join([f"ptr noalias %{b}" for b in ("p", "g", "s1", "s2", "s3")] + ["i64 %len"]
                           + [f"{t} %c{k}" for k in range(8)] + [f"{t} %q0", f"{t} %q1"])
        body = "\n".join(self.lines)
        return (f"define internal void @{name}({params}) noinline nounwind {{\n"
                "entry:\n  %empty = icmp sle i64 %len, 0\n  br i1 %empty, label %exit, label %loop\n"
                "loop:\n  %i = phi i64 [0, %entry], [%inext, %loop]\n"
                f"{body}\n"
                "  %inext = add nuw nsw i64 %i, 1\n  %done = icmp eq i64 %inext, %len\n"
                "  br i1 %done, label %exit, label %loop\nexit:\n  ret void\n}\n")


def _sgd_body(t: str, flags: dict[str, bool], first: bool) -> _Body:
    """SGD's eager update, element by element. c0=lr c1=wd c2=momentum c3=1-dampening."""
    e = _Body(t)
    p, g = e.load("%p"), e.load("%g")
    if flags["maximize"]:
        g = e.neg(g)
    if flags["weight_decay"]:
        g = e.bin("fadd", g, e.bin("fmul", p, "%c1"))
    if flags["momentum"]:
        if first:
            buf = g  # the first buffer is a copy of g: no momentum, no dampening
        else:
            m = e.bin("fmul", e.load("%s1"), "%c2")
            buf = e.bin("fadd", m, g if flags["no_dampening"] else e.bin("fmul", g, "%c3"))
        e.store("%s1", buf)
        g = e.bin("fadd", g, e.bin("fmul", buf, "%c2")) if flags["nesterov"] else buf
    e.store("%p", e.bin("fsub", p, e.bin("fmul", g, "%c0")))
    return e


def _adam_body(t: str, flags: dict[str, bool]) -> _Body:
    """Adam/AdamW's eager update. c0=wd c1=1-lr*wd c2=1-beta1 c3=beta1 (lerp weights: c2 is the
    weight, c3 = 1 - weight) c4=beta2 c5=1-beta2 c6=eps; q0=-step_size q1=sqrt(bias_correction2)."""
    e = _Body(t)
    p, g = e.load("%p"), e.load("%g")
    if flags["maximize"]:
        g = e.neg(g)
    if flags["weight_decay"]:
        if flags["decoupled"]:
            p = e.bin("fmul", p, "%c1")
        else:
            g = e.bin("fadd", g, e.bin("fmul", p, "%c0"))
    m = e.load("%s1")
    diff = e.bin("fsub", g, m)
    if flags["lerp_small"]:
        m = e.bin("fadd", m, e.bin("fmul", diff, "%c2"))
    else:
        m = e.bin("fsub", g, e.bin("fmul", diff, "%c3"))
    e.store("%s1", m)
    v = e.bin("fmul", e.load("%s2"), "%c4")
    v = e.bin("fadd", v, e.bin("fmul", e.bin("fmul", g, "%c5"), g))
    e.store("%s2", v)
    if flags["amsgrad"]:
        vmax = e.maximum(e.load("%s3"), v)
        e.store("%s3", vmax)
        den = e.sqrt(vmax)
    else:
        den = e.sqrt(v)
    den = e.bin("fadd", e.bin("fdiv", den, "%q1"), "%c6")
    upd = e.bin("fdiv", e.bin("fmul", m, "%q0"), den)
    e.store("%p", e.bin("fadd", p, upd))
    return e


def _outer(name: str, t: str, bodies: list[str]) -> str:
    """The exported loop over parameters; `bodies` is [name] or [first-step name, name]."""
    # Each double is rounded to float once (round to nearest, as NumPy's cast of a Python
    # float); doubles pass through unchanged (a select, so -0.0 keeps its sign).
    conv = (lambda v, out: f"  {out} = fptrunc double {v} to float") if t == "float" else \
        (lambda v, out: f"  {out} = select i1 true, double {v}, double {v}")
    lines = [f"define void @{name}(i64 %n, ptr %P, ptr %G, ptr %S1, ptr %S2, ptr %S3, ptr %sizes, "
             "ptr %flags, ptr %pp, ptr %gs) nounwind {", "entry:"]
    for k in range(8):
        lines += [f"  %gsp{k} = getelementptr inbounds double, ptr %gs, i64 {k}",
                  f"  %gsd{k} = load double, ptr %gsp{k}", conv(f"%gsd{k}", f"%c{k}")]
    lines += ["  %none = icmp sle i64 %n, 0", "  br i1 %none, label %exit, label %loop", "loop:",
              "  %k = phi i64 [0, %entry], [%knext, %next]"]
    for arr in ("P", "G", "S1", "S2", "S3"):
        lines += [f"  %{arr}p = getelementptr inbounds ptr, ptr %{arr}, i64 %k",
                  f"  %{arr}v = load ptr, ptr %{arr}p"]
    lines += ["  %lenp = getelementptr inbounds i64, ptr %sizes, i64 %k", "  %len = load i64, ptr %lenp",
              "  %k2 = shl i64 %k, 1", "  %k21 = add i64 %k2, 1"]
    for j, idx in enumerate(("%k2", "%k21")):
        lines += [f"  %ppp{j} = getelementptr inbounds double, ptr %pp, i64 {idx}",
                  f"  %ppd{j} = load double, ptr %ppp{j}", conv(f"%ppd{j}", f"%q{j}")]
    args = ", ".join(["ptr %Pv", "ptr %Gv", "ptr %S1v", "ptr %S2v", "ptr %S3v", "i64 %len"]
                     + [f"{t} %c{k}" for k in range(8)] + [f"{t} %q0", f"{t} %q1"])
    if len(bodies) == 2:
        lines += ["  %fp = getelementptr inbounds i8, ptr %flags, i64 %k", "  %f = load i8, ptr %fp",
                  "  %isfirst = icmp ne i8 %f, 0", "  br i1 %isfirst, label %first, label %rest",
                  "first:", f"  call void @{bodies[0]}({args})", "  br label %next",
                  "rest:", f"  call void @{bodies[1]}({args})", "  br label %next"]
    else:
        lines += [f"  call void @{bodies[0]}({args})", "  br label %next"]
    lines += ["next:", "  %knext = add nuw nsw i64 %k, 1", "  %kdone = icmp eq i64 %knext, %n",
              "  br i1 %kdone, label %exit, label %loop", "exit:", "  ret void", "}"]
    return "\n".join(lines) + "\n"


class FusedKernel:
    """One compiled update kernel; `__call__` takes lists of arrays and the scalars."""

    _ARGS = [ctypes.c_int64] + [ctypes.c_void_p] * 9

    def __init__(self, name: str, ir_text: str) -> None:
        from ...backend.jit import engine
        eng = engine()
        mod = eng.parse(ir_text, name)
        eng.optimize(mod)
        eng.add_module(mod, [name])
        self.name = name
        self.ir = ir_text
        self._fn = ctypes.CFUNCTYPE(None, *self._ARGS)(eng.address(name))

    def __call__(self, table: "PointerTable", arrays: list[list[np.ndarray | None]],
                 firsts: list[bool] | None, per_param: np.ndarray | None, scalars: np.ndarray) -> None:
        """Run over every parameter; `table` caches the pointers of arrays seen last time."""
        t = table.update(arrays, firsts)
        pp = t.per_param if per_param is None else np.ascontiguousarray(per_param, dtype=np.float64)
        scalars = np.ascontiguousarray(scalars, dtype=np.float64)
        self._fn(t.n, *t.rows, t.sizes_ptr, t.flags_ptr, pp.ctypes.data, scalars.ctypes.data)


class PointerTable:
    """The pointer arrays a kernel reads, rebuilt entry by entry only where an array changed.

    Parameters and optimizer state keep their buffers across steps; gradients change when
    `zero_grad()` sets them to None. Reading `arr.ctypes.data` costs about 1 us, so the
    table keeps the arrays it has seen and asks only for new ones.
    """

    def __init__(self) -> None:
        self.n = -1
        self.arrays: list[list] = []

    def update(self, arrays: list[list[np.ndarray | None]], firsts: list[bool] | None) -> "PointerTable":
        n = len(arrays[0])
        if n != self.n:
            self.n = n
            self.arrays = [[None] * n for _ in range(5)]
            self.ptrs = np.zeros((5, n), dtype=np.uintp)
            self.sizes = np.zeros(n, dtype=np.int64)
            self.flags = np.zeros(n, dtype=np.int8)
            self.per_param = np.zeros(2 * n)
            base, step = self.ptrs.ctypes.data, self.ptrs.strides[0]
            self.rows = [base + r * step for r in range(5)]
            self.sizes_ptr, self.flags_ptr = self.sizes.ctypes.data, self.flags.ctypes.data
        ptrs = self.ptrs
        for r, (row, seen) in enumerate(zip(arrays, self.arrays)):
            for k, a in enumerate(row):
                if a is not seen[k]:
                    seen[k] = a
                    ptrs[r, k] = 0 if a is None else a.ctypes.data
                    if r == 0:
                        self.sizes[k] = a.size
        if firsts is not None:
            self.flags[:] = firsts
        return self


_kernels: dict[tuple, FusedKernel] = {}
_lock = threading.Lock()
_INTRINSICS = "declare float @llvm.sqrt.f32(float)\ndeclare double @llvm.sqrt.f64(double)\n"


def _get(key: tuple, build: Callable[[str], str]) -> FusedKernel:
    k = _kernels.get(key)
    if k is None:
        with _lock:
            k = _kernels.get(key)
            if k is None:
                name = "symgrad_fused_" + "_".join(str(int(v)) if isinstance(v, bool) else str(v) for v in key)
                k = _kernels[key] = FusedKernel(name, build(name))
    return k


def sgd_kernel(dtype: np.dtype, flags: dict[str, bool]) -> FusedKernel:
    """The kernel for SGD with these static flags (maximize, weight_decay, momentum,
    no_dampening, nesterov) and dtype."""
    t = _LLVM_T[np.dtype(dtype)]
    keys = ("maximize", "weight_decay", "momentum", "no_dampening", "nesterov")

    def build(name: str) -> str:
        if flags["momentum"]:
            bodies = [_sgd_body(t, flags, True).function(name + "_first"),
                      _sgd_body(t, flags, False).function(name + "_rest")]
            names = [name + "_first", name + "_rest"]
        else:
            bodies, names = [_sgd_body(t, flags, False).function(name + "_rest")], [name + "_rest"]
        return _INTRINSICS + "".join(bodies) + _outer(name, t, names)
    return _get(("sgd", _SUFFIX[t]) + tuple(flags[k] for k in keys), build)


def adam_kernel(dtype: np.dtype, flags: dict[str, bool]) -> FusedKernel:
    """The kernel for Adam/AdamW with these static flags (maximize, weight_decay, decoupled,
    amsgrad, lerp_small) and dtype."""
    t = _LLVM_T[np.dtype(dtype)]
    keys = ("maximize", "weight_decay", "decoupled", "amsgrad", "lerp_small")

    def build(name: str) -> str:
        return _INTRINSICS + _adam_body(t, flags).function(name + "_body") + _outer(name, t, [name + "_body"])
    return _get(("adam", _SUFFIX[t]) + tuple(flags[k] for k in keys), build)


def fusable(p: Any, *state: Any) -> bool:
    """A parameter the kernels can update: float32/64, C-contiguous writable data, a gradient
    of the same dtype and shape (any layout: see `grad_array`), and C-contiguous state
    tensors of that dtype and shape (None: not created yet)."""
    d = p._data
    if d.dtype not in _LLVM_T:
        return False
    fl = d.flags
    if not (fl.c_contiguous and fl.writeable):
        return False
    g = p._grad._data
    if g.dtype != d.dtype or g.shape != d.shape:
        return False
    for t in state:
        if t is not None:
            a = t._data
            if a.dtype != d.dtype or a.shape != d.shape or not a.flags.c_contiguous:
                return False
    return True


def grad_array(p: Any) -> np.ndarray:
    """`p.grad`'s array in C order (a gradient of `x @ W.T` may arrive transposed)."""
    g = p._grad._data
    return g if g.flags.c_contiguous else np.ascontiguousarray(g)
