"""SymPy -> SSA: emit a region's expressions back as typed instructions.

Structural rules (Add -> add/sub, Mul -> mul/div/neg, Pow -> mul/sqrt/div/pow) and the
reverse function table of `sympy_bridge` map every node to a registry primitive. Emission
hash-conses on the SymPy node, so identical subexpressions are computed once. The same
emitter prices a candidate (`count`, `cost`) before the pass commits to it.
"""
from __future__ import annotations

from typing import Any, Callable

import sympy
from sympy.core.function import AppliedUndef

from .. import prims
from .sympy_bridge import (REVERSE, Arg, Region, ROp, RConst, RType, SymRegion, Untranslatable,
                           is_float, opaque_info, promote, result_dtype)

for _p in ("add", "sub", "mul", "div", "neg", "pow", "sqrt"):
    assert _p in prims.REGISTRY, f"the emitter needs primitive {_p!r}"

# Relative price of one instruction, to break ties between candidates with equal counts
# (a libm call costs far more than an fadd; a division several multiplications).
COST: dict[str, int] = {
    "add": 1, "sub": 1, "mul": 1, "neg": 1, "abs": 1, "maximum": 1, "minimum": 1,
    "where": 1, "cast": 1, "lt": 1, "le": 1, "gt": 1, "ge": 1, "eq": 1, "ne": 1,
    "logical_and": 1, "logical_or": 1, "logical_not": 1, "sign": 2, "floor": 2, "ceil": 2,
    "relu": 1, "div": 4, "sqrt": 4, "floordiv": 6, "mod": 6, "pow": 30,
}
DEFAULT_COST = 20  # transcendental functions


def cost(ops: list[ROp]) -> int:
    return sum(COST.get(o.op, DEFAULT_COST) for o in ops)


_SPECIALS = (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)


class Emitter:
    """Builds `ROp`s for SymPy expressions over a region's input symbols."""

    def __init__(self, region: Region, sr: SymRegion, make_type: Callable[[str, int], Any] = RType):
        self.region = region
        self.n_in = len(region.inputs)
        self.make_type = make_type
        self.ops: list[ROp] = []
        self.memo: dict[sympy.Expr, Arg] = {s: i for i, s in enumerate(sr.symbols)}
        self.meta = sr.meta
        self.ctx: ROp | None = None  # provenance of the value being emitted
        self.pending: dict[sympy.Symbol, tuple[sympy.Expr, ROp | None]] = {}
        self._numeric: dict[sympy.Expr, bool] = {}
        fl = [i.type.dtype for i in region.inputs if is_float(i.type.dtype)]
        fl += [o.type.dtype for o in region.ops if is_float(o.type.dtype)]
        self.default = promote(fl, "f64") if fl else "f64"

    # -- values ------------------------------------------------------------------------
    def numeric(self, e: sympy.Expr) -> bool:
        """`e.is_number` without its walk over the whole subtree at every node."""
        hit = self._numeric.get(e)
        if hit is None:
            hit = self._numeric[e] = (bool(e.is_number) if e.is_Atom
                                      else not isinstance(e, AppliedUndef) and all(map(self.numeric, e.args)))
        return hit

    def type_of(self, a: Arg) -> Any:
        if isinstance(a, RConst):
            return a.type
        return self.region.inputs[a].type if a < self.n_in else self.ops[a - self.n_in].type

    def define(self, sym: sympy.Symbol, expr: sympy.Expr, meta: ROp | None = None) -> None:
        """Let `sym` stand for `expr` (CSE temporaries, cut bindings); emitted on first use."""
        self.pending[sym] = (expr, meta)

    def emit_output(self, expr: sympy.Expr, meta: ROp | None) -> Arg:
        self.ctx = meta or self.ctx
        return self.emit(expr)

    def emit(self, e: sympy.Expr) -> Arg:
        hit = self.memo.get(e)
        if hit is not None:
            return hit
        if self.numeric(e):
            return _number(e)
        rule = _RULES.get(type(e))
        if rule is None:
            rule = _emit_opaque if isinstance(e, AppliedUndef) else _emit_function
        outer = self.ctx
        own = self.meta.get(e)
        if own is not None:
            self.ctx = own
        try:
            ref = rule(self, e)
        finally:
            self.ctx = outer
        self.memo[e] = ref
        return ref

    def new(self, op: str, args: tuple[Arg, ...], params: dict | None = None,
            expr: sympy.Expr | None = None) -> int:
        params = params or {}
        dts = [None if isinstance(a, RConst) and a.type is None else self.type_of(a).dtype for a in args]
        operand = [d for d in (dts[1:] if op == "where" else dts) if d is not None]
        # A Python float literal turns integer operands into float, as in Python.
        if any(isinstance(a, RConst) and a.type is None and isinstance(a.value, float) for a in args) \
                and not any(is_float(d) for d in operand):
            operand = operand + ["f64"]
        cdt = promote(operand, self.default)
        typed = tuple(RConst(_as_dtype(a.value, cdt), self.make_type(cdt, 0))
                      if isinstance(a, RConst) and a.type is None else a for a in args)
        strong = [self.type_of(a) for a in typed]
        dtype = result_dtype(op, [t.dtype for t in strong], params, self.default)
        rank = max((t.rank for t in strong), default=0)
        own = self.meta.get(expr) if expr is not None else None
        if own is not None and own.op == op:
            name, src = own.name, own
        else:
            name, src = None, self.ctx
        self.ops.append(ROp(op, typed, self.make_type(dtype, rank), dict(params), name,
                            getattr(src, "loc", None), getattr(src, "note", None)))
        return self.n_in + len(self.ops) - 1

    def fold(self, op: str, refs: list[Arg], expr: sympy.Expr | None = None) -> Arg:
        acc = refs[0]
        for i, r in enumerate(refs[1:]):
            acc = self.new(op, (acc, r), expr=expr if i == len(refs) - 2 else None)
        return acc

    def float_first(self, refs: list[Arg]) -> list[Arg]:
        """Operand order that keeps mixed int/float arithmetic in float from the start."""
        def key(a: Arg) -> int:
            if isinstance(a, RConst):
                return 2
            return 0 if is_float(self.type_of(a).dtype) else 1
        return sorted(refs, key=key)


def _as_dtype(v: Any, dtype: str) -> Any:
    return float(v) if is_float(dtype) else bool(v) if dtype == "bool" else int(v)


def _number(e: sympy.Expr) -> RConst:
    if e in _SPECIALS or e.has(*_SPECIALS):
        raise Untranslatable(f"non-finite constant {e}")
    if e.is_Integer:
        if not -2 ** 63 <= int(e) < 2 ** 63:  # SymPy folds integers exactly; i64 cannot hold it
            raise Untranslatable(f"integer constant {e} out of i64 range")
        return RConst(int(e))
    v = float(e.evalf(17))
    if v != v or v in (float("inf"), float("-inf")):
        raise Untranslatable(f"non-finite constant {e}")
    return RConst(v)


def _is_neg_term(t: sympy.Expr) -> bool:
    c, _ = t.as_coeff_Mul()
    return bool(c.is_negative)


def _emit_add(em: Emitter, e: sympy.Add) -> Arg:
    const, terms = e.as_coeff_Add()
    pos = [em.emit(t) for t in sympy.Add.make_args(terms) if not _is_neg_term(t)]
    neg = [em.emit(-t) for t in sympy.Add.make_args(terms) if _is_neg_term(t)]
    pos = em.float_first(pos)
    if const.is_positive:
        pos.append(_number(const))
    elif const.is_negative:
        neg.append(_number(-const))
    if pos:
        acc = pos[0]
        for r in pos[1:]:
            acc = em.new("add", (acc, r), expr=e if not neg and r is pos[-1] else None)
    else:
        acc, neg = em.new("neg", (neg[0],)), neg[1:]
    for i, r in enumerate(neg):
        acc = em.new("sub", (acc, r), expr=e if i == len(neg) - 1 else None)
    return acc


def _emit_mul(em: Emitter, e: sympy.Mul) -> Arg:
    c, rest = e.as_coeff_Mul()
    num, den = [], []
    for f in sympy.Mul.make_args(rest):
        if f.is_Pow and f.exp.is_Number and f.exp.is_negative:
            den.append(f.base ** -f.exp)
        elif f is not sympy.S.One:
            num.append(f)
    negate, mult, divisor = False, None, None
    if c == -1:
        negate = True
    elif c.is_Rational and not c.is_Integer and abs(c.p) == 1 and c.q & (c.q - 1):
        divisor, negate = RConst(int(c.q)), c.p < 0   # x/3 stays a division (x*0.333 rounds)
    elif c != 1:
        mult = _number(c)
    refs = em.float_first([em.emit(f) for f in num])
    if mult is not None:
        refs = refs[:1] + [mult] + refs[1:] if refs else [mult]
    dens = em.float_first([em.emit(f) for f in den]) + ([divisor] if divisor else [])
    last = "neg" if negate else ("div" if dens else "mul")
    acc = em.fold("mul", refs, e if last == "mul" else None) if refs else RConst(1)
    if dens:
        d = em.fold("mul", dens)
        acc = em.new("div", (acc, d), expr=e if last == "div" else None)
    if negate:
        acc = em.new("neg", (acc,), expr=e)
    return acc


def _emit_pow(em: Emitter, e: sympy.Pow) -> Arg:
    b, x = e.args
    own = em.meta.get(e)
    as_written = own is not None and own.op == "pow"   # the source wrote a pow call here
    if x == sympy.S.Half:
        return em.new("sqrt", (em.emit(b),), expr=e)
    if x == 2:
        r = em.emit(b)
        return em.new("mul", (r, r), expr=e)
    if x == -1:
        return em.new("div", (RConst(1), em.emit(b)), expr=e)
    if not as_written:
        if x == -sympy.S.Half:
            return em.new("div", (RConst(1), em.new("sqrt", (em.emit(b),))), expr=e)
        if x == -2:
            r = em.emit(b)
            return em.new("div", (RConst(1), em.new("mul", (r, r))), expr=e)
        if x in (3, 4):  # two multiplications beat a pow call (squares are shared)
            sq = em.emit(b ** 2)
            return em.new("mul", (sq, sq if x == 4 else em.emit(b)), expr=e)
    return em.new("pow", (em.emit(b), em.emit(x)), expr=e)


def _emit_function(em: Emitter, e: sympy.Expr) -> Arg:
    prim = REVERSE.get(e.func)
    if prim is None:
        raise Untranslatable(f"no primitive for SymPy {e.func}")
    refs = [em.emit(a) for a in e.args]
    if len(refs) > 2 and prim in ("maximum", "minimum"):  # SymPy merges nested Max/Min
        return em.fold(prim, refs, e)
    return em.new(prim, tuple(refs), expr=e)


def _emit_opaque(em: Emitter, e: AppliedUndef) -> Arg:
    try:
        prim, params = opaque_info(e.func.__name__)
    except KeyError:
        raise Untranslatable(f"unknown function {e.func}") from None
    return em.new(prim, tuple(em.emit(a) for a in e.args), params, expr=e)


def _emit_symbol(em: Emitter, e: sympy.Symbol) -> Arg:
    if e not in em.pending:
        raise Untranslatable(f"free symbol {e} outside the region")
    expr, meta = em.pending.pop(e)
    em.ctx = meta or em.meta.get(expr, em.ctx)
    return em.emit(expr)


_RULES: dict[type, Callable[[Emitter, Any], Arg]] = {
    sympy.Add: _emit_add, sympy.Mul: _emit_mul, sympy.Pow: _emit_pow, sympy.Symbol: _emit_symbol,
}
