"""`nn.functional` convolution, pooling and batch normalisation.

Each function checks its arguments with PyTorch's error texts, then applies one registry
primitive (`conv2d`, `max_pool2d`, `adaptive_avg_pool2d`, `batch_norm`), so the result's
`grad_fn` is PyTorch's (`ConvolutionBackward0`, ...). Unbatched (C, H, W) inputs get a
batch axis around the primitive, as in PyTorch.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ...kernels.pool import pool_out_size
from ..functions import cat
from ..tensor import Size, Tensor

_NP_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return int(v[0]), int(v[0])
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _batched(x: Tensor, fn) -> Tensor:
    """Apply a 4-D function to a 3-D (unbatched) input through a temporary batch axis."""
    return fn(x.unsqueeze(0)).squeeze(0) if x.ndim == 3 else fn(x)


# ---------------------------------------------------------------------------------
# convolution
# ---------------------------------------------------------------------------------
def _same_padding(kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """(left, right) zero padding per axis that keeps the size at stride 1."""
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return tuple((t // 2, t - t // 2) for t in total)


def _pad_edges(x: Tensor, pads: Sequence[tuple[int, int]], mode: str) -> Tensor:
    """Pad the last two axes by `pads` with `mode` ('zeros' or a non-zero mode), differentiably."""
    if all(lo == hi == 0 for lo, hi in pads):
        return x
    h, w = x.shape[-2:]
    if mode == "zeros":
        for axis, (lo, hi) in ((-2, pads[0]), (-1, pads[1])):
            parts = []
            shape = list(x.shape)
            for n in (lo, hi):
                shape[axis] = n
                parts.append(Tensor._wrap(np.zeros(shape, dtype=x._data.dtype)) if n else None)
            x = cat([p for p in (parts[0], x, parts[1]) if p is not None], dim=axis % x.ndim)
        return x
    # Reflect/replicate/circular: every padded pixel reads one source pixel (an index gather).
    rows = np.pad(np.arange(h), pads[0], mode=_NP_PAD_MODES[mode])
    cols = np.pad(np.arange(w), pads[1], mode=_NP_PAD_MODES[mode])
    return x[..., Tensor._wrap(rows[:, None]), Tensor._wrap(cols[None, :])]


def _check_conv(x: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation, groups: int) -> None:
    if x.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: "
                           f"{list(x.shape)}")
    if weight.ndim != 4:
        raise RuntimeError("expected stride to be a single integer value or a list of "
                           f"{weight.ndim - 2} values to match the convolution dimensions, but got "
                           f"stride={list(stride)}")
    if x.dtype is not weight.dtype:
        raise RuntimeError(f"expected scalar type {x.dtype.short} but found {weight.dtype.short}")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("non-positive dilation is not supported")
    c = x.shape[-3]
    if weight.shape[1] * groups != c:
        batched = list(x.shape) if x.ndim == 4 else [1] + list(x.shape)
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{batched} "
                           f"to have {weight.shape[1] * groups} channels, but got {c} channels instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead")
    hp, wp = (n + 2 * p for n, p in zip(x.shape[-2:], padding))
    kh, kw = (d * (k - 1) + 1 for k, d in zip(weight.shape[2:], dilation))
    if kh > hp or kw > wp:
        raise RuntimeError(f"Calculated padded input size per channel: ({hp} x {wp}). Kernel size: ({kh} x {kw}). "
                           "Kernel size can't be greater than actual input size")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros") -> Tensor:
    """2-D cross-correlation (`ConvolutionBackward0`); `padding` may be an int, a pair,
    'valid' or 'same'. `padding_mode` is nn.Conv2d's (a keyword PyTorch's functional lacks)."""
    x = _t(input)
    stride, dilation = _pair(stride), _pair(dilation)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if padding == "same" and stride != (1, 1):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        edges = _same_padding(tuple(weight.shape[2:]), dilation) if padding == "same" else ((0, 0), (0, 0))
    else:
        p = _pair(padding)
        edges = ((p[0], p[0]), (p[1], p[1]))
    # Symmetric zero padding goes to the kernel; asymmetric or non-zero padding is explicit.
    explicit = padding_mode != "zeros" or any(lo != hi for lo, hi in edges)
    pad = (0, 0) if explicit else (edges[0][0], edges[1][0])
    if explicit and x.ndim in (3, 4):
        x = _pad_edges(x, edges, padding_mode)
    _check_conv(x, weight, bias, stride, pad, dilation, groups)
    params = {"stride": stride, "padding": pad, "dilation": dilation, "groups": int(groups)}
    return _batched(x, lambda x4: Tensor._apply("conv2d", (x4, weight, bias), params))


# ---------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------
def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Maximum over sliding windows (`MaxPool2DWithIndicesBackward0`); with
    `return_indices`, also each maximum's flat index into its input plane."""
    x = _t(input)
    k = _pair(kernel_size)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _pair(stride)
    p, d = _pair(padding), _pair(dilation)
    if x.ndim not in (3, 4) or x.numel() == 0:
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    if min(s) <= 0:
        raise RuntimeError("stride should not be zero")
    if min(d) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} dilationW: {d[1]}")
    if p[0] > (d[0] * (k[0] - 1) + 1) // 2 or p[1] > (d[1] * (k[1] - 1) + 1) // 2:
        bad = 0 if p[0] > (d[0] * (k[0] - 1) + 1) // 2 else 1
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p[bad]}, "
                           f"kernel_size={k[bad]} and dilation={d[bad]}")
    c, h, w = x.shape[-3:]
    ho = pool_out_size(h, k[0], s[0], p[0], d[0], ceil_mode)
    wo = pool_out_size(w, k[1], s[1], p[1], d[1], ceil_mode)
    if ho < 1 or wo < 1:
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{ho}x{wo}). "
                           "Output size is too small")
    params = {"kernel_size": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": bool(ceil_mode)}
    out = Tensor._apply("max_pool2d", (x,), params)
    if not return_indices:
        return out
    return out, Tensor._apply("max_pool2d_indices", (x,), params)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive bins (`AdaptiveAvgPool2DBackward0`); None in
    `output_size` keeps that input size."""
    x = _t(input)
    if x.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(x.shape)}")
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
        size = tuple(x.shape[-2 + i] if v is None else int(v) for i, v in enumerate(output_size))
    else:
        size = (int(output_size),) * 2 if output_size is not None else tuple(x.shape[-2:])
    return Tensor._apply("adaptive_avg_pool2d", (x,), {"output_size": size})


# ---------------------------------------------------------------------------------
# batch normalisation
# ---------------------------------------------------------------------------------
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1) by batch statistics (training; the running buffers
    are updated in place) or by the running statistics (`NativeBatchNormBackward0`)."""
    x = _t(input)
    if training:
        per_channel = x.numel() // x.shape[1] if x.ndim > 1 else x.numel()
        if per_channel <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{Size(x.shape)!r}")
        for buf in (running_mean, running_var):
            if buf is not None:
                buf._version[0] += 1  # the primitive writes the running statistics in place
    elif running_mean is None:
        raise RuntimeError("running_mean must be defined in evaluation mode")
    elif running_var is None:
        raise RuntimeError("running_var must be defined in evaluation mode")
    params = {"training": bool(training), "momentum": 0.0 if momentum is None else float(momentum),
              "eps": float(eps)}
    return Tensor._apply("batch_norm", (x, weight, bias, running_mean, running_var), params)
