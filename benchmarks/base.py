"""The `Workload` record every benchmark fills in, and small helpers shared by the workloads."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Args = dict[str, Any]
"""A workload's inputs by name: NumPy arrays, Python floats and ints (ints are never differentiated)."""


@dataclass(frozen=True)
class Workload:
    """One benchmark problem and one implementation of it per engine.

    Every implementation takes the workload's arguments as keywords (`**args`) and may ignore
    the ones it does not need (for example integer labels versus one-hot targets).
    """

    name: str
    description: str
    make_args: Callable[[bool], Args]
    """`make_args(smoke)`: fresh inputs, from a fixed seed; tiny ones when `smoke` is true."""
    wrt: tuple[str, ...]
    """Arguments differentiated, in the order the gradients come back."""
    user_fn: Callable[..., Any]
    """Plain Python/NumPy, written the way a user writes it for `@compile_grad` (positional)."""
    numpy_value: Callable[..., float]
    numpy_value_and_grad: Callable[..., tuple[float, tuple[Any, ...]]]
    """Hand-written gradient: the reference every engine is checked against."""
    torch_fn: Callable[..., Any] | None = None
    """`torch_fn(T, **args)` with `T` = `torch` or `symgrad` (PyTorch eager and the symgrad runtime)."""
    array_fn: Callable[..., Any] | None = None
    """`array_fn(np, special, **args)` for HIPS autograd (`autograd.numpy`) and, unless
    `jax_fn` is given, JAX (`jax.numpy`); `special` provides `logsumexp`."""
    jax_fn: Callable[..., Any] | None = None
    """`jax_fn(jnp, lax, special, **args)`: the JAX idiom where it differs (`fori_loop`, `scan`)."""
    dtype: str = "float64"
    sgd_lr: float | None = None
    """When set, `value+grad` is one full SGD training step (gradient and parameter update)."""
    notes: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rtol(self) -> float:
        # float32 sums in a different order differ by far more than float64 ones.
        return 1e-3 if self.dtype == "float32" else 1e-6

    def user_args(self, args: Args) -> list[Any]:
        """The positional arguments of `user_fn`, taken from `args` by parameter name."""
        return [args[p] for p in inspect.signature(self.user_fn).parameters]


def rng(seed: int) -> np.random.Generator:
    """The one random source of the workloads (fixed seeds make every run use the same inputs)."""
    return np.random.default_rng(seed)


def copy_args(args: Args) -> Args:
    """A deep enough copy that an engine may update parameters in place (SGD)."""
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in args.items()}
