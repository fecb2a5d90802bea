"""`nn.functional`: activations, `linear`, `dropout` and the losses, over registry primitives.

Each function builds the same graph PyTorch does at the top (so `grad_fn` names match the
spec): `linear` on 2-D input is one `addmm`, `cross_entropy` is `log_softmax` followed by
`nll_loss`, label smoothing ends in an `add`, probability targets in a scalar division.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..functions import addmm
from ..random import default_generator
from ..tensor import Size, Tensor

_REDUCTIONS = ("none", "mean", "sum", "elementwise_mean")


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


# ---------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x) elementwise (`ReluBackward0`)."""
    return input.relu_() if inplace else _t(input).relu()


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, `negative_slope * x` otherwise (`LeakyReluBackward0`)."""
    x = _t(input)
    out = Tensor._apply("where", (x > 0, x, x * negative_slope), {}, "LeakyReluBackward0")
    if inplace:
        input.copy_(out)
        return input
    return out


def sigmoid(input: Tensor) -> Tensor:
    return _t(input).sigmoid()


def tanh(input: Tensor) -> Tensor:
    return _t(input).tanh()


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  "dim=X as an argument.", UserWarning, stacklevel=4)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (`SoftmaxBackward0`)."""
    x = _t(input) if dtype is None else _t(input).to(dtype)
    if dim is None:
        dim = _softmax_dim("softmax", x.ndim)
    return x.softmax(dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along `dim` (`LogSoftmaxBackward0`)."""
    x = _t(input) if dtype is None else _t(input).to(dtype)
    if dim is None:
        dim = _softmax_dim("log_softmax", x.ndim)
    return x.log_softmax(dim)


# ---------------------------------------------------------------------------------
# linear and dropout
# ---------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """`input @ weight.T + bias`; 2-D input with bias is one `addmm` (`AddmmBackward0`)."""
    x = _t(input)
    if bias is None:
        return x @ weight.t()
    if x.dtype is not weight.dtype:  # addmm's check, worded as PyTorch's addmm words it
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {x.dtype.short} and "
                           f"{weight.dtype.short}")
    if x.ndim == 2:
        return addmm(bias, x, weight.t())
    # Other ranks fold into 2-D for addmm and view back, as PyTorch does (ViewBackward0).
    lead = tuple(x.shape[:-1])
    flat = x.reshape(1, -1) if x.ndim == 1 else x.reshape(-1, x.shape[-1])
    return addmm(bias, flat, weight.t()).reshape(*lead, weight.shape[0])


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability `p` and scale the rest by 1/(1-p) (`MulBackward0`)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    x = _t(input)
    if p == 1.0:
        noise = Tensor._wrap(np.zeros((), dtype=x._data.dtype))
    else:
        # The mask comes from the global generator, so manual_seed makes it repeatable.
        keep = default_generator.uniform(x.numel(), np.float64) < (1.0 - p)
        noise = Tensor._wrap((keep.reshape(x.shape) / (1.0 - p)).astype(x._data.dtype))
    return input.mul_(noise) if inplace else x * noise


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding along a new last dimension."""
    idx = np.asarray(tensor._data)
    if idx.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if idx.min() >= 0
                           else "Class values must be non-negative.")
    return Tensor._wrap(np.eye(num_classes, dtype=np.int64)[idx])


# ---------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------
def _reduction(reduction: str, size_average: Any = None, reduce: Any = None) -> str:
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                      "instead.", UserWarning, stacklevel=3)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return "mean" if reduction == "elementwise_mean" else reduction


def _check_broadcast(a: Tensor, b: Tensor) -> None:
    sa, sb = tuple(a.shape), tuple(b.shape)
    for i in range(1, min(len(sa), len(sb)) + 1):
        x, y = sa[-i], sb[-i]
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                               f"non-singleton dimension {max(len(sa), len(sb)) - i}")


def _warn_size(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({Size(target.shape)!r}) that is different to the input size "
                      f"({Size(input.shape)!r}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", UserWarning, stacklevel=3)


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Mean (or sum, or elementwise) squared error (`MseLossBackward0`)."""
    input, target = _t(input), _t(target)
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    _check_broadcast(input, target)
    return Tensor._apply("mse_loss", (input, target), {"reduction": reduction})


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean") -> Tensor:
    """Mean absolute error: `abs(x - y)` then the reduction (`MeanBackward0` for the mean)."""
    input, target = _t(input), _t(target)
    _warn_size(input, target)
    reduction = _reduction(reduction, size_average, reduce)
    _check_broadcast(input, target)
    err = (input - target).abs()
    return err if reduction == "none" else err.sum() if reduction == "sum" else err.mean()


def _check_weight(weight: Tensor | None, n_class: int) -> None:
    if weight is not None and (weight.ndim != 1 or weight.numel() != n_class):
        raise RuntimeError(f"weight tensor should be defined either for all {n_class} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")


def _check_class_targets(input: Tensor, target: Tensor, n_class: int, ignore_index: int) -> None:
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target.dtype.short}")
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if input.ndim != 1 and input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0]}).")
    if input.ndim <= 2 and target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    t = target._data.reshape(-1).astype(np.int64)
    bad = (t != ignore_index) & ((t < 0) | (t >= n_class))
    if bad.any():
        raise IndexError(f"Target {int(t[np.argmax(bad)])} is out of bounds.")


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class targets given log-probabilities (`NllLossBackward0`)."""
    input, target = _t(input), _t(target)
    reduction = _reduction(reduction, size_average, reduce)
    n_class = input.shape[0] if input.ndim == 1 else input.shape[1]
    _check_class_targets(input, target, n_class, ignore_index)
    _check_weight(weight, n_class)
    # The target travels as a parameter, not an input: like PyTorch's node, ours then has
    # a single next function (the log-probabilities).
    params = {"target": target._data, "weight": None if weight is None else weight._data,
              "ignore_index": ignore_index, "reduction": reduction}
    if input.ndim <= 2:
        return Tensor._apply("nll_loss", (input,), params)
    # (N, C, d1, ...): classes last, flattened to (N*d1*..., C), like PyTorch's nll_loss2d.
    perm = (0,) + tuple(range(2, input.ndim)) + (1,)
    flat = input.permute(*perm).reshape(-1, n_class)
    params["target"] = target._data.reshape(-1)
    out = Tensor._apply("nll_loss", (flat,), params, "NllLoss2DBackward0")
    return out.reshape(*target.shape) if reduction == "none" else out


def _scaled(x: Tensor, c: float) -> Tensor:
    # tensor * Python scalar is MulBackward1 in PyTorch's label-smoothing graph.
    return Tensor._apply("mul", (x, c), {}, "MulBackward1")


def _class_dim_shape(input: Tensor, class_dim: int, n_class: int) -> tuple[int, ...]:
    shape = [1] * input.ndim
    shape[class_dim] = n_class
    return tuple(shape)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over the class dimension, then `nll_loss` (or the probability-target form)."""
    input, target = _t(input), _t(target)
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    n_class = input.shape[class_dim]
    if tuple(input.shape) == tuple(target.shape):
        if not target.dtype.is_floating_point:
            raise RuntimeError("Expected floating point type for target with class probabilities, got "
                               f"{target.dtype.short}")
        _check_weight(weight, n_class)
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, class_dim, n_class)
    logp = input.log_softmax(class_dim)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0.0:
        return nll
    # PyTorch: (1 - eps) * nll + eps / C * (sum over classes of -log p, masked, reduced).
    if weight is not None:
        smooth = -(logp * weight.reshape(*_class_dim_shape(input, class_dim, n_class))).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    ignored = target == ignore_index
    smooth = Tensor._apply("where", (ignored, 0.0, smooth), {}, "MaskedFillBackward0")
    if reduction == "mean":
        keep = ~ignored._data
        if weight is not None:
            denom = float(weight._data[target._data[keep].astype(np.int64)].sum())
        else:
            denom = float(keep.sum())
        ret = smooth.sum() / denom
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return _scaled(nll, 1.0 - label_smoothing) + _scaled(ret, label_smoothing / n_class)


def _cross_entropy_probs(input: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                         label_smoothing: float, class_dim: int, n_class: int) -> Tensor:
    logp = input.log_softmax(class_dim)
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_class
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape(*_class_dim_shape(input, class_dim, n_class))
    if reduction == "none":
        return -prod.sum(class_dim)
    total = -prod.sum()
    if reduction == "sum":
        return total
    # Divided by a Python number: DivBackward1, as PyTorch shows.
    return Tensor._apply("div", (total, input.numel() // n_class), {}, "DivBackward1")


# convolution, pooling and batch normalisation live in their own module
from .functional_conv import adaptive_avg_pool2d, batch_norm, conv2d, max_pool2d  # noqa: E402,F401
