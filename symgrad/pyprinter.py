"""The IR as runnable, readable Python/NumPy source (`inspect("python")`).

Each instruction becomes one statement carrying its provenance comment (`# L8  h = x * w`
or `# grad of L8`); structured ops become `if`/`for`/`while` with their carried values as
ordinary variables. Scalars are NumPy scalars, so int64 and float semantics match the
native code.
"""
from __future__ import annotations

import keyword

from . import ir
from .printer import COMMENT_COL, Namer, comment
from .pyprinter_arrays import ARRAY_EXPR, HELPERS, NEEDS, RULES

_NP = {"f64": "np.float64", "f32": "np.float32", "i64": "np.int64", "bool": "np.bool_"}
EXPR = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "floordiv": "{0} // {1}", "mod": "{0} % {1}", "pow": "{0} ** {1}",
    "lt": "{0} < {1}", "le": "{0} <= {1}", "gt": "{0} > {1}", "ge": "{0} >= {1}",
    "eq": "{0} == {1}", "ne": "{0} != {1}",
    "logical_and": "{0} and {1}", "logical_or": "{0} or {1}", "logical_not": "not {0}",
    "neg": "-{0}", "where": "{1} if {0} else {2}",
    "maximum": "np.maximum({0}, {1})", "minimum": "np.minimum({0}, {1})",
    "relu": "np.maximum({0}, 0.0)", "sigmoid": "1.0 / (1.0 + np.exp(-{0}))",
    "load": "{0}[{1}]", "grow": "_grow({0}, {1})",
}
for _f in ("exp", "log", "log1p", "expm1", "sin", "cos", "tan", "tanh", "sinh", "cosh", "arcsin",
           "arccos", "arctan", "sqrt", "abs", "sign", "floor", "ceil", "round"):
    EXPR[_f] = f"np.{_f}({{0}})"
for _f in ("lgamma", "digamma", "trigamma"):  # imported from symgrad.special (NEEDS)
    EXPR[_f] = f"_{_f}({{0}})"

_GROW = '''
def _grow(buf, n):
    """A buffer with room for n elements, keeping the contents (the tapes of while loops)."""
    if n <= len(buf):
        return buf
    new = np.zeros((max(n, 2 * len(buf)),) + buf.shape[1:], dtype=buf.dtype)
    new[:len(buf)] = buf
    return new
'''


class _Printer:
    def __init__(self) -> None:
        self.name = Namer(sep="_", prefix="", anon="t")
        self.name.used.update(keyword.kwlist + ["np", "range", "_grow", "True", "False", "None",
                                                 "_sum_to", "_logsumexp", "_first_extremum",
                                                 "_lgamma", "_digamma", "_trigamma"])
        self.lines: list[str] = []

    def emit(self, depth: int, text: str, cm: str = "") -> None:
        line = "    " * depth + text
        self.lines.append(f"{line.ljust(COMMENT_COL - 1)} # {cm}" if cm else line)

    def assign(self, depth: int, dst: list[ir.Value], src: list[ir.Value]) -> None:
        if dst:
            self.emit(depth, f"{', '.join(self.name(v) for v in dst)} = {', '.join(self.name(v) for v in src)}")

    def block(self, b: ir.Block, depth: int) -> list[ir.Value]:
        """Print `b`'s instructions; returns its terminator's operands."""
        for ins in b.instrs:
            if ins.op in ("yield", "condition"):
                return ins.operands
            if ins.op == "return":
                vals = ", ".join(self.name(v) for v in ins.operands)
                self.emit(depth, f"return {vals}" if len(ins.operands) == 1 else f"return ({vals})")
                return []
            getattr(self, f"op_{ins.op.rstrip('_')}", self.op_prim)(ins, depth)
        return []

    def op_prim(self, ins: ir.Instr, depth: int) -> None:
        ops = [self.name(o) for o in ins.operands]
        rank = max([o.type.rank for o in ins.operands] + [r.type.rank for r in ins.results] + [0])
        if ins.op in RULES:
            for k, line in enumerate(RULES[ins.op](ins, self.name(ins.results[0]), ops)):
                self.emit(depth, line, comment(ins) if k == 0 else "")
            return
        if ins.op == "cast" and rank:
            text = f"np.asarray({ops[0]}).astype({_NP[ins.params['dtype']]})"
        elif ins.op in ARRAY_EXPR and rank:
            text = ARRAY_EXPR[ins.op].format(*ops)
        elif ins.op == "alloc" and len(ops) > 1:
            text = f"np.zeros(({', '.join(ops)}), dtype={_NP[ins.params['dtype']]})"
        elif ins.op == "cast":
            text = f"{_NP[ins.params['dtype']]}({ops[0]})"
        elif ins.op == "clamp":
            text = f"np.clip({ops[0]}, {ins.params.get('min')}, {ins.params.get('max')})"
        elif ins.op == "alloc":
            text = f"np.zeros({ops[0]}, dtype={_NP[ins.params['dtype']]})"
        elif ins.op == "store":
            self.emit(depth, f"{ops[0]}[{ops[1]}] = {ops[2]}", comment(ins))
            return
        else:
            text = EXPR[ins.op].format(*ops)
        self.emit(depth, f"{self.name(ins.results[0])} = {text}", comment(ins))

    def op_if(self, ins: ir.Instr, depth: int) -> None:
        self.emit(depth, f"if {self.name(ins.operands[0])}:", comment(ins))
        for i, region in enumerate(ins.regions):
            if i == 1:
                self.emit(depth, "else:")
            n0 = len(self.lines)
            ys = self.block(region, depth + 1)
            self.assign(depth + 1, ins.results, ys)
            if len(self.lines) == n0:
                self.emit(depth + 1, "pass")

    def op_for(self, ins: ir.Instr, depth: int) -> None:
        (body,) = ins.regions
        start, stop, step = (self.name(o) for o in ins.operands[:3])
        self.assign(depth, body.args[1:], ins.operands[3:])
        rng = f"range({stop})" if (start, step) == ("0", "1") else \
            f"range({start}, {stop})" if step == "1" else f"range({start}, {stop}, {step})"
        self.emit(depth, f"for {self.name(body.args[0])} in {rng}:", comment(ins))
        n0 = len(self.lines)
        ys = self.block(body, depth + 1)
        self.assign(depth + 1, body.args[1:], ys)
        if len(self.lines) == n0:
            self.emit(depth + 1, "pass")
        self.assign(depth, ins.results, body.args[1:])

    def op_while(self, ins: ir.Instr, depth: int) -> None:
        before, body = ins.regions
        self.assign(depth, before.args, ins.operands)
        self.emit(depth, "while True:", comment(ins))
        flag, *vals = self.block(before, depth + 1)
        self.emit(depth + 1, f"if not {self.name(flag)}:")
        self.assign(depth + 2, ins.results, vals)
        self.emit(depth + 2, "break")
        self.assign(depth + 1, body.args, vals)
        ys = self.block(body, depth + 1)
        self.assign(depth + 1, before.args, ys)


def format_python(fn: ir.Function) -> str:
    """`fn` as a Python function definition (plus the imports it needs)."""
    p = _Printer()
    args = [p.name(a) for a in fn.args]
    p.emit(0, f"def {fn.name}({', '.join(args)}):")
    if fn.meta.get("kind") == "joint":
        wrt = ", ".join(fn.meta.get("wrt", []))
        p.emit(1, f'"""Returns (value, gradient w.r.t. {wrt}); generated by symgrad."""')
    for a in fn.args:
        conv = f"np.asarray({p.name(a)}, dtype={_NP[a.type.dtype]})" if a.type.rank else \
            f"{_NP[a.type.dtype]}({p.name(a)})"
        p.emit(1, f"{p.name(a)} = {conv}")
    p.block(fn.body, 1)
    head = ["import numpy as np", ""]
    ops = {i.op for i in ir.walk(fn.body)}
    if "grow" in ops:
        head += _GROW.strip("\n").split("\n") + ["", ""]
    for op in sorted(ops & set(NEEDS)):
        head += HELPERS[NEEDS[op]].strip("\n").split("\n") + ["", ""]
    return "\n".join(head + p.lines) + "\n"
