"""Run a generated program under real PyTorch (when importable) for a third opinion.

The same source is executed with `math` and `np` bound to shims that call torch ops on
float64 tensors, after rewriting `x op= e` into `x = x op e` (an in-place update of a leaf
that requires grad is an error in PyTorch, and these are immutable scalars in Python).
"""
from __future__ import annotations

import ast
import types
from typing import Any, Callable

try:  # torch is optional: without it this leg is skipped
    import torch
except Exception:  # noqa: BLE001 - a broken torch install means "not installed"
    torch = None  # type: ignore[assignment]

HAVE_TORCH = torch is not None


def _t(a: Any) -> Any:
    return a if isinstance(a, torch.Tensor) else torch.tensor(float(a), dtype=torch.float64)


def _unary(op: Callable) -> Callable:
    return lambda a: op(_t(a))


def _binary(op: Callable) -> Callable:
    return lambda a, b: op(_t(a), _t(b))


def _shims() -> tuple[types.SimpleNamespace, types.SimpleNamespace]:
    names = ["sin", "cos", "tan", "tanh", "atan", "exp", "log", "sqrt", "log1p", "expm1", "cosh",
             "sinh", "floor", "ceil", "trunc", "asin", "acos", "asinh", "log2", "log10"]
    m = {n: _unary(getattr(torch, n)) for n in names}
    m.update(hypot=_binary(torch.hypot), pow=_binary(torch.pow), atan2=_binary(torch.atan2),
             fabs=_unary(torch.abs), pi=torch.pi, e=torch.e)
    math_ns = types.SimpleNamespace(**m)
    np_ns = types.SimpleNamespace(**m, arctan=m["atan"], square=_unary(torch.square),
                                  maximum=_binary(torch.maximum), minimum=_binary(torch.minimum),
                                  abs=_unary(torch.abs),
                                  clip=lambda a, lo, hi: torch.clamp(_t(a), _t(lo), _t(hi)),
                                  sum=lambda a: torch.sum(a), mean=lambda a: torch.mean(a),
                                  max=lambda a: torch.max(a), zeros=lambda n: torch.zeros(
                                      n, dtype=torch.float64),
                                  where=lambda c, a, b: torch.where(_t(c).bool(), _t(a), _t(b)))
    return math_ns, np_ns


class _NoAugAssign(ast.NodeTransformer):
    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        load = ast.Name(node.target.id, ast.Load()) if isinstance(node.target, ast.Name) else None
        if load is None:  # subscripts: out[i] += e is left to torch (not on a leaf)
            return node
        return ast.copy_location(ast.Assign([node.target], ast.BinOp(load, node.op, node.value)), node)

    def visit_Import(self, node: ast.Import) -> Any:
        return None


def load(source: str, name: str = "f") -> Callable:
    """The function `name` of `source`, executed over torch shims."""
    tree = _NoAugAssign().visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    math_ns, np_ns = _shims()
    g: dict[str, Any] = {"math": math_ns, "np": np_ns, "__name__": "symgrad_fuzz_torch"}
    exec(compile(tree, "<fuzz-torch>", "exec"), g)
    return g[name]


def value_and_grad(fn: Callable, point: list, kinds: list[str]) -> tuple[float, list[Any]]:
    """PyTorch's value and gradients with respect to the float ("f"/"a") arguments."""
    args, leaves = [], []
    for v, k in zip(point, kinds):
        if k == "i":
            args.append(v)
            continue
        t = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        args.append(t)
        leaves.append(t)
    out = fn(*args)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return float(out), [0.0 if k == "f" else [0.0] * len(v)
                            for v, k in zip(point, kinds) if k != "i"]
    grads = torch.autograd.grad(out, leaves, allow_unused=True)
    res = []
    for g, leaf in zip(grads, leaves):
        res.append(torch.zeros_like(leaf).tolist() if g is None else g.tolist())
    return float(out.detach()), res
