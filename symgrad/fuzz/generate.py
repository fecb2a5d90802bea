"""Random well-typed Python functions from the subset `compile_grad` accepts, as source text.

A program is one module: `import math` (and `numpy as np`), zero to two helper functions
(inlined by the compiler, called with defaults and keywords) and the entry point `f`.
Float arguments are differentiated, int arguments drive trip counts. Every construct is
kept numerically tame so that most random points are checkable: math functions only see
their safe domain (`log(a*a + 1.0)`, `sqrt(abs(a) + 0.25)`), products inside loops are
damped by `tanh`, loops are bounded by small trip counts and counters. With `arrays=True`
the generator also emits array arguments, local array writes and reductions (for when the
compiler accepts arrays; see `check.arrays_supported`).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

# Templates over one float expression `{a}` (and `{b}`), each total on the reals.
UNARY = ["math.sin({a})", "math.cos({a})", "math.tanh({a})", "math.atan({a})",
         "math.exp(math.tanh({a}))", "math.exp(-({a}) * ({a}))", "math.log({a} * {a} + 1.0)",
         "math.log(abs({a}) + 1.0)", "math.sqrt({a} * {a} + 1.0)", "math.sqrt(abs({a}) + 0.25)",
         "math.log1p({a} * {a})", "math.expm1(math.tanh({a}))", "abs({a})", "({a}) ** 2",
         "({a}) ** 3", "(abs({a}) + 1.0) ** 0.5", "(({a}) * ({a}) + 0.5) ** -1.5", "-({a})",
         "math.cosh(math.tanh({a}))", "np.tanh({a})", "np.square({a})"]
BINARY = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / ({b} * {b} + 1.0)",
          "{a} / (abs({b}) + 0.5)", "max({a}, {b})", "min({a}, {b})", "math.hypot({a}, {b})",
          "np.maximum({a}, {b})", "np.minimum({a}, {b})",
          "(abs({a}) + 0.5) ** math.tanh({b})", "np.clip({a}, -1.0, {b} * {b} + 0.5)",
          "math.pow(abs({a}) + 0.1, 1.5)"]
# Discontinuous but legal: the checker skips points near their jumps.
JUMPY = ["({a}) // 0.75", "({a}) % 1.25", "float(int({a} * 2.0))", "float(round({a}))",
         "float(math.floor({a}))"]
CMP = ["<", ">", "<=", ">="]


@dataclass
class Program:
    """A generated program: its module source and the entry point's argument kinds."""

    seed: int
    source: str
    name: str = "f"
    # Argument kinds in order: "f" (float, differentiated), "i" (int), "a" (float array).
    kinds: list[str] = field(default_factory=list)


class _Scope:
    """Names readable at the current point, by type."""

    def __init__(self, floats: list[str], ints: list[str], arrays: list[str]):
        self.floats, self.ints, self.arrays = floats, ints, arrays

    def copy(self) -> "_Scope":
        return _Scope(list(self.floats), list(self.ints), list(self.arrays))


class Generator:
    """One program per seed; `size` scales the number of statements."""

    def __init__(self, seed: int, *, arrays: bool = False, size: int = 5):
        self.seed = seed
        self.r = random.Random(seed)
        self.arrays = arrays
        self.size = size
        self.lines: list[str] = []
        self.fresh = 0
        self.helpers: list[tuple[str, int]] = []  # (name, positional float params)
        self.sc = _Scope([], [], [])
        # Expression nesting: compile time grows with it, so small sizes keep it shallow.
        self.max_depth = 2 if size <= 2 else 3

    # ----------------------------------------------------------------- expressions
    def _name(self, prefix: str) -> str:
        self.fresh += 1
        return f"{prefix}{self.fresh}"

    def const(self) -> str:
        r = self.r.random()
        if r < 0.15:
            return self.r.choice(["0.0", "1.0", "0.5", "2.0", "-1.0"])
        return repr(round(self.r.uniform(-2.5, 2.5), 3))

    def iexpr(self, depth: int = 0) -> str:
        r, ints = self.r, self.sc.ints
        if depth >= 2 or r.random() < 0.45 or not ints:
            return r.choice(ints) if ints and r.random() < 0.75 else str(r.randint(0, 3))
        a, b = self.iexpr(depth + 1), self.iexpr(depth + 1)
        k = r.randint(1, 3)
        return r.choice([f"({a} + {b})", f"({a} - {b})", f"({a} * {k})", f"({a} // {k})",
                         f"({a} % {k + 1})", f"min({a}, {b})", f"max({a}, {b})", f"abs({a} - {b})"])

    def trip(self) -> str:
        """A small non-negative runtime trip count."""
        ints = self.sc.ints
        if not ints or self.r.random() < 0.15:
            return str(self.r.randint(0, 4))
        i = self.r.choice(ints)
        return self.r.choice([f"{i} % 4", f"{i} % 3 + 1", f"min(abs({i}), 4)", f"abs({i}) % 5"])

    def fexpr(self, depth: int = 0) -> str:
        r = self.r
        if depth >= self.max_depth or r.random() < 0.28:
            return self.leaf()
        k = r.random()
        if k < 0.36:
            return "(" + r.choice(UNARY).format(a=self.fexpr(depth + 1)) + ")"
        if k < 0.80:
            return "(" + r.choice(BINARY).format(a=self.fexpr(depth + 1), b=self.fexpr(depth + 1)) + ")"
        if k < 0.86:
            return "(" + r.choice(JUMPY).format(a=self.fexpr(depth + 1)) + ")"
        if k < 0.92 and self.sc.ints:
            i = self.iexpr(1)
            return r.choice([f"({self.fexpr(depth + 1)} * {i})", f"({i} / (abs({self.iexpr(1)}) + 1))",
                             f"float({i})"])
        if k < 0.97:
            return f"({self.fexpr(depth + 1)} if {self.cond(depth + 1)} else {self.fexpr(depth + 1)})"
        if self.arrays and self.sc.arrays:
            return self.array_reduction(depth)
        return self.call_helper(depth)

    def leaf(self) -> str:
        r, fl = self.r, self.sc.floats
        if fl and r.random() < 0.75:
            return r.choice(fl)
        if self.arrays and self.sc.arrays and self.sc.ints and r.random() < 0.3:
            a = r.choice(self.sc.arrays)
            return f"{a}[{self.iexpr(2)} % {a}.shape[0]]"
        return self.const()

    def cond(self, depth: int = 0) -> str:
        r = self.r
        k = r.random()
        if k < 0.6 or depth >= 3:
            return f"{self.fexpr(2)} {r.choice(CMP)} {self.fexpr(2)}"
        if k < 0.75 and self.sc.ints:
            return f"{self.iexpr(1)} {r.choice(CMP + ['==', '!='])} {self.iexpr(1)}"
        if k < 0.85:
            return f"({self.cond(depth + 1)}) {r.choice(['and', 'or'])} ({self.cond(depth + 1)})"
        if k < 0.92:
            return f"not ({self.cond(depth + 1)})"
        return f"{self.fexpr(2)} < {self.fexpr(2)} <= {self.fexpr(2)}"

    def call_helper(self, depth: int) -> str:
        if not self.helpers:
            return self.leaf()
        name, nf = self.r.choice(self.helpers)
        args = [self.fexpr(depth + 1) for _ in range(nf)]
        k = self.r.random()
        if k < 0.3:
            args.append(f"k={self.iexpr(1)}")
        elif k < 0.5:
            args.append(self.iexpr(1))
        return f"{name}({', '.join(args)})"

    def array_reduction(self, depth: int) -> str:
        a = self.r.choice(self.sc.arrays)
        e = self.fexpr(depth + 1)
        return self.r.choice([f"np.sum({a})", f"np.sum({a} * {e})", f"np.sum(np.sin({a}) * {a})",
                              f"np.max({a})", f"np.mean({a} * {a})", f"np.sum(np.tanh({a} * {e}))"])

    # ----------------------------------------------------------------- statements
    def emit(self, ind: int, text: str) -> None:
        self.lines.append("    " * ind + text)

    def block(self, ind: int, n: int, depth: int, in_loop: bool, tail: list[str] | None = None) -> None:
        """`n` statements at indentation `ind`; `tail` names the enclosing loop's counter."""
        for _ in range(max(n, 1)):
            self.statement(ind, depth, in_loop)

    def assign_target(self) -> str:
        """An existing float local (arguments included: `y *= 2` is a classic AD bug)."""
        return self.r.choice(self.sc.floats)

    def statement(self, ind: int, depth: int, in_loop: bool) -> None:
        r = self.r
        k = r.random()
        if depth >= 3:
            k = r.random() * 0.42
        if k < 0.16:
            v = self._name("v")
            self.emit(ind, f"{v} = {self.fexpr()}")
            self.sc.floats.append(v)
        elif k < 0.30:
            t = self.assign_target()
            op = r.choice(["+=", "-=", "*=", "="])
            rhs = f"math.tanh({self.fexpr()})" if op == "*=" else self.fexpr()
            self.emit(ind, f"{t} {op} {rhs}")
        elif k < 0.36:
            j = self._name("j")
            self.emit(ind, f"{j} = {self.iexpr()}")
            self.sc.ints.append(j)
        elif k < 0.40 and len(self.sc.floats) >= 2:
            a, b = r.sample(self.sc.floats, 2)
            self.emit(ind, f"{a}, {b} = {b}, {self.fexpr(1)}")
        elif k < 0.42:
            # An int accumulator that becomes a float: typed as a float from the start.
            v = self._name("acc")
            self.emit(ind, f"{v} = {r.randint(0, 2)}")
            self.emit(ind, f"{v} += {self.fexpr(1)}")
            self.sc.floats.append(v)
        elif k < 0.58:
            self.if_stmt(ind, depth, in_loop)
        elif k < 0.74:
            self.for_stmt(ind, depth)
        elif k < 0.82:
            self.while_stmt(ind, depth)
        elif k < 0.88 and self.arrays and self.sc.arrays:
            self.array_stmt(ind, depth)
        elif in_loop and k < 0.95:
            self.emit(ind, f"if {self.cond()}:")
            self.emit(ind + 1, r.choice(["break", "continue"]))
        elif k < 0.95:
            self.emit(ind, f"if {self.cond()}:")
            self.emit(ind + 1, f"return {self.fexpr()}")
        else:
            v = self._name("v")
            self.emit(ind, f"{v}: float = {self.call_helper(0)}")
            self.sc.floats.append(v)

    def nested(self, ind: int, depth: int, in_loop: bool, n: int) -> None:
        saved = self.sc.copy()
        self.block(ind, n, depth, in_loop)
        # Names first bound inside a block may be unbound after it: forget them.
        self.sc = saved

    def if_stmt(self, ind: int, depth: int, in_loop: bool) -> None:
        r = self.r
        self.emit(ind, f"if {self.cond()}:")
        self.nested(ind + 1, depth + 1, in_loop, r.randint(1, 2))
        if r.random() < 0.3:
            self.emit(ind, f"elif {self.cond()}:")
            self.nested(ind + 1, depth + 1, in_loop, 1)
        if r.random() < 0.7:
            self.emit(ind, "else:")
            self.nested(ind + 1, depth + 1, in_loop, r.randint(1, 2))

    def for_stmt(self, ind: int, depth: int) -> None:
        r = self.r
        i = self._name("i")
        t = self.trip()
        kind = r.random()
        if kind < 0.5:
            rng = f"range({t})"
        elif kind < 0.75:
            rng = f"range({r.randint(-1, 1)}, {t})"
        elif kind < 0.9:
            rng = f"range({t}, 0, -1)"
        else:
            rng = f"range(0, {t} * 2, 2)"
        self.emit(ind, f"for {i} in {rng}:")
        saved = self.sc.copy()
        self.sc.ints.append(i)
        self.block(ind + 1, r.randint(1, 3), depth + 1, True)
        self.sc = saved

    def while_stmt(self, ind: int, depth: int) -> None:
        c = self._name("c")
        self.emit(ind, f"{c} = 0")
        # The counter is bumped first, so `continue` can never make the loop infinite.
        self.emit(ind, f"while {c} < {self.trip()} and ({self.cond(1)}):")
        self.emit(ind + 1, f"{c} += 1")
        saved = self.sc.copy()
        self.block(ind + 1, self.r.randint(1, 2), depth + 1, True)
        self.sc = saved
        self.sc.ints.append(c)

    def array_stmt(self, ind: int, depth: int) -> None:
        r = self.r
        a = r.choice(self.sc.arrays)
        k = r.random()
        if k < 0.5:
            buf, i = self._name("buf"), self._name("i")
            self.emit(ind, f"{buf} = np.zeros({a}.shape[0])")
            self.emit(ind, f"for {i} in range({a}.shape[0]):")
            saved = self.sc.copy()
            self.sc.ints.append(i)
            self.emit(ind + 1, f"{buf}[{i}] = {a}[{i}] * {self.fexpr(1)}")
            self.sc = saved
            self.sc.arrays.append(buf)
        else:
            v, i = self._name("v"), self._name("i")
            self.emit(ind, f"{v} = 0.0")
            self.emit(ind, f"for {i} in range({a}.shape[0]):")
            saved = self.sc.copy()
            self.sc.ints.append(i)
            self.emit(ind + 1, f"{v} += {r.choice(UNARY).format(a=f'{a}[{i}]')} * {self.fexpr(2)}")
            self.sc = saved
            self.sc.floats.append(v)

    # ----------------------------------------------------------------- programs
    def helper(self, idx: int) -> None:
        name = f"h{idx}"
        nf = self.r.randint(1, 2)
        params = ["a", "b"][:nf]
        self.emit(0, f"def {name}({', '.join(params)}, k=2):")
        self.sc = _Scope(list(params), ["k"], [])
        self.block(1, self.r.randint(1, 3), 1, False)
        self.emit(1, f"return {self.fexpr()}")
        self.emit(0, "")
        self.emit(0, "")
        self.helpers.append((name, nf))

    def program(self) -> Program:
        r = self.r
        self.lines = ["import math", "", "import numpy as np", "", ""]
        for h in range(r.choice([0, 0, 0, 1, 1, 2])):
            self.helper(h)
        nf, ni = r.randint(1, 3), r.randint(0, 2)
        na = r.randint(1, 2) if self.arrays and r.random() < 0.5 else 0
        fl, il, al = ["x", "y", "z"][:nf], ["n", "m"][:ni], ["xs", "ws"][:na]
        self.emit(0, f"def f({', '.join(fl + il + al)}):")
        self.sc = _Scope(list(fl), list(il), list(al))
        self.block(1, r.randint(1, self.size), 0, False)
        self.emit(1, f"return {self.fexpr()}")
        kinds = ["f"] * nf + ["i"] * ni + ["a"] * na
        return Program(self.seed, "\n".join(self.lines) + "\n", "f", kinds)


def generate(seed: int, *, arrays: bool = False, size: int = 5) -> Program:
    """The program for `seed` (deterministic)."""
    return Generator(seed, arrays=arrays, size=size).program()
