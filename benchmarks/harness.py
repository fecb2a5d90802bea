"""In-process timing and the correctness gate.

For each workload and engine: prepare (not timed); time the first `step()` call (for the
compilers, that is compile + one run); check the value and every gradient against the
hand-written NumPy reference (a mismatch fails the row and the engine is not timed); warm up;
then at least 7 samples of `forward()` and `step()`, each sample averaging enough calls to
last `min_sample_s`, reported as median and min. Compiling engines are also timed in a new
process whose on-disk cache the first run filled ("cached compile").
"""
from __future__ import annotations

import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .base import Args, Workload
from .engines import Engine, Prepared, Skip

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Timing:
    median_s: float
    min_s: float
    samples: int
    calls_per_sample: int


@dataclass
class Result:
    workload: str
    engine: str
    status: str = "ok"
    """ok | skipped (cannot run: the note says why) | failed (wrong gradient) | error (crashed)."""
    note: str = ""
    forward: Timing | None = None
    value_and_grad: Timing | None = None
    first_call_s: float | None = None
    cached_first_call_s: float | None = None
    max_rel_err: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.forward and self.value_and_grad and self.forward.median_s > 0:
            return self.value_and_grad.median_s / self.forward.median_s
        return None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d


@dataclass
class Options:
    samples: int = 7
    smoke: bool = False
    min_sample_s: float = 0.02
    warmup_s: float = 0.1
    threads: int = 1
    cached_compile: bool = True
    cache_root: str | None = None
    """When set, each workload/engine pair gets its own empty symgrad cache directory below it,
    so that a first call is a real compile even when another workload shares the function."""
    log: Callable[[str], None] = lambda msg: None


def time_calls(fn: Callable[[], Any], samples: int, min_sample_s: float, warmup_s: float) -> Timing:
    """Median and min seconds per call over `samples` samples, after a warm-up."""
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    # Warm-up: caches, allocator pools, lazily built kernels of the later calls.
    end = time.perf_counter() + warmup_s
    while time.perf_counter() < end:
        t = time.perf_counter()
        fn()
        one = min(one, time.perf_counter() - t)
    number = max(1, math.ceil(min_sample_s / max(one, 1e-9)))
    per_call = []
    enabled = gc.isenabled()
    # Freezing what is alive now (modules, inputs) makes the per-sample collections cheap:
    # after importing torch, JAX and SymPy a full collection takes a quarter of a second.
    gc.collect()
    gc.freeze()
    try:
        for _ in range(samples):
            gc.collect()
            gc.disable()  # as timeit does: a collection inside a sample is noise, not the engine
            t = time.perf_counter()
            for _ in range(number):
                fn()
            per_call.append((time.perf_counter() - t) / number)
            if enabled:
                gc.enable()
    finally:
        if enabled:
            gc.enable()
    return Timing(statistics.median(per_call), min(per_call), samples, number)


def compare(got: tuple[float, list[np.ndarray]], ref: tuple[float, list[np.ndarray]], names: tuple[str, ...],
            rtol: float) -> tuple[str | None, float]:
    """None when `got` matches `ref`, else what differs; and the largest relative error.

    Errors are measured against the size of the reference array (max norm), since tiny
    components of a gradient are all rounding noise in a different summation order."""
    value, grads = got
    ref_value, ref_grads = ref
    worst = abs(value - ref_value) / max(abs(ref_value), 1e-300)
    if not math.isfinite(value) or worst > rtol:
        return f"value {value:.17g} != reference {ref_value:.17g}", worst
    if len(grads) != len(ref_grads):
        return f"{len(grads)} gradients, expected {len(ref_grads)}", worst
    for name, g, r in zip(names, grads, ref_grads):
        g = np.asarray(g, dtype=np.float64)
        r = np.asarray(r, dtype=np.float64)
        if g.shape != r.shape:
            return f"d/d{name}: shape {g.shape}, expected {r.shape}", worst
        scale = max(float(np.max(np.abs(r))) if r.size else 0.0, 1e-300)
        err = float(np.max(np.abs(g - r))) / scale if r.size else 0.0
        if not np.all(np.isfinite(g)) or err > rtol:
            return f"d/d{name} max rel. error {err:.2e} > {rtol:.0e}", max(worst, err)
        worst = max(worst, err)
    return None, worst


def reference(wl: Workload, args: Args) -> tuple[float, list[np.ndarray]]:
    """What every engine must reproduce: the hand-written value and gradient, or for an SGD
    workload the loss and the parameters after one step."""
    value, grads = wl.numpy_value_and_grad(**args)
    grads = [np.asarray(g) for g in grads]
    if wl.sgd_lr is None:
        return float(value), grads
    return float(value), [args[k] - wl.sgd_lr * g for k, g in zip(wl.wrt, grads)]


def _compiler_limit(e: BaseException, engine: Engine) -> str | None:
    """The note for an exception that means "the compiler does not take this yet", else None.

    `CompileError` (and `UnsupportedSyntaxError`) name an unsupported construct; `InputError`
    from the compiled function means it refused valid inputs (the harness passes what DESIGN.md
    says `compile_grad` takes), e.g. arrays before the array compiler exists."""
    if engine.name != "symgrad":
        return None
    try:  # imported lazily: the symgrad package may be the thing that is broken
        from symgrad import CompileError, InputError
    except Exception:
        return None
    if isinstance(e, CompileError):
        return f"compiler: {_one_line(e)}"
    if isinstance(e, InputError):
        return f"not supported yet: {_one_line(e)}"
    return None


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:160]


def run_pair(wl: Workload, engine: Engine, args: Args, ref: tuple[float, list[np.ndarray]],
             opts: Options) -> Result:
    """Check, then time, one engine on one workload. Never raises."""
    res = Result(wl.name, engine.name)
    why = engine.missing()
    if why:
        res.status, res.note = "skipped", why
        return res
    try:
        prep = engine.prepare(wl, args, opts.threads)
        t0 = time.perf_counter()
        out = prep.step()
        res.first_call_s = time.perf_counter() - t0
        got = prep.read_step(out)
        problem, res.max_rel_err = compare(got, ref, wl.wrt, wl.rtol)
        if problem is None:
            # After an SGD step the forward pass sees the updated parameters.
            ref_fwd = ref[0] if wl.sgd_lr is None else wl.numpy_value(**{**args, **dict(zip(wl.wrt, got[1]))})
            problem, _ = compare((prep.read_forward(prep.forward()), []), (float(ref_fwd), []), (), wl.rtol)
            problem = problem and f"forward: {problem}"
        if problem:
            res.status, res.note = "failed", f"gradient check failed: {problem}"
            return res
        if not opts.smoke:
            res.forward = time_calls(prep.forward, opts.samples, opts.min_sample_s, opts.warmup_s)
            res.value_and_grad = time_calls(prep.step, opts.samples, opts.min_sample_s, opts.warmup_s)
    except Skip as e:
        res.status, res.note = "skipped", str(e)
    except NotImplementedError as e:
        res.status, res.note = "skipped", f"not implemented: {_one_line(e)}"
    except Exception as e:  # a row of the table, not the end of the run
        limit = _compiler_limit(e, engine)
        res.status, res.note = ("skipped", limit) if limit else ("error", _one_line(e))
        res.extra["traceback"] = traceback.format_exc(limit=8)
    return res


def first_call_in_child(wl: Workload, engine: Engine, opts: Options) -> float | None:
    """The first call's time in a new process (its on-disk compile caches already filled)."""
    cmd = [sys.executable, "-m", "benchmarks", "--first-call-child", f"{wl.name}:{engine.name}",
           "--threads", str(opts.threads)]
    if opts.smoke:
        cmd.append("--smoke")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return None
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line).get("first_call_s")
    return None


def child_first_call(wl: Workload, engine: Engine, opts: Options) -> dict[str, Any]:
    """Body of `--first-call-child`: prepare and time one first call, nothing else."""
    args = wl.make_args(opts.smoke)
    prep: Prepared = engine.prepare(wl, args, opts.threads)
    t0 = time.perf_counter()
    prep.step()
    return {"first_call_s": time.perf_counter() - t0}


def run_all(workloads: list[Workload], engines: list[Engine], opts: Options) -> list[Result]:
    """Every engine on every workload, in order; the log gets one line per finished row."""
    results = []
    for eng in engines:
        if eng.missing() is None:
            try:
                eng.warm_up()
            except Exception as e:  # noqa: BLE001 - the real run reports what is wrong
                opts.log(f"{eng.name}: warm-up failed ({type(e).__name__}: {e})")
    for wl in workloads:
        try:
            args = wl.make_args(opts.smoke)
        except FileNotFoundError as e:
            for eng in engines:
                results.append(Result(wl.name, eng.name, "skipped", str(e)))
                opts.log(f"{wl.name:16s} {eng.name:14s} skipped: {e}")
            continue
        ref = reference(wl, args)
        for eng in engines:
            if opts.cache_root:
                # Inherited by the cached-compile child, which thus finds what this run wrote.
                os.environ["SYMGRAD_CACHE_DIR"] = os.path.join(opts.cache_root, f"{wl.name}.{eng.name}")
            res = run_pair(wl, eng, args, ref, opts)
            if res.status == "ok" and eng.compiles and opts.cached_compile and not opts.smoke:
                res.cached_first_call_s = first_call_in_child(wl, eng, opts)
            results.append(res)
            opts.log(_log_line(res))
    return results


def _log_line(r: Result) -> str:
    from .report import fmt_time
    if r.status != "ok":
        return f"{r.workload:16s} {r.engine:14s} {r.status}: {r.note}"
    if r.value_and_grad is None:
        return f"{r.workload:16s} {r.engine:14s} ok (max rel. err {r.max_rel_err:.1e})"
    return (f"{r.workload:16s} {r.engine:14s} fwd {fmt_time(r.forward.median_s)}  "
            f"v+g {fmt_time(r.value_and_grad.median_s)}  first {fmt_time(r.first_call_s)}")
