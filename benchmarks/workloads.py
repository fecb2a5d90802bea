"""Workloads W1-W3, W5, W6 (issue 7) and the registry of every workload.

Each workload has: the function a user writes for `@compile_grad` (plain Python/NumPy), a
hand-written NumPy gradient (the reference), a PyTorch-style version (PyTorch eager and the
symgrad runtime), and an array version for HIPS autograd and JAX (with a JAX idiom where
JAX users write loops differently). float64, fixed seeds.
"""
from __future__ import annotations

import numpy as np
from .npmath import logsumexp

from .base import Args, Workload, rng

# --------------------------------------------------------------------------- W1


def w1_user(a, b):
    return np.sum(3.0 * a ** 3 - b ** 2)


def _w1_args(smoke: bool) -> Args:
    r = rng(1)
    n = 100 if smoke else 1_000_000
    return {"a": r.standard_normal(n), "b": r.standard_normal(n)}


def _w1_value(a, b):
    # Hand-written: a*a*a, since NumPy's `a ** 3` goes through pow() and is ~10x slower.
    return float(np.sum(3.0 * (a * a * a) - b * b))


def _w1_vg(a, b):
    a2 = a * a
    return float(np.sum(3.0 * (a2 * a) - b * b)), (9.0 * a2, -2.0 * b)


def _w1_torch(T, a, b):
    return T.sum(3.0 * a ** 3 - b ** 2)


def _w1_array(np, special, a, b):
    return np.sum(3.0 * a ** 3 - b ** 2)


W1 = Workload("W1", "sum(3*a**3 - b**2), n=1e6", _w1_args, ("a", "b"), w1_user, _w1_value, _w1_vg,
              torch_fn=_w1_torch, array_fn=_w1_array)

# --------------------------------------------------------------------------- W2


def w2_user(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def _w2_args(smoke: bool) -> Args:
    return {"x": rng(2).uniform(-1.5, 1.5, 10 if smoke else 1000)}


def _w2_value(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def _w2_vg(x):
    r = x[1:] - x[:-1] ** 2
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * r
    return _w2_value(x), (g,)


def _w2_torch(T, x):
    # The loop as written: what a PyTorch user gets when the loop is not vectorised.
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def _w2_array(np, special, x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def _w2_jax(jnp, lax, special, x):
    def body(i, s):
        return s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return lax.fori_loop(0, x.shape[0] - 1, body, jnp.zeros((), x.dtype))


W2 = Workload("W2", "Rosenbrock as a Python for loop, n=1000", _w2_args, ("x",), w2_user, _w2_value,
              _w2_vg, torch_fn=_w2_torch, array_fn=_w2_array, jax_fn=_w2_jax,
              notes="JAX: lax.fori_loop")

# --------------------------------------------------------------------------- W3

_DT = 0.01


def w3_user(x, v, k, c, steps):
    dt = 0.01
    for t in range(steps):
        a = -k * np.sin(x) - c * v
        x = x + dt * v
        v = v + dt * a
    return np.sum(x ** 2 + v ** 2)


def _w3_args(smoke: bool) -> Args:
    r = rng(3)
    m = 4 if smoke else 64
    return {"x": r.uniform(-1.0, 1.0, m), "v": r.uniform(-1.0, 1.0, m), "k": 2.5, "c": 0.3,
            "steps": 10 if smoke else 1000}


def _w3_forward(x, v, k, c, steps):
    xs, vs = [x], [v]
    for _ in range(steps):
        a = -k * np.sin(x) - c * v
        x, v = x + _DT * v, v + _DT * a
        xs.append(x)
        vs.append(v)
    return xs, vs


def _w3_value(x, v, k, c, steps):
    xs, vs = _w3_forward(x, v, k, c, steps)
    return float(np.sum(xs[-1] ** 2 + vs[-1] ** 2))


def _w3_vg(x, v, k, c, steps):
    xs, vs = _w3_forward(x, v, k, c, steps)
    gx, gv = 2.0 * xs[-1], 2.0 * vs[-1]
    gk = gc = 0.0
    for t in range(steps - 1, -1, -1):
        # adjoint of x' = x + dt v, v' = v + dt (-k sin x - c v)
        ga = _DT * gv
        gk -= float(np.dot(ga, np.sin(xs[t])))
        gc -= float(np.dot(ga, vs[t]))
        gx, gv = gx - ga * k * np.cos(xs[t]), gv + _DT * gx - ga * c
    return float(np.sum(xs[-1] ** 2 + vs[-1] ** 2)), (gx, gv, gk, gc)


def _w3_torch(T, x, v, k, c, steps):
    for _ in range(steps):
        a = -k * T.sin(x) - c * v
        x = x + _DT * v
        v = v + _DT * a
    return T.sum(x ** 2 + v ** 2)


def _w3_array(np, special, x, v, k, c, steps):
    for _ in range(steps):
        a = -k * np.sin(x) - c * v
        x = x + _DT * v
        v = v + _DT * a
    return np.sum(x ** 2 + v ** 2)


def _w3_jax(jnp, lax, special, x, v, k, c, steps):
    def body(t, s):
        x, v = s
        return x + _DT * v, v + _DT * (-k * jnp.sin(x) - c * v)
    x, v = lax.fori_loop(0, steps, body, (x, v))
    return jnp.sum(x ** 2 + v ** 2)


W3 = Workload("W3", "damped pendulum, explicit Euler, T=1000, state 64", _w3_args, ("x", "v", "k", "c"),
              w3_user, _w3_value, _w3_vg, torch_fn=_w3_torch, array_fn=_w3_array, jax_fn=_w3_jax,
              notes="JAX: lax.fori_loop")

# --------------------------------------------------------------------------- W5


def w5_user(w, b, x, y):
    return np.mean((np.sum(w * x) + b - y) ** 2)


def _w5_args(smoke: bool) -> Args:
    # The shapes of the linear-regression tutorial it comes from: 3 weights, a bias of shape (1,).
    r = rng(5)
    return {"w": r.standard_normal(3), "b": r.standard_normal(1), "x": np.array([1.0, 2.0, 3.0]),
            "y": np.array([2.0])}


def _w5_value(w, b, x, y):
    return float(np.mean((np.sum(w * x) + b - y) ** 2))


def _w5_vg(w, b, x, y):
    r = np.sum(w * x) + b - y
    g = 2.0 * r / r.size
    return float(np.mean(r * r)), (g * x, g)


def _w5_torch(T, w, b, x, y):
    return T.mean((T.sum(w * x) + b - y) ** 2)


def _w5_array(np, special, w, b, x, y):
    return np.mean((np.sum(w * x) + b - y) ** 2)


W5 = Workload("W5", "linear regression mean((sum(w*x)+b-y)**2), 3 weights", _w5_args, ("w", "b"),
              w5_user, _w5_value, _w5_vg, torch_fn=_w5_torch, array_fn=_w5_array,
              notes="per-call overhead; data x, y not differentiated")

# --------------------------------------------------------------------------- W6


def w6_user(X):
    return np.sum(logsumexp(X, axis=1))


def _w6_args(smoke: bool) -> Args:
    return {"X": rng(6).standard_normal((8, 6) if smoke else (1000, 1000))}


def _w6_value(X):
    m = np.max(X, axis=1, keepdims=True)
    return float(np.sum(np.log(np.sum(np.exp(X - m), axis=1)) + m[:, 0]))


def _w6_vg(X):
    m = np.max(X, axis=1, keepdims=True)
    e = np.exp(X - m)
    s = np.sum(e, axis=1, keepdims=True)
    return float(np.sum(np.log(s) + m)), (e / s,)


def _w6_torch(T, X):
    return T.sum(T.logsumexp(X, dim=1))


def _w6_array(np, special, X):
    return np.sum(special.logsumexp(X, axis=1))


W6 = Workload("W6", "sum(logsumexp(X, axis=1)), X 1000x1000", _w6_args, ("X",), w6_user, _w6_value,
              _w6_vg, torch_fn=_w6_torch, array_fn=_w6_array)

# --------------------------------------------------------------------------- registry


def all_workloads() -> list[Workload]:
    """Every workload, in table order."""
    from .adbench import ADBENCH
    from .mlp import W4
    return [W1, W2, W3, *W4, W5, W6, *ADBENCH]


def select(names: str | None) -> list[Workload]:
    """Workloads named in a comma-separated list; a family name (`W4`, `GMM`) selects all of it."""
    every = all_workloads()
    if not names:
        return every
    out: list[Workload] = []
    for want in (n.strip() for n in names.split(",") if n.strip()):
        hits = [w for w in every if w.name.lower() == want.lower()
                or w.name.lower().startswith(want.lower() + "-")]
        if not hits:
            known = ", ".join(w.name for w in every)
            raise SystemExit(f"unknown workload {want!r}; known: {known}")
        out.extend(h for h in hits if h not in out)
    return out
