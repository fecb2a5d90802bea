"""The `symgrad` command: demo, inspect, bench, cache, doctor, fuzz."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _demo(args: argparse.Namespace) -> int:
    from .demo import run
    return run(fast=args.fast)


def _doctor(args: argparse.Namespace) -> int:
    import platform

    import numpy
    import sympy
    print(f"symgrad   {__import__('symgrad').__version__}")
    print(f"python    {platform.python_version()} ({platform.machine()})")
    print(f"numpy     {numpy.__version__}")
    print(f"sympy     {sympy.__version__}")
    try:
        import llvmlite
        import llvmlite.binding as llvm
        llvm.initialize_native_target()
        print(f"llvmlite  {llvmlite.__version__} (LLVM {'.'.join(map(str, llvm.llvm_version_info))}, "
              f"host {llvm.get_host_cpu_name()})")
    except Exception as e:  # doctor reports, it does not fail
        print(f"llvmlite  unavailable: {e}")
    for opt in ("symengine", "torch", "jax", "autograd", "sklearn"):
        try:
            mod = __import__(opt)
            print(f"{opt:<9} {getattr(mod, '__version__', 'installed')}")
        except Exception:
            print(f"{opt:<9} not installed (optional)")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    import importlib.util
    from pathlib import Path
    path, _, func = args.target.rpartition(":")
    if not path or not func:
        print("symgrad inspect: expected FILE:FUNC", file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    if spec is None or spec.loader is None:
        print(f"symgrad inspect: cannot load {path}", file=sys.stderr)
        return 2
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from .api import compile_grad, CompiledFunction
    fn = getattr(mod, func)
    cf = fn if isinstance(fn, CompiledFunction) else compile_grad(fn)
    print(cf.inspect(args.stage, signature=args.sig))
    return 0


def _cache(args: argparse.Namespace) -> int:
    from .backend import cache
    if args.action == "clear":
        n = cache.clear()
        print(f"removed {n} cache entries")
    else:
        for k, v in cache.info().items():
            print(f"{k}: {v}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    import os
    # benchmarks/ is not installed with the package: find it in the working directory.
    if os.path.exists(os.path.join(os.getcwd(), "benchmarks", "__main__.py")) and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        from benchmarks.__main__ import main as bench_main
    except ImportError:
        print("symgrad bench: run it from the repository root (the benchmarks/ folder is not installed)",
              file=sys.stderr)
        return 2
    return bench_main(args.rest)


def _fuzz(args: argparse.Namespace) -> int:
    from .fuzz.__main__ import run
    return run(args)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="symgrad", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="a short tour: the runtime, the compiler, then compiled vs eager training")
    d.add_argument("--fast", action="store_true", help="smaller training run (used by the tests)")
    d.set_defaults(func=_demo)
    sub.add_parser("doctor", help="versions and native back end status").set_defaults(func=_doctor)
    i = sub.add_parser("inspect", help="print a compiler stage of FILE:FUNC")
    i.add_argument("target")
    i.add_argument("--stage", default="ssa")
    i.add_argument("--sig", default=None, help='e.g. "f64[:], f64"')
    i.set_defaults(func=_inspect)
    c = sub.add_parser("cache", help="the on-disk compile cache")
    c.add_argument("action", choices=["info", "clear"])
    c.set_defaults(func=_cache)
    b = sub.add_parser("bench", help="benchmarks (from the repository root)")
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(func=_bench)
    fz = sub.add_parser("fuzz", help="differential fuzzing of the compiler (long runs)")
    from .fuzz.__main__ import add_arguments
    add_arguments(fz)
    fz.set_defaults(func=_fuzz)
    args, extra = p.parse_known_args(argv)
    if extra:
        if args.cmd != "bench":
            p.error(f"unrecognized arguments: {' '.join(extra)}")
        args.rest = [a for a in extra + list(args.rest) if a != "--"]
    return args.func(args)
