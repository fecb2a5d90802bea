"""Differential fuzzing of the compiler: random programs checked against independent oracles.

`generate` makes random well-typed programs as source text, `check` compares native code,
the NumPy interpreter, unsimplified IR, finite differences and PyTorch on them, `shrink`
reduces a failing program to a small reproducer, `runner` drives long runs in worker
processes (`symgrad fuzz --n 30000 --jobs 2 --out fuzz-failures/`).
"""
from __future__ import annotations

from .check import Failure, Result, arrays_supported, check_source
from .generate import Program, generate
from .runner import fuzz, shrink_failure
from .shrink import Shrinker, save_reproducer

__all__ = ["Failure", "Program", "Result", "Shrinker", "arrays_supported", "check_source", "fuzz",
           "generate", "save_reproducer", "shrink_failure"]
