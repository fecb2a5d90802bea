"""2-D convolution kernels: im2col into one contiguous column matrix, then one BLAS matmul.

Layouts (why): columns are (C*kh*kw, N*Ho*Wo), so the copy out of the NCHW input reads
rows of `Wo` neighbouring pixels, every group's rows are one contiguous block (all groups
go through one batched `np.matmul`), and the whole batch is one GEMM even where the
spatial map is tiny (ResNet's last stage is 2x2 at 64x64 inputs). The three functions are
bilinear, which makes the convolution's VJP rules closed under differentiation: the
input gradient is a transposed convolution, the weight gradient a correlation of input
and output gradient, and each one's VJPs are the other two (see `symgrad.prims`).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

Pair = tuple[int, int]


def out_size(n: int, k: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one axis (PyTorch's floor formula)."""
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def _is_pointwise(kh: int, kw: int, stride: Pair, padding: Pair) -> bool:
    return kh == kw == 1 and stride == (1, 1) and padding == (0, 0)


def im2col(x: np.ndarray, kh: int, kw: int, stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """Columns (C*kh*kw, N*Ho*Wo): row (c, i, j) holds pixel (c, ho*s + i*d, wo*s + j*d) of
    every output position (n, ho, wo), zero where the window covers padding."""
    n, c, h, w = x.shape
    ho = out_size(h, kh, stride[0], padding[0], dilation[0])
    wo = out_size(w, kw, stride[1], padding[1], dilation[1])
    if _is_pointwise(kh, kw, stride, padding):
        return np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(c, n * h * w)
    ph, pw = padding
    if ph or pw:
        xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        xp[:, :, ph:ph + h, pw:pw + w] = x
    else:
        xp = x
    sn, sc, sh, sw = xp.strides
    view = as_strided(xp, (c, kh, kw, n, ho, wo),
                      (sc, dilation[0] * sh, dilation[1] * sw, sn, stride[0] * sh, stride[1] * sw),
                      writeable=False)
    return np.ascontiguousarray(view).reshape(c * kh * kw, n * ho * wo)


def col2im(cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, stride: Pair, padding: Pair,
           dilation: Pair) -> np.ndarray:
    """The adjoint of `im2col`: add every column entry back onto the pixel it was read from."""
    n, c, h, w = shape
    ho = out_size(h, kh, stride[0], padding[0], dilation[0])
    wo = out_size(w, kw, stride[1], padding[1], dilation[1])
    c6 = cols.reshape(c, kh, kw, n, ho, wo)
    if _is_pointwise(kh, kw, stride, padding):
        return np.ascontiguousarray(c6.reshape(c, n, h, w).transpose(1, 0, 2, 3))
    ph, pw = padding
    sh, sw = stride
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    # One vectorised add per kernel offset: within an offset the target pixels are distinct,
    # so plain slice addition accumulates overlapping windows correctly (no np.add.at).
    for i in range(kh):
        hs = i * dilation[0]
        for j in range(kw):
            ws = j * dilation[1]
            out[:, :, hs:hs + sh * (ho - 1) + 1:sh, ws:ws + sw * (wo - 1) + 1:sw] += \
                c6[:, i, j].transpose(1, 0, 2, 3)
    if ph or pw:
        return np.ascontiguousarray(out[:, :, ph:ph + h, pw:pw + w])
    return out


def _to_nchw(y: np.ndarray, n: int, o: int, ho: int, wo: int) -> np.ndarray:
    """(O, N*Ho*Wo) -> contiguous (N, O, Ho, Wo)."""
    if n == 1:
        return y.reshape(1, o, ho, wo)
    return np.ascontiguousarray(y.reshape(o, n, ho, wo).transpose(1, 0, 2, 3))


def _to_cnl(g: np.ndarray) -> np.ndarray:
    """(N, O, Ho, Wo) -> contiguous (O, N*Ho*Wo), the layout the GEMMs take."""
    n, o = g.shape[:2]
    if n == 1:
        return np.ascontiguousarray(g).reshape(o, -1)
    return np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(o, -1)


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: Pair, padding: Pair,
           dilation: Pair, groups: int) -> np.ndarray:
    """Cross-correlation of NCHW `x` with OIHW `weight` (PyTorch's conv2d)."""
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    ho = out_size(h, kh, stride[0], padding[0], dilation[0])
    wo = out_size(w, kw, stride[1], padding[1], dilation[1])
    cols = im2col(x, kh, kw, stride, padding, dilation)
    if groups == 1:
        y = weight.reshape(o, -1) @ cols
    else:
        y = np.matmul(weight.reshape(groups, o // groups, -1),
                      cols.reshape(groups, -1, cols.shape[1])).reshape(o, -1)
    if bias is not None:
        y += bias.reshape(o, 1)
    return _to_nchw(y, n, o, ho, wo)


def _flipped_transpose(weight: np.ndarray, groups: int) -> np.ndarray:
    """(O, C/g, kh, kw) -> (C, O/g, kh, kw), spatially flipped: the kernel of the adjoint."""
    o, cg, kh, kw = weight.shape
    wg = weight.reshape(groups, o // groups, cg, kh, kw)[:, :, :, ::-1, ::-1]
    return np.ascontiguousarray(wg.transpose(0, 2, 1, 3, 4)).reshape(groups * cg, o // groups, kh, kw)


def conv2d_input_grad(g: np.ndarray, weight: np.ndarray, like: np.ndarray, stride: Pair, padding: Pair,
                      dilation: Pair, groups: int) -> np.ndarray:
    """d<conv2d(x, weight), g>/dx for an input shaped like `like`: a transposed convolution."""
    o, cg, kh, kw = weight.shape
    full = (dilation[0] * (kh - 1) - padding[0], dilation[1] * (kw - 1) - padding[1])
    cols_size = groups * cg * kh * kw * g.shape[0] * g.shape[2] * g.shape[3]
    if stride == (1, 1) and min(full) >= 0 and not _is_pointwise(kh, kw, stride, padding) \
            and weight.size <= 4 * cols_size:
        # At stride 1 the adjoint is itself a convolution (of g, padded to "full", with the
        # flipped, transposed kernel): one im2col copy instead of kh*kw scatter-add passes,
        # which pays unless the kernel copy outweighs them (deep layers, small maps).
        return conv2d(g, _flipped_transpose(weight, groups), None, stride, full, dilation, groups)
    g2 = _to_cnl(g)
    if groups == 1:
        cols = weight.reshape(o, -1).T @ g2
    else:
        wg = weight.reshape(groups, o // groups, -1).transpose(0, 2, 1)
        cols = np.matmul(wg, g2.reshape(groups, o // groups, -1)).reshape(groups * cg * kh * kw, -1)
    return col2im(cols, np.shape(like), kh, kw, stride, padding, dilation)


def conv2d_weight_grad(x: np.ndarray, g: np.ndarray, like: np.ndarray, stride: Pair, padding: Pair,
                       dilation: Pair, groups: int) -> np.ndarray:
    """d<conv2d(x, weight), g>/dweight for a weight shaped like `like`."""
    shape = np.shape(like)
    o, _, kh, kw = shape
    cols = im2col(x, kh, kw, stride, padding, dilation)
    g2 = _to_cnl(g)
    if groups == 1:
        dw = g2 @ cols.T
    else:
        dw = np.matmul(g2.reshape(groups, o // groups, -1),
                       cols.reshape(groups, -1, cols.shape[1]).transpose(0, 2, 1))
    return dw.reshape(shape)
