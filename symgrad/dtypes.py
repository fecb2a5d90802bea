"""Data types: the runtime's `symgrad.float32`-style objects, and promotion rules.

The runtime follows PyTorch's promotion (a float tensor keeps its precision against Python
scalars and integer tensors; integer tensors with a Python float give the default float
dtype). The compiler follows NumPy's (see `numpy_result_type`).
"""
from __future__ import annotations

from typing import Any

import numpy as np


class DType:
    """A tensor element type; prints as `symgrad.float32`."""

    __slots__ = ("name", "np", "is_floating_point", "itemsize", "tensor_type", "c_name", "short")

    def __init__(self, name: str, np_dtype: Any, tensor_type: str, c_name: str, short: str):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.itemsize = self.np.itemsize
        self.tensor_type = tensor_type  # as in `symgrad.FloatTensor`
        self.c_name = c_name            # as in the grad-assignment dtype error
        self.short = short              # as in "Got: Long"

    def __repr__(self) -> str:
        return f"symgrad.{self.name}"

    def __reduce__(self):
        return (from_name, (self.name,))

    @property
    def is_complex(self) -> bool:
        return False

    @property
    def is_signed(self) -> bool:
        return self.np.kind in "fi"


float32 = DType("float32", np.float32, "FloatTensor", "float", "Float")
float64 = DType("float64", np.float64, "DoubleTensor", "double", "Double")
int64 = DType("int64", np.int64, "LongTensor", "long int", "Long")
int32 = DType("int32", np.int32, "IntTensor", "int", "Int")
uint8 = DType("uint8", np.uint8, "ByteTensor", "unsigned char", "Byte")
bool_ = DType("bool", np.bool_, "BoolTensor", "bool", "Bool")

ALL = (float32, float64, int64, int32, uint8, bool_)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
# PyTorch's aliases.
float = float32
double = float64
long = int64
int = int32

_default_float = float32


def from_name(name: str) -> DType:
    return _BY_NAME[name]


def get_default_dtype() -> DType:
    return _default_float


def set_default_dtype(d: DType) -> None:
    global _default_float
    if not isinstance(d, DType) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = d


def from_numpy(dt: Any) -> DType:
    """The DType for a NumPy dtype; float16 and friends are widened, unsigned ints kept as uint8."""
    dt = np.dtype(dt)
    if dt in _BY_NP:
        return _BY_NP[dt]
    if dt.kind == "f":
        return float32 if dt.itemsize < 4 else float64
    if dt.kind in "iu":
        return int64
    if dt.kind == "b":
        return bool_
    raise TypeError(f"can't convert np.ndarray of type {dt}. The only supported types are: "
                    "float64, float32, int64, int32, uint8, and bool.")


def to_dtype(d: Any) -> DType:
    """Accept a DType, a NumPy dtype or a Python type."""
    if isinstance(d, DType):
        return d
    if d is builtins_float:
        return float64
    if d is builtins_int:
        return int64
    if d is builtins_bool:
        return bool_
    return from_numpy(d)


import builtins as _b  # noqa: E402  (names above shadow the builtins on purpose)

builtins_float, builtins_int, builtins_bool = _b.float, _b.int, _b.bool

# Category ranks for PyTorch promotion: bool < integer < floating.
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _category(d: DType) -> _b.int:
    return _CATEGORY[d.np.kind]


def _scalar_category(v: Any) -> _b.int:
    if isinstance(v, (_b.bool, np.bool_)):
        return 0
    if isinstance(v, (_b.int, np.integer)):
        return 1
    return 2


def torch_result_type(tensors: list[tuple[DType, _b.bool]], scalars: list[Any]) -> DType:
    """PyTorch's result type: `tensors` is (dtype, is_zero_dim) pairs, `scalars` Python numbers.

    Dimensioned tensors outrank 0-dim tensors, which outrank Python scalars, but only
    within the same category: a higher category from a lower-priority operand still wins
    and then takes its own dtype (0-dim tensor) or the default dtype (Python float).
    """
    dims = [d for d, z in tensors if not z]
    zeros = [d for d, z in tensors if z]

    def widest(ds: list[DType]) -> DType | None:
        if not ds:
            return None
        out = ds[0]
        for d in ds[1:]:
            out = _promote_pair(out, d)
        return out

    result = widest(dims)
    for group in (zeros,):
        cand = widest(group)
        if cand is None:
            continue
        if result is None or _category(cand) > _category(result):
            result = cand
    if scalars:
        cat = max(_scalar_category(s) for s in scalars)
        if result is None:
            result = {0: bool_, 1: int64, 2: _default_float}[cat]
        elif cat > _category(result):
            result = {1: int64, 2: _default_float}[cat]
    return result if result is not None else _default_float


def _promote_pair(a: DType, b: DType) -> DType:
    if a is b:
        return a
    return from_numpy(np.promote_types(a.np, b.np))


def numpy_result_type(*dts: Any) -> np.dtype:
    """NumPy's promotion, used by the compiler for array code."""
    return np.result_type(*dts)
