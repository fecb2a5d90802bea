"""Array zoo gradients against PyTorch autograd (skipped when torch is not installed).

Each zoo function is re-created with its module globals swapped for a shim in which `np.*`
means the matching `torch.*` function, and run on float64 tensors; the compiled gradient on
each back end must match torch's to rounding.
"""
from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest

import array_zoo
from array_zoo import ZOO, ArrayCase
from compiler_helpers import BACKENDS
from test_array_zoo import as_tuple, central_diff, check_grads, compiled, copy_args

torch = pytest.importorskip("torch")


def _t(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray) and (x.dtype.kind in "iub" or x.dtype == np.float32):
        return torch.as_tensor(x)
    return torch.as_tensor(x, dtype=torch.float64)


def _fn(name: str):
    f = getattr(torch, name)
    return lambda *a: f(*[_t(x) for x in a])


def _shape(s: Any) -> tuple:
    return (int(s),) if isinstance(s, (int, np.integer)) or (isinstance(s, torch.Tensor) and s.ndim == 0) \
        else tuple(int(d) for d in s)


def _reduce(whole: str, along: str):
    def red(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        x = _t(x)
        if axis is None:
            out = getattr(torch, whole)(x)
            return out.reshape((1,) * x.ndim) if keepdims else out
        return getattr(torch, along)(x, axis, keepdim=keepdims)
    return red


NP = types.SimpleNamespace(
    pi=np.pi, e=np.e,
    exp=_fn("exp"), log=_fn("log"), sin=_fn("sin"), cos=_fn("cos"), tanh=_fn("tanh"),
    sqrt=_fn("sqrt"), abs=_fn("abs"), sign=_fn("sign"), log1p=_fn("log1p"),
    maximum=_fn("maximum"), minimum=_fn("minimum"),
    where=lambda c, a, b: torch.where(_t(c), _t(a), _t(b)),
    clip=lambda x, lo, hi: torch.clamp(_t(x), lo, hi),
    sum=_reduce("sum", "sum"), mean=_reduce("mean", "mean"), max=_reduce("max", "amax"),
    min=_reduce("min", "amin"), prod=_reduce("prod", "prod"),
    dot=lambda a, b: torch.matmul(_t(a), _t(b)), matmul=lambda a, b: torch.matmul(_t(a), _t(b)),
    zeros=lambda s: torch.zeros(_shape(s), dtype=torch.float64),
    ones=lambda s: torch.ones(_shape(s), dtype=torch.float64),
    empty=lambda s: torch.empty(_shape(s), dtype=torch.float64),
    full=lambda s, v: torch.full(_shape(s), float(v), dtype=torch.float64),
    zeros_like=lambda x: torch.zeros_like(_t(x)),
    array=lambda items: torch.stack([_t(e).reshape(()) for e in items]),
    eye=lambda n: torch.eye(n, dtype=torch.float64))


def torch_globals() -> dict:
    g = dict(vars(array_zoo))
    g["np"] = NP
    for name, v in list(g.items()):
        if isinstance(v, types.FunctionType) and v.__module__ == array_zoo.__name__:
            g[name] = types.FunctionType(v.__code__, g, v.__name__, v.__defaults__, v.__closure__)
    return g


GLOBALS = torch_globals()


def torch_grads(case: ArrayCase, args: tuple) -> list[np.ndarray | float]:
    """d fn / d args[wrt] by torch autograd, in wrt order."""
    f = GLOBALS[case.name]
    pos = case.wrt_positions(args)
    targs = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            t = _t(a.copy())
            if i in pos:
                t = t.clone().requires_grad_(True)
            targs.append(t)
        elif i in pos:
            targs.append(torch.tensor(float(a), dtype=torch.float64, requires_grad=True))
        else:
            targs.append(a)
    # Non-leaf copies, so that a function rebinding/updating an argument is not in-place on a leaf.
    out = f(*[a * 1.0 if i in pos else a for i, a in enumerate(targs)])
    assert isinstance(out, torch.Tensor) and out.ndim == 0, type(out)
    np.testing.assert_allclose(float(out.detach()), float(case.fn(*copy_args(args))), rtol=rtol(args), atol=1e-12,
                               err_msg=f"{case.name}: the torch twin disagrees with NumPy")
    grads = torch.autograd.grad(out, [targs[i] for i in pos], allow_unused=True)
    return [np.zeros(np.shape(args[i])) if g is None else
            (g.item() if g.ndim == 0 and not isinstance(args[i], np.ndarray) else g.numpy())
            for i, g in zip(pos, grads)]


TORCH_CASES = [c for c in ZOO if c.torch]


def rtol(args: tuple) -> float:
    """Float64 agrees to rounding; an entry with float32 inputs to float32 rounding."""
    return 2e-5 if any(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in args) else 1e-8


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: c.name)
def test_against_torch(case: ArrayCase, backend: str) -> None:
    args = case.inputs()
    want = torch_grads(case, args)
    _, got = compiled(case.name, backend).value_and_grad(*args)
    got = as_tuple(got)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert np.shape(g) == np.shape(w), (case.name, k, np.shape(g), np.shape(w))
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), w, rtol=rtol(args), atol=1e-10,
                                   err_msg=f"{case.name}: gradient {k} vs torch")


def test_every_twin_runs_in_torch() -> None:
    """The shim covers every zoo entry (so no comparison is silently skipped)."""
    assert len(TORCH_CASES) == len(ZOO)


@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: c.name)
def test_expectations_agree(case: ArrayCase) -> None:
    """The two oracles agree on every entry (torch vs finite differences; no symgrad involved),
    so a failing zoo test is symgrad's and not the test's."""
    args = case.inputs()
    fd = tuple(central_diff(case.fn, args, i) for i in case.wrt_positions(args))
    check_grads(case.name, args, fd, torch_grads(case, args), rtol=1e-5, atol=1e-6)
