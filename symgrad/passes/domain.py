"""Domain guards: where a region's value is undefined (nan/inf), which a rewrite must keep.

A rewrite is correct for real inputs only if it changes neither the value where the
original is defined nor the set of points where it is not: `x/x -> 1` (x = 0),
`exp(log(x)) -> x` (x < 0), `(x**0.5)**2 -> x` (x < 0) all fail the second condition.
SymPy applies some such identities on its own, while building expressions, so the pass
compares the guards of the original instructions with those of the final expressions.

A guard is `(kind, expr)`: `nonzero` (a denominator), `nonneg` (a real root's base) or
`unit` (|expr| <= 1, the argument of asin/acos). "positive" is stored as nonzero+nonneg.
Guards SymPy proves from the symbols' assumptions (and known input definitions such as
`e = exp(a)`) are dropped before comparing.
"""
from __future__ import annotations

from typing import Callable, Iterable

import sympy
from sympy.core.function import AppliedUndef

Guard = tuple[str, sympy.Expr]


def _positive(a: sympy.Expr) -> list[Guard]:
    return [("nonzero", a), ("nonneg", a)]


# Guards of each primitive's operands (the SSA side).
OP_GUARDS: dict[str, Callable[..., list[Guard]]] = {
    "div": lambda x, y: [("nonzero", y)],
    "floordiv": lambda x, y: [("nonzero", y)],
    "mod": lambda x, y: [("nonzero", y)],
    "log": _positive,
    "log1p": lambda x: _positive(1 + x),
    "sqrt": lambda x: [("nonneg", x)],
    "arcsin": lambda x: [("unit", x)],
    "arccos": lambda x: [("unit", x)],
    "pow": lambda x, y: pow_guards(x, y),
}

# Guards of SymPy function nodes (the expression side); Pow is handled by `pow_guards`.
FN_GUARDS: dict[object, Callable[..., list[Guard]]] = {
    sympy.log: _positive,
    sympy.asin: lambda x: [("unit", x)],
    sympy.acos: lambda x: [("unit", x)],
}


def pow_guards(b: sympy.Expr, x: sympy.Expr) -> list[Guard]:
    if x.is_Integer:
        return [("nonzero", b)] if x.is_negative else []
    if x.is_Number:
        return _positive(b) if x.is_negative else [("nonneg", b)]
    # symbolic exponent: negative bases need integral exponents, zero bases nonnegative ones
    return [("nonneg", b), ("nonzero", b)] if not x.is_integer else [("nonzero", b)]


def op_guards(op: str, args: list[sympy.Expr]) -> list[Guard]:
    rule = OP_GUARDS.get(op)
    return rule(*args) if rule else []


def expr_guards(exprs: Iterable[sympy.Expr]) -> list[Guard]:
    """Guards of every node of `exprs`, visiting shared subexpressions once."""
    out: list[Guard] = []
    seen: set[sympy.Expr] = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if e in seen or e.is_Atom:
            continue
        seen.add(e)
        if e.is_Pow:
            out.extend(pow_guards(*e.args))
        elif isinstance(e, AppliedUndef):
            rule = OP_GUARDS.get(_opaque_prim(e))  # an opaque node is its primitive
            if rule:
                out.extend(rule(*e.args))
        else:
            rule = FN_GUARDS.get(e.func)
            if rule:
                out.extend(rule(*e.args))
        stack.extend(e.args)
    return out


def _opaque_prim(e: AppliedUndef) -> str:
    from .sympy_bridge import opaque_info
    try:
        return opaque_info(e.func.__name__)[0]
    except KeyError:
        return ""


def _normalise(guards: Iterable[Guard]) -> set[Guard]:
    out: set[Guard] = set()
    for kind, e in guards:
        if kind == "nonzero":
            # A product vanishes iff a factor does; b**r (r > 0) iff b does; 1/b never.
            for f in sympy.Mul.make_args(e):
                if f.is_Number:
                    continue
                if f.is_Pow and f.exp.is_Number:
                    if f.exp.is_negative:
                        continue
                    f = f.base
                out.add((kind, f))
        else:
            out.add((kind, e))
    return out


_PROVE = {
    "nonzero": lambda e: e.is_nonzero,
    "nonneg": lambda e: e.is_nonnegative,
    "unit": lambda e: None,
}


def _proved(g: Guard, defs: dict) -> bool:
    kind, e = g
    if e.is_Number:
        return bool(_PROVE[kind](e)) if kind != "unit" else abs(float(e)) <= 1
    if defs:
        e = e.xreplace(defs)
    return bool(_PROVE[kind](e))


def same_domain(orig: Iterable[Guard], new: Iterable[Guard], defs: dict | None = None) -> bool:
    """True when both guard sets are equal once proved ones are dropped."""
    a, b = _normalise(orig), _normalise(new)
    diff = a ^ b
    return all(_proved(g, defs or {}) for g in diff)


def lost(orig: Iterable[Guard], new: Iterable[Guard], defs: dict | None = None) -> set[Guard]:
    """Normalised guards of `orig` that `new` dropped and SymPy cannot prove."""
    return {g for g in _normalise(orig) - _normalise(new) if not _proved(g, defs or {})}


def normalised(guards: Iterable[Guard]) -> set[Guard]:
    return _normalise(guards)
