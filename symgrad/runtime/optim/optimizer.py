"""`Optimizer`: the base class of `symgrad.optim`, with PyTorch 2.13's param_group,
state and state_dict behaviour.

Subclasses implement `_update_group(group)`, which reads `p.grad`, writes the new value
into each parameter's own NumPy buffer and bumps its version counter, so parameters stay
leaves and every view or alias of them sees the step.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Iterable

import numpy as np

from .. import grad_mode
from ..tensor import Tensor

__all__ = ["Optimizer", "ParamsT", "required"]

# What an optimizer takes: tensors, (name, tensor) pairs, or param_group dicts.
ParamsT = Iterable[Tensor] | Iterable[tuple[str, Tensor]] | Iterable[dict[str, Any]]


class _RequiredParameter:
    """Marks a hyperparameter that every param_group must give (as `torch.optim.optimizer.required`)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj: Any) -> str:
    # Same rule as `torch.typename`, with `symgrad` in place of `torch` for tensors.
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__
        qualname = obj.__class__.__qualname__
    if module in ("", "builtins"):
        return qualname
    return f"{module}.{qualname}"


def _scalar(x: Any) -> float:
    """A hyperparameter as a Python number (PyTorch also accepts 1-element tensors)."""
    if isinstance(x, Tensor):
        return x.item()
    return x


class Optimizer:
    """Base class for all optimizers.

    `params` is an iterable of tensors or of dicts (param_groups); `defaults` holds the
    hyperparameters that fill the keys a group leaves out.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if defaults.get("differentiable"):
            # The update runs in NumPy outside the graph; pretending otherwise would give
            # silently wrong meta-gradients.
            raise NotImplementedError("symgrad.optim does not support differentiable=True: the update "
                                      "is applied in place, outside the autograd graph")
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            "or dicts, but got " + _typename(params))
        self.state: defaultdict[Tensor, Any] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._step_pre_hooks: dict[int, Callable] = {}
        self._step_post_hooks: dict[int, Callable] = {}
        self._scratch_pool: dict[np.dtype, list[np.ndarray]] = {}

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)
        if defaults.get("fused") and defaults.get("foreach"):
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_step_pre_hooks", {})
        self.__dict__.setdefault("_step_post_hooks", {})
        self.__dict__.setdefault("_scratch_pool", {})
        self.defaults.setdefault("differentiable", False)

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters; keys it leaves out are filled from `defaults`."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Please use a list "
                            "instead.")
        else:
            param_group["params"] = list(params)

        # `named_parameters()` gives (name, tensor) pairs.
        tensors, names = [], []
        for item in param_group["params"]:
            if isinstance(item, tuple):
                names.append(item[0])
                tensors.append(item[1])
            else:
                tensors.append(item)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names "
                                 "are missing")
            param_group["param_names"] = names

        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            param_group.setdefault(name, default)

        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, "
                          "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for "
                          "more information", stacklevel=3)

        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ gradients and steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's `.grad`: to None by default, else to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a `.grad`; return the closure's loss (or None)."""
        for hook in list(self._step_pre_hooks.values()):
            result = hook(self, (), {"closure": closure})
            if result is not None:  # a pre-hook may replace the arguments
                args, kwargs = result
                closure = args[0] if args else kwargs.get("closure")
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        with grad_mode.no_grad():
            for group in self.param_groups:
                self._update_group(group)
        for hook in list(self._step_post_hooks.values()):
            hook(self, (), {"closure": closure})
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def _table(self, group: dict[str, Any], dtype: np.dtype) -> Any:
        """The fused kernels' pointer table of one group and dtype (see `fused.PointerTable`)."""
        from .fused import PointerTable
        tables = self.__dict__.setdefault("_fused_tables", {})
        key = (id(group), dtype)
        t = tables.get(key)
        if t is None:
            t = tables[key] = PointerTable()
        return t

    def _scratch(self, like: np.ndarray, k: int) -> list[np.ndarray]:
        """`k` work arrays shaped like `like`, reused across parameters and steps.

        Fresh temporaries the size of a weight matrix cost page faults on every step; one
        flat buffer per slot, sized to the largest parameter, avoids that.
        """
        pool = self._scratch_pool.get(like.dtype)
        if pool is None or len(pool) < k or pool[0].size < like.size:
            size = max(like.size, pool[0].size if pool else 0)
            pool = [np.empty(size, dtype=like.dtype) for _ in range(max(k, len(pool or ())))]
            self._scratch_pool[like.dtype] = pool
        return [b[:like.size].reshape(like.shape) for b in pool[:k]]

    def register_step_pre_hook(self, hook: Callable) -> "_Handle":
        """Call `hook(optimizer, args, kwargs)` before each `step`."""
        return _Handle(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> "_Handle":
        """Call `hook(optimizer, args, kwargs)` after each `step`."""
        return _Handle(self._step_post_hooks, hook)

    # ------------------------------------------------------------------ state_dict
    def state_dict(self) -> dict[str, Any]:
        """`{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`.

        Like PyTorch, the state tensors are the optimizer's own (not copies).
        """
        mapping: dict[int, int] = {}
        start = 0

        def pack(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state, matching parameters by position."""
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size "
                             "of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param: Tensor, value: Any, key: Any = None) -> Any:
            if isinstance(value, Tensor):
                # `step` keeps its own dtype; other float state follows the parameter's.
                if key != "step" and param.is_floating_point() and value.dtype is not param.dtype:
                    return value.to(param.dtype)
                return value
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict[Any, Any] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v)
            else:
                state[k] = v

        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})


class _Handle:
    """Removes a registered hook (`handle.remove()`)."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Callable], hook: Callable) -> None:
        self._hooks = hooks
        self.id = _Handle._next_id
        _Handle._next_id += 1
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> "_Handle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()
