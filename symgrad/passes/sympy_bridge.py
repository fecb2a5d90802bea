"""SSA <-> SymPy translation of straight-line elementwise regions.

Both directions are derived from `prims.REGISTRY` here, in one place:
- a primitive whose SymPy form is plain arithmetic (`add`, `div`, `sqrt` = `x**(1/2)`, ...)
  or exactly one SymPy function applied to its operands (`sin`, `Max`, `Abs`, ...) is
  *transparent*: SymPy sees its algebra, and the emitter maps the node back;
- every other translatable primitive (`log1p`, `expm1`, `sigmoid`, `where`, comparisons,
  `cast`, `floordiv`, `mod`, ...) becomes an *opaque* SymPy function named after it, so
  its exact semantics (precision, Python floor/mod rules, params) survive the round trip.

A `Region` is the pass's IR-independent view of a straight-line block slice: typed inputs,
instructions over value indices (inputs first, then instruction results) and outputs.
Types are anything with `.dtype` and `.rank` (`ir.Type` in the pass, `RType` in tests).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import sympy
from sympy.core.function import Application

from .. import prims


@dataclass(frozen=True)
class RType:
    """A value type (dtype name + rank), the shape of `ir.Type`."""

    dtype: str
    rank: int = 0


@dataclass(frozen=True)
class RConst:
    """A literal operand; `type` None means weak (takes its dtype from the other operands)."""

    value: Any
    type: Any = None


Arg = Union[int, RConst]  # int: index into the region's values (inputs, then op results)


@dataclass
class RInput:
    type: Any
    name: str | None = None
    key: Any = None                      # the IR value it stands for (opaque here)
    # (prim, input indices, params) when the value is known to be prim(other inputs):
    # lets rewrites reuse it instead of recomputing (primal reuse).
    definition: tuple[str, tuple[int, ...], dict] | None = None


@dataclass
class ROp:
    op: str
    args: tuple[Arg, ...]
    type: Any
    params: dict = field(default_factory=dict)
    name: str | None = None
    loc: Any = None
    note: str | None = None


@dataclass
class Region:
    inputs: list[RInput]
    ops: list[ROp]
    outputs: list[Arg]

    def type_of(self, a: Arg) -> Any:
        if isinstance(a, RConst):
            return a.type
        n = len(self.inputs)
        return self.inputs[a].type if a < n else self.ops[a - n].type


class Untranslatable(Exception):
    """A SymPy node or primitive with no counterpart on the other side."""


# ---------------------------------------------------------------------------------------
# tables built from the registry
# ---------------------------------------------------------------------------------------
# Kinds whose primitives act elementwise on scalars; reductions, shape, index and select
# ops are region barriers.
TRANSLATABLE_KINDS = frozenset({"elementwise", "compare", "cast"})
# Python's floor-division/mod rules and integer semantics are kept exactly by never letting
# SymPy's algebra (Mod auto-evaluation, floor(x/y) rewriting) touch them. SymPy's Max/Min
# query the assumption system on every construction (measured: 60% of the pass's time on
# random regions) for identities that hardly ever fire in gradient code. SymPy's `loggamma`
# is the complex principal branch (loggamma(-1/2) has imaginary part -pi), `lgamma` is
# log|Gamma(x)|, so SymPy must not evaluate or rewrite it.
KEEP_OPAQUE = frozenset({"floordiv", "mod", "maximum", "minimum", "lgamma"})
_PLAIN_NODES = (sympy.Add, sympy.Mul, sympy.Pow, sympy.Symbol, sympy.Number)


def _arity(form: Callable) -> int:
    nargs = getattr(form, "nargs", None)
    if isinstance(nargs, sympy.FiniteSet):
        return int(min(nargs))
    params = inspect.signature(form).parameters.values()
    return sum(1 for p in params if p.default is inspect.Parameter.empty)


def _is_plain_arithmetic(e: sympy.Expr) -> bool:
    return all(isinstance(n, _PLAIN_NODES) for n in sympy.preorder_traversal(e))


def _classify() -> tuple[dict, dict, set]:
    forward: dict[str, Callable] = {}      # prim -> SymPy form (transparent prims)
    reverse: dict[Any, str] = {}           # SymPy function class -> prim
    opaque: set[str] = set()
    for name, p in prims.REGISTRY.items():
        if p.kind not in TRANSLATABLE_KINDS:
            continue
        if p.sympy is None or name in KEEP_OPAQUE:
            opaque.add(name)
            continue
        syms = sympy.symbols(f"a0:{_arity(p.sympy)}", real=True)
        form = p.sympy(*syms)
        if isinstance(form, Application) and form.args == tuple(syms):
            forward[name] = p.sympy
            reverse.setdefault(form.func, name)
        elif _is_plain_arithmetic(form):
            forward[name] = p.sympy
        else:
            opaque.add(name)
    return forward, reverse, opaque


FORWARD, REVERSE, OPAQUE = _classify()
_OPAQUE_FN: dict[str, Any] = {}
_OPAQUE_INFO: dict[str, tuple[str, dict]] = {}


def translatable(op: str) -> bool:
    return op in FORWARD or op in OPAQUE


# Printed names of opaque functions that take params (the default spells every param).
OPAQUE_NAMES: dict[str, Callable[[dict], str]] = {
    "cast": lambda p: _short_dtype(p["dtype"]),
}


def opaque_fn(prim: str, params: dict) -> Any:
    """The undefined SymPy function standing for `prim` with these params (cached)."""
    if prim in OPAQUE_NAMES:
        name = OPAQUE_NAMES[prim](params)
    else:
        name = prim if not params else prim + "_" + "_".join(
            f"{k}{_param_str(v)}" for k, v in sorted(params.items()))
    fn = _OPAQUE_FN.get(name)
    if fn is None:
        fn = _OPAQUE_FN[name] = sympy.Function(name)
        _OPAQUE_INFO[name] = (prim, dict(params))
    return fn


def opaque_info(fn_name: str) -> tuple[str, dict]:
    return _OPAQUE_INFO[fn_name]


def _param_str(v: Any) -> str:
    return "None" if v is None else str(v).replace(" ", "")


# ---------------------------------------------------------------------------------------
# types of emitted instructions (NumPy promotion, Python constants weak)
# ---------------------------------------------------------------------------------------
_FLOATS = ("f32", "f64", "float32", "float64")
_ORDER = {"bool": 0, "i64": 1, "int64": 1, "f32": 2, "float32": 2, "f64": 3, "float64": 3}
_F64 = {"i64": "f64", "int64": "float64", "bool": "f64"}


def is_float(dtype: str) -> bool:
    return dtype in _FLOATS


def promote(dtypes: list[str], default: str) -> str:
    if not dtypes:
        return default
    best = max(dtypes, key=lambda d: _ORDER.get(d, 3))
    if best in ("f32", "float32") and any(d in ("i64", "int64") for d in dtypes):
        return "f64" if best == "f32" else "float64"  # NumPy: f32 with i64 -> f64
    return best


def _float_of(dtypes: list[str], default: str) -> str:
    d = promote(dtypes, default)
    return d if is_float(d) else _F64.get(d, default)


# How each primitive's result dtype follows from its operands' (dtypes excluding weak consts);
# mirrors `ir.Builder`'s rules, which have the last word when the region is rebuilt.
RESULT_DTYPE: dict[str, Callable[[list[str], dict, str], str]] = {}
# The registry's float-only primitives, and relu, which the compiler also computes in floats
# (the same set as `ir.FLOAT_ONLY`).
for _n in sorted({n for n, p in prims.REGISTRY.items() if p.float_only} | {"relu"}):
    RESULT_DTYPE[_n] = lambda ds, p, d: _float_of(ds, d)
for _n in ("lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or", "logical_not"):
    RESULT_DTYPE[_n] = lambda ds, p, d: "bool"
RESULT_DTYPE["cast"] = lambda ds, p, d: _short_dtype(p["dtype"])
RESULT_DTYPE["where"] = lambda ds, p, d: promote(ds[1:], d)


def _short_dtype(name: Any) -> str:
    name = getattr(name, "name", name)
    return {"float64": "f64", "float32": "f32", "int64": "i64", "bool_": "bool"}.get(str(name), str(name))


def result_dtype(op: str, dtypes: list[str], params: dict, default: str) -> str:
    rule = RESULT_DTYPE.get(op)
    return rule(dtypes, params, default) if rule else promote(dtypes, default)


# ---------------------------------------------------------------------------------------
# SSA -> SymPy
# ---------------------------------------------------------------------------------------
# Shared values bigger than this (tree nodes) become their own binding, so that tree
# walks over an expression stay linear in the region's size (a DAG printed as a tree can
# be exponentially large).
CUT_SIZE = 40
# Deep single-use chains (sin(sin(...))) are cut too: SymPy walks trees recursively.
CUT_DEPTH = 48


def const_to_sympy(v: Any) -> sympy.Expr:
    """Exact SymPy number: integral and half-integral floats become Integer/Rational."""
    if isinstance(v, bool):
        return sympy.Integer(int(v))
    if isinstance(v, int):
        return sympy.Integer(v)
    f = float(v)
    if f == f and abs(f) < 2.0 ** 53 and (2 * f).is_integer():
        return sympy.Rational(int(2 * f), 2)
    return sympy.Float(f)


@dataclass
class SymRegion:
    """A region in SymPy: `bindings` (symbol, expr) in order, then output expressions."""

    symbols: list[sympy.Symbol]
    bindings: list[tuple[sympy.Symbol, sympy.Expr]]
    outputs: list[sympy.Expr]
    guards: list[tuple[str, sympy.Expr]]            # domain conditions of the original ops
    op_guards: list[list[tuple[str, sympy.Expr]]]   # the same, per op
    meta: dict[sympy.Expr, ROp]                      # original op per expression (names, locs)
    defs: dict[sympy.Symbol, sympy.Expr]             # known definitions of input symbols
    binding_meta: dict[sympy.Symbol, ROp] = field(default_factory=dict)


def _sym_name(name: str | None, i: int, taken: set[str]) -> str:
    ok = name and not any(c.isspace() for c in name) and not name.startswith(("_cse", "_b"))
    base = name if ok else f"v{i}"
    out, k = base, 1
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


def make_symbols(region: Region) -> list[sympy.Symbol]:
    taken: set[str] = set()
    out = []
    for i, inp in enumerate(region.inputs):
        integer = inp.type.dtype in ("i64", "int64")
        out.append(sympy.Symbol(_sym_name(inp.name, i, taken), real=True, integer=integer or None))
    return out


def apply_prim(op: str, args: list[sympy.Expr], params: dict) -> sympy.Expr:
    if op in FORWARD:
        return FORWARD[op](*args)
    if op in OPAQUE:
        return opaque_fn(op, params)(*args)
    raise Untranslatable(op)


def _live(region: Region) -> list[bool]:
    n_in = len(region.inputs)
    live = [False] * len(region.ops)
    stack = [a - n_in for a in region.outputs if isinstance(a, int) and a >= n_in]
    while stack:
        k = stack.pop()
        if live[k]:
            continue
        live[k] = True
        stack.extend(a - n_in for a in region.ops[k].args if isinstance(a, int) and a >= n_in)
    return live


def to_sympy(region: Region, cut_size: int = CUT_SIZE, opaque: frozenset[int] = frozenset()) -> SymRegion:
    """Translate `region`; ops whose index is in `opaque` become opaque calls (kept exact)."""
    from .domain import op_guards  # domain rules live with the rewrites that need them

    syms = make_symbols(region)
    n_in = len(region.inputs)
    uses = [0] * (n_in + len(region.ops))
    for o in region.ops:
        for a in o.args:
            if isinstance(a, int):
                uses[a] += 1
    live = _live(region)
    vals: list[sympy.Expr] = list(syms)
    size = [1] * n_in
    depth = [0] * n_in
    bindings: list[tuple[sympy.Symbol, sympy.Expr]] = []
    guards: list[tuple[str, sympy.Expr]] = []
    per_op: list[list[tuple[str, sympy.Expr]]] = []
    meta: dict[sympy.Expr, ROp] = {}
    binding_meta: dict[sympy.Symbol, ROp] = {}
    taken = {s.name for s in syms}
    for k, o in enumerate(region.ops):
        args = [const_to_sympy(a.value) if isinstance(a, RConst) else vals[a] for a in o.args]
        e = opaque_fn(o.op, o.params)(*args) if k in opaque else apply_prim(o.op, args, o.params)
        per_op.append(op_guards(o.op, args) if live[k] else [])  # unused: its nan reaches nothing
        guards.extend(per_op[-1])
        meta.setdefault(e, o)
        s = 1 + sum(size[a] for a in o.args if isinstance(a, int))
        d = 1 + max((depth[a] for a in o.args if isinstance(a, int)), default=0)
        idx = n_in + k
        if not e.is_Atom and ((uses[idx] > 1 and s > cut_size) or d > CUT_DEPTH):
            b = sympy.Symbol(f"_b{idx}", real=True)
            bindings.append((b, e))
            binding_meta[b] = o
            e, s, d = b, 1, 0
        vals.append(e)
        size.append(s)
        depth.append(d)
    outputs = [const_to_sympy(a.value) if isinstance(a, RConst) else vals[a] for a in region.outputs]
    defs = {}
    for i, inp in enumerate(region.inputs):
        if inp.definition is not None:
            prim, idxs, params = inp.definition
            try:
                defs[syms[i]] = apply_prim(prim, [syms[j] for j in idxs], params)
            except Untranslatable:
                pass
    return SymRegion(syms, bindings, outputs, guards, per_op, meta, defs, binding_meta)
