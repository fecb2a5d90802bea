"""The digits part of `symgrad demo`: one MLP trained with the compiled training step
(`symgrad.compile_module`) and with the eager runtime, side by side."""
from __future__ import annotations

import sys
import time
from typing import Any, Callable

import numpy as np


def digits_split(n_test: int = 297) -> tuple[Any, Any, Any, Any, str]:
    """(X_train, y_train, X_test, y_test, where): the 8x8 digits flattened to 64 features in
    [0, 1], or, without scikit-learn, a synthetic 10-class set of the same shape."""
    import symgrad as torch
    from symgrad.data.digits import have_digits, load_digits
    if have_digits():
        X, y = load_digits(flatten=True)
        where = "scikit-learn's 8x8 digits (1797 images)"
    else:
        # Same shapes and value range: prototypes plus noise, so accuracy is meaningful.
        g = torch.Generator().manual_seed(7)
        protos = torch.rand(10, 64, generator=g)
        y = torch.randint(0, 10, (1797,), generator=g)
        X = (protos[y] + 0.35 * torch.randn(1797, 64, generator=g)).clamp(0, 1)
        where = ('synthetic digits-shaped data (scikit-learn is not installed: '
                 'pip install "symgrad[data]" for the real digits)')
    return X[:-n_test], y[:-n_test], X[-n_test:], y[-n_test:], where


def make_mlp(seed: int = 0, hidden: int = 64) -> Any:
    import symgrad as torch
    from symgrad import nn
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 10))


def accuracy(model: Any, X: Any, y: Any) -> float:
    import symgrad as torch
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


def train(model: Any, step: Callable[[Any, Any], Any], X: Any, y: Any, epochs: int, batch: int,
          progress: Callable[[int, int, str], None] | None = None, seed: int = 0) -> tuple[list[float], float]:
    """Run `step(xb, yb) -> loss` over shuffled batches; (losses, steps per second after the
    first step, which builds the fused optimizer kernel)."""
    import symgrad as torch
    torch.manual_seed(seed)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=batch, shuffle=True)
    total = epochs * len(loader)
    losses: list[float] = []
    t0 = time.perf_counter()
    k = 0
    for _ in range(epochs):
        for xb, yb in loader:
            losses.append(step(xb, yb).item())
            if k == 0:
                t0 = time.perf_counter()
            if progress is not None:
                progress(k, total, f"loss {losses[-1]:.4f}")
            k += 1
    return losses, (total - 1) / max(time.perf_counter() - t0, 1e-9)


def eager_step(model: Any, opt: Any) -> Callable[[Any, Any], Any]:
    from symgrad import nn
    loss_fn = nn.CrossEntropyLoss()

    def step(xb: Any, yb: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss
    return step


def compiled_step(model: Any, opt: Any) -> Callable[[Any, Any], Any]:
    import symgrad
    from symgrad import nn
    cm = symgrad.compile_module(model, nn.CrossEntropyLoss())

    def step(xb: Any, yb: Any) -> Any:
        opt.zero_grad()
        loss = cm(xb, yb)      # one native call: forward and adjoint of the whole MLP
        loss.backward()        # CompiledFunctionBackward hands the gradients to .grad
        opt.step()
        return loss
    step.compiled = cm  # type: ignore[attr-defined]
    return step


def digits_tour(fast: bool, progress: Callable[[int, int, str], None]) -> None:
    import symgrad as torch
    from symgrad.errors import SymgradError
    Xtr, ytr, Xte, yte, where = digits_split()
    print(f"  data: {where}; {len(Xtr)} train / {len(Xte)} test")
    epochs, batch = (2, 64) if fast else (30, 64)
    results = {}
    for kind in ("compiled", "eager"):
        model = make_mlp(0)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3, fused=kind == "compiled")
        if kind == "compiled":
            try:
                step = compiled_step(model, opt)
                t0 = time.perf_counter()
                with torch.no_grad():  # compiles value and gradient code; changes no weights
                    step.compiled(Xtr[:batch], ytr[:batch])
                backend = next(iter(step.compiled.function.stats["signatures"].values()))["backend"]
                how = "native code" if backend == "native" else \
                    "the NumPy reference back end (backend='auto' keeps array code there for now)"
                print(f"  compiled the MLP + loss in {time.perf_counter() - t0:.2f} s: forward and reverse "
                      f"pass in one function, running on {how}")
            except SymgradError as e:
                print(f"  compiled training step unavailable here: {type(e).__name__}: {str(e).splitlines()[0]}")
                continue
        else:
            step = eager_step(model, opt)
        print(f"  {kind}:")
        losses, sps = train(model, step, Xtr, ytr, epochs, batch, progress)
        results[kind] = (accuracy(model, Xte, yte), sps, losses[-1])
    print()
    for kind, (acc, sps, last) in results.items():
        print(f"  {kind:<9} test accuracy {acc:.3f}   final loss {last:.4f}   {sps:8.0f} steps/s")
    if len(results) == 2:
        ratio = results["compiled"][1] / results["eager"][1]
        print(f"  compiled/eager speed: {ratio:.1f}x (batch {batch}, {epochs} epochs)")
    sys.stdout.flush()
