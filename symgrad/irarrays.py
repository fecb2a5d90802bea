"""Array typing of the IR (issue 4): result types of array ops and operand normalisation.

Kept apart from `ir.py` so both stay small. The contract is docs/ir.md, section "Arrays":
arrays are values (functional semantics), sizes are runtime values read with `dim`, and
elementwise ops broadcast as NumPy does with runtime sizes.
"""
from __future__ import annotations

from typing import Any, Sequence

from . import prims

REDUCE = frozenset({"sum", "mean", "max", "min", "prod", "logsumexp"})
INDEXED = frozenset({"getitem", "setitem", "index_add_zeros", "index_add"})
# Operands before the index operands of each indexed op.
INDEX_LEAD = {"getitem": 1, "setitem": 2, "index_add_zeros": 2, "index_add": 2}


def norm_axis(axis: Any, rank: int) -> tuple | None:
    """A sorted tuple of non-negative axes (None stays None); raises ValueError when out of range."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -rank <= a < rank:
            raise ValueError(f"axis {a} is out of bounds for an array of rank {rank}")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise ValueError("repeated axis")
    return tuple(sorted(out))


def _template_values(index: Sequence[Any], start: int, operands: list) -> tuple:
    """Move IR values found in an index template into `operands` (as IndexArg placeholders)."""
    from .ir import Value
    out = []

    def part(p: Any) -> Any:
        if isinstance(p, Value):
            operands.append(p)
            return prims.IndexArg(len(operands) - 1 - start)
        if p is None or isinstance(p, prims.IndexArg):
            return p
        if hasattr(p, "__index__") and not isinstance(p, bool):
            return int(p)
        raise ValueError(f"unsupported index part {p!r}")

    for i in index:
        if isinstance(i, slice) or isinstance(i, prims.SliceT):
            parts = (i.start, i.stop, i.step) if isinstance(i, slice) else tuple(i)
            out.append(prims.SliceT(tuple(part(p) for p in parts)))
        else:
            out.append(part(i))
    return tuple(out)


def normalise(prim: str, args: tuple, params: dict) -> tuple[tuple, dict]:
    """Bring shape-carrying params into operand form (reshape dims, index templates)."""
    if prim == "reshape" and "shape" in params:
        shape = params.pop("shape")
        shape = (shape,) if not isinstance(shape, (tuple, list)) else tuple(shape)
        return tuple(args) + shape, params
    if prim in INDEXED:
        lead = INDEX_LEAD[prim]
        ops = list(args)
        params["index"] = _template_values(params["index"], lead, ops)
        return tuple(ops), params
    if prim in REDUCE or prim in ("extremum_onehot",):
        x = args[0]
        params["axis"] = norm_axis(params.get("axis"), x.type.rank)
        if prim in REDUCE:
            params["keepdims"] = bool(params.get("keepdims", False))
    elif prim in ("expand_dims", "squeeze"):
        rank = args[0].type.rank + (len(params["axis"]) if prim == "expand_dims" else 0)
        params["axis"] = norm_axis(params["axis"], rank)
    elif prim == "transpose":
        params["axes"] = tuple(int(a) % args[0].type.rank for a in params["axes"])
    return args, params


def operand_dtype(prim: str, args: Sequence[Any]) -> str | None:
    """The dtype array-op operands are brought to, or None when they keep theirs."""
    from .ir import common_dtype
    if prim in ("sum", "prod"):
        d = args[0].dtype
        return "i64" if d == "bool" else d
    if prim in ("mean", "logsumexp"):
        d = args[0].dtype
        return "f64" if d in ("bool", "i64") else d
    if prim == "matmul":
        d = common_dtype(args)
        return "f64" if d in ("bool", "i64") else d
    if prim in ("stack", "concatenate"):
        return common_dtype(args)
    return None


def _getitem_rank(x_rank: int, index: tuple, idx_ops: Sequence[Any]) -> int:
    used, kept, adv = 0, 0, None
    for i in index:
        if i is None:
            kept += 1
            continue
        used += 1
        if isinstance(i, prims.SliceT):
            kept += 1
        elif isinstance(i, prims.IndexArg) and idx_ops[i.pos].type.rank:
            adv = max(adv or 0, idx_ops[i.pos].type.rank)
    if used > x_rank:
        raise ValueError(f"too many indices ({used}) for an array of rank {x_rank}")
    return kept + (x_rank - used) + (adv or 0)


def result_type(op: str, operands: Sequence[Any], params: dict, Type: type) -> Any:
    """The result type of an op with an array operand (or an array-only op); None otherwise."""
    ranks = [o.type.rank for o in operands]
    if op == "dim":
        return Type("i64")
    from .ir import NP_NAMES
    if op == "full":
        return Type(NP_NAMES[params["dtype"]], len(operands) - 1)
    if op == "alloc":
        return Type(NP_NAMES[params["dtype"]], len(operands))
    if op == "load":
        return Type(operands[0].dtype, operands[0].type.rank - 1)
    if op in REDUCE:
        x = operands[0]
        dtype = x.dtype
        axis = params.get("axis")
        if params.get("keepdims"):
            return Type(dtype, x.type.rank)
        return Type(dtype, 0 if axis is None else x.type.rank - len(axis))
    if op == "matmul":
        a, b = ranks
        return Type(operands[0].dtype, {(1, 1): 0, (2, 1): 1, (1, 2): 1, (2, 2): 2}[(a, b)])
    if op == "reshape":
        return Type(operands[0].dtype, len(operands) - 1)
    if op == "transpose" or op == "copy":
        return operands[0].type
    if op == "expand_dims":
        return Type(operands[0].dtype, ranks[0] + len(params["axis"]))
    if op == "squeeze":
        return Type(operands[0].dtype, ranks[0] - len(params["axis"]))
    if op in ("expand_as", "sum_to"):
        return Type(operands[0].dtype, ranks[1])
    if op == "getitem":
        return Type(operands[0].dtype, _getitem_rank(ranks[0], params["index"], operands[1:]))
    if op in ("setitem", "index_add"):
        return operands[0].type
    if op == "index_add_zeros":
        return Type(operands[0].dtype, ranks[1])
    if op == "stack":
        return Type(operands[0].dtype, max(ranks) + 1)
    if op == "concatenate":
        return operands[0].type
    if op == "extremum_onehot":
        return Type("bool", ranks[0])
    return None
