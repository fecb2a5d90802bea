"""`symgrad demo`: a short tour of the runtime, the compiler, and compiled training on digits."""
from __future__ import annotations

import math
import sys
import time

import numpy as np


def _rule(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def _progress(i: int, n: int, text: str) -> None:
    # About 30 redraws per bar, so a piped log stays short.
    if i + 1 != n and i % max(1, n // 30):
        return
    width = 30
    done = int(width * (i + 1) / n)
    sys.stdout.write(f"\r  [{'#' * done}{'.' * (width - done)}] {i + 1:>4}/{n}  {text}")
    sys.stdout.flush()
    if i + 1 == n:
        sys.stdout.write("\n")


def runtime_tour(fast: bool) -> None:
    import symgrad as torch
    from symgrad import nn

    _rule("1. Eager autograd, as in PyTorch (import symgrad as torch)")
    a = torch.tensor([2., 3.], requires_grad=True)
    b = torch.tensor([6., 4.], requires_grad=True)
    Q = 3 * a ** 3 - b ** 2
    print("Q =", Q)
    Q.backward(gradient=torch.tensor([1., 1.]))
    print("a.grad =", a.grad, "  (9a^2 =", 9 * a.detach() ** 2, ")")
    print("b.grad =", b.grad, "  (-2b  =", -2 * b.detach(), ")")

    _rule("2. Training an MLP with nn, optim and a DataLoader")
    torch.manual_seed(0)
    n, d = 512, 16
    X = torch.randn(n, d)
    true_w = torch.randn(d, 3)
    y = (X @ true_w).argmax(1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=64, shuffle=True)
    model = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 3))
    print(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    epochs = 3 if fast else 15
    steps = epochs * len(loader)
    t0 = time.perf_counter()
    k = 0
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            _progress(k, steps, f"loss {loss.item():.4f}")
            k += 1
    dt = time.perf_counter() - t0
    with torch.no_grad():
        acc = (model(X).argmax(1) == y).float().mean().item()
    print(f"  accuracy {acc:.3f}, {steps / dt:.0f} steps/s (eager runtime)")


def compiler_tour() -> None:
    try:
        from symgrad import compile_grad
    except Exception as e:  # the compiler is optional at this stage of the tour
        print(f"(compiler unavailable: {e})")
        return

    _rule("3. @compile_grad: source -> SSA -> adjoint -> SymPy -> native code")

    # cache=False: the SymPy view is rendered on request from the IR, which a disk-cache hit
    # does not rebuild, so a cached pendulum would show no SymPy stage.
    @compile_grad(cache=False)
    def pendulum(theta0: float, h: float, k: float) -> float:
        theta, omega = theta0, 0.0
        for _ in range(200):
            omega = omega - h * k * math.sin(theta)
            theta = theta + h * omega
        return theta * theta

    args = (0.7, 0.01, 9.81)
    value, grads = pendulum.value_and_grad(*args)
    print(f"value = {value:.10f}")
    fd = []
    for i in range(3):
        lo, hi = list(args), list(args)
        lo[i] -= 1e-6
        hi[i] += 1e-6
        fd.append((pendulum(*hi) - pendulum(*lo)) / 2e-6)
    print("native gradient     :", np.array2string(np.asarray(grads), precision=8))
    print("finite differences  :", np.array2string(np.asarray(fd), precision=8))
    print("\nThe adjoint as readable Python (inspect('python')):")
    print(pendulum.inspect("python"))
    print("\nSymPy view of the straight-line regions (inspect('sympy')):")
    print(pendulum.inspect("sympy"))


def digits_section(fast: bool) -> None:
    from .demo_digits import digits_tour
    _rule("4. Digits MLP: compiled training step vs the eager runtime")
    digits_tour(fast, _progress)


def run(fast: bool = False) -> int:
    t0 = time.perf_counter()
    runtime_tour(fast)
    compiler_tour()
    digits_section(fast)
    print(f"\ndemo finished in {time.perf_counter() - t0:.1f} s")
    return 0
