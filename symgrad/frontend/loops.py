"""Loop lowering (methods of the front end): `for ... in range(...)` -> `for_`, `while` -> `while_`.

A loop carries every name it assigns that has a value before it, plus the control
flags it needs. Carried types come from a fixed point: the body is built, and if a yield
has a wider dtype than its block argument (`s = 0` then `s += x`), the argument is
widened and the body built again. Names first assigned inside the loop are unbound after
it (reading them there is refused, never guessed).
"""
from __future__ import annotations

import ast
from typing import Any

from .. import ir
from .. import ops as O
from ..errors import CompileError
from . import resolve as R
from .scan import assigned_names, contains


def _for(self: Any, node: ast.For) -> None:
    if node.orelse:
        raise self.error(node, "for ... else is not supported in compiled code")
    it = node.iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, (ast.Name, ast.Attribute))
            and self.python_object(it.func) is R.RANGE):
        raise self.error(it, "only 'for ... in range(...)' loops are supported in scalar compiled code")
    if it.keywords or not 1 <= len(it.args) <= 3:
        raise self.error(it, "range() takes 1 to 3 positional arguments")
    if not isinstance(node.target, ast.Name):
        raise self.error(node.target, "the loop variable of a range loop must be a single name")
    vals = []
    for a in it.args:
        v = self.scalar(a)
        if v.dtype not in ("i64", "bool"):
            raise self.error(a, f"range() arguments must be integers, got {v.dtype}", CompileError)
        vals.append(self.b.coerce(v, "i64"))
    start, stop, step = (ir.Const(0), vals[0], ir.Const(1)) if len(vals) == 1 else \
        (vals[0], vals[1], vals[2] if len(vals) == 3 else ir.Const(1))
    if isinstance(step, ir.Const) and step.value == 0:
        raise self.error(it.args[2], "range() step must not be zero", CompileError)
    loop(self, node, (start, stop, step), node.target.id)


def _while(self: Any, node: ast.While) -> None:
    if node.orelse:
        raise self.error(node, "while ... else is not supported in compiled code")
    loop(self, node, None, None)


def loop(self: Any, node: ast.For | ast.While, bounds: tuple | None, target: str | None) -> None:
    assigned = assigned_names(node.body)
    has_ret = contains(node.body, ast.Return)
    has_break = contains(node.body, ast.Break, into_loops=False)
    has_cont = contains(node.body, ast.Continue, into_loops=False)
    saved = {f: self.env.get(f) for f in ("$broke", "$cont")}
    outer = self.env
    carried = [n for n, v in outer.items()
               if n in assigned and n != target and isinstance(v, ir.Value)]
    init: dict[str, ir.Value] = {n: outer[n] for n in carried}
    if has_ret:
        for f in ("$returned", "$ret"):
            if f not in carried and isinstance(outer.get(f), ir.Value):
                carried.append(f)
                init[f] = outer[f]
    if has_break:
        carried.append("$broke")
        init["$broke"] = ir.Const(False)
    types = {n: v.type for n, v in init.items()}
    # A carried value starting as a Python literal (`s = 0.0`) is weak in the first build, so
    # its type is what NumPy gives after one iteration (`0.0 + float32` stays float32).
    weak = {n for n, v in init.items() if getattr(v, "weak", False) and v.dtype == "f64"}
    for _attempt in range(6):
        blocks, yields = _build(self, node, bounds, target, carried, types, has_cont, weak)
        changed = False
        for n in carried:
            y = yields[n]
            if not isinstance(y, ir.Value):
                raise self.error(node, f"'{n}' may be unbound at the end of the loop body", CompileError)
            if n in weak:
                d = ir.common_dtype([init[n], y])
                if d != types[n].dtype:
                    types[n], changed = ir.Type(d, types[n].rank), True
                continue
            if y.type.rank != types[n].rank:
                raise self.error(node, f"'{self._hint(n)}' is an array of rank {types[n].rank} before "
                                       f"the loop and rank {y.type.rank} after its body", CompileError)
            d = ir.common_dtype([ir.Arg(ir.Type(types[n].dtype)), y])  # the carried type is strong
            if d != types[n].dtype:
                types[n], changed = ir.Type(d, types[n].rank), True
        ret = yields.get("$ret")
        if has_ret and "$ret" not in carried and isinstance(ret, ir.Value):
            # A return inside the loop: carry the return value too (a typed dummy before).
            carried.append("$ret")
            init["$ret"] = self.dummy(ret.type, self.b.block)
            types["$ret"], changed = ret.type, True
        weak = set()
        if not changed:
            break
    else:
        raise self.error(node, "the types of the loop's variables do not settle", CompileError)
    self.env = dict(outer)
    for i, blk in enumerate(blocks):
        if blk.terminator is None:  # the body (the while condition block is already closed)
            with self.b.inside(blk):
                self.b.yield_(*[self.b.coerce(yields[n], types[n].dtype) for n in carried])
    inits = [self.b.coerce(init[n], types[n].dtype) for n in carried]
    names = [self._hint(n) for n in carried]
    if bounds is not None:
        ins = self.b.emit("for_", list(bounds) + inits, types=[types[n] for n in carried],
                          regions=blocks, names=names)
    else:
        ins = self.b.emit("while_", inits, types=[types[n] for n in carried], regions=blocks, names=names)
    from .parse import Undef
    for n in assigned:
        if n not in carried and n in self.ctx.locals:
            self.env[n] = Undef()
    if target is not None:
        self.env[target] = Undef(ir.I64)
    for n, r in zip(carried, ins.results):
        self.env[n] = r
    for f, v in saved.items():
        if v is None:
            self.env.pop(f, None)
        else:
            self.env[f] = v


def _build(self: Any, node: Any, bounds: tuple | None, target: str | None, carried: list[str],
           types: dict, has_cont: bool, weak: set = frozenset()) -> tuple[list[ir.Block], dict]:
    """Build the loop's regions once for the given carried types; returns blocks and yields."""
    outer = self.env
    blocks = []

    def enter(lead: list[ir.Arg]) -> ir.Block:
        args = [ir.Arg(types[n], self._hint(n)) for n in carried]
        for n, a in zip(carried, args):
            if n in weak:
                a.weak = True
        self.env = dict(outer)
        self.env.pop("$broke", None)
        self.env.pop("$cont", None)
        for n, a in zip(carried, args):
            self.env[n] = a
            if a.type.rank:  # writes into the carried array must not be visible through the init
                self.carried_init[a] = outer[n]
        return ir.Block(lead + args)

    if bounds is None:
        before = enter([])
        with self.b.inside(before), self.b.at(self.loc(node.test)):
            flag = self.truth(self.scalar(node.test))
            for f in ("$broke", "$returned"):
                if f in carried:
                    flag = O.logical_and(flag, O.logical_not(self.env[f]))
            self.b.emit("condition", [flag] + before.args)
        blocks.append(before)
    i = ir.Arg(ir.I64, target)
    i.weak = True  # the index of a range loop is a Python int: it never widens float32
    body = enter([i] if bounds is not None else [])
    if target is not None:
        self.env[target] = i
    if has_cont:
        self.env["$cont"] = ir.Const(False)
    with self.b.inside(body):
        self.stmts(node.body)
    blocks.append(body)
    yields = {n: self.env.get(n) for n in carried}
    if "$ret" not in carried:
        yields["$ret"] = self.env.get("$ret")
    self.env = outer
    return blocks, yields
