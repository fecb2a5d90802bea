"""`Adam` and `AdamW` (with amsgrad, maximize, L2 or decoupled weight decay), following
PyTorch 2.13's single-tensor CPU kernel: same defaults, errors, state and operation order."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import dtypes
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _scalar

__all__ = ["Adam", "AdamW"]


def _step_dtype() -> type:
    # PyTorch keeps `step` in float64 only when that is the default dtype.
    return np.float64 if dtypes.get_default_dtype() is dtypes.float64 else np.float32


class Adam(Optimizer):
    """Adam (Kingma & Ba); `decoupled_weight_decay=True` makes it AdamW.

    `fused`, `foreach` and `capturable` are accepted and stored for PyTorch compatibility;
    every setting computes the same single-tensor update.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        if isinstance(lr, Tensor):
            if foreach and not capturable:
                raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
            if lr.numel() != 1:
                raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, b in enumerate(betas[:2]):
            if isinstance(b, Tensor):
                if not capturable and foreach:
                    raise ValueError(f"betas[{i}] as a Tensor is not supported for capturable=False "
                                     "and foreach=True")
                if b.numel() != 1:
                    raise ValueError(f"Tensor betas[{i}] must be 1-element")
        betas = tuple(_scalar(b) for b in betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in (("amsgrad", False), ("maximize", False), ("foreach", None),
                               ("capturable", False), ("differentiable", False),
                               ("decoupled_weight_decay", False), ("fused", None)):
                group.setdefault(key, value)
            for p in group["params"]:
                # Older checkpoints store `step` as a Python number.
                p_state = self.state.get(p, {})
                if p_state and not isinstance(p_state["step"], Tensor):
                    fused_or_capturable = group["capturable"] or group["fused"]
                    dtype = np.float32 if fused_or_capturable else _step_dtype()
                    p_state["step"] = Tensor._wrap(np.asarray(float(p_state["step"]), dtype=dtype))

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = _scalar(group["lr"])
        beta1, beta2 = (_scalar(b) for b in group["betas"])
        eps = _scalar(group["eps"])
        weight_decay = _scalar(group["weight_decay"])
        amsgrad = group["amsgrad"]
        maximize = group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        step_dtype = np.float32 if (group["capturable"] or group["fused"]) else _step_dtype()
        for p in group["params"]:
            grad = p._grad
            if grad is None:
                continue
            data = p._data
            state = self.state[p]
            if len(state) == 0:
                state["step"] = Tensor._wrap(np.zeros((), dtype=step_dtype))
                state["exp_avg"] = Tensor._wrap(np.zeros_like(data))
                state["exp_avg_sq"] = Tensor._wrap(np.zeros_like(data))
                if amsgrad:
                    state["max_exp_avg_sq"] = Tensor._wrap(np.zeros_like(data))
            step_t = state["step"]
            step_t._data += 1
            step_t._version[0] += 1
            a, b, c = self._scratch(data, 3)
            # `g` is p.grad's own array unless maximize or L2 decay replace it with `a`;
            # only scratch arrays are ever written in place.
            g = np.negative(grad._data, out=a) if maximize else grad._data
            if weight_decay != 0:
                if decoupled:
                    data *= 1 - lr * weight_decay
                else:
                    np.multiply(data, weight_decay, out=b)
                    g = np.add(g, b, out=a)

            m = state["exp_avg"]._data
            v = state["exp_avg_sq"]._data
            _lerp_(m, g, 1 - beta1, b)
            v *= beta2
            np.multiply(g, 1 - beta2, out=b)
            b *= g
            v += b

            step = float(step_t._data)
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2 ** 0.5

            if amsgrad:
                vmax = state["max_exp_avg_sq"]._data
                np.maximum(vmax, v, out=vmax)
                denom = np.sqrt(vmax, out=c)
            else:
                denom = np.sqrt(v, out=c)
            denom /= bias_correction2_sqrt
            denom += eps  # eps outside the square root, after bias correction

            # PyTorch's addcdiv_ order: p + (value * m) / denom.
            upd = np.multiply(m, -step_size, out=b)
            upd /= denom
            data += upd
            p._version[0] += 1
            for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
                if key in state:
                    state[key]._version[0] += 1


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, work: np.ndarray) -> None:
    """`start += weight * (end - start)` in place with ATen's two-sided formula; `work` is scratch."""
    diff = np.subtract(end, start, out=work)
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1 - weight
        np.subtract(end, diff, out=start)


class AdamW(Adam):
    """Adam with decoupled weight decay (`p *= 1 - lr * weight_decay` before the moments)."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
