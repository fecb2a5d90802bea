"""Python side of the array ABI (`entry.py`): checks, marshalling, result buffers.

The fast path costs a type/dtype/rank test per array and `id()` (native code reads the
ndarray's fields itself, which is 10x cheaper than `__array_interface__` or
`arr.ctypes.data`). Everything native code cannot handle is caught before or by it without
side effects on the arguments:
- wrong argument count, non-arrays, wrong rank, ragged lists: `InputError` naming the
  argument with expected vs actual; other dtypes of the same kind are converted (a copy),
  a float where an int array is expected is refused;
- unaligned arrays or strides that are no multiple of the item size: copied (native code
  reports them with `ERR_LAYOUT`) or refused with `noncontiguous="reject"`, as are
  non-contiguous and negative-stride arrays then (by default native code reads strided
  arrays in place: no copy);
- shapes that do not broadcast (`ERR_SHAPE`, reported at the site: source line and the
  argument shapes), index arrays out of range (`boundscheck=True`), output buffers of the
  wrong shape, dtype, layout, read-only or overlapping an input.
Gradient buffers: a caller's `out=` buffers are written in place; otherwise the buffer
returned by the previous call is reused when the caller no longer holds it (its reference
count says so), so repeated calls do not page-fault fresh memory.
"""
from __future__ import annotations

import ctypes
import struct
import sys
import weakref
from typing import Any, Sequence

import numpy as np

from .. import ir
from ..errors import InputError
from .native import (_CONVERT, ERR_DEST, ERR_INDEX_ARG, ERR_LAYOUT, ERR_SHAPE, ERRORS)

_CT = {"f64": ctypes.c_double, "f32": ctypes.c_float, "i64": ctypes.c_int64, "bool": ctypes.c_bool}
_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]
_KIND_OK = {"f64": "fiub", "f32": "fiub", "i64": "iub", "bool": "b"}


from .numpy_exec import IndexInputError  # noqa: E402  (one class for both back ends)


def _verify_layout() -> bool:
    """NumPy's PyArrayObject field offsets that `entry.py` reads, checked on a real array."""
    from .entry import OFF_DATA, OFF_DIMS, OFF_FLAGS, OFF_STRIDES
    a = np.zeros((3, 5))[:, ::2]
    base = id(a)
    rd = ctypes.c_void_p.from_address
    try:
        data = rd(base + OFF_DATA).value
        dims = (ctypes.c_int64 * 2).from_address(rd(base + OFF_DIMS).value)
        strides = (ctypes.c_int64 * 2).from_address(rd(base + OFF_STRIDES).value)
        flags = ctypes.c_int32.from_address(base + OFF_FLAGS).value
    except (ValueError, TypeError):
        return False
    return (data == a.__array_interface__["data"][0] and tuple(dims) == a.shape
            and tuple(strides) == a.strides and bool(flags & 0x100) and not flags & 1)


LAYOUT_OK = _verify_layout()


def check_abi(abi: dict) -> None:
    n = len(abi.get("args", []))
    if not LAYOUT_OK:
        raise ValueError("this NumPy's ndarray layout is not the one native code reads")
    if len(abi.get("ranks", [])) != n or len(abi.get("result_ranks", [])) != len(abi["results"]) \
            or len(abi.get("result_like", [])) != len(abi["results"]):
        raise ValueError("malformed array ABI")


class ArrayCaller:
    """Calls one array function: `caller(args, out=None, noncontiguous="copy")`."""

    def __init__(self, nf: Any, address: int):
        abi = nf.abi
        check_abi(abi)
        self.name = nf.name
        self.names = abi["arg_names"]
        self.dtypes = abi["args"]
        self.ranks = abi["ranks"]
        self.np = [np.dtype(ir.TO_NUMPY[d]) for d in self.dtypes]
        self.rdtypes, self.rranks = abi["results"], abi["result_ranks"]
        self.like = abi["result_like"]
        self.sites = abi.get("sites", [])
        self.arrays = [i for i, r in enumerate(self.ranks) if r]
        self.conv = [(i, _CONVERT[d]) for i, d in enumerate(self.dtypes)
                     if not self.ranks[i] and d in ("i64", "bool")]
        tys = [ctypes.c_int64 if r else _CT[d] for d, r in zip(self.dtypes, self.ranks)]
        self.cfunc = ctypes.CFUNCTYPE(ctypes.c_int32, *tys, ctypes.c_void_p)(address)
        self.first, k = [], 0
        fmt = "<"
        for d, r in zip(self.rdtypes, self.rranks):
            self.first.append(k)
            k += 1 + r if r else 1
            fmt += "q" * (1 + r) if r else ("d" if d in ("f64", "f32") else "q")
        self.nslots = max(k, 1)
        self.out_type = ctypes.c_int64 * self.nslots
        self.unpack = struct.Struct(fmt + "x" * 8 * (self.nslots - k)).unpack
        self.pool: dict[int, np.ndarray] = {}
        self.outs = [k for k, i in enumerate(self.like) if i is not None]
        self.rnp = [np.dtype(ir.TO_NUMPY[d]) for d in self.rdtypes]
        self.plan = [(k, self.like[k], self.rnp[k], self.first[k]) for k in self.outs]
        self.scalar_only = bool(self.rranks) and not self.rranks[0] \
            and self.outs == list(range(1, len(self.rranks)))

    # ------------------------------------------------------------------ calling
    def call(self, *args: Any, out: Sequence[Any] | None = None,
             noncontiguous: str = "copy") -> tuple:
        return self(args, out, noncontiguous)

    def __call__(self, args: Sequence[Any], out: Sequence[Any] | None = None,
                 noncontiguous: str = "copy") -> tuple:
        if len(args) != len(self.dtypes):
            raise InputError(f"{self.name}() takes {len(self.dtypes)} arguments "
                             f"({len(args)} given)")
        vals = list(args)
        arrs: list = list(args)
        for i in self.arrays:
            a = vals[i]
            if type(a) is not np.ndarray or a.dtype is not self.np[i] or a.ndim != self.ranks[i]:
                a = self._convert(i, a)
            if noncontiguous == "reject" and not a.flags.c_contiguous:
                raise InputError(f"{self.name}(): argument {self.names[i]!r} is not C-contiguous "
                                 f"(strides {a.strides}) and noncontiguous='reject'")
            arrs[i] = a
            vals[i] = id(a)
        for i, conv in self.conv:
            try:
                vals[i] = conv(vals[i])
            except (TypeError, OverflowError, ValueError):
                raise InputError(f"{self.name}(): argument {self.names[i]!r} must be "
                                 f"{self.dtypes[i]}, got {type(vals[i]).__name__}") from None
        slots = self.out_type()
        if out is None:  # the fast path: reuse the previous call's buffers when unused
            dests = {}
            pool = self.pool
            for k, i, dt, pos in self.plan:
                d = pool.pop(k, None)
                shape = arrs[i].shape
                if d is None or sys.getrefcount(d) > 2 or d.shape != shape:
                    d = np.empty(shape, dt)
                dests[k] = d
                slots[pos] = id(d)
        else:
            dests = self._dests(arrs, out)
            for k, d in dests.items():
                slots[self.first[k]] = id(d)
        for _ in range(len(self.arrays) + 1):
            try:
                status = self.cfunc(*vals, slots)
            except ctypes.ArgumentError as e:
                raise InputError(f"{self.name}(): bad arguments: {e}") from None
            if status != ERR_LAYOUT:
                break
            i = slots[0]  # unaligned, or strides that are no multiple of the item size
            if noncontiguous == "reject":
                raise InputError(f"{self.name}(): argument {self.names[i]!r} is unaligned or "
                                 "has odd strides and noncontiguous='reject'")
            arrs[i] = np.array(arrs[i], order="C", copy=True)
            vals[i] = id(arrs[i])
            for k, d in dests.items():
                slots[self.first[k]] = id(d)
        if status:
            raise self._error(status, slots, arrs)
        if self.scalar_only:  # value + gradients: nothing malloc'ed to adopt
            raw = self.unpack(slots)
            res = [raw[0] if self.rdtypes[0] != "bool" else bool(raw[0])]
            for k, i, dt, pos in self.plan:
                d = dests[k]
                if out is None:
                    self.pool[k] = d
                res.append(d)
            return tuple(res)
        return self._results(slots, dests)

    def _convert(self, i: int, a: Any) -> np.ndarray:
        name, want, r = self.names[i], self.np[i], self.ranks[i]
        src = getattr(a, "_data", a)  # symgrad Tensors carry their ndarray
        try:
            arr = np.asarray(src)
        except (ValueError, TypeError) as e:
            raise InputError(f"{self.name}(): argument {name!r} must be a {want} array of rank "
                             f"{r}, got {type(a).__name__} ({e})") from None
        if arr.ndim != r:
            raise InputError(f"{self.name}(): argument {name!r} must have rank {r} "
                             f"(expected {want} array of {r} axes), got shape {arr.shape}")
        if arr.dtype.kind not in _KIND_OK[self.dtypes[i]]:
            raise InputError(f"{self.name}(): argument {name!r} must be a {want} array, got "
                             f"dtype {arr.dtype}")
        if arr.dtype != want or not arr.dtype.isnative:
            arr = arr.astype(want)
        return arr

    def _dests(self, arrs: list, out: Sequence[Any] | None) -> dict[int, np.ndarray]:
        dests = {}
        given = list(out) if out is not None else []
        if out is not None and len(given) != len(self.outs):
            raise InputError(f"{self.name}(): out= needs {len(self.outs)} buffers "
                             f"(one per gradient), got {len(given)}")
        for j, k in enumerate(self.outs):
            like = arrs[self.like[k]]
            dt = np.dtype(ir.TO_NUMPY[self.rdtypes[k]])
            if given:
                d = given[j]
                if not isinstance(d, np.ndarray) or d.shape != like.shape or d.dtype != dt \
                        or not d.flags.c_contiguous or not d.flags.writeable \
                        or not d.flags.aligned or not d.dtype.isnative:
                    raise InputError(
                        f"{self.name}(): out[{j}] must be a writeable C-contiguous {dt} array of "
                        f"shape {like.shape}, got "
                        + (f"{d.dtype} array of shape {d.shape}" if isinstance(d, np.ndarray)
                           else type(d).__name__))
                for i in self.arrays:
                    if np.may_share_memory(d, arrs[i]):
                        raise InputError(f"{self.name}(): out[{j}] overlaps argument "
                                         f"{self.names[i]!r}")
                dests[k] = d
                continue
            d = self.pool.pop(k, None)
            # 2 references (the local name, getrefcount's argument): nobody else holds it.
            if d is None or sys.getrefcount(d) > 2 or d.shape != like.shape:
                d = np.empty(like.shape, dt)
            dests[k] = d
        return dests

    def _results(self, slots: Any, dests: dict) -> tuple:
        raw = self.unpack(slots)
        res, pos = [], 0
        for k, (d, r) in enumerate(zip(self.rdtypes, self.rranks)):
            if not r:
                v = raw[pos]
                res.append(bool(v) if d == "bool" else v)
                pos += 1
                continue
            shape = tuple(raw[pos + 1:pos + 1 + r])
            if k in dests:
                arr = dests[k]
                if k in self.outs:
                    self.pool[k] = arr
            else:
                arr = _adopt(raw[pos], shape, np.dtype(ir.TO_NUMPY[d]))
            res.append(arr)
            pos += 1 + r
        return tuple(res)

    def _error(self, status: int, slots: Any, arrs: list) -> Exception:
        shapes = ", ".join(f"{self.names[i]}: {np.shape(arrs[i])}" for i in self.arrays)
        if status == ERR_SHAPE:
            k = slots[0]
            site = self.sites[k] if 0 <= k < len(self.sites) else {"what": "shape mismatch"}
            return InputError(f"{self.name}(): incompatible shapes: {site['what']} "
                              f"(arguments {shapes})")
        if status == ERR_DEST:
            return InputError(f"{self.name}(): an output buffer has the wrong shape "
                              f"(arguments {shapes})")
        if status == ERR_INDEX_ARG:
            return IndexInputError(f"{self.name}(): index out of range (arguments {shapes})")
        exc, msg = ERRORS.get(status, (RuntimeError, f"native code failed ({status})"))
        return exc(msg)


def _adopt(ptr: int, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An ndarray owning a `malloc`ed block from native code (freed with the array)."""
    n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buf = (ctypes.c_char * max(n, 1)).from_address(ptr)
    weakref.finalize(buf, _libc.free, ptr)
    return np.frombuffer(buf, dtype=dtype, count=int(np.prod(shape, dtype=np.int64))).reshape(shape)


def fast_entry(c: ArrayCaller, value_and_grad: bool = False) -> Any:
    """A Python function specialised to one signature (checks and marshalling unrolled):
    `entry(*args, out=None, noncontiguous="copy")`, falling back to `c(...)` off the
    fast path. It is what keeps a call near the cost of the bare ctypes call.

    `value_and_grad=True`: `entry(*args)` returns `(value, grad)` or `(value, (grads...))`
    in `CompiledFunction.value_and_grad`'s form, or None off the fast path (other types, a
    native error) so that the caller takes the general path, which reports errors."""
    n = len(c.dtypes)
    names = [f"x{i}" for i in range(n)]
    checks = [f"type(x{i}) is ND and x{i}.dtype is DT{i} and x{i}.ndim == {c.ranks[i]}"
              for i in c.arrays]
    ids = [f"id(x{i})" if c.ranks[i] else f"x{i}" for i in range(n)]
    if not c.scalar_only or c.conv:
        return None
    params = ", ".join(names) if value_and_grad else \
        f"_self, {', '.join(names)}{', ' if names else ''}out=None, noncontiguous='copy'"
    guard = ("if " + " and ".join(checks) + ":") if value_and_grad and checks else \
        "if True:" if value_and_grad else \
        "if out is None and noncontiguous == 'copy'" + "".join(f" and {k}" for k in checks) + ":"
    lines = [f"def entry({params}):", f"    {guard}", "        slots = OUT()"]
    for k, i, dt, pos in c.plan:
        lines += [f"        d{k} = pool.pop({k}, None)",
                  f"        if d{k} is None or rc(d{k}) > 2 or d{k}.shape != x{i}.shape:",
                  f"            d{k} = empty(x{i}.shape, RDT{k})",
                  f"        slots[{pos}] = id(d{k})"]
    lines += [f"        st = cfunc({', '.join(ids + ['slots'])})",
              "        if st == 0:"]
    for k, i, dt, pos in c.plan:
        lines.append(f"            pool[{k}] = d{k}")
    first = "bool(unpack(slots)[0])" if c.rdtypes[0] == "bool" else "unpack(slots)[0]"
    grads = [f"d{k}" for k, *_ in c.plan]
    if not value_and_grad:
        lines += [f"            return ({first}, " + "".join(g + ", " for g in grads) + ")",
                  f"    return caller(({', '.join(names)}{',' if names else ''}), out, noncontiguous)"]
    else:
        g = grads[0] if len(grads) == 1 else "(" + "".join(x + ", " for x in grads) + ")"
        lines += [f"            return {first}, {g}", "    return None"]
    env = {"ND": np.ndarray, "OUT": c.out_type, "pool": c.pool, "rc": sys.getrefcount,
           "empty": np.empty, "cfunc": c.cfunc, "unpack": c.unpack, "caller": c}
    env.update({f"DT{i}": c.np[i] for i in c.arrays})
    env.update({f"RDT{k}": dt for k, i, dt, pos in c.plan})
    exec("\n".join(lines), env)  # noqa: S102 - generated from the ABI above, no user text
    return env["entry"]
