"""The long fuzz run: worker processes over seed ranges, crash detection, shrinking.

Each worker is a separate process (`python -m symgrad.fuzz worker ...`) that prints one
JSON line before and after every program, so a worker killed by a signal is noticed, the
program it was on is recorded as a `crash`, and a fresh worker resumes after it. Workers
are recycled every `chunk` programs, which also bounds the JIT's memory.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .check import Failure, arrays_supported, check_source
from .generate import generate
from .shrink import Shrinker, save_reproducer


def worker(start: int, stop: int, *, size: int, arrays: bool, n_points: int) -> int:
    """Check programs `start..stop-1`, one JSON line per event on stdout."""
    out = sys.stdout
    for seed in range(start, stop):
        print(json.dumps({"start": seed}), file=out, flush=True)
        prog = generate(seed, arrays=arrays, size=size)
        try:
            res = check_source(prog.source, prog.kinds, seed=seed, n_points=n_points)
            fails = [_jsonable(f) for f in res.failures]
            rec = {"seed": seed, "checked": res.checked, "skipped": res.skipped,
                   "conventions": res.conventions, "failures": fails}
        except Exception as e:  # noqa: BLE001 - the checker itself must not stop the run
            rec = {"seed": seed, "checked": 0, "skipped": 0,
                   "failures": [{"kind": "checker-exception", "detail": f"{type(e).__name__}: {e}",
                                 "point": None}]}
        print(json.dumps(rec), file=out, flush=True)
    return 0


def _jsonable(f: Failure) -> dict[str, Any]:
    d = asdict(f)
    if d["point"] is not None:
        d["point"] = [v.tolist() if hasattr(v, "tolist") else v for v in d["point"]]
    return d


class Run:
    """Parent side: hands out seed chunks to `jobs` worker processes and collects results."""

    def __init__(self, n: int, seed: int, jobs: int, *, size: int, arrays: bool, n_points: int,
                 chunk: int = 250, log: Path | None = None):
        self.todo = [(s, min(s + chunk, seed + n)) for s in range(seed, seed + n, chunk)]
        self.jobs, self.size, self.arrays, self.n_points = jobs, size, arrays, n_points
        self.lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.log = log.open("a") if log else None
        self.t0 = time.monotonic()

    def _next(self) -> tuple[int, int] | None:
        with self.lock:
            return self.todo.pop(0) if self.todo else None

    def _record(self, rec: dict[str, Any]) -> None:
        with self.lock:
            self.records.append(rec)
            if self.log:
                self.log.write(json.dumps(rec) + "\n")
                self.log.flush()
            done = len(self.records)
            if done % 500 == 0:
                bad = sum(1 for r in self.records if r["failures"])
                rate = done / (time.monotonic() - self.t0)
                print(f"[fuzz] {done} programs, {bad} failing, {rate:.1f}/s", flush=True)

    def _thread(self) -> None:
        while (job := self._next()) is not None:
            start, stop = job
            while start < stop:
                start = self._run_worker(start, stop)

    def _run_worker(self, start: int, stop: int) -> int:
        """Run one worker process; returns the seed to resume from (stop when done)."""
        cmd = [sys.executable, "-m", "symgrad.fuzz", "worker", "--start", str(start), "--stop", str(stop),
               "--size", str(self.size), "--points", str(self.n_points)] + (["--arrays"] if self.arrays else [])
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env={**os.environ, "PYTHONFAULTHANDLER": "0"})
        current, resume = None, stop
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # stray output from user-level code: not ours
            if "start" in msg:
                current = msg["start"]
            else:
                self._record(msg)
                current = None
        rc = proc.wait()
        if current is not None:
            # Died inside a program: a crash (signal) or an exit from native code.
            self._record({"seed": current, "checked": 0, "skipped": 0, "failures": [
                {"kind": "crash", "detail": f"worker exited with status {rc}", "point": None}]})
            resume = current + 1
        return resume

    def run(self) -> list[dict[str, Any]]:
        threads = [threading.Thread(target=self._thread) for _ in range(self.jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sorted(self.records, key=lambda r: r["seed"])


def shrink_failure(seed: int, kind: str, *, size: int, arrays: bool, n_points: int,
                   max_seconds: float = 60.0) -> str:
    """The shrunk source of program `seed`, still failing with `kind`."""
    prog = generate(seed, arrays=arrays, size=size)

    def still_fails(src: str) -> bool:
        if kind == "crash":
            return _crashes(src, prog.kinds, seed, n_points)
        res = check_source(src, prog.kinds, seed=seed, n_points=n_points)
        return any(f.kind == kind for f in res.failures)
    return Shrinker(still_fails, max_seconds=max_seconds).shrink(prog.source)


def _crashes(src: str, kinds: list[str], seed: int, n_points: int) -> bool:
    code = ("import sys, json; from symgrad.fuzz.check import check_source; "
            "check_source(sys.stdin.read(), json.loads(sys.argv[1]), seed=int(sys.argv[2]), "
            "n_points=int(sys.argv[3]))")
    try:
        p = subprocess.run([sys.executable, "-c", code, json.dumps(kinds), str(seed), str(n_points)],
                           input=src, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return p.returncode < 0


def fuzz(n: int, seed: int = 0, jobs: int = 2, out: str | Path = "fuzz-failures", *, size: int = 3,
         arrays: bool | None = None, n_points: int = 4, shrink_limit: int = 12) -> dict[str, Any]:
    """Check programs `seed..seed+n-1`; shrink and save failing ones to `out`. Returns a summary."""
    if arrays is None:
        arrays = arrays_supported()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    records = Run(n, seed, jobs, size=size, arrays=arrays, n_points=n_points,
                  log=out / "results.jsonl").run()
    failing = [r for r in records if r["failures"]]
    saved = []
    for r in failing[:shrink_limit]:
        f = r["failures"][0]
        try:
            small = shrink_failure(r["seed"], f["kind"], size=size, arrays=arrays, n_points=n_points)
        except Exception as e:  # noqa: BLE001 - keep the unshrunk program then
            small = generate(r["seed"], arrays=arrays, size=size).source + f"# (shrinking failed: {e})\n"
        kinds = generate(r["seed"], arrays=arrays, size=size).kinds
        header = (f"symgrad fuzz failure: program seed {r['seed']} (size {size}, arrays {arrays})\n"
                  f"kind: {f['kind']}\n{f['detail']}\npoint: {f['point']}\nargument kinds: {kinds}\n"
                  f"rerun: python -m symgrad.fuzz --n 1 --seed {r['seed']} --size {size}")
        saved.append(str(save_reproducer(out, f"seed{r['seed']}_{f['kind']}", small, header)))
    summary = {"programs": len(records), "points_checked": sum(r["checked"] for r in records),
               "points_skipped": sum(r["skipped"] for r in records),
               "torch_conventions": sum(r.get("conventions", 0) for r in records), "failing_programs": len(failing),
               "failure_kinds": _kinds(failing), "arrays": arrays, "size": size, "seed": seed,
               "jobs": jobs, "seconds": round(time.monotonic() - t0, 1), "reproducers": saved}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _kinds(failing: list[dict[str, Any]]) -> dict[str, int]:
    c: dict[str, int] = {}
    for r in failing:
        for k in {f["kind"] for f in r["failures"]}:
            c[k] = c.get(k, 0) + 1
    return c


def recheck(log: str | Path, *, size: int, arrays: bool, n_points: int) -> list[dict[str, Any]]:
    """Check the failing programs of a run's `results.jsonl` again with the code as it is now."""
    out = []
    for line in Path(log).read_text().splitlines():
        r = json.loads(line)
        if not r["failures"]:
            continue
        prog = generate(r["seed"], arrays=arrays, size=size)
        res = check_source(prog.source, prog.kinds, seed=r["seed"], n_points=n_points)
        out.append({"seed": r["seed"], "then": sorted({f["kind"] for f in r["failures"]}),
                    "now": sorted({f.kind for f in res.failures})})
    return out
