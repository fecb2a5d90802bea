"""IR text (`format_function`) in the Python-flavoured format of DESIGN.md section 3.

One instruction a line, regions indented, constants inline, and a trailing comment with
the user's source line (`# L8  h = x * w`) or the adjoint note (`# grad of L8`).
The runnable-Python view of a function lives in `pyprinter.py`.
"""
from __future__ import annotations

import os
from typing import Any

from . import ir

COMMENT_COL = 52


class Namer:
    """Stable, unique printed names: source hints first (`x`, `x.1`), numbers otherwise."""

    def __init__(self, sep: str = ".", prefix: str = "%", anon: str = "") -> None:
        self.names: dict[ir.Value, str] = {}
        self.used: set[str] = set()
        self.counter = 0
        self.sep, self.prefix, self.anon = sep, prefix, anon

    def __call__(self, v: ir.Value) -> str:
        if isinstance(v, ir.Const):
            return const_text(v)
        n = self.names.get(v)
        if n is None:
            n = self._fresh(v.name)
            self.names[v] = n
        return self.prefix + n

    def _fresh(self, hint: str | None) -> str:
        if hint:
            base = "".join(c if c.isalnum() or c == "_" else "_" for c in hint)
            cand, k = base, 0
            while cand in self.used:
                k += 1
                cand = f"{base}{self.sep}{k}"
        else:
            while True:
                cand = f"{self.anon}{self.counter}"
                self.counter += 1
                if cand not in self.used:
                    break
        self.used.add(cand)
        return cand


def const_text(c: ir.Const) -> str:
    if c.type.dtype == "bool":
        return "True" if c.value else "False"
    if c.type.dtype == "f32":
        return f"f32({c.value!r})"
    return repr(c.value)


def comment(ins: ir.Instr, source_lines: dict[int, str] | None = None) -> str:
    """`L8  h = x * w` for primal instructions, the note for adjoint ones."""
    if ins.note:
        return ins.note
    if ins.loc is None:
        return ""
    text = linecache_line(ins.loc)
    return f"L{ins.loc.line}  {text}" if text else f"L{ins.loc.line}"


def linecache_line(loc: Any) -> str:
    try:
        return loc.source_line().strip()
    except Exception:  # noqa: BLE001  (a missing file only loses the comment)
        return ""


def _params(p: dict) -> str:
    if not p:
        return ""
    return " {" + ", ".join(f"{k}={v}" for k, v in p.items()) + "}"


def format_function(fn: ir.Function) -> str:
    """The IR text of `fn`."""
    name = Namer()
    head_args = ", ".join(f"{name(a)}: {a.type}" for a in fn.args)
    rt = ", ".join(str(t) for t in fn.result_types)
    head = f"func {fn.name}({head_args}) -> {rt}:"
    if fn.loc is not None:
        head = _pad(head, f"{os.path.basename(fn.loc.file)}:{fn.loc.line}")
    lines = [head]
    _block(fn.body, name, 1, lines)
    return "\n".join(lines) + "\n"


def _pad(text: str, cmt: str) -> str:
    if not cmt:
        return text
    return f"{text.ljust(COMMENT_COL - 1)} # {cmt}"


def _sig(args: list[ir.Value], name: Namer) -> str:
    return ", ".join(f"{name(a)}: {a.type}" for a in args)


def _block(b: ir.Block, name: Namer, depth: int, out: list[str]) -> None:
    ind = "  " * depth
    for ins in b.instrs:
        ops = ", ".join(name(o) for o in ins.operands)
        res = ", ".join(f"{name(r)}: {r.type}" for r in ins.results)
        lhs = f"{res} = " if res else ""
        cm = "" if ins.op in ("yield", "condition") else comment(ins)
        if ins.op == "if_":
            then, other = ins.regions
            out.append(_pad(f"{ind}{lhs}if_ {ops}:", cm))
            out.append(f"{ind}then:")
            _block(then, name, depth + 1, out)
            out.append(f"{ind}else:")
            _block(other, name, depth + 1, out)
        elif ins.op == "for_":
            (body,) = ins.regions
            bounds = ", ".join(name(o) for o in ins.operands[:3])
            init = ", ".join(name(o) for o in ins.operands[3:])
            out.append(_pad(f"{ind}{lhs}for_ {bounds} iter({init}) body({_sig(body.args, name)}):", cm))
            _block(body, name, depth + 1, out)
        elif ins.op == "while_":
            before, body = ins.regions
            out.append(_pad(f"{ind}{lhs}while_ iter({ops}) before({_sig(before.args, name)}):", cm))
            _block(before, name, depth + 1, out)
            out.append(f"{ind}do({_sig(body.args, name)}):")
            _block(body, name, depth + 1, out)
        elif ins.op == "map_":
            (body,) = ins.regions
            out.append(_pad(f"{ind}{lhs}map_ {ops}{_params(ins.params)} body({_sig(body.args, name)}):", cm))
            _block(body, name, depth + 1, out)
        else:
            out.append(_pad(f"{ind}{lhs}{ins.op} {ops}{_params(ins.params)}".rstrip(), cm))
