"""Array instructions as NumPy source for `pyprinter` (arrays are values: writes copy).

Each rule returns the statements for one instruction; helpers a rule needs (`_sum_to`,
`_logsumexp`, ...) are added once to the printed module's header.
"""
from __future__ import annotations

from typing import Any, Callable

from . import ir, prims

_NP = {"f64": "np.float64", "f32": "np.float32", "i64": "np.int64", "bool": "np.bool_"}

HELPERS = {
    "_sum_to": '''
def _sum_to(x, like):
    """Sum x down to like's shape (undoes broadcasting)."""
    shape = np.shape(like)
    lead = np.ndim(x) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape)
                                      if n == 1 and np.shape(x)[i + lead] != 1)
    return np.reshape(np.sum(x, axis=axes, keepdims=True) if axes else x, shape)
''',
    "_logsumexp": '''
def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else (np.squeeze(r, axis=axis) if axis is not None else r.reshape(()))
''',
    "_first_extremum": '''
def _first_extremum(x, o, axis):
    hit = np.equal(x, o)
    return hit & (np.cumsum(hit, axis=axis[0]) == 1)
''',
}


def index_text(index: tuple, names: list[str]) -> str:
    """`i, 1:n, None` for an index template whose IndexArgs name `names`."""
    def part(p: Any) -> str:
        if isinstance(p, prims.IndexArg):
            return names[p.pos]
        return "" if p is None else repr(p)

    out = []
    for i in index:
        if isinstance(i, prims.SliceT):
            a, b, c = (part(p) for p in i)
            out.append(f"{a}:{b}" + (f":{c}" if c else ""))
        elif i is None:
            out.append("None")
        else:
            out.append(part(i))
    return ", ".join(out) if len(out) != 1 else out[0]


def _axis(p: dict) -> str:
    a = p.get("axis")
    return "None" if a is None else repr(a[0] if len(a) == 1 else a)


def _reduce(fn: str) -> Callable[..., list[str]]:
    def rule(ins: ir.Instr, res: str, ops: list[str]) -> list[str]:
        kd = ", keepdims=True" if ins.params.get("keepdims") else ""
        return [f"{res} = {fn}({ops[0]}, axis={_axis(ins.params)}{kd})"]
    return rule


def _dims(ops: list[str]) -> str:
    return "(" + ", ".join(ops) + ("," if len(ops) == 1 else "") + ")"


def _getitem(ins, res, ops):
    return [f"{res} = {ops[0]}[{index_text(ins.params['index'], ops[1:])}]"]


def _setitem(ins, res, ops):
    return [f"{res} = {ops[0]}.copy()", f"{res}[{index_text(ins.params['index'], ops[2:])}] = {ops[1]}"]


def _add_at(ins: ir.Instr, res: str, idx: str, g: str) -> str:
    # Basic indices never repeat: `+=` reads best; integer arrays may repeat: np.add.at.
    if any(o.type.rank for o in ins.operands[2:]):
        return f"np.add.at({res}, np.s_[{idx}], {g})"
    return f"{res}[{idx}] += {g}"


def _index_add(ins, res, ops):
    return [f"{res} = {ops[0]}.copy()", _add_at(ins, res, index_text(ins.params["index"], ops[2:]), ops[1])]


def _index_add_zeros(ins, res, ops):
    dt = _NP[ins.results[0].type.dtype]
    return [f"{res} = np.zeros(np.shape({ops[1]}), dtype={dt})",
            _add_at(ins, res, index_text(ins.params["index"], ops[2:]), ops[0])]


RULES: dict[str, Callable[..., list[str]]] = {
    "sum": _reduce("np.sum"), "mean": _reduce("np.mean"), "max": _reduce("np.max"),
    "min": _reduce("np.min"), "prod": _reduce("np.prod"), "logsumexp": _reduce("_logsumexp"),
    "dim": lambda ins, res, ops: [f"{res} = np.shape({ops[0]})[{ins.params['axis']}]"],
    "matmul": lambda ins, res, ops: [f"{res} = {ops[0]} @ {ops[1]}"],
    "transpose": lambda ins, res, ops: [f"{res} = np.transpose({ops[0]}, {ins.params['axes']!r})"],
    "reshape": lambda ins, res, ops: [f"{res} = np.reshape({ops[0]}, {_dims(ops[1:])})"],
    "expand_dims": lambda ins, res, ops: [f"{res} = np.expand_dims({ops[0]}, {ins.params['axis']!r})"],
    "squeeze": lambda ins, res, ops: [f"{res} = np.squeeze({ops[0]}, {ins.params['axis']!r})"],
    "expand_as": lambda ins, res, ops: [f"{res} = np.broadcast_to({ops[0]}, np.shape({ops[1]}))"],
    "sum_to": lambda ins, res, ops: [f"{res} = _sum_to({ops[0]}, {ops[1]})"],
    "getitem": _getitem, "setitem": _setitem, "index_add": _index_add,
    "index_add_zeros": _index_add_zeros,
    "full": lambda ins, res, ops: [f"{res} = np.full({_dims(ops[1:])}, {ops[0]}, "
                                   f"dtype={_NP[ins.results[0].type.dtype]})"],
    "stack": lambda ins, res, ops: [f"{res} = np.stack([{', '.join(ops)}], axis={ins.params.get('axis', 0)})"],
    "concatenate": lambda ins, res, ops: [f"{res} = np.concatenate([{', '.join(ops)}], "
                                          f"axis={ins.params.get('axis', 0)})"],
    "copy": lambda ins, res, ops: [f"{res} = {ops[0]}.copy()"],
    "extremum_onehot": lambda ins, res, ops: [f"{res} = _first_extremum({ops[0]}, {ops[1]}, "
                                              f"{ins.params['axis']!r})"],
}
# NumPy has no gamma-family functions: the printed code uses symgrad's (scalars and arrays).
for _f in ("lgamma", "digamma", "trigamma"):
    HELPERS[f"_{_f}"] = f"from symgrad.special import {_f} as _{_f}"
NEEDS = {"logsumexp": "_logsumexp", "sum_to": "_sum_to", "extremum_onehot": "_first_extremum",
         "lgamma": "_lgamma", "digamma": "_digamma", "trigamma": "_trigamma"}
# Scalar spellings that do not work on arrays, and their array forms.
ARRAY_EXPR = {
    "where": "np.where({0}, {1}, {2})", "logical_and": "np.logical_and({0}, {1})",
    "logical_or": "np.logical_or({0}, {1})", "logical_not": "np.logical_not({0})",
}
