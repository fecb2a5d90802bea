"""`gradcheck` / `gradgradcheck`: analytical gradients against central differences.

PyTorch's semantics: every floating input that requires grad is perturbed by `eps` in
both directions; an analytical Jacobian entry `a` passes against the numerical `n` when
`|a - n| <= atol + rtol * |n|`. On failure the report names the output, the input, the
worst element's index and both values. Also accepts a `compile_grad` function called on
plain NumPy arrays / floats (the analytical side is then its native `.grad`).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""


def _as_tuple(v: Any) -> tuple:
    return v if isinstance(v, tuple) else tuple(v) if isinstance(v, list) else (v,)


def _report(kind: str, out_i: int, in_i: int, a: np.ndarray, n: np.ndarray, atol: float, rtol: float) -> str:
    err = np.abs(a - n) - (atol + rtol * np.abs(n))
    worst = np.unravel_index(int(np.nanargmax(np.where(np.isnan(err), np.inf, err))), a.shape)
    return (f"{kind} mismatch for output {out_i} with respect to input {in_i},\n"
            f"worst element (output index, input index) {tuple(int(w) for w in worst)}: "
            f"analytical {a[worst]!r} vs numerical {n[worst]!r} "
            f"(|diff| {abs(a[worst] - n[worst]):.3e} > atol {atol} + rtol {rtol} * |numerical|)\n"
            f"numerical:{np.array2string(n, precision=6)}\nanalytical:{np.array2string(a, precision=6)}\n")


def _numerical_jacobian(f: Callable[[], list[np.ndarray]], x: np.ndarray, eps: float) -> list[np.ndarray]:
    """Columns of d outputs / d x by central differences, perturbing `x` in place."""
    flat = x.reshape(-1)
    cols: list[list[np.ndarray]] | None = None
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        hi = f()
        flat[j] = old - eps
        lo = f()
        flat[j] = old
        diffs = [(h - l).reshape(-1) / (2 * eps) for h, l in zip(hi, lo)]
        if cols is None:
            cols = [[] for _ in diffs]
        for c, d in zip(cols, diffs):
            c.append(d)
    if cols is None:
        return []
    return [np.stack(c, axis=1) if c else np.zeros((0, 0)) for c in cols]


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_: Any) -> bool:
    """Check `func`'s gradients at `inputs` against central differences (float64 advised)."""
    inputs = _as_tuple(inputs)
    if hasattr(func, "value_and_grad") and not any(isinstance(t, Tensor) for t in inputs):
        return _check_compiled(func, inputs, eps, atol, rtol, raise_exception)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of "
                         "the them have requires_grad=True.")

    def outputs_np() -> list[np.ndarray]:
        # Grad mode stays on: a function may itself differentiate (gradgradcheck's VJP).
        from .grad_mode import enable_grad
        with enable_grad():
            return [np.array(o._data, dtype=np.float64) for o in _as_tuple(func(*inputs))
                    if isinstance(o, Tensor) and o.dtype.is_floating_point]

    outs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor) and o.dtype.is_floating_point]
    from .functional_autograd import grad as autograd_grad
    for k in diff:
        num = _numerical_jacobian(outputs_np, inputs[k]._data, eps)
        for oi, o in enumerate(outs):
            rows = []
            for e in range(o.numel()):
                seed = np.zeros(o.numel(), dtype=o._data.dtype)
                seed[e] = 1
                if not o.requires_grad:
                    rows.append(np.zeros(inputs[k].numel()))
                    continue
                g, = autograd_grad(o, inputs[k], grad_outputs=Tensor._wrap(seed.reshape(o.shape)),
                                   retain_graph=True, allow_unused=True)
                rows.append(np.zeros(inputs[k].numel()) if g is None else
                            np.asarray(g._data, dtype=np.float64).reshape(-1))
            ana = np.stack(rows) if rows else np.zeros((0, inputs[k].numel()))
            if not np.allclose(ana, num[oi], rtol=rtol, atol=atol, equal_nan=True):
                msg = _report("Jacobian", oi, k, ana, num[oi], atol, rtol)
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def _check_compiled(func: Any, inputs: tuple, eps: float, atol: float, rtol: float, raise_exception: bool) -> bool:
    """Compiled functions on floats and arrays: native `.grad` against central differences
    of the native value, perturbing each element of every differentiated argument."""
    def is_float(a: Any) -> bool:
        return isinstance(a, (float, np.floating)) or isinstance(a, np.ndarray) and a.dtype.kind == "f"
    # Float scalars and arrays become float64 arrays that can be perturbed in place; ints,
    # bools and int arrays stay as they are (data, not differentiated).
    arrays = [np.array(a, dtype=np.float64) if is_float(a) else a for a in inputs]
    params = list(getattr(func, "_params", []))
    wrt_names = getattr(func, "wrt", None)
    if wrt_names is not None and params:
        wrt = [params.index(w) for w in wrt_names]
    else:
        wrt = [i for i, a in enumerate(arrays) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]

    def args() -> list:
        return [float(a) if isinstance(a, np.ndarray) and a.ndim == 0 and a.dtype.kind == "f" else a
                for a in arrays]
    grads = _as_tuple(func.grad(*args()))
    if len(wrt) != len(grads):
        raise ValueError(f"gradcheck: {len(grads)} gradients for {len(wrt)} differentiated inputs")
    for gi, k in enumerate(wrt):
        if not (isinstance(arrays[k], np.ndarray) and arrays[k].dtype.kind == "f"):
            arrays[k] = np.array(arrays[k], dtype=np.float64)  # an int given for a wrt argument

        def value() -> list[np.ndarray]:
            return [np.asarray(func(*args()), dtype=np.float64)]
        num = _numerical_jacobian(value, arrays[k], eps)[0].reshape(np.shape(arrays[k]))
        ana = np.asarray(grads[gi], dtype=np.float64)
        if ana.shape != num.shape:
            msg = f"Gradient shape {ana.shape} for input {k} does not match the input's shape {num.shape}"
            if raise_exception:
                raise GradcheckError(msg)
            return False
        if not np.allclose(ana, num, rtol=rtol, atol=atol, equal_nan=True):
            msg = _report("Gradient", 0, k, ana.reshape(1, -1), num.reshape(1, -1), atol, rtol)
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Sequence[Tensor] | None = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, **_: Any) -> bool:
    """Check second derivatives: gradcheck of the (create_graph) vector-Jacobian product."""
    inputs = _as_tuple(inputs)
    if hasattr(func, "value_and_grad") and not any(isinstance(t, Tensor) for t in inputs):
        raise NotImplementedError("gradgradcheck of a compiled function: compile_grad has no second "
                                  "derivatives yet; call it with Tensors through the eager runtime")
    outs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor) and o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor._wrap(rng.standard_normal(o.shape).astype(o._data.dtype)) for o in outs]
    vs = [Tensor._wrap(np.array(g._data)).requires_grad_() for g in grad_outputs]

    def vjp(*args):
        xs, gs = args[:len(inputs)], args[len(inputs):]
        os_ = [o for o in _as_tuple(func(*xs)) if isinstance(o, Tensor) and o.requires_grad]
        from .functional_autograd import grad as autograd_grad
        wrt = [t for t in xs if isinstance(t, Tensor) and t.requires_grad]
        gr = autograd_grad(os_, wrt, grad_outputs=list(gs), create_graph=True, allow_unused=True)
        return tuple(g for g in gr if g is not None)

    return gradcheck(vjp, tuple(inputs) + tuple(vs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
