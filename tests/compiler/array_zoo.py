"""A zoo of NumPy array functions, written as a NumPy user would, for issue 4's acceptance tests.

Each `@case(make, ...)` registers a function with an input generator `make(rng)` (a
`numpy.random.Generator` seeded from the function's name; float64 arrays, domains valid for
log/sqrt and away from kinks), the differentiated arguments (`wrt`, default: every float
argument) and whether the entry also runs in float32 (`f32`). Every function returns a
scalar. The `refused_*` functions at the end use array features the compiler must reject;
their offending line carries an `# ERR` marker.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class ArrayCase:
    """One zoo entry: the function, its input generator and what is differentiated."""

    fn: Callable
    make: Callable[[np.random.Generator], tuple]
    wrt: tuple[str, ...] | None = None
    f32: bool = False
    torch: bool = True

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def arg_names(self) -> list[str]:
        code = self.fn.__code__
        return list(code.co_varnames[:code.co_argcount])

    def inputs(self, dtype: type = np.float64) -> tuple:
        """Fresh inputs (a fixed seed per entry); float64 arrays cast to `dtype`."""
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        args = self.make(rng)
        return tuple(np.ascontiguousarray(a, dtype=dtype)
                     if isinstance(a, np.ndarray) and a.dtype == np.float64 else a for a in args)

    def wrt_positions(self, args: tuple) -> list[int]:
        """Positions of the differentiated arguments (the API's default: every float one)."""
        if self.wrt is not None:
            return [self.arg_names.index(w) for w in self.wrt]
        return [i for i, a in enumerate(args)
                if isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype.kind == "f")]


ZOO: list[ArrayCase] = []


def case(make: Callable[[np.random.Generator], tuple], *, wrt: tuple[str, ...] | None = None,
         f32: bool = False, torch: bool = True) -> Callable:
    """Register the decorated function in `ZOO`."""
    def deco(fn: Callable) -> Callable:
        ZOO.append(ArrayCase(fn, make, wrt, f32, torch))
        return fn
    return deco


def _n(r: np.random.Generator, *shape: int) -> np.ndarray:
    return r.standard_normal(shape)


def _pos(r: np.random.Generator, *shape: int) -> np.ndarray:
    return r.uniform(0.5, 2.0, shape)


def _away(r: np.random.Generator, *shape: int) -> np.ndarray:
    """Normal values at least 0.1 away from zero (for abs, sign-dependent branches)."""
    x = r.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, x + 0.3 * np.sign(x + 1e-9), x)


EPS = 1e-5
GRAVITY = 9.81


def _pendulum_rhs(s, c):
    return np.array([s[1], -GRAVITY * np.sin(s[0]) - c * s[1]])


def _rhs(y, A):
    return A @ y - 0.1 * y ** 3


# ------------------------------------------------------------------ elementwise math
@case(lambda r: (_n(r, 6), _pos(r, 6)), f32=True)
def ew_exp_log(x, y):
    return np.sum(np.exp(x) * np.log(y))


@case(lambda r: (_n(r, 7),), f32=True)
def ew_trig_tanh(x):
    return np.sum(np.sin(x) * np.cos(2.0 * x) + np.tanh(x))


@case(lambda r: (_away(r, 5), _pos(r, 5)))
def ew_sqrt_abs(x, y):
    return np.sum(np.sqrt(y) * np.abs(x) + np.sqrt(x * x + y))


@case(lambda r: (_n(r, 6), _n(r, 6) + 0.05))
def ew_maximum_minimum(x, y):
    return np.sum(np.maximum(x, y) * 2.0 - np.minimum(x, 0.5 * y) + np.maximum(x, 0.0))


@case(lambda r: (_away(r, 6), _n(r, 6)))
def ew_where(x, y):
    return np.sum(np.where(x > 0.0, x * y, y - x ** 2))


@case(lambda r: (r.uniform(-1.0, 1.0, 8), _n(r, 8)))
def ew_clip(x, y):
    return np.sum(np.clip(x, -0.5, 0.5) * y + np.clip(2.0 * y, -1.0, 1.0))


@case(lambda r: (_n(r, 5), _pos(r, 5)))
def ew_pow(x, y):
    return np.sum(x ** 2 + y ** 1.5 + y ** x - x ** 3 / 4.0)


@case(lambda r: (_n(r, 6), 1.3, 0.7))
def ew_scalar_args(x, a, b):
    return np.sum(a * x + x / (1.0 + b * x * x) - 3.0)


@case(lambda r: (_n(r, 5), _n(r, 5)))
def ew_unary_ops(x, y):
    return np.sum(-x * +y - (-(x - y)) ** 2)


@case(lambda r: (_n(r, 3, 4), _n(r, 4), _n(r, 3, 4)), f32=True)
def bc_row_vector(x, b, w):
    return np.sum(np.tanh(x + b) * w)


@case(lambda r: (_n(r, 3, 4), _n(r, 3, 1)))
def bc_column(x, c):
    return np.sum(np.sin(x * c) + c ** 2)


@case(lambda r: (_n(r, 3, 1), _n(r, 1, 4)))
def bc_outer(a, b):
    return np.sum((a - b) ** 2 * np.exp(-a * b))


@case(lambda r: (_n(r, 2, 3, 4), _n(r, 3, 1), 0.5))
def bc_rank3(x, c, s):
    return np.sum(np.cos(x + c) * s)


@case(lambda r: (_n(r, 8), _n(r, 8)))
def sigmoid_softplus(x, w):
    sig = 1.0 / (1.0 + np.exp(-x))
    soft = np.maximum(x, 0.0) + np.log(1.0 + np.exp(-np.abs(x)))
    return np.sum(sig * w + soft)


@case(lambda r: (_n(r, 6), r.integers(-3, 4, 6), 3))
def int_promotion(x, k, n):
    return np.sum(x * k + x ** 2 * n) + n


@case(lambda r: (_n(r, 2, 3, 4), _n(r, 3)))
def rank3_reductions(x, w):
    return np.sum(np.sum(x, axis=2) * w) + np.sum(np.max(x, axis=0) ** 2)


@case(lambda r: (_n(r, 3, 4), _n(r, 3, 4) > 0.0))
def bool_mask_where(x, mask):
    return np.sum(np.where(mask, x ** 2, 0.5 * x)) + np.sum(x * mask)


@case(lambda r: (_n(r, 5).astype(np.float32), _n(r, 5), _n(r, 2, 5).astype(np.float32)))
def mixed_precision(x32, w64, m32):
    return np.sum(x32 * w64) + np.sum(np.tanh(m32 * x32))


# ------------------------------------------------------------------ reductions
@case(lambda r: (_n(r, 3, 4),))
def red_sum_whole(x):
    return np.sum(x * x) + np.sum(x)


@case(lambda r: (_n(r, 3, 4),))
def red_sum_axis(x):
    return np.sum(np.sum(x, axis=0) ** 2) + np.sum(np.sum(x, axis=1) ** 3)


@case(lambda r: (_pos(r, 3, 4), _n(r, 3, 4)), f32=True)
def red_sum_keepdims(x, w):
    return np.sum(x / np.sum(x, axis=1, keepdims=True) * w)


@case(lambda r: (_n(r, 4, 5),), f32=True)
def red_mean(x):
    return (np.mean(x) + np.sum(np.mean(x, axis=0) ** 2)
            + np.sum(np.mean(x, axis=1, keepdims=True) * x))


@case(lambda r: (_n(r, 4, 5),))
def red_max(x):
    return np.max(x) + np.sum(np.max(x, axis=1)) + np.sum(np.max(x, axis=0, keepdims=True) * x)


@case(lambda r: (_n(r, 4, 5),))
def red_min(x):
    return np.min(x) * 2.0 + np.sum((x - np.min(x, axis=0, keepdims=True)) ** 2) \
        + np.sum(np.min(x, axis=1))


@case(lambda r: (_pos(r, 3, 4),))
def red_prod(x):
    return np.prod(x) + np.sum(np.prod(x, axis=1)) + np.sum(np.prod(x, axis=0, keepdims=True))


@case(lambda r: (_n(r, 3, 4),))
def red_methods(x):
    return x.sum() + (x.mean(axis=0) ** 2).sum() + x.max() - x.min() + (x * x).sum(axis=1).max()


@case(lambda r: (_n(r, 3, 4),))
def red_negative_axis(x):
    return np.sum(np.sum(x, axis=-1) ** 2) + np.sum(np.mean(x ** 2, axis=-2))


# ------------------------------------------------------------------ linear algebra, shapes
@case(lambda r: (_n(r, 5), _n(r, 5)))
def dot_1d(a, b):
    return np.dot(a, b) + a @ a


@case(lambda r: (_n(r, 4, 3), _n(r, 3)), f32=True)
def matvec(W, x):
    return np.sum(np.tanh(W @ x))


@case(lambda r: (_n(r, 3, 4), _n(r, 4, 2)), f32=True)
def matmul_2d(A, B):
    return np.sum((A @ B) ** 2)


@case(lambda r: (_n(r, 3), _n(r, 3, 4), _n(r, 4)))
def np_matmul_vec_mat(x, W, v):
    return np.sum(np.matmul(x, W) * np.matmul(W, v).sum())


@case(lambda r: (_n(r, 3, 4), _n(r, 2, 4)))
def np_dot_2d(A, B):
    return np.sum(np.exp(0.3 * np.dot(A, B.T)))


@case(lambda r: (_n(r, 4, 3), _n(r, 4)))
def transpose(A, x):
    return np.sum((A.T @ x) ** 2) + np.sum(A.T * A.T)


@case(lambda r: (_n(r, 12), _n(r, 4)))
def reshape_matvec(x, w):
    return np.sum(np.sin(x.reshape(3, 4) @ w))


@case(lambda r: (_n(r, 2, 6), _n(r, 12)))
def reshape_flatten(A, v):
    return np.sum(A.reshape(-1) * v) + np.sum(A.reshape(3, 4) ** 2)


@case(lambda r: (_n(r, 5), _n(r, 3)))
def shape_and_len(x, y):
    n = x.shape[0]
    m = len(y)
    return np.sum(x) / n + np.sum(y * y) / m + n * m


@case(lambda r: (_n(r, 3, 4),))
def shape_unpack_loops(A):
    n, m = A.shape
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += A[i, j] * (i + 1) - A[i, j] ** 2 * j
    return s


# ------------------------------------------------------------------ indexing
@case(lambda r: (r.uniform(-1.0, 1.5, 6),))
def index_rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


@case(lambda r: (_n(r, 4, 4),))
def index_2d_elements(A):
    s = 0.0
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            s += A[i, j] * A[j, i] + A[i, -1]
    return s


@case(lambda r: (_n(r, 3, 4), _n(r, 4)))
def index_rows(A, v):
    s = 0.0
    for i in range(A.shape[0]):
        s += np.sum(A[i, :] * v) * np.sum(A[i] ** 2)
    return s + np.sum(A[-1])


@case(lambda r: (_n(r, 9),))
def slice_stencil(x):
    return np.sum((x[1:-1] - 0.5 * (x[:-2] + x[2:])) ** 2) + x[-1] * x[0]


@case(lambda r: (_n(r, 8),))
def slice_strided(x):
    return np.sum(x[::2] * x[1::2]) + np.sum(x[::3] ** 2)


@case(lambda r: (_n(r, 4, 3),))
def slice_columns(A):
    return np.sum(A[:, 0] * A[:, 1]) + np.sum(A[1:3, :] ** 2) + np.sum(A[:, 1:] * 0.5)


@case(lambda r: (_n(r, 6), r.integers(0, 6, 9)))
def gather_int_array(x, idx):
    return np.sum(x[idx] ** 2) + np.sum(np.sin(x[idx]) * x[idx])


@case(lambda r: (_n(r, 5, 3), r.integers(0, 3, 5)))
def gather_labels_loop(z, y):
    s = 0.0
    for i in range(z.shape[0]):
        s += z[i, y[i]] ** 2 - z[i, 0]
    return s


# ------------------------------------------------------------------ local arrays
@case(lambda r: (_n(r, 6), _n(r, 5)))
def alloc_zeros_writes(x, w):
    n = x.shape[0] - 1
    out = np.zeros(n)
    for i in range(n):
        out[i] = x[i] * x[i + 1]
    return np.sum(out * w)


@case(lambda r: (_n(r, 5),))
def alloc_ones_full(x):
    n = x.shape[0]
    a = np.ones(n)
    b = np.full(n, 2.0)
    c = np.ones((2, n))
    return np.sum(x * a + b * x * x) + np.sum(c * x)


@case(lambda r: (_n(r, 5),))
def alloc_empty_filled(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = np.sin(x[i]) + 1.0
    return np.sum(out * out)


@case(lambda r: (_n(r, 4, 3),))
def alloc_zeros_like_accumulate(x):
    acc = np.zeros_like(x)
    for k in range(3):
        acc += x * (k + 1.0) + acc * 0.5
    return np.sum(acc * x)


@case(lambda r: (_n(r, 6, 3), r.integers(0, 2, 6)))
def row_accumulate(X, labels):
    acc = np.zeros((2, X.shape[1]))
    for i in range(X.shape[0]):
        k = labels[i]
        acc[k, :] += X[i, :]
    return np.sum(acc ** 2) + np.sum(acc[0] * acc[1])


@case(lambda r: (_n(r, 4),))
def np_array_of_scalars(x):
    v = np.array([np.sum(x), np.max(x), x[0] * x[1]])
    return np.sum(v * v) + v[1]


@case(lambda r: (_n(r, 5),))
def overwrite_local(x):
    out = np.zeros(x.shape[0])
    for r in range(3):
        for i in range(x.shape[0]):
            out[i] = out[i] * 0.5 + np.sin(x[i] + r)
    return np.sum(out ** 2)


@case(lambda r: (_n(r, 6),))
def cumulative_sum_loop(x):
    out = np.zeros(x.shape[0])
    out[0] = x[0]
    for i in range(1, x.shape[0]):
        out[i] = out[i - 1] + x[i] ** 2
    return np.sum(out * out)


@case(lambda r: (_n(r, 5), _n(r, 4)))
def polynomial_horner(x, c):
    y = np.zeros_like(x)
    for k in range(len(c)):
        y = y * x + c[k]
    return np.sum(y)


@case(lambda r: (_n(r, 4, 4) * 0.5 + 2.0 * np.eye(4), _n(r, 4), 4))
def power_iteration(A, v0, n):
    v = v0
    for k in range(n):
        v = A @ v
        v = v / np.sqrt(np.sum(v * v))
    return v @ (A @ v)


# ------------------------------------------------------------------ control flow on arrays
@case(lambda r: (_n(r, 5) + 0.4,))
def branch_on_reduction(x):
    if np.sum(x) > 0.0:
        return np.sum(x * x)
    else:
        return np.sum(np.exp(x))


@case(lambda r: (_n(r, 4) * 3.0 + 0.5,))
def while_shrink(x):
    k = 0
    while np.sum(x * x) > 1.0 and k < 50:
        x = 0.7 * x + 0.01 * np.sin(x)
        k += 1
    return np.sum(x ** 3) + k


# ------------------------------------------------------------------ models
@case(lambda r: (_n(r, 6), _n(r, 6)), f32=True)
def softmax(z, w):
    e = np.exp(z - np.max(z))
    p = e / np.sum(e)
    return np.sum(p * w)


@case(lambda r: (_n(r, 3, 5), _n(r, 3, 5)))
def softmax_rows(z, w):
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    return np.sum(p * w)


@case(lambda r: (_n(r, 7) * 3.0,), f32=True)
def logsumexp(z):
    m = np.max(z)
    return m + np.log(np.sum(np.exp(z - m)))


@case(lambda r: (_n(r, 4, 5) * 3.0, _n(r, 4)))
def logsumexp_rows(z, w):
    m = np.max(z, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))
    return np.sum(lse * w)


@case(lambda r: (_n(r, 6, 4), _n(r, 4, 5), _n(r, 5), _n(r, 5, 3), _n(r, 3), r.integers(0, 3, 6)),
      wrt=("W1", "b1", "W2", "b2"), f32=True)
def mlp_cross_entropy_labels(X, W1, b1, W2, b2, y):
    h = np.maximum(X @ W1 + b1, 0.0)
    z = h @ W2 + b2
    m = np.max(z, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))
    loss = 0.0
    for i in range(X.shape[0]):
        loss += lse[i] - z[i, y[i]]
    return loss / X.shape[0]


@case(lambda r: (_n(r, 6, 4), _n(r, 4, 5), _n(r, 5), _n(r, 5, 3), _n(r, 3),
                 np.eye(3)[r.integers(0, 3, 6)]), wrt=("X", "W1", "b1", "W2", "b2"))
def mlp_cross_entropy_onehot(X, W1, b1, W2, b2, Y):
    h = np.maximum(np.matmul(X, W1) + b1, 0.0)
    z = np.matmul(h, W2) + b2
    zs = z - np.max(z, axis=1, keepdims=True)
    logp = zs - np.log(np.sum(np.exp(zs), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


@case(lambda r: (_n(r, 8, 3), _n(r, 3), 0.3, _n(r, 8)), wrt=("w", "b"), f32=True)
def linreg_mse(X, w, b, y):
    r = X @ w + b - y
    return np.mean(r ** 2)


@case(lambda r: (_n(r, 8, 3), _n(r, 3), np.sign(_away(r, 8))), wrt=("w",))
def logistic_regression(X, w, y):
    z = X @ w
    return np.mean(np.log(1.0 + np.exp(-y * z))) + 0.01 * np.sum(w * w)


@case(lambda r: (_n(r, 9), _n(r, 3)), f32=True)
def conv1d_loops(x, w):
    n = x.shape[0] - w.shape[0] + 1
    out = np.zeros(n)
    for i in range(n):
        for j in range(w.shape[0]):
            out[i] += x[i + j] * w[j]
    return np.sum(out ** 2)


@case(lambda r: (_n(r, 10), _n(r, 3), 0.2))
def conv1d_slices(x, w, b):
    k = w.shape[0]
    m = x.shape[0] - k + 1
    out = np.zeros(m) + b
    for j in range(k):
        out += w[j] * x[j:j + m]
    return np.sum(np.tanh(out))


@case(lambda r: (_n(r, 4, 4) * 0.5, _n(r, 4, 3) * 0.5, _n(r, 4) * 0.1, _n(r, 5, 3)), f32=True)
def rnn_cell_loop(W, U, b, x):
    h = np.zeros(W.shape[0])
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ x[t] + b)
    return np.sum(h * h)


@case(lambda r: (0.8, 0.3, 0.25, 40))
def euler_pendulum(theta0, omega0, c, steps):
    s = np.array([theta0, omega0])
    dt = 0.05
    for k in range(steps):
        s = s + dt * np.array([s[1], -GRAVITY * np.sin(s[0]) - c * s[1]])
    return s[0] ** 2 + 0.1 * s[1] ** 2


@case(lambda r: (_n(r, 3), _n(r, 3, 3) * 0.3, 25))
def euler_vector(y0, A, steps):
    y = y0
    dt = 0.02
    for k in range(steps):
        y = y + dt * (A @ y - 0.1 * y ** 3)
    return np.sum(y ** 2)


@case(lambda r: (_n(r, 3), _n(r, 3, 3) * 0.3, 10))
def rk4_integrator(y0, A, steps):
    y = y0
    h = 0.05
    for k in range(steps):
        k1 = _rhs(y, A)
        k2 = _rhs(y + 0.5 * h * k1, A)
        k3 = _rhs(y + 0.5 * h * k2, A)
        k4 = _rhs(y + h * k3, A)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return np.sum(y * y)


@case(lambda r: (0.6, -0.2, 0.1, 12))
def rk4_pendulum_helper(theta0, omega0, c, steps):
    s = np.array([theta0, omega0])
    h = 0.1
    for k in range(steps):
        k1 = _pendulum_rhs(s, c)
        k2 = _pendulum_rhs(s + 0.5 * h * k1, c)
        k3 = _pendulum_rhs(s + 0.5 * h * k2, c)
        k4 = _pendulum_rhs(s + h * k3, c)
        s = s + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return s[0]


@case(lambda r: (_n(r, 6, 2), _n(r, 3, 2), _n(r, 3) * 0.3, _n(r, 3, 2) * 0.2))
def gmm_log_likelihood(X, means, alphas, log_sigmas):
    a = alphas - np.max(alphas)
    log_w = a - np.log(np.sum(np.exp(a)))
    total = 0.0
    for i in range(X.shape[0]):
        comp = np.zeros(means.shape[0])
        for k in range(means.shape[0]):
            d = (X[i] - means[k]) * np.exp(-log_sigmas[k])
            comp[k] = log_w[k] - 0.5 * np.sum(d * d) - np.sum(log_sigmas[k])
        m = np.max(comp)
        total += m + np.log(np.sum(np.exp(comp - m)))
    return total - 0.5 * X.shape[0] * X.shape[1] * np.log(2.0 * np.pi)


@case(lambda r: (_n(r, 3, 5), _n(r, 5), _n(r, 5), _n(r, 3, 5)), f32=True)
def layer_norm(x, gamma, beta, w):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + EPS) * gamma + beta
    return np.sum(y * w)


@case(lambda r: (_n(r, 3, 4), _n(r, 5, 4), _n(r, 5, 2), _n(r, 3, 2)))
def attention(Q, K, V, w):
    s = Q @ K.T / np.sqrt(Q.shape[1])
    e = np.exp(s - np.max(s, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    return np.sum((p @ V) * w)


@case(lambda r: (np.arange(4.0)[:, None] * np.array([1.1, 0.0]) + r.uniform(-0.1, 0.1, (4, 2)),))
def pair_potential(pos):
    e = 0.0
    n = pos.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            d = pos[i, :] - pos[j, :]
            r2 = np.sum(d * d)
            e += 1.0 / r2 ** 6 - 2.0 / r2 ** 3
    return e


@case(lambda r: (_n(r, 5, 3), _n(r, 3, 3) * 0.5, _n(r, 3)))
def residual_block(X, W, b):
    h = X
    for layer in range(2):
        h = h + np.maximum(h @ W + b, 0.0)
    return np.mean(h ** 2)


@case(lambda r: (_pos(r, 6), _pos(r, 6)))
def kl_divergence(p, q):
    p = p / np.sum(p)
    q = q / np.sum(q)
    return np.sum(p * (np.log(p) - np.log(q)))


@case(lambda r: (_n(r, 6), _n(r, 6), 1.5))
def huber_loss(pred, target, delta):
    r = np.abs(pred - target)
    return np.mean(np.where(r < delta, 0.5 * r ** 2, delta * (r - 0.5 * delta)))


@case(lambda r: (_n(r, 4, 3), _pos(r, 3)))
def cosine_similarity_rows(A, b):
    num = A @ b
    den = np.sqrt(np.sum(A * A, axis=1)) * np.sqrt(np.sum(b * b))
    return np.sum(num / den)


@case(lambda r: (_n(r, 7), 0.9))
def exponential_moving_average(x, beta):
    m = 0.0
    out = np.zeros(x.shape[0])
    for t in range(x.shape[0]):
        m = beta * m + (1.0 - beta) * x[t]
        out[t] = m / (1.0 - beta ** (t + 1))
    return np.sum(out ** 2)


# ------------------------------------------------------------------ refused features
def refused_fancy_write(x, idx):
    out = np.zeros(x.shape[0])
    out[idx] = x[idx] * 2.0  # ERR
    return np.sum(out)


def refused_fancy_add(x, idx):
    out = np.zeros(x.shape[0])
    out[idx] += x  # ERR
    return np.sum(out)


def refused_bool_mask_read(x):
    return np.sum(x[x > 0.0])  # ERR


def refused_bool_mask_write(x):
    y = x * 2.0
    y[y < 0.0] = 0.0  # ERR
    return np.sum(y)


def refused_einsum(a, b):
    return np.einsum("i,i->", a, b)  # ERR


def refused_write_argument(x):
    x[0] = 1.0  # ERR
    return np.sum(x)


def refused_augmented_write_argument(x):
    x += 1.0  # ERR
    return np.sum(x)


def refused_write_through_view(x):
    v = x[1:]
    v[0] = 2.0  # ERR
    return np.sum(x)


REFUSED = [
    (refused_fancy_write, lambda: (np.ones(4), np.array([0, 0, 1]))),
    (refused_fancy_add, lambda: (np.ones(3), np.array([0, 0, 1]))),
    (refused_bool_mask_read, lambda: (np.ones(4),)),
    (refused_bool_mask_write, lambda: (np.ones(4),)),
    (refused_einsum, lambda: (np.ones(3), np.ones(3))),
    (refused_write_argument, lambda: (np.ones(3),)),
    (refused_augmented_write_argument, lambda: (np.ones(3),)),
    (refused_write_through_view, lambda: (np.ones(3),)),
]
