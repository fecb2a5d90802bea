"""Constant folding and algebraic identities of the builder (split from `ir.py` to keep it small)."""
from __future__ import annotations

from typing import Any, Sequence

from .errors import CompileError


def fold(prim: str, values: Sequence[Any], params: dict, t: Any) -> Any:
    """Evaluate a primitive on constants with its NumPy implementation."""
    import numpy as np

    from . import prims
    if prim in ("floordiv", "mod") and t.dtype == "i64" and values[1] == 0:
        raise CompileError("integer division or modulo by zero", _ir.current().loc if _ir._active() else None)
    npt = _ir.TO_NUMPY[t.dtype] if prim not in _ir.COMPARE else None
    args = [np.array(v, dtype=_ir.TO_NUMPY[_dtype_of(v)]) for v in values]
    with np.errstate(all="ignore"):
        r = prims.get(prim).impl(*args, **params)
    r = np.asarray(r).astype(npt) if npt else np.asarray(r)
    return r.item()


# x op c == x for these constants c (exact in IEEE arithmetic; x*0 is not, NaN/inf).
_RIGHT_UNIT = {"add": 0, "sub": 0, "mul": 1, "div": 1, "pow": 1}
_LEFT_UNIT = {"add": 0, "mul": 1}


def identity(prim: str, ops: Sequence[Any]) -> Any:
    """The operand an op reduces to (`x + 0`, `1 * x`, `x // 1` on ints), else None."""
    if len(ops) != 2:
        return None
    x, y = ops
    if isinstance(y, _ir.Const) and (_RIGHT_UNIT.get(prim) == y.value or
                                 (prim == "floordiv" and y.value == 1 and y.dtype == "i64")):
        return x
    if isinstance(x, _ir.Const) and _LEFT_UNIT.get(prim) == x.value:
        return y
    return None


def _dtype_of(v: Any) -> str:
    return "bool" if isinstance(v, bool) else "i64" if isinstance(v, int) else "f64"


def _cast_number(x: Any, dtype: str) -> Any:
    if dtype == "bool":
        return bool(x)
    if dtype == "i64":
        return int(x)
    return float(x)


from . import ir as _ir  # noqa: E402  (ir imports this module)
