"""Front end: a Python function's source (`inspect.getsource` + `ast`) -> structured SSA.

The IR is built directly while walking the AST. The environment maps each local name to
its current SSA value; `if` merges the two environments into the results of an `if_`,
loops carry every name they assign as block arguments (types found by a small fixed
point: an int that becomes a float makes the carried value a float). `break`,
`continue` and `return` set flags (`$broke`, `$cont`, `$returned`, value in `$ret`) and
the statements after them run under `if_ not flag`, so control flow stays structured.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .. import ir
from .. import ops as O
from ..errors import CompileError, Loc, UnsupportedSyntaxError
from . import resolve as R
from .exprs import UNSUPPORTED_EXPR, ExprMixin
from .scan import always_returns, local_names

FLAGS = ("$returned", "$broke", "$cont")
HINTS = {"$returned": "returned", "$broke": "broke", "$cont": "cont", "$ret": "retval", "$v": None}

UNSUPPORTED_STMT: dict[type, str] = {
    ast.Try: "try/except is not supported in compiled code",
    ast.With: "with statements are not supported in compiled code",
    ast.AsyncWith: "async with is not supported in compiled code",
    ast.AsyncFor: "async for is not supported in compiled code",
    ast.Raise: "raise is not supported in compiled code",
    ast.Global: "global statements (writing globals) are not supported in compiled code",
    ast.Nonlocal: "nonlocal statements (writing enclosing variables) are not supported",
    ast.FunctionDef: "nested function definitions are not supported in compiled code",
    ast.AsyncFunctionDef: "nested function definitions are not supported in compiled code",
    ast.ClassDef: "class definitions are not supported in compiled code",
    ast.Import: "import statements are not supported inside compiled code",
    ast.ImportFrom: "import statements are not supported inside compiled code",
    ast.Delete: "del is not supported in compiled code",
    ast.Assert: "assert is not supported in compiled code",
}
if hasattr(ast, "TryStar"):
    UNSUPPORTED_STMT[ast.TryStar] = UNSUPPORTED_STMT[ast.Try]
if hasattr(ast, "Match"):
    UNSUPPORTED_STMT[ast.Match] = "match statements are not supported in compiled code"


class Undef:
    """A name that may be unbound here (Python would raise UnboundLocalError)."""

    __slots__ = ("type",)

    def __init__(self, type: ir.Type | None = None):
        self.type = type


@dataclass
class FnCtx:
    """One Python function being lowered (the compiled one, or an inlined helper)."""

    fn: types.FunctionType
    fdef: ast.FunctionDef
    file: str
    line0: int
    col0: int
    resolver: R.Resolver
    locals: set[str] = field(default_factory=set)
    source: str = ""


_SOURCES: dict[Any, FnCtx] = {}


def load_function(fn: types.FunctionType, loc: Loc | None = None) -> FnCtx:
    """Parse `fn`'s source once (cached per code object)."""
    key = fn.__code__
    ctx = _SOURCES.get(key)
    if ctx is not None and ctx.fn is fn:
        return ctx
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError) as e:
        raise CompileError(f"cannot read the source of '{fn.__qualname__}' ({e}); symgrad needs "
                           "functions defined in a file", loc) from None
    src = "".join(lines)
    dedented = textwrap.dedent(src)
    col0 = len(lines[0]) - len(lines[0].lstrip()) if lines[0].strip() else 0
    file = inspect.getsourcefile(fn) or fn.__code__.co_filename
    try:
        tree = ast.parse(dedented)
    except SyntaxError as e:
        raise CompileError(f"cannot parse the source of '{fn.__qualname__}': {e.msg}",
                           Loc(file, start + (e.lineno or 1) - 1, 0)) from None
    fdef = tree.body[0] if tree.body else None
    if isinstance(fdef, ast.AsyncFunctionDef):
        raise UnsupportedSyntaxError("async functions cannot be compiled",
                                     Loc(file, start + fdef.lineno - 1, col0 + fdef.col_offset))
    if not isinstance(fdef, ast.FunctionDef):
        raise UnsupportedSyntaxError("only functions defined with 'def' can be compiled (not lambdas)",
                                     Loc(file, start, col0))
    ctx = FnCtx(fn, fdef, file, start - 1, col0, R.Resolver(fn), local_names(fdef), src)
    _SOURCES[key] = ctx
    return ctx


def parameters(fdef: ast.FunctionDef, ctx: FnCtx) -> list[str]:
    """Positional and keyword-only parameter names; refuses *args/**kwargs."""
    a = fdef.args
    for star, what in ((a.vararg, "*args"), (a.kwarg, "**kwargs")):
        if star is not None:
            raise UnsupportedSyntaxError(f"{what} parameters are not supported in compiled code",
                                         Loc(ctx.file, ctx.line0 + star.lineno, ctx.col0 + star.col_offset))
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]


class Frontend(ExprMixin):
    """Lowers one function (and the helpers it calls, inlined) into an `ir.Function`."""

    def __init__(self) -> None:
        self.b = ir.Builder()
        self.env: dict[str, Any] = {}
        self.ctx: FnCtx | None = None
        self.inlining: list[Any] = []
        # Array aliasing facts (frontend/arrays.py): view -> base, loop arg -> initial value,
        # arrays that must not be written (arguments), environments of inlining callers.
        self.views: dict[ir.Value, ir.Value] = {}
        self.carried_init: dict[ir.Value, ir.Value] = {}
        self.readonly: set[ir.Value] = set()
        self.saved_envs: list[tuple[dict, Any]] = []
        self.arg_values: list[ir.Value] = []

    # ------------------------------------------------------------------ helpers
    def loc(self, node: ast.AST) -> Loc:
        c = self.ctx
        end = getattr(node, "end_col_offset", None)
        same_line = getattr(node, "end_lineno", None) == getattr(node, "lineno", None)
        return Loc(c.file, c.line0 + node.lineno, c.col0 + node.col_offset,
                   c.col0 + end if end is not None and same_line else None)

    def error(self, node: ast.AST, msg: str, cls: type = UnsupportedSyntaxError) -> Exception:
        return cls(msg, self.loc(node))

    def read_name(self, name: str, node: ast.AST) -> ir.Value:
        v = self.env.get(name)
        if isinstance(v, ir.Value) or (v is None and name in self.env):
            return v
        if isinstance(v, Undef) or name in self.ctx.locals:
            raise self.error(node, f"local variable '{name}' may be used before it is assigned "
                                   "(on some path it has no value here)", CompileError)
        try:
            obj = self.ctx.resolver.lookup(name)
        except R.Unresolved:
            raise self.error(node, f"name '{name}' is not defined", CompileError) from None
        if R.is_number(obj):
            return ir.Const(R.number_value(obj))
        raise self.error(node, f"'{name}' is a {type(obj).__name__}, not a number; only numeric "
                               "globals can be read in compiled code")

    # ------------------------------------------------------------------ entry points
    def function(self, fn: types.FunctionType, arg_types: Sequence[ir.Type]) -> ir.Function:
        ctx = load_function(fn)
        self.ctx = ctx
        names = parameters(ctx.fdef, ctx)
        if len(names) != len(arg_types):
            raise CompileError(f"'{fn.__name__}' takes {len(names)} arguments, got {len(arg_types)} types")
        args = [ir.Arg(t, n) for n, t in zip(names, arg_types)]
        self.b.block.args[:] = args
        self.env = dict(zip(names, args))
        self.readonly.update(a for a in args if a.type.rank)
        self.arg_values = list(args)
        self.inlining.append(fn)
        with self.b:
            ret = self.body(ctx.fdef)
            with self.b.at(self.loc(ctx.fdef.body[-1])):
                self.b.ret(ret)
        return ir.Function(fn.__name__, self.b.block, [ret.type], self.loc(ctx.fdef),
                           source=ctx.source, meta={"arg_names": names, "kind": "primal",
                                                                "file": ctx.file})

    def body(self, fdef: ast.FunctionDef) -> ir.Value:
        """Lower a function body; returns the value it returns."""
        self.refuse_unsupported(fdef)
        if not always_returns(fdef.body):
            raise self.error(fdef.body[-1], f"'{fdef.name}' must end in a return statement on every "
                                            "path (compiled functions return one scalar)")
        self.env["$returned"] = ir.Const(False)
        self.stmts(fdef.body)
        ret = self.env.get("$ret")
        if not isinstance(ret, ir.Value):
            raise self.error(fdef, f"'{fdef.name}' does not return a value", CompileError)
        return ret

    def refuse_unsupported(self, fdef: ast.FunctionDef) -> None:
        """Refuse the first construct (in source order) that is never compiled, wherever it is."""
        # A list literal is only accepted as the argument of a call (np.array([a, b])).
        call_lists = {id(a) for stmt in fdef.body for n in ast.walk(stmt) if isinstance(n, ast.Call)
                      for a in n.args if isinstance(a, ast.List)}
        bad = [n for stmt in fdef.body for n in ast.walk(stmt)
               if type(n) in UNSUPPORTED_STMT or (type(n) in UNSUPPORTED_EXPR and type(n) not in
                                                  (ast.Subscript, ast.Slice, ast.Tuple)
                                                  and id(n) not in call_lists)]
        if bad:
            first = min(bad, key=lambda n: (n.lineno, n.col_offset))
            msg = UNSUPPORTED_STMT.get(type(first)) or UNSUPPORTED_EXPR[type(first)]
            raise self.error(first, msg)

    def inline_call(self, fn: types.FunctionType, node: ast.Call) -> ir.Value:
        """Inline a call to a plain Python helper (its own scope and return flag)."""
        if fn in self.inlining:
            raise self.error(node, f"recursive call to '{fn.__name__}' cannot be compiled "
                                   "(helpers are inlined; recursion is not supported)")
        args = [self.scalar(a) for a in node.args]
        kwargs = {k.arg: self.scalar(k.value) for k in node.keywords}
        ctx = load_function(fn, self.loc(node))
        names = parameters(ctx.fdef, ctx)
        try:
            bound = inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as e:
            raise self.error(node, f"bad call to '{fn.__name__}': {e}", CompileError) from None
        bound.apply_defaults()
        env: dict[str, Any] = {}
        for n in names:
            v = bound.arguments[n]
            if v is None:  # `axis=None` style defaults: read as the constant None
                env[n] = None
                continue
            if not isinstance(v, ir.Value):
                if not R.is_number(v):
                    raise self.error(node, f"default value of '{n}' in '{fn.__name__}' is not a number")
                v = ir.Const(R.number_value(v))
            env[n] = v
        saved = self.env, self.ctx
        # A helper writing into an array parameter would change the caller's array: refused.
        self.readonly.update(v for v in env.values() if v.type.rank)
        self.saved_envs.append(saved)
        self.env, self.ctx = env, ctx
        self.inlining.append(fn)
        try:
            return self.body(ctx.fdef)
        finally:
            self.inlining.pop()
            self.saved_envs.pop()
            self.env, self.ctx = saved

    # ------------------------------------------------------------------ statements
    def stmts(self, body: Sequence[ast.stmt]) -> None:
        for k, s in enumerate(body):
            with self.b.at(self.loc(s)):
                go = self.live()
                if go is not None and not isinstance(go, ir.Const):
                    self.branch(go, lambda rest=body[k:]: self._clear_then(rest), lambda: None, s)
            if go is not None:
                return  # guarded above, or a flag is surely set and the rest never runs
            self.stmt(s)
            if isinstance(s, (ast.Return, ast.Break, ast.Continue)):
                return

    def _clear_then(self, rest: Sequence[ast.stmt]) -> None:
        # Inside `if_ not flags:` every flag is known false.
        for f in FLAGS:
            if isinstance(self.env.get(f), ir.Value):
                self.env[f] = ir.Const(False)
        self.stmts(rest)

    def live(self) -> ir.Value | None:
        """None when no flag can be set; Const(False) when one surely is; else `not any(flags)`."""
        vals = [self.env[f] for f in FLAGS if isinstance(self.env.get(f), ir.Value)]
        if any(isinstance(v, ir.Const) and v.value for v in vals):
            return ir.Const(False)
        dyn = [v for v in vals if not isinstance(v, ir.Const)]
        if not dyn:
            return None
        anyset = dyn[0]
        for v in dyn[1:]:
            anyset = O.logical_or(anyset, v)
        return O.logical_not(anyset)

    def _hint(self, n: str) -> str | None:
        return HINTS.get(n, n)

    def dummy(self, t: ir.Type, block: ir.Block) -> ir.Value:
        """A typed placeholder for a value that is never read (a branch that surely returned)."""
        if not t.rank:
            return ir.Const(0, t)
        with self.b.inside(block):
            return self.b.op("full", 0, *[ir.Const(0)] * t.rank, dtype=t.dtype)

    def is_dead(self, env: dict) -> bool:
        return any(isinstance(env.get(f), ir.Const) and env[f].value for f in FLAGS)

    def stmt(self, node: ast.stmt) -> None:
        rule = STMT_RULES.get(type(node))
        if rule is None:
            msg = UNSUPPORTED_STMT.get(type(node), f"{type(node).__name__} statements are not supported")
            raise self.error(node, msg)
        with self.b.at(self.loc(node)):
            rule(self, node)

    def _assign(self, node: ast.Assign) -> None:
        value = self.expr(node.value)
        for t in node.targets:
            self.assign(t, value)

    def _annassign(self, node: ast.AnnAssign) -> None:
        if node.value is None:
            return
        self.assign(node.target, self.expr(node.value))

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            if isinstance(value, tuple):
                raise self.error(target, "tuples as values are not supported; unpack them "
                                         "(a, b = ...)")
            if isinstance(value, ir.Result) and value.name is None:
                value.name = target.id
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if any(isinstance(e, ast.Starred) for e in target.elts):
                raise self.error(target, "starred assignment is not supported in compiled code")
            if not isinstance(value, tuple) or len(value) != len(target.elts):
                raise self.error(target, "can only unpack a tuple of the same length "
                                         "(a, b = x, y)")
            for t, v in zip(target.elts, value):
                self.assign(t, v)
        elif isinstance(target, ast.Subscript):
            if isinstance(value, tuple):
                raise self.error(target, "cannot write a tuple into an array")
            self.store_subscript(target, lambda old: value)
        else:
            raise self.error(target, f"cannot assign to {type(target).__name__} in compiled code")

    def _augassign(self, node: ast.AugAssign) -> None:
        prim = R.AST_OPS.get(type(node.op))
        if prim is None or prim == "matmul":
            raise self.error(node, "this augmented operator is not supported in compiled code")
        if isinstance(node.target, ast.Subscript):
            value = self.scalar(node.value)
            self.store_subscript(node.target, lambda old: O.apply(prim, old, value))
            return
        if not isinstance(node.target, ast.Name):
            raise self.error(node.target, "augmented assignment is only supported on local names")
        cur = self.read_name(node.target.id, node.target)
        if cur.type.rank:  # `a += v` on an array writes into it: NumPy's aliasing rules apply
            self.check_writable(node.target, cur)
        self.assign(node.target, O.apply(prim, cur, self.scalar(node.value)))

    def _expr_stmt(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # docstring
        self.expr(node.value)

    def _return(self, node: ast.Return) -> None:
        if node.value is None:
            raise self.error(node, "compiled functions must return a scalar value")
        v = self.expr(node.value)
        if isinstance(v, tuple):
            raise self.error(node.value, "returning several values is not supported; return one scalar")
        self.env["$ret"] = v
        self.env["$returned"] = ir.Const(True)

    def _break(self, node: ast.Break) -> None:
        self.env["$broke"] = ir.Const(True)

    def _continue(self, node: ast.Continue) -> None:
        self.env["$cont"] = ir.Const(True)

    def _pass(self, node: ast.Pass) -> None:
        pass

    def _if(self, node: ast.If) -> None:
        test = self.truth(self.scalar(node.test))
        self.branch(test, lambda: self.stmts(node.body), lambda: self.stmts(node.orelse), node)

    # ------------------------------------------------------------------ branches
    def branch(self, cond: ir.Value, then_fn: Callable[[], None], else_fn: Callable[[], None],
               node: ast.AST) -> None:
        """Run two statement lists under `if_ cond` and merge the environments."""
        if isinstance(cond, ir.Const):
            (then_fn if cond.value else else_fn)()
            return
        before = self.env
        blocks, envs = [], []
        for fn in (then_fn, else_fn):
            self.env = dict(before)
            blk = ir.Block()
            with self.b.inside(blk):
                fn()
            blocks.append(blk)
            envs.append(self.env)
        self.env = dict(before)
        self.merge(cond, blocks, envs, node)

    def value_if(self, cond: ir.Value, then_fn: Callable[[], ir.Value],
                 else_fn: Callable[[], ir.Value], node: ast.AST) -> ir.Value:
        """A value computed lazily in one of two branches (ternaries, and/or)."""
        def put(fn: Callable[[], ir.Value]) -> Callable[[], None]:
            def run() -> None:
                v = fn()  # may replace self.env (nested branches): store into the new one
                self.env["$v"] = v
            return run
        self.branch(cond, put(then_fn), put(else_fn), node)
        return self.env.pop("$v")

    def merge(self, cond: ir.Value, blocks: list[ir.Block], envs: list[dict], node: ast.AST) -> None:
        dead = [self.is_dead(e) for e in envs]
        names = list(dict.fromkeys(list(envs[0]) + list(envs[1])))
        out_names, pairs = [], []
        new_env: dict[str, Any] = {}
        for n in names:
            a, c = envs[0].get(n, Undef()), envs[1].get(n, Undef())
            if a is c:
                new_env[n] = a
                continue
            if isinstance(a, ir.Const) and isinstance(c, ir.Const) and a.type == c.type and a.value == c.value:
                new_env[n] = a
                continue
            have = [isinstance(a, ir.Value), isinstance(c, ir.Value)]
            if not any(have):
                new_env[n] = Undef(a.type or c.type)
                continue
            if not all(have):
                live = a if have[0] else c
                if not (dead[have.index(False)] or n == "$ret"):
                    new_env[n] = Undef(live.type)
                    continue
                dummy = self.dummy(live.type, blocks[have.index(False)])
                a, c = (live, dummy) if have[0] else (dummy, live)
            out_names.append(n)
            pairs.append((a, c))
        types = []
        for k, (a, c) in enumerate(pairs):
            if a.type.rank != c.type.rank:
                raise self.error(node, f"'{out_names[k]}' is an array of rank {a.type.rank} on one "
                                       f"branch and rank {c.type.rank} on the other", CompileError)
            d = ir.common_dtype([a, c])
            with self.b.inside(blocks[0]):
                a = self.b.coerce(a, d)
            with self.b.inside(blocks[1]):
                c = self.b.coerce(c, d)
            pairs[k] = (a, c)
            types.append(ir.Type(d, a.type.rank))
        for i, blk in enumerate(blocks):
            with self.b.inside(blk):
                self.b.yield_(*[p[i] for p in pairs])
        ins = self.b.emit("if_", [cond], types=types, regions=blocks,
                          names=[HINTS.get(n, n) for n in out_names])
        for n, r in zip(out_names, ins.results):
            new_env[n] = r
        self.env = new_env

    # ------------------------------------------------------------------ loops (loops.py)
    from .loops import _for, _while, loop  # noqa: E402  (methods kept in their own module)


STMT_RULES = {
    ast.Assign: Frontend._assign,
    ast.AnnAssign: Frontend._annassign,
    ast.AugAssign: Frontend._augassign,
    ast.Expr: Frontend._expr_stmt,
    ast.Return: Frontend._return,
    ast.Break: Frontend._break,
    ast.Continue: Frontend._continue,
    ast.Pass: Frontend._pass,
    ast.If: Frontend._if,
    ast.For: Frontend._for,
    ast.While: Frontend._while,
}


def parse(fn: types.FunctionType, arg_types: Sequence[ir.Type]) -> ir.Function:
    """Lower `fn` specialised to `arg_types` into structured SSA."""
    return Frontend().function(fn, arg_types)
