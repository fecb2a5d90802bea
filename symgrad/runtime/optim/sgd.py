"""`SGD`: stochastic gradient descent with momentum, dampening, Nesterov, L2 weight decay
and maximize, with PyTorch 2.13's defaults, errors and arithmetic order."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import fused
from .optimizer import Optimizer, ParamsT, _scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    """`p -= lr * g`, where `g` is the gradient after maximize, weight decay and momentum.

    `fused=True` updates every float32/float64 parameter of a group in one native kernel
    call per dtype (`optim/fused.py`), bitwise equal to the eager update; `foreach` is
    accepted and stored for PyTorch compatibility.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float | Tensor = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def _update_group(self, group: dict[str, Any]) -> None:
        params = [p for p in group["params"] if p._grad is not None]
        if group["fused"]:
            params = self._fused_update(group, params)
        self._eager_update(group, params)

    def _fused_update(self, group: dict[str, Any], params: list[Tensor]) -> list[Tensor]:
        """Update the parameters the kernels handle; return the rest (for the eager path)."""
        lr = _scalar(group["lr"])
        weight_decay = _scalar(group["weight_decay"])
        momentum = group["momentum"]
        flags = {"maximize": bool(group["maximize"]), "weight_decay": weight_decay != 0,
                 "momentum": momentum != 0, "no_dampening": group["dampening"] == 0,
                 "nesterov": bool(group["nesterov"])}
        scalars = np.array([lr, weight_decay, momentum, 1 - group["dampening"], 0, 0, 0, 0], dtype=np.float64)
        momentum_on = flags["momentum"]
        rest = []
        by_dtype: dict[np.dtype, list[tuple[Tensor, Any]]] = {}
        for p in params:
            buf = self.state[p].get("momentum_buffer") if momentum_on else None
            if fused.fusable(p, buf):
                by_dtype.setdefault(p._data.dtype, []).append((p, buf))
            else:
                rest.append(p)
        for dtype, entries in by_dtype.items():
            bufs, firsts, bumped = [], [], []
            for p, buf in entries:
                bumped.append(p)
                if momentum_on:
                    firsts.append(buf is None)
                    if buf is None:  # the kernel writes the first buffer (a copy of g), unbumped
                        buf = self.state[p]["momentum_buffer"] = Tensor._wrap(np.empty_like(p._data))
                    else:
                        bumped.append(buf)
                    bufs.append(buf._data)
                else:
                    bufs.append(None)
            nulls = [None] * len(entries)
            arrays = [[p._data for p, _ in entries], [fused.grad_array(p) for p, _ in entries], bufs, nulls, nulls]
            fused.sgd_kernel(dtype, flags)(self._table(group, dtype), arrays, firsts or None, None, scalars)
            for t in bumped:
                t._version[0] += 1
        return rest

    def _eager_update(self, group: dict[str, Any], params: list[Tensor]) -> None:
        lr = _scalar(group["lr"])
        weight_decay = _scalar(group["weight_decay"])
        momentum = group["momentum"]
        dampening = group["dampening"]
        nesterov = group["nesterov"]
        maximize = group["maximize"]
        for p in params:
            grad = p._grad
            data = p._data
            a, b, c = self._scratch(data, 3)
            # `g` is p.grad's own array until a step replaces it with a scratch array;
            # only scratch arrays are ever written in place.
            g = grad._data
            if maximize:
                g = np.negative(g, out=a)
            if weight_decay != 0:
                np.multiply(data, weight_decay, out=b)
                g = np.add(g, b, out=b)
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = Tensor._wrap(np.array(g, copy=True))
                    state["momentum_buffer"] = buf
                else:
                    m = buf._data
                    m *= momentum
                    if dampening == 0:
                        m += g
                    else:
                        m += np.multiply(g, 1 - dampening, out=c)
                    buf._version[0] += 1
                if nesterov:
                    np.multiply(buf._data, momentum, out=c)
                    g = np.add(g, c, out=c)
                else:
                    g = buf._data
            step = g if (g is a or g is b or g is c) else a
            np.multiply(g, lr, out=step)
            data -= step
            p._version[0] += 1
