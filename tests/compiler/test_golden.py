"""Golden texts of the SSA printer (and of the adjoint for a few functions).

Regenerate after an intended change with `SYMGRAD_UPDATE_GOLDEN=1 pytest tests/compiler/test_golden.py`
and review the diff.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import golden_funcs as G
from symgrad import ir
from symgrad.frontend import parse
from symgrad.passes import cleanup, infer, reverse_mode
from symgrad.printer import format_function

HERE = Path(__file__).parent / "golden"
F, I = ir.F64, ir.I64
SSA_CASES = {
    "straight_line": [F, F], "math_calls": [F], "if_else": [F], "elif_chain": [F],
    "ternary": [F, F], "for_range": [F, I], "for_break": [F, I], "while_loop": [F],
    "nested_loops": [F, I], "inlined_helper": [F], "int_float": [F, I], "short_circuit": [F, F],
    "recurrence": [F, F],
}
ADJOINT_CASES = {"straight_line": [0, 1], "if_else": [0], "for_range": [0], "while_loop": [0],
                 "recurrence": [0, 1]}


def primal(name: str) -> ir.Function:
    return cleanup(infer(parse(getattr(G, name), SSA_CASES[name])))


def check(path: Path, text: str) -> None:
    if os.environ.get("SYMGRAD_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with SYMGRAD_UPDATE_GOLDEN=1"
    assert text == path.read_text()


@pytest.mark.parametrize("name", sorted(SSA_CASES))
def test_ssa_golden(name: str) -> None:
    check(HERE / f"{name}.ssa", format_function(primal(name)))


@pytest.mark.parametrize("name", sorted(ADJOINT_CASES))
def test_adjoint_golden(name: str) -> None:
    joint = cleanup(reverse_mode(primal(name), ADJOINT_CASES[name]))
    ir.verify(joint)
    check(HERE / f"{name}.adjoint", format_function(joint))
