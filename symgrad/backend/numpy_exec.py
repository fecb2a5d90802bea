"""Reference interpreter of the IR with NumPy: the oracle every IR test compares against.

Scalars are NumPy scalars of the IR dtype (so int64 and float semantics match native
code); arrays and buffers are NumPy arrays of the IR dtype. Primitives run their registry
implementation; array ops follow docs/ir.md ("Arrays"): arrays are values, so nothing here
writes into an operand except the tape ops `store`/`grow`.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import ir, prims
from ..errors import InputError


class IndexInputError(InputError, IndexError):
    """An index out of range for the array it reads (the oracle's bounds check)."""

NP = {"f64": np.float64, "f32": np.float32, "i64": np.int64, "bool": np.bool_}


def run(fn: ir.Function, *args: Any) -> tuple:
    """Interpret `fn` on `args`; returns its results (Python numbers, NumPy arrays)."""
    if len(args) != len(fn.args):
        raise TypeError(f"{fn.name} takes {len(fn.args)} arguments, got {len(args)}")
    env: dict[ir.Value, Any] = {a: _scalar(v, a.type) for a, v in zip(fn.args, args)}
    with np.errstate(all="ignore"):
        out = _block(fn.body, env)
    return tuple(_out(v, t) for v, t in zip(out, fn.result_types))


def _out(v: Any, t: ir.Type) -> Any:
    if t.rank == 0:
        return v.item() if hasattr(v, "item") else v
    return np.array(v, dtype=NP[t.dtype])  # a fresh array: results never alias inputs


def _scalar(v: Any, t: ir.Type) -> Any:
    if t.rank == 0:
        return NP[t.dtype](v)
    a = np.asarray(v, dtype=NP[t.dtype])
    if a.ndim != t.rank:
        raise ValueError(f"expected an array of rank {t.rank}, got shape {a.shape}")
    return a


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
        try:
            outs = rule(ins, vals, env) if rule is not None else [_prim(ins, vals)]
        except (ValueError, IndexError) as e:
            if not any(o.type.rank for o in ins.operands):
                raise
            raise _input_error(ins, vals, e) from None
        for r, v in zip(ins.results, outs):
            env[r] = v
    raise RuntimeError("block without terminator")


def _prim(ins: ir.Instr, vals: list) -> Any:
    t = ins.results[0].type
    if ins.op == "cast":
        return np.asarray(vals[0]).astype(NP[t.dtype]) if t.rank else NP[t.dtype](vals[0])
    rule = ARRAY_OPS.get(ins.op)
    r = rule(ins, *vals) if rule is not None else prims.get(ins.op).impl(*vals, **ins.params)
    if t.rank == 0:
        return NP[t.dtype](r)
    r = np.asarray(r)
    if r.ndim != t.rank:
        raise RuntimeError(f"{ins.op} gave rank {r.ndim}, the IR says {t}")
    return r.astype(NP[t.dtype], copy=False)


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
    shape = (max(int(vals[0]), 0),) + tuple(int(v) for v in vals[1:])
    return [np.zeros(shape, dtype=NP[ins.results[0].type.dtype])]


def _load(ins: ir.Instr, vals: list, env: dict) -> list:
    row = vals[0][int(vals[1])]
    return [row.copy() if isinstance(row, np.ndarray) else row]


def _store(ins: ir.Instr, vals: list, env: dict) -> list:
    buf, i, v = vals
    if np.shape(v) != buf.shape[1:]:  # a tape row is exact: never broadcast into it
        raise ValueError(f"a loop-carried array changed shape from {buf.shape[1:]} to "
                         f"{np.shape(v)} between iterations (not supported in reverse mode)")
    buf[int(i)] = v
    return []


def _grow(ins: ir.Instr, vals: list, env: dict) -> list:
    buf, n = vals[0], int(vals[1])
    if n <= len(buf):
        return [buf]
    new = np.zeros((max(n, 2 * len(buf), 16),) + buf.shape[1:], dtype=buf.dtype)
    new[:len(buf)] = buf
    return [new]


def _map(ins: ir.Instr, vals: list, env: dict) -> list:
    from ..passes.fuse import interpret

    def run_body(body: ir.Block, args: list) -> list:
        _bind(body, env, args)
        return _block(body, env)
    return interpret(ins, vals, run_body)


STRUCTURAL: dict[str, Callable[..., list]] = {
    "map_": _map,
    "if_": _if, "for_": _for, "while_": _while,
    "alloc": _alloc, "load": _load, "store": _store, "grow": _grow,
}


# ---------------------------------------------------------------- array ops (docs/ir.md)
def _reshape(ins: ir.Instr, x: Any, *dims: Any) -> Any:
    return np.reshape(x, tuple(int(d) for d in dims))


def _full(ins: ir.Instr, v: Any, *dims: Any) -> Any:
    return np.full(tuple(int(d) for d in dims), v, dtype=NP[ins.results[0].type.dtype])


def _setitem(ins: ir.Instr, x: Any, v: Any, *idx: Any) -> Any:
    out = np.array(x, copy=True)
    out[prims.fill_index(ins.params["index"], idx)] = v
    return out


def _getitem(ins: ir.Instr, x: Any, *idx: Any) -> Any:
    return np.array(np.asarray(x)[prims.fill_index(ins.params["index"], idx)])


ARRAY_OPS: dict[str, Callable[..., Any]] = {
    "dim": lambda ins, x: np.int64(np.shape(x)[ins.params["axis"]]),
    "reshape": _reshape,
    "full": _full,
    "setitem": _setitem,
    "getitem": _getitem,
    "stack": lambda ins, *xs: np.stack(xs, axis=ins.params.get("axis", 0)),
}


def _describe(v: ir.Value) -> str:
    """A value as the user knows it: its name, or `name[...]` for an element read."""
    if v.name:
        return v.name
    ins = getattr(v, "instr", None)
    if ins is not None and ins.op in ("getitem", "cast") and ins.operands:
        return f"{_describe(ins.operands[0])}[...]" if ins.op == "getitem" else _describe(ins.operands[0])
    return "a temporary"


def _input_error(ins: ir.Instr, vals: list, e: Exception) -> InputError:
    """Bad shapes or indices found while running: name the operands and the source line."""
    parts = [f"{_describe(o)} with shape {np.shape(v)}" if o.type.rank else f"{_describe(o)} = {v}"
             for o, v in zip(ins.operands, vals) if not isinstance(o, ir.Const)]
    where = f" at {ins.loc}" if ins.loc else ""
    line = f" ({ins.loc.source_line().strip()})" if ins.loc else ""
    cls = IndexInputError if isinstance(e, IndexError) else InputError
    return cls(f"{ins.op}{where}{line}: {e}; operands: {', '.join(parts)}")
