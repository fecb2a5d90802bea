"""symgrad's exceptions, and source locations for the errors that point at user code."""
from __future__ import annotations

import linecache
from dataclasses import dataclass


class SymgradError(Exception):
    """Base class of every error symgrad raises on its own account."""


@dataclass(frozen=True)
class Loc:
    """A place in the user's source: file, 1-based line, 0-based column."""

    file: str
    line: int
    col: int = 0
    end_col: int | None = None

    def source_line(self) -> str:
        return linecache.getline(self.file, self.line).rstrip("\n")

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col + 1}"


def render_location(loc: Loc, source_line: str | None = None) -> str:
    """`file:line:col` followed by the source line and a caret under the column."""
    text = source_line if source_line is not None else loc.source_line()
    head = f'  File "{loc.file}", line {loc.line}, column {loc.col + 1}'
    if not text:
        return head
    stripped = text.lstrip()
    indent = len(text) - len(stripped)
    width = 1
    if loc.end_col is not None and loc.end_col > loc.col:
        width = min(loc.end_col, len(text)) - loc.col
    caret = " " * (4 + max(loc.col - indent, 0)) + "^" * max(width, 1)
    return f"{head}\n    {stripped}\n{caret}"


class CompileError(SymgradError):
    """The compiler could not compile a function; names the user's file, line and column."""

    def __init__(self, message: str, loc: Loc | None = None, source_line: str | None = None):
        self.message = message
        self.loc = loc
        self._source_line = source_line
        super().__init__(self._render())

    def _render(self) -> str:
        if self.loc is None:
            return self.message
        return f"{self.message}\n{render_location(self.loc, self._source_line)}"


class UnsupportedSyntaxError(CompileError, SyntaxError):
    """A Python construct outside the subset symgrad compiles."""

    def __init__(self, message: str, loc: Loc | None = None, source_line: str | None = None):
        CompileError.__init__(self, message, loc, source_line)
        # SyntaxError's own fields, so tracebacks and IDEs can point at the spot too.
        if loc is not None:
            self.filename = loc.file
            self.lineno = loc.line
            self.offset = loc.col + 1
            self.text = source_line if source_line is not None else loc.source_line()
        self.msg = self._render()

    def __str__(self) -> str:
        return self._render()


class InputError(SymgradError, TypeError, ValueError):
    """A compiled function was called with arguments it cannot take (checked before native code)."""
