"""Helpers shared by the compiler-core tests: which back ends can run here."""
from __future__ import annotations

import importlib

import pytest


def _have_native() -> bool:
    try:
        importlib.import_module("symgrad.backend.llvm")
    except Exception:  # noqa: BLE001 - any import failure means the native tests wait
        return False
    return True


HAVE_NATIVE = _have_native()
BACKENDS = [pytest.param("numpy", id="numpy"),
            pytest.param("native", id="native",
                         marks=pytest.mark.skipif(not HAVE_NATIVE, reason="symgrad.backend.llvm not importable"))]
