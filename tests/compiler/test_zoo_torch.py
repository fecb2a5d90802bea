"""Zoo gradients against PyTorch autograd (skipped when torch is not installed).

Each zoo function is re-created with its module globals swapped for a shim where
`math.*`/`numpy.*` mean the `torch.*` functions, and run on float64 tensors.
"""
from __future__ import annotations

import math
import types

import numpy as np
import pytest

import compiler_zoo
from compiler_zoo import ZOO, Case
from symgrad import compile_grad

torch = pytest.importorskip("torch")


def _t(x):
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=torch.float64)


def _fn(name):
    f = getattr(torch, name)
    return lambda *a: f(*[_t(x) for x in a])


MATH = types.SimpleNamespace(
    pi=math.pi, e=math.e, sin=_fn("sin"), cos=_fn("cos"), tan=_fn("tan"), exp=_fn("exp"),
    log=_fn("log"), sqrt=_fn("sqrt"), tanh=_fn("tanh"), sinh=_fn("sinh"), cosh=_fn("cosh"),
    asin=_fn("asin"), acos=_fn("acos"), atan=_fn("atan"), log1p=_fn("log1p"), expm1=_fn("expm1"),
    log2=_fn("log2"), log10=_fn("log10"), hypot=_fn("hypot"), fabs=_fn("abs"), pow=_fn("pow"),
    floor=_fn("floor"), ceil=_fn("ceil"), lgamma=_fn("lgamma"))
NP = types.SimpleNamespace(
    sin=_fn("sin"), cos=_fn("cos"), exp=_fn("exp"), tanh=_fn("tanh"), arctan=_fn("atan"),
    log1p=_fn("log1p"), log2=_fn("log2"), square=_fn("square"), maximum=_fn("maximum"),
    minimum=_fn("minimum"), abs=_fn("abs"), float64=_t,
    clip=lambda x, lo, hi: torch.clamp(_t(x), lo, hi))


def torch_globals() -> dict:
    g = dict(vars(compiler_zoo))
    g.update(math=MATH, np=NP, sin=MATH.sin, exp=MATH.exp, log=MATH.log)
    for name, v in list(g.items()):
        if isinstance(v, types.FunctionType) and v.__module__ == compiler_zoo.__name__:
            g[name] = types.FunctionType(v.__code__, g, v.__name__, v.__defaults__, v.__closure__)
    return g


GLOBALS = torch_globals()


@pytest.mark.parametrize("case", ZOO, ids=lambda c: c.name)
def test_against_torch(case: Case) -> None:
    f = types.FunctionType(case.fn.__code__, GLOBALS, case.fn.__name__, case.fn.__defaults__,
                           case.fn.__closure__)
    cf = compile_grad(case.fn, wrt=case.wrt, cache=False, backend="numpy", simplify=False)
    names = case.fn.__code__.co_varnames[:case.fn.__code__.co_argcount]
    for point in case.points:
        pos = ([names.index(w) for w in case.wrt] if case.wrt is not None
               else [i for i, v in enumerate(point) if isinstance(v, float)])
        args = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) if i in pos else v
                for i, v in enumerate(point)]
        try:
            # Non-leaf copies, so that `z = x; z += y` is not an in-place op on a leaf.
            out = f(*[a * 1.0 if i in pos else a for i, a in enumerate(args)])
            if not isinstance(out, torch.Tensor) or not out.requires_grad:
                grads = [None] * len(pos)  # the output does not depend on the inputs here
            else:
                grads = torch.autograd.grad(out, [args[i] for i in pos], allow_unused=True)
        except (RuntimeError, TypeError) as e:
            pytest.skip(f"not expressible in torch: {e}")
        want = [0.0 if g is None else g.item() for g in grads]
        _, got = cf.value_and_grad(*point)
        got = got if isinstance(got, tuple) else (got,)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=f"{case.name} at {point}")
