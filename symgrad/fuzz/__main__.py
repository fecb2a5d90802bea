"""`python -m symgrad.fuzz [--n N --seed S --jobs J --out DIR]` (also `symgrad fuzz`);
`python -m symgrad.fuzz recheck DIR/results.jsonl --size S --points P` re-checks failures."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=int, default=1000, help="number of programs")
    p.add_argument("--seed", type=int, default=0, help="first program seed")
    p.add_argument("--jobs", type=int, default=2, help="worker processes")
    p.add_argument("--out", default="fuzz-failures", help="directory for reproducers and the log")
    p.add_argument("--size", type=int, default=3, help="statements per function (about)")
    p.add_argument("--points", type=int, default=4, help="random points per program")
    arr = p.add_mutually_exclusive_group()
    arr.add_argument("--arrays", dest="arrays", action="store_true", default=None,
                     help="generate array programs (default: when the compiler accepts arrays)")
    arr.add_argument("--no-arrays", dest="arrays", action="store_false")


def run(args: argparse.Namespace) -> int:
    from .runner import fuzz
    summary = fuzz(args.n, args.seed, args.jobs, args.out, size=args.size, arrays=args.arrays,
                   n_points=args.points)
    print(json.dumps({k: v for k, v in summary.items() if k != "reproducers"}, indent=2))
    for path in summary["reproducers"]:
        print(f"reproducer: {path}")
    return 1 if summary["failing_programs"] else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        w = argparse.ArgumentParser(prog="symgrad.fuzz worker")
        w.add_argument("--start", type=int, required=True)
        w.add_argument("--stop", type=int, required=True)
        w.add_argument("--size", type=int, default=3)
        w.add_argument("--points", type=int, default=4)
        w.add_argument("--arrays", action="store_true")
        a = w.parse_args(argv[1:])
        from .runner import worker
        return worker(a.start, a.stop, size=a.size, arrays=a.arrays, n_points=a.points)
    if argv[:1] == ["recheck"]:
        r = argparse.ArgumentParser(prog="symgrad.fuzz recheck",
                                    description="re-check a run's failing programs with the current code")
        r.add_argument("log", help="results.jsonl of an earlier run")
        r.add_argument("--size", type=int, default=3)
        r.add_argument("--points", type=int, default=4)
        r.add_argument("--arrays", action="store_true")
        a = r.parse_args(argv[1:])
        from .runner import recheck
        rows = recheck(a.log, size=a.size, arrays=a.arrays, n_points=a.points)
        for row in rows:
            print(json.dumps(row))
        return 1 if any(row["now"] for row in rows) else 0
    p = argparse.ArgumentParser(prog="symgrad fuzz", description="differential fuzzing of the compiler")
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
