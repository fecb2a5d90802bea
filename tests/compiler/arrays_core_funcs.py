"""Array functions for the compiler-core tests (tests/compiler/test_arrays_core.py)."""
import numpy as np


def rnn(W, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + x[t])
    return np.sum(h * h)


def cumprod_loop(x):
    out = np.ones(x.shape[0])
    for i in range(1, x.shape[0]):
        out[i] = out[i - 1] * x[i]
    return np.sum(out)


def while_arr(x):
    h = x
    k = 0
    while k < 3:
        h = np.sin(h) * 1.5
        k += 1
    return np.sum(h)


def if_arr(x, c):
    if c > 0.0:
        y = x * c
    else:
        y = np.exp(x)
    return np.sum(y ** 2)


def reductions(X):
    return (np.sum(np.max(X, axis=1)) + np.sum(np.mean(X, axis=0, keepdims=True) ** 2)
            + np.prod(X[0]) + np.min(X) + X.sum() + X.max(axis=0).sum())


def gather(z, y):
    s = 0.0
    for i in range(y.shape[0]):
        s += z[i, y[i]]
    return s + np.sum(z[y] * 2.0)


def slices(x):
    return np.sum(x[1:-1:2] * x[::2][:2]) + np.sum(x[::-1][:2]) + x[-1] + np.sum(x[None, 1:3])


def dynamic_slice(x, k):
    return np.sum(x[k:k + 2] ** 2) + x[k - 1]


def row_writes(A, v):
    acc = np.zeros((3, A.shape[1]))
    for k in range(A.shape[0]):
        acc[k % 3, :] += A[k] * v
    return np.sum(acc ** 2)


def array_literal(a, b):
    v = np.array([a * b, a + b, np.sin(a)])
    return np.sum(v * v) + v[1]


def shape_ops(X):
    Y = X.T.reshape(-1)
    Z = X.reshape(X.shape[1], X.shape[0])
    return np.sum(Y * Y) + np.sum(Z[0]) + np.sum(np.dot(X, X.T)) + X.T[0, 1] + len(X) * X.ndim


def elementwise_mix(x, w):
    return (np.sum(np.where(x > 0.0, x * w, -x)) + np.sum(np.clip(x, -0.5, 0.5))
            + np.sum(np.abs(x) ** 1.5) + np.sum(np.maximum(x, w)) + np.sum(np.minimum(x, 0.1)))


def logsumexp_rows(X):
    m = np.max(X, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(X - m), axis=1)) + m[:, 0])


def broadcast_pair(a, b):
    return np.sum(a * b + a)


def matvec_forms(A, x):
    return np.sum(A @ x) + x @ x + np.sum(x @ A.T) + np.sum(np.matmul(A.T, A))


def allocations(x):
    a = np.ones_like(x) * 2.0
    b = np.full(x.shape[0], 0.5)
    c = np.zeros((2, x.shape[0]))
    c[1] = x
    return np.sum(a * x + b) + np.sum(c * c)


def mse(X, w, y):
    r = X @ w - y
    return np.mean(r * r)


def softmax_xent(W, X, labels):
    z = X @ W
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    s = 0.0
    for i in range(labels.shape[0]):
        s -= logp[i, labels[i]]
    return s / labels.shape[0]


def f32_loss(x, y):
    return np.sum(x * y + 1.0)


def returns_array(x):
    return x * 2.0


# -------------------------------------------------------------------- refused
def write_argument(x):
    x[0] = 1.0  # ERR
    return np.sum(x)


def augmented_argument(x):
    x += 1.0  # ERR
    return np.sum(x)


def write_view(x):
    y = x * 1.0
    v = y[1:]
    v[0] = 2.0  # ERR
    return np.sum(y)


def write_alias(x):
    a = np.zeros(3)
    b = a
    b[0] = x  # ERR
    return np.sum(a)


def write_alias_loop(x):
    a = np.zeros(3)
    b = a
    for i in range(3):
        b[i] = x  # ERR
    return np.sum(a)


def boolean_mask(x):
    return np.sum(x[x > 0.0])  # ERR


def fancy_write(x, idx):
    out = np.zeros(3)
    out[idx] = 1.0  # ERR
    return np.sum(out * x)


def uses_einsum(x):
    return np.einsum("i,i->", x, x)  # ERR


def array_truth(x):
    if x:  # ERR
        return 1.0
    return 0.0


def ellipsis_index(x):
    return np.sum(x[..., 0])  # ERR


def helper_writes(v):
    v[0] = 0.0  # ERR
    return v


def writes_in_helper(x):
    y = x * 1.0
    return np.sum(helper_writes(y))


def vector_map(x, w):
    return np.sin(x * w) + x * x


def shrinking_carry(x):
    h = x
    for i in range(2):
        h = np.sum(h * h, axis=0, keepdims=True) * h[0]
    return np.sum(h)


def weak_carry(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s * 0.5 + x[i]
    return s
