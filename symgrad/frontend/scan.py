"""Syntactic scans of function bodies used by the front end (no IR here)."""
from __future__ import annotations

import ast
from typing import Iterator, Sequence

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_LOOPS = (ast.For, ast.While, ast.AsyncFor)


def _walk(nodes: Sequence[ast.AST], into_loops: bool = True) -> Iterator[ast.AST]:
    """Nodes under `nodes`, not entering nested scopes (nor loops, if asked)."""
    stack = list(nodes)
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, _SCOPES):
            continue
        if not into_loops and isinstance(n, _LOOPS):
            # The loop's own `else`/test still belong to us, but its body does not.
            stack.extend(n.orelse)
            continue
        stack.extend(ast.iter_child_nodes(n))


def assigned_names(body: Sequence[ast.stmt]) -> set[str]:
    """Names stored to anywhere in `body` (nested blocks and loops included)."""
    out = set()
    for n in _walk(body):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name):
            out.add(n.value.id)  # `out[i] = v` rebinds `out` (arrays are values in the IR)
    return out


def local_names(fdef: ast.FunctionDef) -> set[str]:
    """Python's local names of a function: parameters and every assigned name."""
    a = fdef.args
    params = {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs}
    return params | assigned_names(fdef.body)


def contains(body: Sequence[ast.stmt], kind: type, *, into_loops: bool = True) -> bool:
    """Whether a statement of `kind` occurs in `body` (optionally not inside inner loops)."""
    return any(isinstance(n, kind) for n in _walk(body, into_loops))


def always_returns(body: Sequence[ast.stmt]) -> bool:
    """Every path through `body` ends in a `return` (loops are not relied on)."""
    for s in body:
        if isinstance(s, ast.Return):
            return True
        if isinstance(s, ast.If) and always_returns(s.body) and always_returns(s.orelse):
            return True
    return False
