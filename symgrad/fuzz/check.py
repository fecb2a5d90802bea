"""Differential checks of one program: value and gradient, five ways.

1. native code vs `numpy_exec` interpreting the very same (simplified) IR;
2. simplified vs unsimplified IR (`simplify=False`, run by `numpy_exec`);
3. the compiled value vs the Python function itself;
4. the gradient vs central finite differences of the Python function: a mismatch counts
   only if it persists at two step sizes, and points where those two steps disagree with
   each other (a kink or a branch switch within the step) are skipped;
5. vs real PyTorch running the same source (when torch is importable), at smooth points.

Python raises where IEEE code gives inf/nan (`math.exp(1000)`, `x / 0.0`): such points,
and points whose value is huge or non-finite, are not comparable and are skipped.
"""
from __future__ import annotations

import importlib.util
import itertools
import math
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import torch_leg

_counter = itertools.count()
_TMP: str | None = None
# Python's own failures at a point: not comparable with IEEE results, so the point is skipped.
PY_ERRORS = (OverflowError, ValueError, ZeroDivisionError, RecursionError)


@dataclass
class Failure:
    """One disagreement: its kind (stable, used by the shrinker) and a readable detail."""

    kind: str
    detail: str
    point: list | None = None


@dataclass
class Result:
    """What checking one program found."""

    checked: int = 0            # points where every leg was compared
    skipped: int = 0
    conventions: int = 0        # gradients unlike finite differences but exactly PyTorch's
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0


def _tmpdir() -> str:
    global _TMP
    if _TMP is None:
        _TMP = tempfile.mkdtemp(prefix="symgrad-fuzz-")
    return _TMP


def load_module(source: str, directory: str | None = None) -> Any:
    """Import `source` from a fresh file (the compiler reads functions' source from disk)."""
    d = directory or _tmpdir()
    name = f"symgrad_fuzz_{os.getpid()}_{next(_counter)}"
    path = Path(d) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def points(seed: int, kinds: list[str], n: int) -> list[list]:
    """`n` random argument lists for `kinds` (deterministic in `seed`)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        p: list[Any] = []
        for k in kinds:
            if k == "f":
                p.append(float(np.round(rng.uniform(-2.0, 2.0), 6)))
            elif k == "i":
                p.append(int(rng.integers(-1, 6)))
            else:
                p.append(np.round(rng.uniform(-1.5, 1.5, int(rng.integers(1, 5))), 6))
        out.append(p)
    return out


def _close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    return bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)))


def _flat_wrt(point: list, kinds: list[str]) -> list[tuple[int, int | None]]:
    """(argument, element) pairs of every differentiated scalar."""
    out: list[tuple[int, int | None]] = []
    for i, (v, k) in enumerate(zip(point, kinds)):
        if k == "f":
            out.append((i, None))
        elif k == "a":
            out.extend((i, j) for j in range(len(v)))
    return out


def _shift(point: list, at: tuple[int, int | None], h: float) -> list:
    p = [v.copy() if isinstance(v, np.ndarray) else v for v in point]
    i, j = at
    if j is None:
        p[i] = p[i] + h
    else:
        p[i][j] += h
    return p


def _grad_list(g: Any, point: list, kinds: list[str]) -> list[float]:
    """The compiled gradient flattened in `_flat_wrt` order."""
    gs = list(g) if isinstance(g, tuple) else [g]
    out: list[float] = []
    for gi in gs:
        out.extend(np.asarray(gi, dtype=np.float64).reshape(-1).tolist())
    return out


def _py(fn: Callable, p: list) -> float | None:
    """The Python value at `p`, or None where Python raises or the value is not tame."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                v = float(fn(*p))
    except PY_ERRORS:
        return None
    return v if math.isfinite(v) and abs(v) < 1e8 else None


def _fd(fn: Callable, p: list, at: tuple[int, int | None], h: float) -> float | None:
    hi, lo = _py(fn, _shift(p, at, h)), _py(fn, _shift(p, at, -h))
    return None if hi is None or lo is None else (hi - lo) / (2 * h)


def _call_args(point: list) -> list:
    return [np.array(v) if isinstance(v, np.ndarray) else v for v in point]


def check_function(fn: Callable, kinds: list[str], source: str, *, seed: int = 0, n_points: int = 4,
                   use_torch: bool = True) -> Result:
    """Compile `fn` (defined in a file) both ways and compare every leg at random points."""
    from ..api import compile_grad
    from ..backend import numpy_exec
    t0 = time.perf_counter()
    res = Result()
    fail = res.failures.append
    try:
        cf = compile_grad(fn, cache=False)
        cu = compile_grad(fn, cache=False, backend="numpy", simplify=False)
    except Exception as e:  # noqa: BLE001 - construction errors are failures too
        fail(Failure("compile", f"{type(e).__name__}: {e}"))
        return res
    tfn = None
    if use_torch and torch_leg.HAVE_TORCH and "a" not in kinds:
        try:
            tfn = torch_leg.load(source)
        except Exception:  # noqa: BLE001 - the torch leg is best effort
            tfn = None
    for p in points(seed, kinds, n_points):
        try:
            want = _py(fn, p)
        except Exception as e:  # noqa: BLE001 - e.g. NameError in a shrunk candidate
            fail(Failure("python-error", f"{type(e).__name__}: {e}", p))
            return res
        if want is None:
            res.skipped += 1
            continue
        args = _call_args(p)
        try:
            v_nat, g_nat = cf.value_and_grad(*args)
            f_nat = cf(*args)
            v_un, g_un = cu.value_and_grad(*args)
            f_un = cu(*args)
        except Exception as e:  # noqa: BLE001 - Python computed a value: symgrad must too
            kind = "compile" if type(e).__name__ in ("CompileError", "UnsupportedSyntaxError") \
                else "runtime-error"
            fail(Failure(kind, f"{type(e).__name__}: {e}", p))
            return res
        comp = next(iter(cf._compiled.values()))
        vals = [a for a in args]
        ref = numpy_exec.run(comp.joint_ir, *vals) if comp.joint_ir is not None else None
        fwd = numpy_exec.run(comp.primal_ir, *vals)
        g_nat_l = _grad_list(g_nat, p, kinds)
        # 1. native vs interpreter, same IR: only libm-vs-NumPy rounding may differ.
        if ref is not None and not (_close(ref[0], v_nat, 1e-9, 1e-12) and
                                    _close(_grad_list(tuple(ref[1:]), p, kinds), g_nat_l, 1e-8, 1e-10)):
            if _stable(fn, p, kinds):
                fail(Failure("native-vs-numpy", f"native {v_nat!r} {g_nat_l} vs numpy_exec "
                             f"{ref[0]!r} {list(ref[1:])}", p))
        if not _close(fwd[0], f_nat, 1e-9, 1e-12) and _stable(fn, p, kinds):
            fail(Failure("native-vs-numpy", f"forward native {f_nat!r} vs numpy_exec {fwd[0]!r}", p))
        # 2./3. values: every compiled path against Python.
        scale = 1e-9 * (1.0 + abs(want))
        for what, v in (("joint value", v_nat), ("forward value", f_nat),
                        ("unsimplified joint value", v_un), ("unsimplified forward value", f_un)):
            if not _close(v, want, 1e-7, scale) and _stable(fn, p, kinds):
                fail(Failure("value", f"{what} {v!r} vs Python {want!r}", p))
        g_un_l = _grad_list(g_un, p, kinds)
        tres = _torch_run(tfn, p, kinds) if tfn is not None else None
        # 4. finite differences at two step sizes: `fd[k]` is None where the two steps
        # disagree with each other (a kink or a branch switch within the step).
        fd = [_fd_stable(fn, p, at, want) for at in _flat_wrt(p, kinds)]
        tol = (2e-4, 1e-6 * (1 + abs(want)))
        for k, at in enumerate(_flat_wrt(p, kinds)):
            if fd[k] is None:
                continue
            d1, d2, h = fd[k]
            g = g_nat_l[k] if k < len(g_nat_l) else float("nan")
            if not _close(g, d1, *tol) and not _close(g, d2, *tol):
                # PyTorch computing the very same value (NaN from 0 * inf at a singular
                # point such as hypot(0, 0), say) makes it a shared convention.
                if tres is not None and k < len(tres[1]) and _close(g, tres[1][k], 1e-5, 1e-9):
                    res.conventions += 1
                    continue
                fail(Failure("grad-fd", f"d/d{_argname(at)} = {g!r}, finite differences {d1!r} "
                             f"(h={h:.0e}) and {d2!r} (h={10 * h:.0e})", p))
        # 2b. simplified vs unsimplified gradients. At a singular point one side may be NaN
        # (0 * inf) and the other the right limit: then the differences settle it.
        for k in _mismatches(g_nat_l, g_un_l, 1e-6, 1e-8):
            if _singular(g_nat_l[k], g_un_l[k], fd[k], tol):
                res.conventions += 1
            elif _stable(fn, p, kinds):
                fail(Failure("simplify", f"simplified grad {g_nat_l} vs unsimplified {g_un_l}", p))
                break
        # 5. PyTorch, at points smooth for every argument.
        if tres is not None and all(d is not None for d in fd):
            tv, tg = tres
            if not _close(tv, v_nat, 1e-7, 1e-9 * (1 + abs(want))):
                fail(Failure("torch-value", f"symgrad {v_nat!r} vs torch {tv!r}", p))
            for k in _mismatches(g_nat_l, tg, 1e-5, 1e-7 * (1 + abs(want))):
                if _singular(g_nat_l[k], tg[k], fd[k], tol):
                    res.conventions += 1
                else:
                    fail(Failure("torch-grad", f"symgrad {g_nat_l} vs torch {tg}", p))
                    break
        res.checked += 1
    res.seconds = time.perf_counter() - t0
    return res


def _argname(at: tuple[int, int | None]) -> str:
    return f"arg{at[0]}" if at[1] is None else f"arg{at[0]}[{at[1]}]"


def _stable(fn: Callable, p: list, kinds: list[str]) -> bool:
    """Whether the Python value is continuous around `p` (no jump within a small step).

    Rounding differences between code paths flip comparisons only near a branch switch,
    where the value itself jumps; a mismatch there is not a bug.
    """
    base = _py(fn, p)
    if base is None:
        return False
    for at in _flat_wrt(p, kinds):
        for h in (1e-9, 1e-7):
            hi, lo = _py(fn, _shift(p, at, h)), _py(fn, _shift(p, at, -h))
            if hi is None or lo is None:
                return False
            # A smooth function moves O(h); a jump does not shrink with h.
            if abs(hi - lo) > 1e-3 * (1.0 + abs(base)) or abs(hi - base) > 1e-3 * (1 + abs(base)):
                return False
    return True


def _torch_run(tfn: Callable, p: list, kinds: list[str]) -> tuple[float, list[float]] | None:
    """PyTorch's value and flattened gradient at `p`, or None where torch rejects the program."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tv, tg = torch_leg.value_and_grad(tfn, p, kinds)
    except Exception:  # noqa: BLE001 - torch rejecting a construct is not a symgrad bug
        return None
    return tv, _grad_list(tuple(tg), p, kinds)


def _fd_stable(fn: Callable, p: list, at: tuple[int, int | None], want: float
               ) -> tuple[float, float, float] | None:
    """(d at h, d at 10h, h) when both central differences exist and agree, else None."""
    h = 1e-6 * max(1.0, abs(float(p[at[0]] if at[1] is None else p[at[0]][at[1]])))
    d1, d2 = _fd(fn, p, at, h), _fd(fn, p, at, 10 * h)
    if d1 is None or d2 is None or not _close(d1, d2, 1e-4, 1e-6 * (1 + abs(want))):
        return None
    return d1, d2, h


def _mismatches(a: list[float], b: list[float], rtol: float, atol: float) -> list[int]:
    if len(a) != len(b):
        return [0]
    return [k for k, (x, y) in enumerate(zip(a, b)) if not _close(x, y, rtol, atol)]


def _singular(x: float, y: float, fd: tuple[float, float, float] | None, tol: tuple[float, float]) -> bool:
    """One of two gradients is inf/NaN and the other is what finite differences say."""
    if fd is None or (math.isfinite(x) and math.isfinite(y)):
        return False
    good = x if math.isfinite(x) else y
    return _close(good, fd[0], *tol) or _close(good, fd[1], *tol)


def check_source(source: str, kinds: list[str], *, seed: int = 0, n_points: int = 4,
                 use_torch: bool = True, name: str = "f") -> Result:
    """Load `source` from a temp module and check its function `name`."""
    t0 = time.perf_counter()
    try:
        mod = load_module(source)
        fn = getattr(mod, name)
    except Exception as e:  # noqa: BLE001 - a shrunk candidate may not even load
        return Result(failures=[Failure("load", f"{type(e).__name__}: {e}")])
    try:
        res = check_function(fn, kinds, source, seed=seed, n_points=n_points, use_torch=use_torch)
    finally:
        sys.modules.pop(mod.__name__, None)
        try:
            os.unlink(mod.__file__)
        except OSError:
            pass
    res.seconds = time.perf_counter() - t0
    return res


def _probe_array(x):  # compiled by arrays_supported(); lives in a file for getsource
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * x[i]
    return s


def arrays_supported() -> bool:
    """Whether `compile_grad` accepts array arguments yet (then the fuzzer generates them)."""
    try:
        from ..api import compile_grad
        g = compile_grad(_probe_array, cache=False).grad(np.array([1.0, 2.0]))
        return bool(np.allclose(np.asarray(g, dtype=np.float64), [2.0, 4.0]))
    except Exception:  # noqa: BLE001 - InputError/CompileError: not there yet
        return False
