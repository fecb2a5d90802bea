"""Issue 3's benchmark: a scalar recurrence of 1000 steps, `x = x - h*sin(x)*p`, with the
gradient w.r.t. x0, h and p.

Reports native value+grad time against native forward time (target ratio <= 3), both
against the plain Python function, and compile time in fresh processes: cold (empty cache,
target <= 150 ms) and cached (target <= 10 ms). Run: `python benchmarks/scalar_recurrence.py`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = (0.7, 0.01, 1.3)
STEPS = 1000


def recurrence(x0, h, p):
    x = x0
    for _ in range(1000):
        x = x - h * math.sin(x) * p
    return x


def best(fn, number: int, repeat: int = 7) -> float:
    """Seconds per call, best of `repeat` runs (the least disturbed one)."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


# Compiler modules a first compile imports (SymPy, llvmlite): timed apart from compiling.
COMPILER_MODULES = ("symgrad.api", "symgrad.pipeline", "symgrad.passes.simplify",
                    "symgrad.backend.llvm", "symgrad.backend.cache")


def child(mode: str, preimport: bool) -> None:
    """Runs in a fresh process: time the first (compiling or cache-loading) calls."""
    import importlib
    t0 = time.perf_counter()
    from symgrad import compile_grad
    t1 = time.perf_counter()
    if preimport:
        for m in COMPILER_MODULES:
            importlib.import_module(m)
    f = compile_grad(recurrence)
    t2 = time.perf_counter()
    vg = f.value_and_grad(*ARGS)
    t3 = time.perf_counter()
    v = f(*ARGS)
    t4 = time.perf_counter()
    stats = getattr(f, "stats", None)
    print(json.dumps({"mode": mode, "import_s": t1 - t0, "compiler_import_s": t2 - t1,
                      "first_value_and_grad_s": t3 - t2, "first_call_s": t4 - t3,
                      "value": v, "vg": [vg[0], list(_grads(vg))],
                      "stats": _jsonable(stats)}))


def _grads(vg):
    g = vg[1]
    return tuple(g) if isinstance(g, (tuple, list)) else (g,)


def _jsonable(x):
    try:
        json.dumps(x)
        return x
    except TypeError:
        return repr(x)


def run_child(mode: str, cache_dir: str, preimport: bool) -> dict:
    env = {**os.environ, "SYMGRAD_CACHE_DIR": cache_dir,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, __file__, "--child", mode] + (["--preimport"] if preimport else [])
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"{mode} child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def finite_difference(k: int, eps: float = 1e-6) -> float:
    hi, lo = list(ARGS), list(ARGS)
    hi[k] += eps
    lo[k] -= eps
    return (recurrence(*hi) - recurrence(*lo)) / (2 * eps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", choices=["cold", "cached"])
    ap.add_argument("--preimport", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--repeat", type=int, default=3, help="fresh-process runs per measure")
    opts = ap.parse_args()
    if opts.child:
        child(opts.child, opts.preimport)
        return

    runs: dict[str, list[dict]] = {}
    for pre in (False, True):
        for _ in range(opts.repeat):
            with tempfile.TemporaryDirectory(prefix="symgrad-bench-cache-") as d:
                runs.setdefault(f"cold{pre:d}", []).append(run_child("cold", d, pre))
                runs.setdefault(f"cached{pre:d}", []).append(run_child("cached", d, pre))

    def fresh(kind: str, pre: bool, field: str = "first_value_and_grad_s") -> float:
        return min(r[field] for r in runs[f"{kind}{pre:d}"])

    sys.path.insert(0, str(ROOT))
    from symgrad import compile_grad
    f = compile_grad(recurrence)
    value, grads = f.value_and_grad(*ARGS)[0], _grads(f.value_and_grad(*ARGS))
    fd = [finite_difference(k) for k in range(3)]
    err = max(abs(g - e) / max(abs(e), 1e-12) for g, e in zip(grads, fd))
    assert abs(value - recurrence(*ARGS)) <= 1e-12 * abs(value), "value differs from Python"
    assert err < 1e-5, f"gradient differs from finite differences: {grads} vs {fd}"

    t_fwd = best(lambda: f(*ARGS), 2000)
    t_vg = best(lambda: f.value_and_grad(*ARGS), 2000)
    t_py = best(lambda: recurrence(*ARGS), 200)
    rows = [
        ("plain Python forward", t_py * 1e6, "us", ""),
        ("native forward", t_fwd * 1e6, "us", f"{t_py / t_fwd:.1f}x faster than Python"),
        ("native value+grad", t_vg * 1e6, "us", f"{t_py / t_vg:.1f}x faster than Python"),
        ("value+grad / forward", t_vg / t_fwd, "", "target <= 3"),
        ("cold compile, first value+grad call", fresh("cold", True) * 1e3, "ms",
         "target <= 150 ms; compiler modules imported"),
        ("  same, counting compiler imports", fresh("cold", False) * 1e3, "ms",
         "SymPy, llvmlite, passes"),
        ("cached load, first value+grad call", fresh("cached", True) * 1e3, "ms",
         "target <= 10 ms; compiler modules imported"),
        ("  same, counting compiler imports", fresh("cached", False) * 1e3, "ms", ""),
        ("import of compiler modules", fresh("cold", True, "compiler_import_s") * 1e3, "ms",
         "once per process"),
        ("import symgrad", fresh("cached", False, "import_s") * 1e3, "ms",
         "not counted above"),
        ("max rel. error of grad vs finite diff.", err, "", ""),
    ]
    print(f"(fresh-process figures: best of {opts.repeat} runs)")
    print(f"scalar recurrence, {STEPS} steps of x = x - h*sin(x)*p, grad w.r.t. (x0, h, p)")
    print(f"{'measure':42s} {'value':>12s}  note")
    print("-" * 80)
    for name, v, unit, note in rows:
        num = f"{v:10.3g} {unit}" if unit else f"{v:12.3g}"
        print(f"{name:42s} {num:>12s}  {note}")
    if opts.json:
        Path(opts.json).write_text(json.dumps({"rows": rows, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
