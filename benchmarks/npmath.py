"""NumPy helpers the reference implementations share (no SciPy dependency)."""
from __future__ import annotations

import numpy as np


def logsumexp(a: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(a))) along `axis`, shifted by the maximum for stability (as SciPy's)."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)
