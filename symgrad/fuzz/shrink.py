"""Delta-debugging shrinker: the smallest program (by statements, then expressions) that
still fails the same way, saved as a runnable reproducer.

Candidates are made on the AST and printed back with `ast.unparse`; a candidate is kept
when `still_fails(source)` holds (the caller checks the failure *kind*, so a candidate
that breaks the program into a compile error or an unbound name is simply rejected).
"""
from __future__ import annotations

import ast
import copy
import time
from pathlib import Path
from typing import Callable, Iterator

_STMT_LISTS = ("body", "orelse")


def _stmt_lists(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for f in _STMT_LISTS:
            lst = getattr(node, f, None)
            if isinstance(lst, list) and lst and isinstance(lst[0], ast.stmt):
                yield lst


def _count(tree: ast.AST) -> int:
    return sum(1 for _ in ast.walk(tree))


class Shrinker:
    """Greedy delta debugging under a budget of predicate calls and seconds."""

    def __init__(self, still_fails: Callable[[str], bool], *, max_tries: int = 400,
                 max_seconds: float = 120.0):
        self.still_fails = still_fails
        self.max_tries = max_tries
        self.deadline = time.monotonic() + max_seconds
        self.tries = 0

    def _budget(self) -> bool:
        return self.tries < self.max_tries and time.monotonic() < self.deadline

    def _try(self, tree: ast.Module) -> bool:
        if not self._budget():
            return False
        self.tries += 1
        try:
            src = ast.unparse(ast.fix_missing_locations(tree))
        except Exception:  # noqa: BLE001 - an unprintable candidate is just rejected
            return False
        try:
            return self.still_fails(src)
        except Exception:  # noqa: BLE001 - a candidate that breaks the checker is not a reproducer
            return False

    def shrink(self, source: str) -> str:
        tree = ast.parse(source)
        progress = True
        while progress and self._budget():
            progress = False
            for step in (self._drop_statements, self._unwrap_compounds, self._simplify_exprs):
                new = step(tree)
                if new is not None:
                    tree, progress = new, True
        return ast.unparse(tree) + "\n"

    # Each step returns a smaller tree that still fails, or None.
    def _edits(self, tree: ast.Module, edit: Callable[[ast.Module, int], bool]) -> ast.Module | None:
        """Apply edit number k to a copy for k = 0, 1, ...; keep the first that still fails."""
        improved = None
        k = 0
        while self._budget():
            cand = copy.deepcopy(tree if improved is None else improved)
            if not edit(cand, k):
                break
            if self._try(cand):
                improved = cand  # same k again: the edits after it shifted down
            else:
                k += 1
        return improved

    def _drop_statements(self, tree: ast.Module) -> ast.Module | None:
        # First halves of long blocks (ddmin's coarse pass), then single statements.
        def drop_chunk(t: ast.Module, k: int) -> bool:
            for lst in _stmt_lists(t):
                if len(lst) >= 4:
                    half = len(lst) // 2
                    for start in (0, half):
                        if k == 0:
                            del lst[start:start + half]
                            return True
                        k -= 1
            return False

        def drop_one(t: ast.Module, k: int) -> bool:
            for lst in _stmt_lists(t):
                for i in range(len(lst)):
                    if isinstance(lst[i], (ast.Import, ast.ImportFrom)):
                        continue  # harmless, and the program reads better with them
                    if k == 0:
                        del lst[i]
                        if not lst:
                            lst.append(ast.Pass())
                        return True
                    k -= 1
            return False
        a = self._edits(tree, drop_chunk)
        b = self._edits(a or tree, drop_one)
        return b or a

    def _unwrap_compounds(self, tree: ast.Module) -> ast.Module | None:
        """Replace an if/for/while by its body (or else-branch)."""
        def unwrap(t: ast.Module, k: int) -> bool:
            for lst in _stmt_lists(t):
                for i, s in enumerate(lst):
                    if isinstance(s, (ast.If, ast.For, ast.While)):
                        for part in ("body", "orelse"):
                            inner = getattr(s, part)
                            if inner:
                                if k == 0:
                                    lst[i:i + 1] = inner
                                    return True
                                k -= 1
            return False
        return self._edits(tree, unwrap)

    def _simplify_exprs(self, tree: ast.Module) -> ast.Module | None:
        """Replace an expression by one of its sub-expressions or a constant."""
        def edit(t: ast.Module, k: int) -> bool:
            for parent in ast.walk(t):
                if isinstance(parent, (ast.FunctionDef, ast.arguments, ast.arg)):
                    continue
                for fname, value in ast.iter_fields(parent):
                    items = value if isinstance(value, list) else [value]
                    for idx, child in enumerate(items):
                        if not isinstance(child, ast.expr) or isinstance(child, (ast.Name, ast.Constant)):
                            continue
                        if isinstance(parent, ast.Call) and fname == "func":
                            continue
                        if isinstance(getattr(child, "ctx", None), ast.Store):
                            continue
                        for rep in _replacements(child):
                            if k == 0:
                                if isinstance(value, list):
                                    value[idx] = rep
                                else:
                                    setattr(parent, fname, rep)
                                return True
                            k -= 1
            return False
        return self._edits(tree, edit)


def _replacements(e: ast.expr) -> list[ast.expr]:
    """Smaller stand-ins for `e`: its direct sub-expressions, then a constant."""
    subs = list(e.args) if isinstance(e, ast.Call) else \
        [c for c in ast.iter_child_nodes(e) if isinstance(c, ast.expr)]
    if isinstance(e, (ast.Compare, ast.BoolOp)) or isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.Not):
        boolish = [c for c in subs if isinstance(c, (ast.Compare, ast.BoolOp, ast.UnaryOp))]
        return [copy.deepcopy(c) for c in boolish] + [ast.Constant(True), ast.Constant(False)]
    return [copy.deepcopy(s) for s in subs] + [ast.Constant(1.0), ast.Constant(0.5)]


def save_reproducer(out_dir: str | Path, tag: str, source: str, header: str) -> Path:
    """Write `source` with a comment header (what failed, how to rerun) to `out_dir/tag.py`."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{tag}.py"
    comment = "\n".join("# " + line if line else "#" for line in header.splitlines())
    path.write_text(f"{comment}\n{source}")
    return path
