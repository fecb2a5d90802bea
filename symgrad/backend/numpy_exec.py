"""Reference interpreter of the IR with NumPy: the oracle every IR test compares against.

Scalars are NumPy scalars of the IR dtype (so int64 and float semantics match native
code); buffers are NumPy arrays. Primitives run their registry implementation.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import ir, prims

NP = {"f64": np.float64, "f32": np.float32, "i64": np.int64, "bool": np.bool_}


def run(fn: ir.Function, *args: Any) -> tuple:
    """Interpret `fn` on `args`; returns the tuple of its results as Python numbers."""
    if len(args) != len(fn.args):
        raise TypeError(f"{fn.name} takes {len(fn.args)} arguments, got {len(args)}")
    env: dict[ir.Value, Any] = {a: _scalar(v, a.type) for a, v in zip(fn.args, args)}
    with np.errstate(all="ignore"):
        out = _block(fn.body, env)
    return tuple(v.item() if hasattr(v, "item") else v for v in out)


def _scalar(v: Any, t: ir.Type) -> Any:
    return NP[t.dtype](v) if t.rank == 0 else v


def _get(env: dict, v: ir.Value) -> Any:
    if isinstance(v, ir.Const):
        return NP[v.type.dtype](v.value)
    return env[v]


def _block(b: ir.Block, env: dict) -> list:
    """Run a block's instructions; returns the operands of its terminator."""
    for ins in b.instrs:
        vals = [_get(env, o) for o in ins.operands]
        if ins.op in ("yield", "return", "condition"):
            return vals
        rule = STRUCTURAL.get(ins.op)
        outs = rule(ins, vals, env) if rule is not None else [_prim(ins, vals)]
        for r, v in zip(ins.results, outs):
            env[r] = v
    raise RuntimeError("block without terminator")


def _prim(ins: ir.Instr, vals: list) -> Any:
    if ins.op == "cast":
        return NP[ins.params["dtype"]](vals[0])
    p = prims.get(ins.op)
    r = p.impl(*vals, **ins.params)
    return NP[ins.results[0].type.dtype](r)


def _bind(block: ir.Block, env: dict, vals: list) -> None:
    for a, v in zip(block.args, vals):
        env[a] = v


def _if(ins: ir.Instr, vals: list, env: dict) -> list:
    return _block(ins.regions[0] if vals[0] else ins.regions[1], env)


def _for(ins: ir.Instr, vals: list, env: dict) -> list:
    start, stop, step, *carried = vals
    (body,) = ins.regions
    for i in range(int(start), int(stop), int(step)):
        _bind(body, env, [np.int64(i)] + carried)
        carried = _block(body, env)
    return carried


def _while(ins: ir.Instr, vals: list, env: dict) -> list:
    before, body = ins.regions
    carried = vals
    while True:
        _bind(before, env, carried)
        flag, *carried = _block(before, env)
        if not flag:
            return carried
        _bind(body, env, carried)
        carried = _block(body, env)


def _alloc(ins: ir.Instr, vals: list, env: dict) -> list:
    return [np.zeros(max(int(vals[0]), 0), dtype=NP[ins.params["dtype"]])]


def _load(ins: ir.Instr, vals: list, env: dict) -> list:
    return [vals[0][int(vals[1])]]


def _store(ins: ir.Instr, vals: list, env: dict) -> list:
    vals[0][int(vals[1])] = vals[2]
    return []


def _grow(ins: ir.Instr, vals: list, env: dict) -> list:
    buf, n = vals[0], int(vals[1])
    if n <= len(buf):
        return [buf]
    new = np.zeros(max(n, 2 * len(buf), 16), dtype=buf.dtype)
    new[:len(buf)] = buf
    return [new]


STRUCTURAL: dict[str, Callable[..., list]] = {
    "if_": _if, "for_": _for, "while_": _while,
    "alloc": _alloc, "load": _load, "store": _store, "grow": _grow,
}
