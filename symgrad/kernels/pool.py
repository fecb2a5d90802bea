"""2-D pooling kernels: max pooling with PyTorch's window rules, adaptive average pooling.

Max pooling loops over the kh*kw kernel offsets, each a vectorised operation over the whole
(N, C, Ho, Wo) output, never over pixels. The backward pass recomputes which offset won
each window (the first maximum, or the last NaN, as PyTorch's CPU kernel picks) instead of
keeping an index tensor alive in the graph.
"""
from __future__ import annotations

import numpy as np

Pair = tuple[int, int]


def pool_out_size(n: int, k: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> int:
    """Output length along one axis; with `ceil_mode` the last window must start inside
    the input or its left padding (PyTorch's `pooling_output_shape`)."""
    num = n + 2 * padding - dilation * (k - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = num // stride + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1
    return out


def _offset_slices(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                   ceil_mode: bool, fill: float):
    """The input padded with `fill` (far enough for ceil-mode windows), the output size, and
    per kernel offset the slice of the padded input that offset reads for every window."""
    h, w = x.shape[-2:]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    ho = pool_out_size(h, kh, sh, ph, dh, ceil_mode)
    wo = pool_out_size(w, kw, sw, pw, dw, ceil_mode)
    hp = max(h + 2 * ph, (ho - 1) * sh + dh * (kh - 1) + 1)
    wp = max(w + 2 * pw, (wo - 1) * sw + dw * (kw - 1) + 1)
    if (hp, wp) != (h, w):
        xp = np.full(x.shape[:-2] + (hp, wp), fill, dtype=x.dtype)
        xp[..., ph:ph + h, pw:pw + w] = x
    else:
        xp = x
    slices = [(..., slice(i * dh, i * dh + sh * (ho - 1) + 1, sh), slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))
              for i in range(kh) for j in range(kw)]
    return xp, (ho, wo), slices


def max_pool2d(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
               ceil_mode: bool) -> np.ndarray:
    """Maximum over each window of the last two axes (padding never wins)."""
    xp, _, slices = _offset_slices(x, kernel_size, stride, padding, dilation, ceil_mode, -np.inf)
    out = np.array(xp[slices[0]], copy=True)
    for sl in slices[1:]:
        np.maximum(out, xp[sl], out=out)  # propagates NaN, like PyTorch
    return out


def _argmax_offsets(xp: np.ndarray, slices: list) -> np.ndarray:
    """Index of the kernel offset holding each window's maximum."""
    best = np.array(xp[slices[0]], copy=True)
    arg = np.zeros(best.shape, dtype=np.uint8 if len(slices) < 256 else np.int32)
    nan = bool(np.isnan(xp).any()) if xp.dtype.kind == "f" else False
    for k, sl in enumerate(slices[1:], 1):
        v = xp[sl]
        better = v > best
        if nan:
            better |= np.isnan(v)
        # Arithmetic selects: masked copies (copyto/where) are several times slower here.
        np.maximum(best, v, out=best)
        arg += better * (arg.dtype.type(k) - arg)
    return arg


def max_pool2d_backward(g: np.ndarray, x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair,
                        dilation: Pair, ceil_mode: bool) -> np.ndarray:
    """Route each output's cotangent to the input pixel that won its window."""
    xp, _, slices = _offset_slices(x, kernel_size, stride, padding, dilation, ceil_mode, -np.inf)
    arg = _argmax_offsets(xp, slices)
    dxp = np.zeros(xp.shape, dtype=np.result_type(g))
    for k, sl in enumerate(slices):
        # Windows overlap across offsets, never within one: slice addition accumulates.
        dxp[sl] += g * (arg == k)
    h, w = x.shape[-2:]
    ph, pw = padding
    return np.ascontiguousarray(dxp[..., ph:ph + h, pw:pw + w])


def max_pool2d_gather(h: np.ndarray, x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair,
                      dilation: Pair, ceil_mode: bool) -> np.ndarray:
    """Each window's value of `h` (shaped like `x`) where `x` holds the window's maximum:
    the adjoint of `max_pool2d_backward` in its cotangent."""
    xp, _, slices = _offset_slices(x, kernel_size, stride, padding, dilation, ceil_mode, -np.inf)
    arg = _argmax_offsets(xp, slices)
    hp = np.zeros(xp.shape, dtype=h.dtype)
    h_, w_ = x.shape[-2:]
    hp[..., padding[0]:padding[0] + h_, padding[1]:padding[1] + w_] = h
    out = np.zeros(arg.shape, dtype=h.dtype)
    for k, sl in enumerate(slices):
        np.copyto(out, hp[sl], where=arg == k)
    return out


def max_pool2d_indices(x: np.ndarray, kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair,
                       ceil_mode: bool) -> np.ndarray:
    """Flat index (row * W + col) into each input plane of every window's maximum (int64)."""
    xp, (ho, wo), slices = _offset_slices(x, kernel_size, stride, padding, dilation, ceil_mode, -np.inf)
    arg = _argmax_offsets(xp, slices)
    kw = kernel_size[1]
    rows = (np.arange(ho) * stride[0])[:, None] + (arg // kw) * dilation[0] - padding[0]
    cols = (np.arange(wo) * stride[1])[None, :] + (arg % kw) * dilation[1] - padding[1]
    return (rows * x.shape[-1] + cols).astype(np.int64)


# ---------------------------------------------------------------------------------
# adaptive average pooling
# ---------------------------------------------------------------------------------
def _averaging_matrix(n: int, o: int, dtype: np.dtype) -> np.ndarray:
    """(o, n) matrix averaging PyTorch's adaptive bins [floor(i*n/o), ceil((i+1)*n/o))."""
    i = np.arange(o)
    start = (i * n) // o
    end = ((i + 1) * n + o - 1) // o
    cols = np.arange(n)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(x: np.ndarray, output_size: Pair) -> np.ndarray:
    """Average over adaptive bins of the last two axes."""
    oh, ow = output_size
    h, w = x.shape[-2:]
    if h % oh == 0 and w % ow == 0:
        # Equal, disjoint bins: a reshape and one mean.
        return x.reshape(x.shape[:-2] + (oh, h // oh, ow, w // ow)).mean(axis=(-3, -1))
    # Bins of unequal or overlapping extent: the pooling is P_h @ x @ P_w^T.
    return _averaging_matrix(h, oh, x.dtype) @ x @ _averaging_matrix(w, ow, x.dtype).T


def adaptive_avg_pool2d_backward(g: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Spread each output's cotangent evenly over its bin, for an input shaped like `like`."""
    shape = np.shape(like)
    h, w = shape[-2:]
    oh, ow = g.shape[-2:]
    if h % oh == 0 and w % ow == 0:
        kh, kw = h // oh, w // ow
        spread = np.broadcast_to((g / (kh * kw))[..., :, None, :, None], g.shape[:-2] + (oh, kh, ow, kw))
        return np.ascontiguousarray(spread).reshape(shape)
    return _averaging_matrix(h, oh, g.dtype).T @ g @ _averaging_matrix(w, ow, g.dtype)
