"""Bounded rewrites of a region's SymPy expressions, CSE, and the per-region driver.

Every rule here maps an expression to one that is equal for every real input where the
original is defined (no `expand`/`factor`/`simplify`: they blow up, see DESIGN.md). The
driver applies the rules in order, prices each result with the emitter and keeps it only
if the instruction count and cost did not grow, checks domain guards and types, runs CSE
(SymEngine when installed, else SymPy), and returns the new instructions or None.
"""
from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass
from typing import Any, Callable

import sympy
from sympy.core.function import AppliedUndef

from .domain import expr_guards, lost, normalised, same_domain
from .sympy_bridge import Region, ROp, RConst, RType, SymRegion, Untranslatable, opaque_fn, to_sympy
from .sympy_emit import Emitter, cost

try:  # the `fast` extra
    import symengine
except ImportError:  # pragma: no cover - exercised where symengine is absent
    symengine = None

Exprs = list[sympy.Expr]
PASSES = 2
# The running region's deadline, checked inside rule traversals so that a rule on a large
# region stops when the budget is spent instead of finishing first.
_DEADLINE: contextvars.ContextVar[float] = contextvars.ContextVar("simplify_deadline", default=float("inf"))


class OutOfTime(Exception):
    """The region's time budget ran out inside a rule."""


# ---------------------------------------------------------------------------------------
# rules
# ---------------------------------------------------------------------------------------
def bottom_up(exprs: Exprs, fn: Callable[[sympy.Expr], sympy.Expr], meta: dict | None = None) -> Exprs:
    """Apply `fn` to every node, children first, each shared node once (no recursion).

    With `meta` (expression -> original instruction), a rewritten node inherits the
    provenance of the node it replaces, so its instruction keeps the source line.
    """
    memo: dict[sympy.Expr, sympy.Expr] = {}
    deadline = _DEADLINE.get()
    for root in exprs:
        stack = [(root, False)]
        while stack:
            e, ready = stack.pop()
            if e in memo:
                continue
            if len(memo) % 64 == 63 and time.perf_counter() > deadline:
                raise OutOfTime
            if e.is_Atom or not e.args:
                memo[e] = fn(e)
            elif ready:
                args = tuple(memo[a] for a in e.args)
                r = memo[e] = fn(e.func(*args) if args != e.args else e)
                if meta is not None and r is not e and e in meta and r not in meta:
                    meta[r] = meta[e]
            else:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args if a not in memo)
    return [memo[r] for r in exprs]


def _log1p(e: sympy.Expr) -> sympy.Expr:
    # log(1 + a) -> log1p(a): accurate for small a, one call instead of add + log.
    if e.func is sympy.log and e.args[0].is_Add:
        c, rest = e.args[0].as_coeff_Add()
        if c == 1:
            return opaque_fn("log1p", {})(rest)
    return e


def _expm1(e: sympy.Expr) -> sympy.Expr:
    # k*exp(a) - k -> k*expm1(a): exact for small a where exp(a) - 1 cancels.
    if not e.is_Add:
        return e
    c, terms = e.as_coeff_Add()
    if c == 0:
        return e
    parts = list(sympy.Add.make_args(terms))
    for i, t in enumerate(parts):
        k, m = t.as_coeff_Mul()
        if m.func is sympy.exp and k == -c:
            rest = parts[:i] + parts[i + 1:]
            return sympy.Add(*rest, k * opaque_fn("expm1", {})(m.args[0]))
    return e


def _exp_product(e: sympy.Expr) -> sympy.Expr:
    # exp(a) * exp(b) -> exp(a + b): exp is total, so no domain changes; one call fewer
    if not e.is_Mul:
        return e
    exps = [f for f in e.args if f.func is sympy.exp]
    if len(exps) < 2:
        return e
    rest = [f for f in e.args if f.func is not sympy.exp]
    return sympy.Mul(*rest, sympy.exp(sympy.Add(*[f.args[0] for f in exps])))


# Forms of a derivative (or recomputation) expressible with an already computed value v of
# the keyed function at a: (derived form, its replacement in terms of v).
PRIMAL_IDENTITIES: dict[Any, list[Callable[[sympy.Expr, sympy.Expr], tuple[sympy.Expr, sympy.Expr]]]] = {
    sympy.tanh: [lambda a, t: (sympy.cosh(a) ** -2, 1 - t ** 2),
                 lambda a, t: (1 - sympy.tanh(a) ** 2, 1 - t ** 2)],
    sympy.exp: [lambda a, e: (sympy.exp(-a), 1 / e), lambda a, e: (sympy.exp(2 * a), e ** 2)],
    "sqrt": [lambda a, s: (a ** sympy.Rational(-1, 2), 1 / s),
             lambda a, s: (a ** sympy.Rational(3, 2), a * s)],
    "sigmoid": [lambda a, s: (1 / (1 + sympy.exp(-a)), s),
                lambda a, s: (sympy.exp(-a) / (1 + sympy.exp(-a)) ** 2, s * (1 - s))],
}


def _identity_key(e: sympy.Expr) -> Any:
    if e.is_Pow and e.exp == sympy.S.Half:
        return "sqrt"
    if e.func.__name__ == "sigmoid":
        return "sigmoid"
    return e.func


def primal_reuse(exprs: Exprs, defs: dict[sympy.Symbol, sympy.Expr], meta: dict | None = None) -> Exprs:
    """Rewrite recomputations and derivative forms of known values in terms of them."""
    mapping: dict[sympy.Expr, sympy.Expr] = {d: s for s, d in defs.items()}
    nodes = {n for root in exprs for n in sympy.preorder_traversal(root)
             if not n.is_Atom and _identity_key(n) in PRIMAL_IDENTITIES}
    sources = list(mapping) + sorted(nodes, key=sympy.default_sort_key)
    used: set[sympy.Expr] = set()   # values some replacement is written with
    for v in sources:
        if v in mapping and v not in defs.values():
            continue                # v is itself replaced: building on it could cycle
        for rule in PRIMAL_IDENTITIES.get(_identity_key(v), ()):
            form, repl = rule(v.args[0], mapping.get(v, v))
            if form != v and form not in mapping and form not in used:
                mapping[form] = repl
                used.add(v)
    if not mapping:
        return exprs
    return bottom_up(exprs, lambda e: mapping.get(e, e), meta)


def _factors(t: sympy.Expr) -> set[sympy.Expr]:
    """What a term can share: its factors (b for b**n), and a numeric coefficient's size."""
    c, _ = t.as_coeff_Mul()
    out = {_unit_factor(f) for f in sympy.Mul.make_args(t) if not f.is_Number}
    if abs(c) != 1:
        out.add(abs(c))
    return out


def _unit_factor(f: sympy.Expr) -> sympy.Expr:
    # b**n (integral n) shares the factor b (or 1/b) with other powers of b
    if f.is_Pow and f.exp.is_Integer:
        return f.base if f.exp > 0 else 1 / f.base
    return f


def _without(t: sympy.Expr, f: sympy.Expr) -> sympy.Expr:
    """t / f for a factor f of t; a shared coefficient is removed exactly, not divided."""
    if f.is_Number:
        c, rest = t.as_coeff_Mul()
        return rest if c > 0 else -rest
    return t / f


def _collect(e: sympy.Expr) -> sympy.Expr:
    """Greedy common-factor extraction in a sum: a*x + a*y + z -> a*(x + y) + z."""
    if not e.is_Add or len(e.args) < 2:
        return e
    terms = list(e.args)
    shares = [_factors(t) for t in terms]
    counts: dict[sympy.Expr, int] = {}
    for fs in shares:
        for f in fs:
            counts[f] = counts.get(f, 0) + 1
    if not counts:
        return e
    n = max(counts.values())
    if n < 2:
        return e
    # most shared factor; ties to the cheapest, then SymPy's order (hash-seed independent)
    f = min((g for g, k in counts.items() if k == n),
            key=lambda g: (sympy.count_ops(g), sympy.default_sort_key(g)))
    inner = [t for t, fs in zip(terms, shares) if f in fs]
    rest = [t for t, fs in zip(terms, shares) if f not in fs]
    # unevaluated: SymPy would distribute a number over the sum again
    shared = sympy.Mul(f, _collect(sympy.Add(*[_without(t, f) for t in inner])), evaluate=False)
    return sympy.Add(shared, _collect(sympy.Add(*rest))) if rest else shared


@dataclass
class Rule:
    name: str
    apply: Callable[[Exprs, SymRegion], Exprs]
    again: bool = True   # worth a second pass after other rules changed the expressions


# Measured on the compiler zoo's 81 adjoints (1004 region ops): CSE alone gives 958 ops,
# these rules 943. SymPy's factor_terms found nothing beyond `collect` there while
# costing a quarter of the pass's time (gcd_terms), so it is opt-in (`FACTOR_TERMS`).
RULES: list[Rule] = [
    Rule("log1p", lambda xs, sr: bottom_up(xs, _log1p, sr.meta)),
    Rule("expm1", lambda xs, sr: bottom_up(xs, _expm1, sr.meta)),
    Rule("exp_product", lambda xs, sr: bottom_up(xs, _exp_product, sr.meta)),
    Rule("primal_reuse", lambda xs, sr: primal_reuse(xs, sr.defs, sr.meta)),
    Rule("collect", lambda xs, sr: bottom_up(xs, _collect, sr.meta)),
]
FACTOR_TERMS = Rule("factor_terms", lambda xs, sr: [sympy.factor_terms(x) for x in xs], again=False)


# ---------------------------------------------------------------------------------------
# CSE
# ---------------------------------------------------------------------------------------
def cse(exprs: Exprs, keep: dict[str, sympy.Symbol]) -> tuple[list[tuple[sympy.Symbol, sympy.Expr]], Exprs]:
    """Common subexpressions of `exprs`: (temporaries in order, reduced expressions)."""
    if symengine is None:
        return sympy.cse(exprs, symbols=sympy.numbered_symbols("_cse", real=True), order="none")
    # SymEngine maps undefined functions to its builtins by name (an opaque `add` or `pow`
    # would become Add/Pow, and a 1-argument `pow` crashes it): hand it neutral aliases.
    alias: dict[Any, Any] = {}

    def hide(e: sympy.Expr) -> sympy.Expr:
        if isinstance(e, AppliedUndef):
            f = alias.setdefault(e.func, sympy.Function(f"_sgf{len(alias)}"))
            return f(*e.args)
        return e

    hidden = bottom_up(exprs, hide)
    back_fn = {f.__name__: g for g, f in alias.items()}
    reps, red = symengine.cse([symengine.sympify(x) for x in hidden])
    names = dict(keep)
    pairs = [(sympy.sympify(s), sympy.sympify(v)) for s, v in reps]
    for i, (s, _) in enumerate(pairs):
        names[s.name] = sympy.Symbol(f"_cse{i}", real=True)

    def show(e: sympy.Expr) -> sympy.Expr:
        if isinstance(e, AppliedUndef) and e.func.__name__ in back_fn:
            return back_fn[e.func.__name__](*e.args)
        if e.is_Symbol and e.name in names:
            return names[e.name]
        return e

    fixed = bottom_up([v for _, v in pairs] + [sympy.sympify(x) for x in red], show)
    return [(names[s.name], v) for (s, _), v in zip(pairs, fixed)], fixed[len(pairs):]


# ---------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------
@dataclass
class Candidate:
    ops: list[ROp]
    outputs: list[Any]
    count: int
    cost: int


@dataclass
class Outcome:
    """What happened to one region (for stats and tests)."""

    result: Candidate | None
    before: int
    rules: list[str]
    reason: str
    seconds: float


def _emit(region: Region, sr: SymRegion, bindings, outputs, make_type, meta: dict | None = None) -> Candidate:
    em = Emitter(region, sr, make_type)
    if meta is not None:
        em.meta = meta
    for sym, expr in bindings:
        em.define(sym, expr, sr.binding_meta.get(sym))
    metas = [region.ops[a - len(region.inputs)] if isinstance(a, int) and a >= len(region.inputs)
             else None for a in region.outputs]
    outs = []
    for o, m, want in zip(outputs, metas, region.outputs):
        ref = em.emit_output(o, m)
        if isinstance(ref, RConst):
            ref = _typed_const(ref, region.type_of(want))
        outs.append(ref)
    return Candidate(em.ops, outs, len(em.ops), cost(em.ops))


COMMUTATIVE = frozenset({"add", "mul", "maximum", "minimum", "eq", "ne", "logical_and", "logical_or"})


def _vkey(op: str, args: tuple, params: dict) -> tuple:
    norm = tuple(("c", float(a.value)) if isinstance(a, RConst) else ("v", a) for a in args)
    if op in COMMUTATIVE:
        norm = tuple(sorted(norm))
    return op, norm, tuple(sorted((k, repr(v)) for k, v in params.items()))


def provenance(region: Region, cand: Candidate) -> None:
    """Give new instructions the names, locations and notes of the originals they recompute.

    Value numbering matches an original instruction to a new one with the same primitive
    and (matched) operands; an unmatched one keeps what the emitter gave it: the location
    and note of the closest original expression it was emitted under (so adjoint code
    stays marked `grad of L<n>`).
    """
    n_in = len(region.inputs)
    new_at = {}
    for i, o in enumerate(cand.ops):
        new_at.setdefault(_vkey(o.op, o.args, o.params), i)
    match: dict[int, int] = {i: i for i in range(n_in)}
    located: set[int] = set()
    for k, o in enumerate(region.ops):
        args = tuple(a if isinstance(a, RConst) else match.get(a, -1) for a in o.args)
        if -1 in args:
            continue
        i = new_at.get(_vkey(o.op, args, o.params))
        if i is None:
            continue
        match[n_in + k] = n_in + i
        new = cand.ops[i]
        if i not in located:
            new.name, new.loc, new.note = o.name or new.name, o.loc, o.note
            located.add(i)
    for ref, want in zip(cand.outputs, region.outputs):
        if isinstance(ref, int) and ref >= n_in and isinstance(want, int) and want >= n_in:
            o, i = region.ops[want - n_in], ref - n_in
            if i not in located:
                cand.ops[i].name, cand.ops[i].loc, cand.ops[i].note = o.name, o.loc, o.note
                located.add(i)


def _typed_const(c: RConst, t: Any) -> RConst:
    if c.type is not None:
        return c
    if t.dtype in ("i64", "int64", "bool") and float(c.value) != int(c.value):
        raise Untranslatable("fractional constant for an integer output")
    v = c.value if t.dtype not in ("f32", "f64", "float32", "float64") else float(c.value)
    return RConst(v, t)


def _types_match(region: Region, cand: Candidate) -> bool:
    def ty(a):
        if isinstance(a, RConst):
            return a.type
        n = len(region.inputs)
        return region.inputs[a].type if a < n else cand.ops[a - n].type
    return all((ty(a).dtype, ty(a).rank) == (region.type_of(b).dtype, region.type_of(b).rank)
               for a, b in zip(cand.outputs, region.outputs))


def _better(c: Candidate, best: Candidate) -> bool:
    return c.count <= best.count and c.cost <= best.cost and (c.count, c.cost) != (best.count, best.cost)


def resubstitute(reps: list, red: Exprs) -> tuple[Exprs, dict[sympy.Expr, sympy.Expr]]:
    """CSE output with its temporaries substituted back, and each reduced node's full form."""
    full: dict[sympy.Expr, sympy.Expr] = {}
    for s, v in reps:
        full[v] = full[s] = _rebuild(v, full)
    return [_rebuild(r, full) for r in red], full


def _rebuild(e: sympy.Expr, full: dict) -> sympy.Expr:
    stack = [(e, False)]
    while stack:
        n, ready = stack.pop()
        if n in full:
            continue
        if n.is_Atom or not n.args:
            full[n] = n
        elif ready:
            args = tuple(full[a] for a in n.args)
            full[n] = n.func(*args) if args != n.args else n
        else:
            stack.append((n, True))
            stack.extend((a, False) for a in n.args if a not in full)
    return full[e]


def _cse_faithful(back: Exprs, exprs: Exprs, sr: SymRegion) -> bool:
    """CSE must only share: substituted back, it gives the same expressions (or domain)."""
    return back == exprs or same_domain(sr.guards, expr_guards(back), sr.defs)


def roundtrip(region: Region, make_type: Callable[[str, int], Any] = RType) -> Candidate:
    """SSA -> SymPy -> SSA with no rewrite and no CSE (what the tests check the tables with)."""
    sr = to_sympy(region)
    return _emit(region, sr, list(sr.bindings), list(sr.outputs), make_type)


def simplify_region(region: Region, *, deadline: float, make_type: Callable[[str, int], Any] = RType,
                    rules: list[Rule] | None = None) -> Outcome:
    """Simplify one region; `Outcome.result` is None when the original should stay."""
    t0 = time.perf_counter()
    token = _DEADLINE.set(deadline)
    try:
        return _simplify_region(region, deadline, make_type, rules, t0)
    finally:
        _DEADLINE.reset(token)


def _simplify_region(region: Region, deadline: float, make_type: Callable[[str, int], Any],
                     rules: list[Rule] | None, t0: float) -> Outcome:
    before = len(region.ops)
    orig = Candidate(region.ops, list(region.outputs), before, cost(region.ops))

    def done(result, applied, reason):
        return Outcome(result, before, applied, reason, time.perf_counter() - t0)

    sr = None
    protect: frozenset[int] = frozenset()
    for _ in range(3):
        try:
            sr = to_sympy(region, opaque=protect)
        except Untranslatable as e:
            return done(None, [], f"untranslatable: {e}")
        exprs = [x for _, x in sr.bindings] + list(sr.outputs)
        # SymPy applies some identities while building (x/x -> 1, exp(log(x)) -> x) that
        # are wrong at some real inputs: keep the ops whose guards vanished opaque, retry.
        gone = lost(sr.guards, expr_guards(exprs), sr.defs)
        if not gone:
            break
        culprits = {k for k, gs in enumerate(sr.op_guards) if normalised(gs) & gone}
        if not culprits - protect:
            break
        protect = protect | culprits
    syms = [s for s, _ in sr.bindings]

    def split(xs):
        return list(zip(syms, xs[:len(syms)])), xs[len(syms):]

    def price(xs) -> Candidate | None:
        try:
            b, o = split(xs)
            return _emit(region, sr, b, o, make_type)
        except Exception:  # noqa: BLE001  (unpriceable: not a candidate)
            return None

    if not same_domain(sr.guards, expr_guards(exprs), sr.defs):
        return done(None, [], "domain changed during translation")
    cur = price(exprs)
    if cur is None:
        return done(None, [], "emission failed")
    applied = []
    for p in range(PASSES):  # a rule can expose another's pattern (collect, then expm1)
        changed = False
        for rule in rules if rules is not None else RULES:
            if time.perf_counter() > deadline:
                break
            if p and not rule.again:
                continue
            try:
                new = rule.apply(exprs, sr)
            except Exception:  # noqa: BLE001  (a SymPy failure just skips the rule)
                continue
            if new == exprs:
                continue
            cand = price(new)
            if cand is None or not (cand.count <= cur.count and cand.cost <= cur.cost):
                continue
            if not same_domain(sr.guards, expr_guards(new), sr.defs):
                continue
            exprs, cur, changed = new, cand, True
            applied.append(rule.name)
        if not changed:
            break
    # Out of time: keep what the rules gave (already priced), skip CSE.
    late = time.perf_counter() > deadline
    if not late:
        try:
            reps, red = cse(exprs, {s.name: s for s in sr.symbols + syms})
            back, full = resubstitute(reps, red)
            if not _cse_faithful(back, exprs, sr):
                raise Untranslatable("CSE changed the expressions")
            # provenance of the shared forms: the original node each one stands for
            meta = dict(sr.meta)
            meta.update({r: sr.meta[f] for r, f in full.items() if f in sr.meta and r not in meta})
            b, o = split(red)
            cand = _emit(region, sr, reps + b, o, make_type, meta)
            if cand.count <= cur.count and cand.cost <= cur.cost:
                cur = cand
        except Exception:  # noqa: BLE001  (CSE is optional: keep the un-shared candidate)
            pass
    if not _types_match(region, cur):
        return done(None, applied, "types changed")
    if not _better(cur, orig):
        return done(None, applied, "no gain")
    provenance(region, cur)
    return done(cur, applied, "simplified (budget spent)" if late else "simplified")
