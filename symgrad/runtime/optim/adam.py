"""`Adam` and `AdamW` (with amsgrad, maximize, L2 or decoupled weight decay), following
PyTorch 2.13's single-tensor CPU kernel: same defaults, errors, state and operation order."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import dtypes
from ..tensor import Tensor
from . import fused
from .optimizer import Optimizer, ParamsT, _scalar

__all__ = ["Adam", "AdamW"]


def _step_dtype() -> type:
    # PyTorch keeps `step` in float64 only when that is the default dtype.
    return np.float64 if dtypes.get_default_dtype() is dtypes.float64 else np.float32


class Adam(Optimizer):
    """Adam (Kingma & Ba); `decoupled_weight_decay=True` makes it AdamW.

    `fused=True` updates every float32/float64 parameter of a group in one native kernel
    call per dtype (`optim/fused.py`), bitwise equal to the eager update; `foreach` and
    `capturable` are accepted and stored for PyTorch compatibility.
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
        params = [p for p in group["params"] if p._grad is not None]
        if group["fused"]:
            params = self._fused_update(group, params)
        self._eager_update(group, params)

    def _init_state(self, group: dict[str, Any], p: Tensor) -> dict[str, Any]:
        state = self.state[p]
        if len(state) == 0:
            step_dtype = np.float32 if (group["capturable"] or group["fused"]) else _step_dtype()
            state["step"] = Tensor._wrap(np.zeros((), dtype=step_dtype))
            state["exp_avg"] = Tensor._wrap(np.zeros_like(p._data))
            state["exp_avg_sq"] = Tensor._wrap(np.zeros_like(p._data))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = Tensor._wrap(np.zeros_like(p._data))
        return state

    def _fused_update(self, group: dict[str, Any], params: list[Tensor]) -> list[Tensor]:
        """Update the parameters the kernels handle; return the rest (for the eager path)."""
        lr = _scalar(group["lr"])
        beta1, beta2 = (_scalar(b) for b in group["betas"])
        weight_decay = _scalar(group["weight_decay"])
        weight = 1 - beta1  # the lerp weight of exp_avg towards g
        flags = {"maximize": bool(group["maximize"]), "weight_decay": weight_decay != 0,
                 "decoupled": bool(group["decoupled_weight_decay"]), "amsgrad": bool(group["amsgrad"]),
                 "lerp_small": abs(weight) < 0.5}
        scalars = np.array([weight_decay, 1 - lr * weight_decay, weight, 1 - weight, beta2, 1 - beta2,
                            _scalar(group["eps"]), 0], dtype=np.float64)
        keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
        rest = []
        by_dtype: dict[np.dtype, list[tuple[Tensor, dict]]] = {}
        state_of = self.state
        for p in params:
            st = state_of.get(p)
            if st and not fused.fusable(p, *(st.get(k) for k in keys)) or not st and not fused.fusable(p):
                rest.append(p)
                continue
            by_dtype.setdefault(p._data.dtype, []).append((p, st if st else self._init_state(group, p)))
        for dtype, entries in by_dtype.items():
            n = len(entries)
            per_param = np.empty(2 * n)
            arrays: list[list] = [[p._data for p, _ in entries], [fused.grad_array(p) for p, _ in entries],
                                  [], [], []]
            bumped = []
            for k, (p, state) in enumerate(entries):
                step_t = state["step"]
                step_t._data += 1
                step = float(step_t._data)
                # The same Python arithmetic as the eager update, so the rounding matches.
                per_param[2 * k] = -(lr / (1 - beta1 ** step))
                per_param[2 * k + 1] = (1 - beta2 ** step) ** 0.5
                bumped += (p, step_t)
                for j, key in enumerate(keys):
                    t = state.get(key)
                    arrays[2 + j].append(None if t is None else t._data)
                    if t is not None:
                        bumped.append(t)
            fused.adam_kernel(dtype, flags)(self._table(group, dtype), arrays, None, per_param, scalars)
            for t in bumped:
                t._version[0] += 1
        return rest

    def _eager_update(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr = _scalar(group["lr"])
        beta1, beta2 = (_scalar(b) for b in group["betas"])
        eps = _scalar(group["eps"])
        weight_decay = _scalar(group["weight_decay"])
        amsgrad = group["amsgrad"]
        maximize = group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        for p in params:
            grad = p._grad
            data = p._data
            state = self._init_state(group, p)
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
