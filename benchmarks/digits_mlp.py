"""Digits MLP training steps per second: eager symgrad, compiled symgrad, PyTorch eager.

One training step = zero_grad, forward, loss, backward, optimizer step, on an MLP
64-128-64-10 (ReLU, cross-entropy, Adam) at batch 64, float32, the same batches for every
engine. "compiled" is `symgrad.compile_module` (forward + loss + adjoint in one native
function) with `Adam(fused=True)`. Target: compiled symgrad >= PyTorch eager.

Run from the repository root:
    python -m benchmarks.digits_mlp [--steps 300] [--batch 64] [--threads 1] [--json out.json]
The thread variables are set before NumPy/PyTorch load (default 1 thread, as the harness).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.digits_mlp", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300, help="timed steps per engine and repeat")
    p.add_argument("--repeats", type=int, default=3, help="best of this many timed runs")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="BLAS/torch threads (0: library defaults)")
    p.add_argument("--engines", default="symgrad-eager,symgrad-compiled,torch")
    p.add_argument("--backend", default="auto", choices=("auto", "native", "numpy"),
                   help="compile_module back end for symgrad-compiled (default auto)")
    p.add_argument("--json", metavar="PATH")
    return p.parse_args(argv)


def _batches(batch: int, n_batches: int) -> tuple[Any, Any, str]:
    import numpy as np
    try:
        from sklearn.datasets import load_digits
        d = load_digits()
        X, y, where = (d.images.reshape(len(d.images), -1) / 16.0).astype(np.float32), d.target, "digits"
    except ImportError:
        rng = np.random.default_rng(0)
        X, y, where = rng.random((1797, 64), dtype=np.float32), rng.integers(0, 10, 1797), "synthetic"
    rng = np.random.default_rng(1)
    idx = [rng.choice(len(X), batch, replace=False) for _ in range(n_batches)]
    return [X[i] for i in idx], [y[i].astype(np.int64) for i in idx], where


def _init(seed: int = 0) -> list[Any]:
    """nn.Linear's default init for 64-128-64-10: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), weight then bias."""
    import numpy as np
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in ((64, 128), (128, 64), (64, 10)):
        bound = 1 / np.sqrt(fan_in)
        out.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        out.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return out


def _symgrad_step(compiled: bool, backend: str = "auto") -> Callable[[list], Callable]:
    import symgrad as sg
    from symgrad import nn

    def make(params: list) -> Callable:
        model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
        with sg.no_grad():
            for p, v in zip(model.parameters(), params):
                p.copy_(sg.from_numpy(v.copy()))
        loss_fn = nn.CrossEntropyLoss()
        opt = sg.optim.Adam(model.parameters(), lr=1e-3, fused=compiled)
        fwd = sg.compile_module(model, loss_fn, backend=backend) if compiled else (lambda x, y: loss_fn(model(x), y))

        def step(x: Any, y: Any) -> float:
            opt.zero_grad()
            loss = fwd(x, y)
            loss.backward()
            opt.step()
            return loss
        step.convert = lambda x, y: (sg.from_numpy(x), sg.from_numpy(y))  # type: ignore[attr-defined]
        step.fwd = fwd  # type: ignore[attr-defined]
        return step
    return make


def _torch_step(params: list) -> Callable:
    import torch
    from torch import nn
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    with torch.no_grad():
        for p, v in zip(model.parameters(), params):
            p.copy_(torch.from_numpy(v.copy()))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    step.convert = lambda x, y: (torch.from_numpy(x), torch.from_numpy(y))  # type: ignore[attr-defined]
    return step


def run(argv: list[str] | None = None) -> dict[str, Any]:
    a = _args(argv)
    if a.threads > 0:
        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[v] = str(a.threads)
    xs, ys, where = _batches(a.batch, a.steps)
    params = _init()
    makers = {"symgrad-eager": _symgrad_step(False), "symgrad-compiled": _symgrad_step(True, a.backend),
              "torch": _torch_step}
    results: dict[str, Any] = {"batch": a.batch, "steps": a.steps, "data": where, "threads": a.threads,
                               "backend": a.backend, "engines": {}}
    for name in a.engines.split(","):
        if name == "torch":
            try:
                import torch
                if a.threads > 0:
                    torch.set_num_threads(a.threads)
            except ImportError:
                results["engines"][name] = {"skipped": "PyTorch is not installed"}
                continue
        step = makers[name](params)
        batches = [step.convert(x, y) for x, y in zip(xs, ys)]
        t0 = time.perf_counter()
        first = step(*batches[0]).item()  # compiles (symgrad-compiled) and warms caches
        setup = time.perf_counter() - t0
        best = float("inf")
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            for b in batches:
                loss = step(*b)
            best = min(best, time.perf_counter() - t0)
        if name == "symgrad-compiled":
            stats = step.fwd.function.stats["signatures"]  # type: ignore[attr-defined]
            results["compiled_backend"] = next(iter(stats.values()))["backend"]
        results["engines"][name] = {"steps_per_s": a.steps / best, "us_per_step": best / a.steps * 1e6,
                                    "first_step_s": setup, "first_loss": first, "last_loss": loss.item()}
    return results


def report(res: dict[str, Any]) -> str:
    lines = [f"digits MLP 64-128-64-10, Adam, batch {res['batch']}, float32, {res['threads']} thread(s), "
             f"data: {res['data']}, compiled back end: {res.get('compiled_backend', '-')}",
             f"{'engine':<18}{'steps/s':>10}{'us/step':>10}{'first step':>12}"]
    eng = res["engines"]
    for name, r in eng.items():
        if "skipped" in r:
            lines.append(f"{name:<18}  skipped: {r['skipped']}")
        else:
            lines.append(f"{name:<18}{r['steps_per_s']:>10.0f}{r['us_per_step']:>10.1f}{r['first_step_s']:>11.2f}s")
    c, t = eng.get("symgrad-compiled", {}), eng.get("torch", {})
    if "steps_per_s" in c and "steps_per_s" in t:
        ratio = c["steps_per_s"] / t["steps_per_s"]
        lines.append(f"compiled symgrad / PyTorch eager: {ratio:.2f}x "
                     f"(target >= 1: {'met' if ratio >= 1 else 'NOT met'})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    res = run(argv)
    print(report(res))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
