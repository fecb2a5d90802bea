"""Tensor printing that reproduces PyTorch 2.13's ``repr(tensor)`` text exactly.

The rules mirror ``torch/_tensor_str.py`` (spec: runtime-semantics.md section 1.1).
Everything here is a pure function of a NumPy array plus the module-level print
options, so the Tensor class only has to supply its data, dtype name and the
autograd suffixes (``grad_fn=<...>`` / ``requires_grad=True``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "DTYPE_NAMESPACE",
    "PRINT_OPTS",
    "format_tensor",
    "get_printoptions",
    "printoptions",
    "set_printoptions",
]

# dtypes torch leaves implicit in a non-empty tensor's repr (default float dtype,
# int64 and bool are what a plain literal would produce).
_IMPLICIT_DTYPES = frozenset({"float32", "int64", "bool"})
_DEFAULT_DTYPE = "float32"
# Namespace shown in ``dtype=`` suffixes. Wrapping measures the suffix actually
# printed, so "symgrad." (2 chars longer than "torch.") can wrap where torch does not.
DTYPE_NAMESPACE = "symgrad"
_FLOAT_NAMES = frozenset({"float16", "bfloat16", "float32", "float64", "half", "float", "double"})


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set print options; same arguments, order and semantics as ``torch.set_printoptions``.

    As in torch, ``sci_mode`` is always overwritten (omitting it resets it to None = auto).
    """
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
        if profile in presets:
            (PRINT_OPTS.precision, PRINT_OPTS.threshold,
             PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth) = presets[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Current options as a dict that can be passed back to ``set_printoptions``."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Temporarily change the print options."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Decides int/sci/fixed mode and the common column width for one tensor."""

    def __init__(self, values: np.ndarray, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(str(v)))
            return
        # Only nonzero finite values decide the mode: zeros, inf and nan fit any mode.
        vals = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)  # exact widening
        if vals.size == 0:
            return
        absv = np.abs(vals)
        lo, hi = float(absv.min()), float(absv.max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        p = PRINT_OPTS.precision
        if self.sci_mode:
            widths = (len(f"{v:.{p}e}") for v in vals.tolist())
        elif self.int_mode:
            # +1 for the trailing "." that marks the tensor as floating point.
            widths = (len(f"{v:.0f}") + 1 for v in vals.tolist())
        else:
            widths = (len(f"{v:.{p}f}") for v in vals.tolist())
        self.max_width = max(self.max_width, max(widths))

    def format(self, value: float | int | bool) -> str:
        """Format one Python scalar, right-aligned to the common width."""
        p = PRINT_OPTS.precision
        if not self.floating:
            ret = f"{value}"
        elif self.sci_mode:
            ret = f"{value:{self.max_width}.{p}e}"
        elif self.int_mode:
            ret = f"{value:.0f}"
            if math.isfinite(value):
                ret += "."
        else:
            ret = f"{value:.{p}f}"
        return ret.rjust(self.max_width)


def _summarized_data(data: np.ndarray) -> np.ndarray:
    """The elements that stay visible after summarisation (they alone set the width)."""
    e = PRINT_OPTS.edgeitems
    if data.ndim == 0:
        return data
    if data.ndim == 1:
        # torch slices self[-e:], which is the whole row when e == 0: keep that quirk.
        return np.concatenate((data[:e], data[-e:])) if data.shape[0] > 2 * e else data
    if not e:
        return data[tuple(slice(0, 0) for _ in data.shape)]
    for axis, n in enumerate(data.shape):
        if n > 2 * e:
            keep = np.r_[0:e, n - e:n]
            data = np.take(data, keep, axis=axis)
    return data


def _vector_str(data: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    e = PRINT_OPTS.edgeitems
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (fmt.max_width + 2)))
    if summarize and not e:
        items = ["..."]
    elif summarize and data.shape[0] > 2 * e:
        # The " ..." marker occupies a slot when rows are split into lines.
        items = ([fmt.format(v) for v in data[:e].tolist()] + [" ..."]
                 + [fmt.format(v) for v in data[-e:].tolist()])
    else:
        items = [fmt.format(v) for v in data.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(data: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if data.ndim == 0:
        return fmt.format(data.item())
    if data.ndim == 1:
        return _vector_str(data, indent, summarize, fmt)
    e, n = PRINT_OPTS.edgeitems, data.shape[0]
    if summarize and n > 2 * e:
        rows = ([_nested_str(data[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
                + [_nested_str(data[i], indent + 1, summarize, fmt) for i in range(n - e, n)])
    else:
        rows = [_nested_str(data[i], indent + 1, summarize, fmt) for i in range(n)]
    # One blank line between 2-D blocks, two between 3-D blocks, ...
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _tensor_body(data: np.ndarray, indent: int, floating: bool) -> str:
    if data.size == 0:
        return "[]"
    summarize = data.size > PRINT_OPTS.threshold
    fmt = _Formatter(_summarized_data(data) if summarize else data, floating)
    return _nested_str(data, indent, summarize, fmt)


def _add_suffixes(text: str, suffixes: Sequence[str], indent: int) -> str:
    parts = [text]
    # torch's own measure (two more than the real last-line length); kept for identical wrapping.
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def format_tensor(
    data: np.ndarray,
    *,
    dtype_name: str,
    suffixes: Sequence[str],
    prefix: str = "tensor(",
) -> str:
    """Return the text ``repr(torch.tensor(data))`` would print, torch spelled ``symgrad``.

    ``suffixes`` (e.g. ``["grad_fn=<MulBackward0>"]``) follow the automatic
    ``size=``/``dtype=`` suffixes; ``prefix`` sets the continuation-line indent.
    """
    data = np.asarray(data)
    dtype_name = dtype_name.rpartition(".")[2]  # tolerate "torch.float64" / "symgrad.float64"
    floating = data.dtype.kind == "f" or dtype_name in _FLOAT_NAMES
    if floating and data.dtype.kind != "f":
        data = data.astype(np.float64)
    indent = len(prefix)
    auto: list[str] = []
    if data.size == 0:
        # Nothing to infer the dtype from, so anything but the default float is shown.
        if data.ndim != 1:
            auto.append(f"size={tuple(data.shape)}")
        if dtype_name != _DEFAULT_DTYPE:
            auto.append(f"dtype={DTYPE_NAMESPACE}.{dtype_name}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            auto.append(f"size={tuple(data.shape)}")
        if dtype_name not in _IMPLICIT_DTYPES:
            auto.append(f"dtype={DTYPE_NAMESPACE}.{dtype_name}")
        body = _tensor_body(data, indent, floating)
    return _add_suffixes(prefix + body, [*auto, *suffixes], indent)
