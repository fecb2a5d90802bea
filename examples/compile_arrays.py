"""Compile NumPy array code: an MLP loss and a damped-pendulum simulation, with gradients.

Both functions are plain NumPy. `compile_grad` turns each into native value and gradient
code; the script checks every gradient against central finite differences and prints the
adjoint as readable NumPy source (`inspect("python")`).

Run: python examples/compile_arrays.py
"""
from __future__ import annotations

import numpy as np

from symgrad import compile_grad


@compile_grad(wrt=["W1", "b1", "W2", "b2"])
def mlp_loss(X, W1, b1, W2, b2, y):
    """Mean cross-entropy of a one-hidden-layer ReLU network; `y` holds integer labels."""
    h = np.maximum(X @ W1 + b1, 0.0)
    z = h @ W2 + b2
    m = np.max(z, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))
    loss = 0.0
    for i in range(X.shape[0]):
        loss += lse[i] - z[i, y[i]]
    return loss / X.shape[0]


@compile_grad(wrt=["theta0", "omega0", "damping"])
def pendulum_miss(theta0, omega0, damping, target, steps):
    """Squared distance of a damped pendulum's final angle from `target` (explicit Euler)."""
    state = np.array([theta0, omega0])
    dt = 0.01
    for k in range(steps):
        accel = -9.81 * np.sin(state[0]) - damping * state[1]
        state = state + dt * np.array([state[1], accel])
    return (state[0] - target) ** 2 + 0.01 * state[1] ** 2


def finite_difference(fn, args: list, i: int, h: float = 1e-6):
    """Central differences of `fn` w.r.t. argument `i` (a float or a float array)."""
    x = args[i]
    if isinstance(x, float):
        hi, lo = list(args), list(args)
        hi[i], lo[i] = x + h, x - h
        return (fn(*hi) - fn(*lo)) / (2 * h)
    g = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + h
        up = fn(*args)
        x[k] = old - h
        down = fn(*args)
        x[k] = old
        g[k] = (up - down) / (2 * h)
    return g


def report(name: str, cf, args: list, wrt: list[str]) -> None:
    value, grads = cf.value_and_grad(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    names = list(cf.py_func.__code__.co_varnames[:cf.py_func.__code__.co_argcount])
    print(f"{name}: value = {value:.10f} (plain NumPy: {cf.py_func(*args):.10f})")
    for w, g in zip(wrt, grads):
        fd = finite_difference(cf.py_func, args, names.index(w))
        err = float(np.max(np.abs(np.asarray(g) - fd)))
        shape = np.shape(g)
        print(f"  d/d{w:<7} shape {str(shape):<8} |grad - finite diff| = {err:.2e}")
        assert err < 1e-5 * max(1.0, float(np.max(np.abs(fd)))), f"gradient of {w} disagrees"


def main() -> None:
    rng = np.random.default_rng(0)
    n, d, hidden, classes = 32, 5, 16, 4
    X = rng.standard_normal((n, d))
    y = rng.integers(0, classes, n)
    W1 = rng.standard_normal((d, hidden)) * 0.5
    b1 = np.zeros(hidden) + 0.1
    W2 = rng.standard_normal((hidden, classes)) * 0.5
    b2 = np.zeros(classes)
    report("mlp_loss", mlp_loss, [X, W1, b1, W2, b2, y], ["W1", "b1", "W2", "b2"])

    lr = 0.5
    for step in range(20):
        loss, (gW1, gb1, gW2, gb2) = mlp_loss.value_and_grad(X, W1, b1, W2, b2, y)
        W1, b1, W2, b2 = W1 - lr * gW1, b1 - lr * gb1, W2 - lr * gW2, b2 - lr * gb2
        if step % 5 == 0:
            print(f"  gradient descent step {step:2d}: loss {loss:.6f}")

    report("pendulum_miss", pendulum_miss, [1.0, 0.0, 0.3, 0.2, 200],
           ["theta0", "omega0", "damping"])
    print("\n===== mlp_loss: the adjoint as NumPy source (inspect('python')) =====")
    print(mlp_loss.inspect("python"))
    print("\n===== pendulum_miss: the adjoint as NumPy source =====")
    print(pendulum_miss.inspect("python"))
    for cf in (mlp_loss, pendulum_miss):
        for sig, info in cf.stats["signatures"].items():
            how = "loaded from the compile cache" if info["cache_hits"] else \
                f"compiled in {info['seconds'].get('total', 0.0):.2f} s"
            print(f"{cf.__name__}({sig}): {info['backend']} back end, {how}")


if __name__ == "__main__":
    main()
