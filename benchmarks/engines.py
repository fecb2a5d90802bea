"""Engines: how each AD system runs a workload.

`prepare` converts the inputs once (not timed) and returns closures: `forward()` (value only)
and `step()` (value and gradient, or one full SGD step for SGD workloads), plus readers that
turn their results into NumPy for the correctness check. An engine that cannot run a workload
raises `Skip` with the reason, which goes into the table's note column.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .base import Args, Workload, copy_args


class Skip(Exception):
    """This engine cannot run this workload (a missing package, an unsupported construct)."""


@dataclass
class Prepared:
    forward: Callable[[], Any]
    step: Callable[[], Any]
    read_forward: Callable[[Any], float]
    read_step: Callable[[Any], tuple[float, list[np.ndarray]]]
    """(value, gradients in `wrt` order), or for SGD workloads (loss, updated parameters)."""


class Engine:
    """Base class; `package` is what must be importable for the engine to run at all."""

    name = ""
    package: str | None = None
    compiles = False
    """True when the first call compiles, so a cached compile (new process) is worth measuring."""

    install_hint = "pip install -e .[bench]"

    def missing(self) -> str | None:
        if self.package and importlib.util.find_spec(self.package) is None:
            return f"{self.package} not installed ({self.install_hint})"
        return None

    def prepare(self, wl: Workload, args: Args, threads: int) -> Prepared:
        raise NotImplementedError

    def warm_up(self) -> None:
        """Once per process, before any timing: pay the library's one-time start-up (JIT
        engines, lazy imports) on a tiny function, so that a workload's first call measures
        compiling that workload."""


def _warm_fn(x):
    return np.sum(x * x)


def _as_list(grads: Any, n: int, bare_single: bool) -> list[np.ndarray]:
    """Gradients as a list; `bare_single`: one `wrt` argument gives one bare gradient, not a
    sequence (the compile_grad convention)."""
    items = [grads] if bare_single and n == 1 else list(grads)
    return [np.asarray(g) for g in items]


class NumpyEngine(Engine):
    """The hand-written gradient: the reference, and the speed of careful NumPy."""

    name = "numpy"

    def prepare(self, wl: Workload, args: Args, threads: int) -> Prepared:
        a = copy_args(args)
        fwd = lambda: wl.numpy_value(**a)  # noqa: E731
        vg = lambda: wl.numpy_value_and_grad(**a)  # noqa: E731
        return _finish(wl, a, fwd, vg, lambda out: float(out))


def _finish(wl: Workload, a: Args, fwd: Callable[[], Any], vg: Callable[[], Any],
            read_value: Callable[[Any], float], bare_single: bool = False) -> Prepared:
    """Wrap a (value, grads) engine: as is, or as an in-place SGD step on the copies in `a`."""
    n = len(wl.wrt)
    if wl.sgd_lr is None:
        return Prepared(fwd, vg, read_value,
                        lambda out: (read_value(out[0]), _as_list(out[1], n, bare_single)))
    params = [a[k] for k in wl.wrt]
    if not all(isinstance(p, np.ndarray) for p in params):
        raise Skip("SGD workloads need array parameters")
    lr = wl.sgd_lr

    def step() -> float:
        value, grads = vg()
        for p, g in zip(params, _as_list(grads, n, bare_single)):
            p -= lr * g  # in place: the next call sees the new parameters
        return read_value(value)
    return Prepared(fwd, step, read_value, lambda out: (float(out), [p.copy() for p in params]))


class SymgradEngine(Engine):
    """`@compile_grad`: native forward and adjoint."""

    name = "symgrad"
    package = "llvmlite"
    compiles = True

    def prepare(self, wl: Workload, args: Args, threads: int) -> Prepared:
        import symgrad
        try:
            compile_grad = symgrad.compile_grad
        except (AttributeError, ImportError) as e:
            raise Skip(f"symgrad.compile_grad unavailable ({type(e).__name__}: {e})") from None
        a = copy_args(args)
        cf = compile_grad(wl.user_fn, wrt=list(wl.wrt))
        # The same array objects as in `a`, so that in-place SGD updates reach the calls.
        call = wl.user_args(a)
        fwd = lambda: cf(*call)  # noqa: E731
        vg = lambda: cf.value_and_grad(*call)  # noqa: E731
        return _finish(wl, a, fwd, vg, lambda out: float(np.asarray(out)), bare_single=True)


    def warm_up(self) -> None:
        import symgrad
        symgrad.compile_grad(_warm_fn, cache=False).value_and_grad(np.ones(3))
        symgrad.compile_grad(_warm_fn, cache=False).value_and_grad(1.5)  # scalar path too


class TorchLikeEngine(Engine):
    """PyTorch eager, or the symgrad runtime under `import symgrad as torch`: the same code."""

    def __init__(self, name: str, module: str):
        self.name = name
        self.package = module
        if module == "torch":
            self.install_hint = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"

    def prepare(self, wl: Workload, args: Args, threads: int) -> Prepared:
        if wl.torch_fn is None:
            raise Skip("no PyTorch-style version of this workload")
        T = importlib.import_module(self.package)
        if self.package == "torch" and threads > 0:
            T.set_num_threads(threads)
        fdt = T.float32 if wl.dtype == "float32" else T.float64
        targs: Args = {}
        for k, v in args.items():
            if isinstance(v, np.ndarray):
                targs[k] = T.tensor(v.copy(), requires_grad=k in wl.wrt)
            elif k in wl.wrt:
                targs[k] = T.tensor(float(v), dtype=fdt, requires_grad=True)
            else:
                targs[k] = v
        leaves = [targs[k] for k in wl.wrt]

        def fwd() -> Any:
            with T.no_grad():
                return wl.torch_fn(T, **targs)

        read_value = lambda out: float(out.detach().item())  # noqa: E731
        if wl.sgd_lr is None:
            def vg() -> Any:
                loss = wl.torch_fn(T, **targs)
                return loss, T.autograd.grad(loss, leaves)
            return Prepared(fwd, vg, read_value,
                            lambda out: (read_value(out[0]), [g.detach().numpy().copy() for g in out[1]]))
        opt = T.optim.SGD(leaves, lr=wl.sgd_lr)

        def step() -> Any:
            opt.zero_grad()
            loss = wl.torch_fn(T, **targs)
            loss.backward()
            opt.step()
            return loss
        return Prepared(fwd, step, read_value,
                        lambda out: (read_value(out), [p.detach().numpy().copy() for p in leaves]))


class JaxEngine(Engine):
    """`jax.jit(jax.value_and_grad(f))`; Python ints and floats that are not differentiated are
    static (closed over), so loop bounds stay concrete."""

    name = "jax"
    package = "jax"
    compiles = True

    def warm_up(self) -> None:
        import jax
        import jax.numpy as jnp
        jax.jit(jax.value_and_grad(lambda x: jnp.sum(x * x)))(jnp.ones(3))

    def prepare(self, wl: Workload, args: Args, threads: int) -> Prepared:
        if wl.jax_fn is None and wl.array_fn is None:
            raise Skip("no JAX version of this workload")
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import jax.scipy.special as jsp
        from jax import lax

        static = {k: v for k, v in args.items() if not isinstance(v, np.ndarray) and k not in wl.wrt}
        data = {k: jnp.asarray(v) for k, v in args.items() if isinstance(v, np.ndarray) and k not in wl.wrt}
        fdt = jnp.float32 if wl.dtype == "float32" else jnp.float64
        params = tuple(jnp.asarray(args[k], dtype=None if isinstance(args[k], np.ndarray) else fdt)
                       for k in wl.wrt)

        def f(p: tuple[Any, ...], d: dict[str, Any]) -> Any:
            kw = {**static, **d, **dict(zip(wl.wrt, p))}
            if wl.jax_fn is not None:
                return wl.jax_fn(jnp, lax, jsp, **kw)
            return wl.array_fn(jnp, jsp, **kw)

        fwd_j = jax.jit(f)
        vg_j = jax.jit(jax.value_and_grad(f))
        fwd = lambda: fwd_j(params, data).block_until_ready()  # noqa: E731
        read_value = lambda out: float(out)  # noqa: E731
        if wl.sgd_lr is None:
            vg = lambda: jax.block_until_ready(vg_j(params, data))  # noqa: E731
            return Prepared(fwd, vg, read_value,
                            lambda out: (float(out[0]), [np.asarray(g) for g in out[1]]))
        lr = wl.sgd_lr

        @jax.jit
        def sgd(p: tuple[Any, ...], d: dict[str, Any]) -> Any:
            value, g = jax.value_and_grad(f)(p, d)
            return value, tuple(pi - lr * gi for pi, gi in zip(p, g))

        state = [params]

        def step() -> Any:
            value, state[0] = sgd(state[0], data)
            return jax.block_until_ready(value)
        return Prepared(lambda: fwd_j(state[0], data).block_until_ready(), step, read_value,
                        lambda out: (float(out), [np.asarray(p) for p in state[0]]))


class AutogradEngine(Engine):
    """HIPS autograd: `autograd.value_and_grad` over `autograd.numpy`."""

    name = "autograd"
    package = "autograd"

    def prepare(self, wl: Workload, args: Args, threads: int) -> Prepared:
        if wl.array_fn is None:
            raise Skip("no NumPy-style version of this workload")
        import autograd
        import autograd.numpy as anp
        import autograd.scipy.special as asp

        a = copy_args(args)
        params = [a[k] for k in wl.wrt]
        data = {k: v for k, v in a.items() if k not in wl.wrt}

        def f(*p: Any) -> Any:
            return wl.array_fn(anp, asp, **data, **dict(zip(wl.wrt, p)))

        vg_fn = autograd.value_and_grad(f, tuple(range(len(params))))
        fwd = lambda: f(*params)  # noqa: E731
        vg = lambda: vg_fn(*params)  # noqa: E731
        return _finish(wl, a, fwd, vg, lambda out: float(out))


def all_engines() -> list[Engine]:
    """Every engine, in table order."""
    return [SymgradEngine(), TorchLikeEngine("symgrad-eager", "symgrad"), TorchLikeEngine("torch", "torch"),
            JaxEngine(), AutogradEngine(), NumpyEngine()]


def select(names: str | None) -> list[Engine]:
    every = all_engines()
    if not names:
        return every
    by_name = {e.name: e for e in every}
    out = []
    for n in (n.strip() for n in names.split(",") if n.strip()):
        if n not in by_name:
            raise SystemExit(f"unknown engine {n!r}; known: {', '.join(by_name)}")
        out.append(by_name[n])
    return out


def versions() -> dict[str, str]:
    """Installed versions of everything the numbers depend on, without importing the packages."""
    from importlib import metadata
    out = {}
    for dist in ("symgrad", "numpy", "scipy", "sympy", "symengine", "llvmlite", "torch", "jax", "jaxlib",
                 "autograd"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out
