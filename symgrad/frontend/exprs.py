"""Expression lowering (mixin of the front end): Python expressions -> IR values.

Dispatch is by AST node class through `EXPR_RULES`; constructs outside the subset have a
message in `UNSUPPORTED_EXPR` and are refused at their location.
"""
from __future__ import annotations

import ast
from typing import Any

from .. import ir
from .. import ops as O
from ..errors import CompileError
from . import resolve as R
from .arrays import ARRAY_CALLS, REFUSED_CALLS, ArrayMixin, _matmul

UNSUPPORTED_EXPR: dict[type, str] = {
    ast.Lambda: "lambda expressions are not supported in compiled code",
    ast.GeneratorExp: "generator expressions are not supported in compiled code",
    ast.ListComp: "list comprehensions are not supported in compiled code",
    ast.SetComp: "set comprehensions are not supported in compiled code",
    ast.DictComp: "dict comprehensions are not supported in compiled code",
    ast.Dict: "dicts are not supported in compiled code",
    ast.Set: "sets are not supported in compiled code",
    ast.List: "lists are not supported in compiled code (np.array([a, b]) of scalars is)",
    ast.JoinedStr: "strings (f-strings) are not supported in compiled code",
    ast.Yield: "generators (yield) are not supported in compiled code",
    ast.YieldFrom: "generators (yield from) are not supported in compiled code",
    ast.Await: "await is not supported in compiled code",
    ast.NamedExpr: "assignment expressions (:=) are not supported in compiled code",
    ast.Starred: "starred expressions are not supported in compiled code",
}

CMP_OPS_UNSUPPORTED = {ast.Is: "'is'", ast.IsNot: "'is not'", ast.In: "'in'", ast.NotIn: "'not in'"}
# Right operands of `and`/`or` made only of these are evaluated eagerly (cheap, cannot trap).
_SAFE_NODES = (ast.Compare, ast.Name, ast.Constant, ast.BoolOp, ast.UnaryOp, ast.Load,
               ast.Not, ast.And, ast.Or, ast.USub, ast.UAdd, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
               ast.Eq, ast.NotEq, ast.Attribute)


class ExprMixin(ArrayMixin):
    """Needs from the host: `b` (Builder), `env`, `ctx` (function context), `error`, `loc`,
    `value_if` (two-way branch producing a value) and `inline_call`."""

    b: ir.Builder
    env: dict

    # ------------------------------------------------------------------ entry
    def expr(self, node: ast.expr) -> Any:
        """Lower an expression to an IR value (or a tuple of values)."""
        rule = EXPR_RULES.get(type(node))
        if rule is None:
            msg = UNSUPPORTED_EXPR.get(type(node), f"{type(node).__name__} expressions are not supported")
            raise self.error(node, msg)
        with self.b.at(self.loc(node)):
            return rule(self, node)

    def scalar(self, node: ast.expr) -> ir.Value:
        v = self.expr(node)
        if not isinstance(v, ir.Value):
            raise self.error(node, "expected a single scalar value here")
        return v

    def truth(self, v: ir.Value) -> ir.Value:
        """Python truthiness as a bool value."""
        if v.type.rank:
            raise CompileError("the truth value of an array is ambiguous (use np.any/np.all "
                               "logic with np.where, or compare scalars)", self.b.loc)
        if v.dtype == "bool":
            return v
        return O.ne(v, 0)

    # ------------------------------------------------------------------ leaves
    def _constant(self, node: ast.Constant) -> ir.Value:
        v = node.value
        if isinstance(v, str):
            raise self.error(node, "strings are not supported in compiled code")
        if not R.is_number(v):
            raise self.error(node, f"the constant {v!r} is not supported in compiled code")
        return ir.Const(R.number_value(v))

    def _name(self, node: ast.Name) -> Any:
        return self.read_name(node.id, node)

    def _attribute(self, node: ast.Attribute) -> ir.Value:
        if self.is_value_expr(node.value):
            return self.value_attribute(node)
        obj = self.python_object(node)
        if R.is_number(obj):
            return ir.Const(R.number_value(obj))
        raise self.error(node, f"'{ast.unparse(node)}' is not a number; only numeric constants "
                               "and calls can be used from modules")

    def python_object(self, node: ast.expr) -> Any:
        """The Python object a global name or attribute chain (`np.pi`) refers to."""
        if isinstance(node, ast.Name):
            if node.id in self.env:
                raise self.error(node, f"'{node.id}' is a local value, not a module or function")
            try:
                return self.ctx.resolver.lookup(node.id)
            except R.Unresolved:
                raise self.error(node, f"name '{node.id}' is not defined", CompileError) from None
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in self.env:
                raise self.error(node, f"attribute '{node.attr}' of a value is not supported "
                                       "in scalar compiled code")
            base = self.python_object(node.value)
            try:
                return getattr(base, node.attr)
            except AttributeError:
                raise self.error(node, f"'{ast.unparse(node.value)}' has no attribute "
                                       f"'{node.attr}'", CompileError) from None
        raise self.error(node, f"cannot call '{ast.unparse(node)}'")

    # ------------------------------------------------------------------ operators
    def _binop(self, node: ast.BinOp) -> ir.Value:
        prim = R.AST_OPS.get(type(node.op))
        if prim is None:
            raise self.error(node, f"operator '{_op_text(node.op)}' is not supported in compiled code")
        a, c = self.scalar(node.left), self.scalar(node.right)
        if prim == "matmul":
            return self.run_rule(node, _matmul, (a, c), {}, "@")
        return O.apply(prim, a, c)

    def _unaryop(self, node: ast.UnaryOp) -> ir.Value:
        v = self.scalar(node.operand)
        if isinstance(node.op, ast.UAdd):
            return v
        if isinstance(node.op, ast.Not):
            return O.logical_not(self.truth(v))
        if isinstance(node.op, ast.USub):
            return -v
        raise self.error(node, "bitwise operators are not supported in compiled code")

    def _compare(self, node: ast.Compare) -> ir.Value:
        left = self.scalar(node.left)
        result = None
        for op, right_node in zip(node.ops, node.comparators):
            if type(op) in CMP_OPS_UNSUPPORTED:
                raise self.error(node, f"comparison with {CMP_OPS_UNSUPPORTED[type(op)]} is not "
                                       "supported in compiled code")
            right = self.scalar(right_node)
            c = O.apply(R.AST_OPS[type(op)], left, right)
            result = c if result is None else O.logical_and(result, c)
            left = right
        return result

    def _boolop(self, node: ast.BoolOp) -> ir.Value:
        # Python returns an operand, not a bool; evaluation short-circuits.
        is_and = isinstance(node.op, ast.And)
        acc = self.scalar(node.values[0])
        for rest in node.values[1:]:
            right = self.scalar(rest) if _is_safe(rest) else None
            if right is not None and acc.dtype == "bool" and right.dtype == "bool":
                acc = O.logical_and(acc, right) if is_and else O.logical_or(acc, right)
                continue
            test = self.truth(acc)
            keep = acc
            if right is not None:  # already computed: no trap possible, just select
                pair = (lambda r=right: r, lambda k=keep: k)
                acc = self.value_if(test, *(pair if is_and else pair[::-1]), node)
            elif is_and:
                acc = self.value_if(test, lambda r=rest: self.scalar(r), lambda k=keep: k, node)
            else:
                acc = self.value_if(test, lambda k=keep: k, lambda r=rest: self.scalar(r), node)
        return acc

    def _ifexp(self, node: ast.IfExp) -> ir.Value:
        test = self.truth(self.scalar(node.test))
        return self.value_if(test, lambda: self.scalar(node.body), lambda: self.scalar(node.orelse), node)

    def _tuple(self, node: ast.Tuple) -> tuple:
        return tuple(self.scalar(e) for e in node.elts)

    # ------------------------------------------------------------------ calls
    def _call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Attribute) and self.is_value_expr(node.func.value):
            return self.method_call(node)
        obj = self.python_object(node.func)
        fname = ast.unparse(node.func)
        if id(obj) in REFUSED_CALLS:
            raise self.error(node, REFUSED_CALLS[id(obj)])
        if id(obj) in ARRAY_CALLS:
            return self.array_call(node, ARRAY_CALLS[id(obj)], fname)
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise self.error(node, "*args/**kwargs in calls are not supported in compiled code")
        prim = R.CALLS.get(id(obj))
        special = R.SPECIALS.get(id(obj))
        if prim is not None or special is not None:
            if node.keywords:
                raise self.error(node, f"keyword arguments to '{fname}' are not supported")
            args = [self.scalar(a) for a in node.args]
            mod = getattr(obj, "__module__", None) or ""
            if any(a.type.rank for a in args) and (mod == "math" or (special is not None
                                                                     and not mod.startswith("numpy"))):
                raise self.error(node, f"'{fname}' takes scalars; use the NumPy function for arrays",
                                 CompileError)
            if special is not None:
                lo, hi = special.nargs
                if not lo <= len(args) <= hi:
                    raise self.error(node, f"'{fname}' takes {lo}..{hi} arguments here, got {len(args)}")
                try:
                    return special.rule(*args)
                except NotImplementedError as e:
                    raise self.error(node, f"'{fname}': {e} is not supported") from None
            want = 3 if prim == "where" else 2 if prim in ir.ARITH | {"pow", "div"} | ir.COMPARE else 1
            if len(args) != want:
                raise self.error(node, f"'{fname}' takes {want} argument(s) here, got {len(args)}")
            return O.apply(prim, *args)
        if obj is R.RANGE:
            raise self.error(node, "range() is only supported as the iterable of a for loop")
        py = R.python_function(obj)
        if py is not None:
            return self.inline_call(py, node)
        if getattr(obj, "__name__", None) == "<lambda>":
            raise self.error(node, "calling a lambda is not supported in compiled code")
        what = "print" if obj is print else R.callable_name(obj)
        raise self.error(node, f"call to unsupported function '{what}' (symgrad compiles "
                               "arithmetic, math/numpy scalar functions and plain Python helpers)")


def _is_safe(node: ast.expr) -> bool:
    return all(isinstance(n, _SAFE_NODES) for n in ast.walk(node))


def _op_text(op: ast.operator) -> str:
    return {ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
            ast.LShift: "<<", ast.RShift: ">>"}.get(type(op), type(op).__name__)


EXPR_RULES = {
    ast.Subscript: ExprMixin._subscript,
    ast.Constant: ExprMixin._constant,
    ast.Name: ExprMixin._name,
    ast.Attribute: ExprMixin._attribute,
    ast.BinOp: ExprMixin._binop,
    ast.UnaryOp: ExprMixin._unaryop,
    ast.Compare: ExprMixin._compare,
    ast.BoolOp: ExprMixin._boolop,
    ast.IfExp: ExprMixin._ifexp,
    ast.Tuple: ExprMixin._tuple,
    ast.Call: ExprMixin._call,
}
