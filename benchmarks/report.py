"""What a run records (machine, threads, versions, date, command) and how it is printed:
a Markdown table for the README, a plain text table for the terminal, and JSON."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .base import Workload
from .engines import versions
from .harness import REPO_ROOT, Result

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git() -> str:
    # Read-only queries; a run outside a checkout just records nothing.
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{head}{' (with local changes)' if dirty else ''}" if head else ""


def thread_info(requested: int) -> dict[str, Any]:
    info: dict[str, Any] = {"requested": requested,
                            "env": {v: os.environ.get(v) for v in (*THREAD_VARS, "XLA_FLAGS")}}
    if "torch" in sys.modules:
        info["torch"] = sys.modules["torch"].get_num_threads()
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{"lib": p.get("internal_api"), "threads": p.get("num_threads")} for p in threadpool_info()]
    except ImportError:
        pass
    return info


def machine(requested_threads: int, argv: list[str]) -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "os": platform.platform(),
        "python": platform.python_version(),
        "threads": thread_info(requested_threads),
        "versions": versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": _git(),
        "command": " ".join(["python -m benchmarks", *argv]).strip(),
    }


def fmt_time(s: float | None) -> str:
    if s is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            v = s / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{s * 1e9:.3g} ns"


def _row(r: Result) -> list[str]:
    ok = r.status == "ok"
    note = r.note if ok else f"{r.status}: {r.note}" if r.note else r.status
    return [r.workload, r.engine,
            fmt_time(r.forward.median_s) if r.forward else "—",
            fmt_time(r.value_and_grad.median_s) if r.value_and_grad else "—",
            fmt_time(r.value_and_grad.min_s) if r.value_and_grad else "—",
            f"{r.ratio:.2f}" if r.ratio is not None else "—",
            fmt_time(r.first_call_s) if ok else "—",
            fmt_time(r.cached_first_call_s) if ok and r.cached_first_call_s is not None else "—",
            note.replace("|", "/")]


HEADER = ["workload", "engine", "forward", "value+grad", "v+g min", "ratio", "compile (1st call)",
          "cached compile", "note"]


def markdown(results: list[Result], meta: dict[str, Any], workloads: list[Workload], smoke: bool) -> str:
    th = meta["threads"]
    vers = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v != "not installed")
    lines = [
        "Command: `" + meta["command"] + "`" + (" (smoke: tiny sizes, correctness only)" if smoke else ""),
        "",
        f"- Machine: {meta['cpu']}, {meta['usable_cpus']} usable of {meta['logical_cpus']} logical CPUs; "
        f"{meta['os']}; Python {meta['python']}",
        f"- Threads: {th['requested'] or 'library defaults'}"
        + (f" (torch {th['torch']})" if "torch" in th else ""),
        f"- Versions: {vers}",
        f"- Date: {meta['date']}" + (f"; commit {meta['commit']}" if meta.get("commit") else ""),
        f"- forward and value+grad: median time per call over {meta.get('samples', 7)} samples after a warm-up "
        "(v+g min: the fastest sample); "
        "ratio = value+grad / forward; compile (1st call) = the first value+grad call of this workload, "
        "compile included (each engine's one-time start-up is paid before, on a tiny function); cached compile = the same in a new process with the on-disk cache filled. "
        "A row is timed only after its value and gradient matched the hand-written NumPy gradient.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" if i < 2 or i == len(HEADER) - 1 else "---:" for i in range(len(HEADER))) + "|",
    ]
    lines += ["| " + " | ".join(_row(r)) + " |" for r in results]
    lines += ["", "Workloads:", ""]
    for wl in workloads:
        lines.append(f"- **{wl.name}**: {wl.description}; d/d({', '.join(wl.wrt)})"
                     + (f"; {wl.notes}" if wl.notes else ""))
    return "\n".join(lines) + "\n"


def text_table(results: list[Result]) -> str:
    rows = [HEADER] + [_row(r) for r in results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
    out = []
    for r in rows:
        out.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                   + "  " + r[-1])
    return "\n".join(out) + "\n"


def write_json(path: str, results: list[Result], meta: dict[str, Any], workloads: list[Workload],
               smoke: bool) -> None:
    doc = {"meta": meta, "smoke": smoke,
           "workloads": [{"name": w.name, "description": w.description, "wrt": list(w.wrt), "dtype": w.dtype,
                          "sgd_lr": w.sgd_lr, "notes": w.notes} for w in workloads],
           "results": [r.to_json() for r in results]}
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")
