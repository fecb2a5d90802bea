"""BLAS for native code: `gemm` and `dot` through NumPy's bundled OpenBLAS or SciPy's BLAS.

Native code calls two symbols with one fixed convention (so cached object code works in
every process, whichever provider this process found):

    void symgrad_gemm_{f64,f32}(i64 m, i64 n, i64 k, ptr A, i64 lda, i64 ta,
                                 ptr B, i64 ldb, i64 tb, ptr C, i64 ldc)   # C = op(A) op(B)
    T    symgrad_dot_{f64,f32}(i64 n, ptr x, i64 incx, ptr y, i64 incy)

row-major, `ta`/`tb` = 1 for a transposed operand. The symbols are thin LLVM adapters,
JIT-ed once per process, over the first provider found:
1. NumPy's bundled OpenBLAS (`scipy_cblas_dgemm64_`, ILP64 CBLAS) loaded with
   `load_library_permanently` (NumPy wheels ship it in `numpy.libs`);
2. SciPy's `cython_blas` capsules (LP64 Fortran `dgemm`; sizes must fit in int32);
3. none: `matmul` is a `CompileError` naming the missing providers (no naive triple
   loop; a blocked fallback is not written yet).
"""
from __future__ import annotations

import ctypes
import glob
import os
import threading
from functools import lru_cache

from llvmlite import ir as L

I64, I32, I8 = L.IntType(64), L.IntType(32), L.IntType(8)
PTR = L.PointerType()
FT = {"f64": L.DoubleType(), "f32": L.FloatType()}
_P = {"f64": "d", "f32": "s"}
_lock = threading.Lock()


def gemm_symbol(dtype: str) -> str:
    return f"symgrad_gemm_{dtype}"


def dot_symbol(dtype: str) -> str:
    return f"symgrad_dot_{dtype}"


def _numpy_openblas() -> dict[str, int] | None:
    import numpy
    import llvmlite.binding as llvm
    libdir = os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libdir, "*openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        names = {f"{p}{k}": f"scipy_cblas_{p}{k}64_" for p in "ds" for k in ("gemm", "dot")}
        if all(hasattr(lib, n) for n in names.values()):
            llvm.load_library_permanently(path)
            return {k: ctypes.cast(getattr(lib, n), ctypes.c_void_p).value
                    for k, n in names.items()}
    return None


def _scipy_blas() -> dict[str, int] | None:
    try:
        from scipy.linalg import cython_blas
    except ImportError:
        return None
    api = ctypes.pythonapi
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    out = {}
    for k in ("dgemm", "sgemm", "ddot", "sdot"):
        cap = cython_blas.__pyx_capi__[k]
        out[k] = api.PyCapsule_GetPointer(cap, api.PyCapsule_GetName(cap))
    return out


@lru_cache(maxsize=None)
def provider() -> str:
    """'numpy-openblas', 'scipy' or 'none'; registers the adapter symbols once."""
    from . import jit
    with _lock:
        for name, find in (("numpy-openblas", _numpy_openblas), ("scipy", _scipy_blas)):
            try:
                ptrs = find()
            except Exception:  # noqa: BLE001 - a broken provider only means the next one
                ptrs = None
            if ptrs:
                _install(name, ptrs, jit.engine())
                return name
        return "none"


def available() -> bool:
    return provider() != "none"


def _install(kind: str, ptrs: dict[str, int], eng) -> None:
    """JIT the adapters over `ptrs` (raw addresses registered as symbols)."""
    import llvmlite.binding as llvm
    mod = L.Module(name="symgrad_blas")
    for k, addr in ptrs.items():
        llvm.add_symbol(f"symgrad_raw_{k}", addr)
    for dt in ("f64", "f32"):
        (_cblas if kind == "numpy-openblas" else _fortran)(mod, dt)
    llmod = eng.parse(str(mod), "symgrad_blas")
    eng.optimize(llmod)
    eng.add_module(llmod, [gemm_symbol("f64"), gemm_symbol("f32"), dot_symbol("f64"),
                           dot_symbol("f32")])


def _adapters(mod: L.Module, dt: str) -> tuple[L.Function, L.Function]:
    t = FT[dt]
    g = L.Function(mod, L.FunctionType(L.VoidType(), [I64, I64, I64, PTR, I64, I64, PTR, I64,
                                                      I64, PTR, I64]), gemm_symbol(dt))
    d = L.Function(mod, L.FunctionType(t, [I64, PTR, I64, PTR, I64]), dot_symbol(dt))
    return g, d


def _cblas(mod: L.Module, dt: str) -> None:
    t, p = FT[dt], _P[dt]
    g, d = _adapters(mod, dt)
    raw_g = L.Function(mod, L.FunctionType(L.VoidType(), [I32, I32, I32, I64, I64, I64, t, PTR,
                                                          I64, PTR, I64, t, PTR, I64]),
                       f"symgrad_raw_{p}gemm")
    b = L.IRBuilder(g.append_basic_block())
    m, n, k, A, lda, ta, B, ldb, tb, C, ldc = g.args
    # CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112
    tra = b.trunc(b.add(ta, L.Constant(I64, 111)), I32)
    trb = b.trunc(b.add(tb, L.Constant(I64, 111)), I32)
    b.call(raw_g, [L.Constant(I32, 101), tra, trb, m, n, k, L.Constant(t, 1.0), A, lda, B, ldb,
                   L.Constant(t, 0.0), C, ldc])
    b.ret_void()
    raw_d = L.Function(mod, L.FunctionType(t, [I64, PTR, I64, PTR, I64]), f"symgrad_raw_{p}dot")
    b = L.IRBuilder(d.append_basic_block())
    b.ret(b.call(raw_d, list(d.args)))


def _fortran(mod: L.Module, dt: str) -> None:
    """Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap operands."""
    t, p = FT[dt], _P[dt]
    g, d = _adapters(mod, dt)
    raw_g = L.Function(mod, L.FunctionType(L.VoidType(), [PTR] * 13), f"symgrad_raw_{p}gemm")
    b = L.IRBuilder(g.append_basic_block())
    m, n, k, A, lda, ta, B, ldb, tb, C, ldc = g.args

    def slot(ty, v):
        s = b.alloca(ty)
        b.store(v, s)
        return s
    chars = [slot(I8, b.select(b.trunc(x, L.IntType(1)), L.Constant(I8, ord("T")),
                               L.Constant(I8, ord("N")))) for x in (tb, ta)]
    ints = [slot(I32, b.trunc(x, I32)) for x in (n, m, k, ldb, lda, ldc)]
    one, zero = slot(t, L.Constant(t, 1.0)), slot(t, L.Constant(t, 0.0))
    b.call(raw_g, [chars[0], chars[1], ints[0], ints[1], ints[2], one, B, ints[3], A, ints[4],
                   zero, C, ints[5]])
    b.ret_void()
    raw_d = L.Function(mod, L.FunctionType(t, [PTR] * 5), f"symgrad_raw_{p}dot")
    b = L.IRBuilder(d.append_basic_block())
    n, x, ix, y, iy = d.args
    ints = [slot(I32, b.trunc(v, I32)) for v in (n, ix, iy)]
    b.ret(b.call(raw_d, [ints[0], x, ints[1], y, ints[2]]))
