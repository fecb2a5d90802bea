"""Functions whose fused kernels tests/compiler/test_fuse.py counts (defined in a file)."""
import numpy as np


def w1(a, b):
    return np.sum(3.0 * a ** 3 - b ** 2)


def w6(X):
    m = np.max(X, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(X - m), axis=1)) + m[:, 0])


def softplus_mean(x, w):
    return np.mean(np.log1p(np.exp(x * w)) + 0.5 * x * x)


def bad_inputs(x, idx):
    s = 0.0
    for i in range(idx.shape[0]):
        s += x[idx[i]]
    return s + np.sum(x * 2.0)


def centered_var(X):
    # keepdims mean subtracted: the adjoint's sum_to over axis 1 is a keepdims sum
    c = X - np.mean(X, axis=1, keepdims=True)
    return np.sum(np.mean(c * c, axis=1))


def scaled_rows(X, s):
    # `s` of shape (n, 1) or (n, m) at runtime: its sum_to cannot be proven an identity
    return np.sum(np.tanh(X * s))
