"""`python -m benchmarks` / `symgrad bench`: run workloads on engines, print the table.

Examples (from the repository root):
    python -m benchmarks --smoke                      # tiny sizes, correctness only, seconds
    python -m benchmarks --markdown                   # the README table (all workloads, all engines)
    python -m benchmarks --workloads W2,W5 --engines symgrad,jax,numpy --json out.json

Thread count: `--threads N` (default 1) sets OMP/OPENBLAS/MKL_NUM_THREADS (and XLA's flags)
before NumPy is imported; when NumPy is already loaded (as under `symgrad bench`), the run
restarts itself in a fresh process with that environment. `--threads 0` keeps library defaults.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

_REPO_ROOT = Path(__file__).resolve().parent.parent
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                "NUMEXPR_NUM_THREADS")
_XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", help="comma-separated: W1,W2,W3,W4 (all of W4-*),W5,W6,GMM,LSTM or exact names")
    p.add_argument("--engines", help="comma-separated: symgrad,symgrad-eager,torch,jax,autograd,numpy")
    p.add_argument("--samples", type=int, default=7, help="timed samples per measurement (default 7)")
    p.add_argument("--min-sample-time", type=float, default=0.02, metavar="S",
                   help="each sample repeats the call until it lasts this long (default 0.02 s)")
    p.add_argument("--threads", type=int, default=1, help="threads for BLAS/OpenMP/torch/XLA (default 1; 0: defaults)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, correctness checks only (fast)")
    p.add_argument("--json", metavar="PATH", help="write every result and the run's metadata as JSON")
    p.add_argument("--markdown", nargs="?", const="-", metavar="PATH",
                   help="print the Markdown table (with machine, versions, date, command), or write it to PATH")
    p.add_argument("--no-cached-compile", action="store_true",
                   help="skip the cached-compile measurement (a new process per compiling engine and workload)")
    p.add_argument("--list", action="store_true", help="list workloads and engines, then exit")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--first-call-child", metavar="WORKLOAD:ENGINE", help=argparse.SUPPRESS)
    return p


def _thread_env(threads: int) -> dict[str, str]:
    env = {v: str(threads) for v in _THREAD_VARS}
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        if _XLA_ONE_THREAD not in flags:
            env["XLA_FLAGS"] = f"{flags} {_XLA_ONE_THREAD}".strip()
    return env


def _respawn(argv: Sequence[str], env_update: dict[str, str]) -> int:
    env = {**os.environ, **env_update}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.call([sys.executable, "-m", "benchmarks", *argv], cwd=_REPO_ROOT, env=env)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # `symgrad bench -- --smoke` passes the separator through
        argv = argv[1:]
    a = _parser().parse_args(argv)
    if a.threads > 0:
        want = _thread_env(a.threads)
        if any(os.environ.get(k) != v for k, v in want.items()):
            if any(m in sys.modules for m in ("numpy", "torch", "jax")):
                # Thread pools are sized when these load: only a fresh process honours the setting.
                return _respawn(argv, want)
            os.environ.update(want)
    if a.first_call_child:
        return _child(a)
    return _run(a, argv)


def _child(a: argparse.Namespace) -> int:
    import json

    from . import engines, harness, workloads
    wname, _, ename = a.first_call_child.partition(":")
    wl = workloads.select(wname)[0]
    eng = engines.select(ename)[0]
    opts = harness.Options(smoke=a.smoke, threads=a.threads)
    print(json.dumps(harness.child_first_call(wl, eng, opts)))
    return 0


def _run(a: argparse.Namespace, argv: list[str]) -> int:
    from . import engines, harness, report, workloads
    wls = workloads.select(a.workloads)
    engs = engines.select(a.engines)
    if a.list:
        for wl in wls:
            print(f"{wl.name:16s} {wl.description}")
        for e in engs:
            print(f"engine {e.name:14s} {e.missing() or 'available'}")
        return 0
    # Fresh compile caches, shared with the cached-compile child processes: the first call in
    # this process is a real compile, the child's first call a real cache hit. (JAX's cache is
    # one directory: its entries are keyed by the compiled program, shapes included.)
    cache_root = tempfile.mkdtemp(prefix="symgrad-bench-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = os.path.join(cache_root, "jax")
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    log = (lambda msg: None) if a.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    opts = harness.Options(samples=max(1, a.samples), smoke=a.smoke, min_sample_s=a.min_sample_time,
                           threads=a.threads, cached_compile=not a.no_cached_compile,
                           cache_root=os.path.join(cache_root, "symgrad"), log=log)
    try:
        results = harness.run_all(wls, engs, opts)
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)
    meta = report.machine(a.threads, argv)
    meta["samples"] = opts.samples
    if a.json:
        report.write_json(a.json, results, meta, wls, a.smoke)
    if a.markdown:
        md = report.markdown(results, meta, wls, a.smoke)
        if a.markdown == "-":
            print(md)
        else:
            Path(a.markdown).write_text(md)
    if a.markdown != "-":
        print(report.text_table(results))
    bad = [r for r in results if r.status in ("failed", "error")]
    for r in bad:
        print(f"{r.status.upper()}: {r.workload} on {r.engine}: {r.note}", file=sys.stderr)
        if "traceback" in r.extra and not a.quiet:
            print(r.extra["traceback"], file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
