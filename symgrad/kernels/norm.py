"""Batch-normalisation kernels over the channel axis 1 of (N, C, *) arrays.

`batch_norm` follows ATen's `native_batch_norm`: in training it normalises with the batch
statistics and updates the running buffers it is given in place (momentum, unbiased
variance); in evaluation it normalises with the running statistics. The backward kernels
recompute the per-channel statistics from the saved input (two reductions) rather than
keeping them in the graph. Reductions run along the contiguous spatial axis first, where
NumPy sums pairwise (accurate in float32).
"""
from __future__ import annotations

import numpy as np


def _by_channel(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], x.shape[1], -1)


def _channel_sum(a3: np.ndarray) -> np.ndarray:
    return a3.sum(axis=2).sum(axis=0)


def _col(v: np.ndarray) -> np.ndarray:
    return v.reshape(1, -1, 1)


def batch_stats(x3: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel mean, biased variance and the centred input, of (N, C, L) `x3`."""
    m = x3.shape[0] * x3.shape[2]
    mean = _channel_sum(x3) / m
    xc = x3 - _col(mean)
    var = _channel_sum(xc * xc) / m
    return mean, var, xc


def _stats(x3: np.ndarray, running_mean, running_var, training: bool, eps: float):
    """(mean, invstd, x - mean) of the normalisation: batch statistics in training, the
    running ones else."""
    if training:
        mean, var, xc = batch_stats(x3)
    else:
        mean, var = running_mean, running_var
        xc = x3 - _col(mean)
    return mean, 1.0 / np.sqrt(var + eps), xc


def batch_norm(x: np.ndarray, weight, bias, running_mean, running_var, training: bool, momentum: float,
               eps: float) -> np.ndarray:
    """(x - mean) / sqrt(var + eps) * weight + bias, per channel."""
    x3 = _by_channel(x)
    if training:
        mean, var, xc = batch_stats(x3)
        if running_mean is not None:
            m = x3.shape[0] * x3.shape[2]
            running_mean *= 1.0 - momentum
            running_mean += momentum * mean
            running_var *= 1.0 - momentum
            running_var += momentum * var * (m / max(m - 1, 1))
    else:
        mean, var = running_mean, running_var
        xc = x3 - _col(mean)
    scale = 1.0 / np.sqrt(var + eps)
    if weight is not None:
        scale = scale * weight
    y = np.multiply(xc, _col(scale).astype(x.dtype, copy=False), out=xc)
    if bias is not None:
        y += _col(bias)
    return y.reshape(x.shape)


def batch_norm_input_grad(g: np.ndarray, x: np.ndarray, weight, running_mean, running_var, training: bool,
                          eps: float) -> np.ndarray:
    """dL/dx; in training the batch statistics depend on x too."""
    x3, g3 = _by_channel(x), _by_channel(g)
    if not training:
        a = 1.0 / np.sqrt(running_var + eps)
        return (g3 * _col(a if weight is None else a * weight)).reshape(x.shape)
    _, invstd, xc = _stats(x3, running_mean, running_var, training, eps)
    a = invstd if weight is None else invstd * weight
    m = x3.shape[0] * x3.shape[2]
    gsum = _channel_sum(g3)
    k = a * invstd * invstd * _channel_sum(g3 * xc) / m
    dx = g3 * _col(a)
    xc *= _col(k)
    dx -= xc
    dx -= _col(a * gsum / m)
    return dx.reshape(x.shape)


def batch_norm_weight_grad(g: np.ndarray, x: np.ndarray, running_mean, running_var, training: bool,
                           eps: float) -> np.ndarray:
    """dL/dweight = per-channel sum of g * normalised x."""
    _, invstd, xc = _stats(_by_channel(x), running_mean, running_var, training, eps)
    return (_channel_sum(_by_channel(g) * xc) * invstd).astype(g.dtype, copy=False)
