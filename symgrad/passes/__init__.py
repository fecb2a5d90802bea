"""The flat pass list of the compiler (DESIGN.md section 3).

`parse -> infer -> cleanup` gives the primal SSA (stage `ssa`); `ad -> cleanup` the joint
function (stage `adjoint`); `simplify -> cleanup` the simplified one that is lowered.
Every pass is `Function -> Function`; cleanup edits its input in place.
"""
from __future__ import annotations

from typing import Any, Callable

from .ad import reverse_mode
from .cleanup import cleanup
from .infer import infer

Pass = Callable[..., Any]

PRIMAL: list[tuple[str, Pass]] = [("infer", infer), ("cleanup", cleanup)]
JOINT: list[tuple[str, Pass]] = [("ad", reverse_mode), ("cleanup", cleanup)]
SIMPLIFY: list[tuple[str, Pass]] = [("simplify", None), ("cleanup", cleanup)]  # simplify bound lazily


def simplify_pass() -> Pass | None:
    """`passes.simplify.simplify` when that module is available, else None."""
    try:
        from .simplify import simplify
    except ImportError:
        return None
    return simplify


__all__ = ["PRIMAL", "JOINT", "SIMPLIFY", "simplify_pass", "reverse_mode", "cleanup", "infer"]
