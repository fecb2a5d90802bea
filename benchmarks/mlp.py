"""W4: MLP 784-128-64-10, ReLU, softmax cross-entropy, float32; batch 64 and 1024, and one full
SGD training step at batch 64. Gradients w.r.t. the six parameters (the data is not
differentiated)."""
from __future__ import annotations

import numpy as np
from .npmath import logsumexp

from .base import Args, Workload, rng

_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")
_LR = 0.1


def mlp_user(W1, b1, W2, b2, W3, b3, X, Y):
    h1 = np.maximum(X @ W1 + b1, 0.0)
    h2 = np.maximum(h1 @ W2 + b2, 0.0)
    z = h2 @ W3 + b3
    return -np.mean(np.sum(Y * (z - logsumexp(z, axis=1, keepdims=True)), axis=1))


def _make_args(batch: int, smoke: bool) -> Args:
    r = rng(4)
    sizes = (20, 16, 8, 5) if smoke else (784, 128, 64, 10)
    batch = 8 if smoke else batch
    f32 = np.float32
    args: Args = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        # He initialisation, as `nn.Linear` users get something of this scale.
        args[f"W{i}"] = (r.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(f32)
        args[f"b{i}"] = (0.01 * r.standard_normal(fan_out)).astype(f32)
    args["X"] = r.standard_normal((batch, sizes[0])).astype(f32)
    labels = r.integers(0, sizes[-1], batch)
    args["labels"] = labels.astype(np.int64)
    args["Y"] = np.eye(sizes[-1], dtype=f32)[labels]
    return args


def _forward(W1, b1, W2, b2, W3, b3, X, Y):
    a1 = X @ W1 + b1
    h1 = np.maximum(a1, 0.0)
    a2 = h1 @ W2 + b2
    h2 = np.maximum(a2, 0.0)
    z = h2 @ W3 + b3
    lse = logsumexp(z, axis=1, keepdims=True)
    loss = -np.mean(np.sum(Y * (z - lse), axis=1))
    return loss, (a1, h1, a2, h2, z, lse)


def _value(W1, b1, W2, b2, W3, b3, X, Y, labels=None):
    return float(_forward(W1, b1, W2, b2, W3, b3, X, Y)[0])


def _value_and_grad(W1, b1, W2, b2, W3, b3, X, Y, labels=None):
    loss, (a1, h1, a2, h2, z, lse) = _forward(W1, b1, W2, b2, W3, b3, X, Y)
    n = X.shape[0]
    # d loss / d z = (softmax(z) * sum(Y) - Y) / n; rows of Y sum to one for one-hot targets.
    gz = (np.exp(z - lse) * np.sum(Y, axis=1, keepdims=True) - Y) / np.float32(n)
    gW3, gb3 = h2.T @ gz, gz.sum(axis=0)
    ga2 = (gz @ W3.T) * (a2 > 0)
    gW2, gb2 = h1.T @ ga2, ga2.sum(axis=0)
    ga1 = (ga2 @ W2.T) * (a1 > 0)
    gW1, gb1 = X.T @ ga1, ga1.sum(axis=0)
    return float(loss), (gW1, gb1, gW2, gb2, gW3, gb3)


def _torch(T, W1, b1, W2, b2, W3, b3, X, Y, labels):
    F = T.nn.functional
    h1 = F.relu(X @ W1 + b1)
    h2 = F.relu(h1 @ W2 + b2)
    return F.cross_entropy(h2 @ W3 + b3, labels)


def _array(np, special, W1, b1, W2, b2, W3, b3, X, Y, labels):
    h1 = np.maximum(X @ W1 + b1, 0.0)
    h2 = np.maximum(h1 @ W2 + b2, 0.0)
    z = h2 @ W3 + b3
    return -np.mean(np.sum(Y * (z - special.logsumexp(z, axis=1, keepdims=True)), axis=1))


def _workload(name: str, batch: int, sgd: bool) -> Workload:
    what = "one SGD step (lr 0.1)" if sgd else "value+grad"
    return Workload(name, f"MLP 784-128-64-10 ReLU+CE, float32, batch {batch}, {what}",
                    lambda smoke: _make_args(batch, smoke), _PARAMS, mlp_user, _value, _value_and_grad,
                    torch_fn=_torch, array_fn=_array, dtype="float32", sgd_lr=_LR if sgd else None,
                    notes="v+g = full SGD step" if sgd else "")


W4 = [_workload("W4-b64", 64, False), _workload("W4-b1024", 1024, False), _workload("W4-sgd", 64, True)]
