"""Shared test helpers: finite differences, and the optional PyTorch oracle."""
from __future__ import annotations

import numpy as np
import pytest


def central_diff(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences (f returns a float; x is float64)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    flat = x.reshape(-1)
    gf = g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = f(x)
        flat[i] = old - eps
        lo = f(x)
        flat[i] = old
        gf[i] = (hi - lo) / (2 * eps)
    return g


@pytest.fixture
def torch_or_skip():
    return pytest.importorskip("torch")
