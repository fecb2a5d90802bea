"""symgrad's structured SSA IR: types, values, instructions, blocks, functions, the builder.

Shared contract of the front end, the passes and both back ends (docs/ir.md mirrors it).

Types: `Type(dtype, rank)`, dtype in "f64" "f32" "i64" "bool"; rank 0 is a scalar, rank >= 1
an array whose sizes are runtime values (`dim %x {axis}` -> i64). Printed `f64`, `f64[:,:]`.
Arrays are values: every array op returns a new value and never changes its operands;
elementwise ops broadcast as NumPy does with runtime sizes. The array ops (`dim`, reductions
with {axis, keepdims}, `matmul`, `transpose`, `reshape`, `expand_dims`, `squeeze`,
`expand_as`, `sum_to`, `getitem`/`setitem`/`index_add_zeros` with index templates, `full`,
`stack`, `concatenate`, array tapes) are specified in docs/ir.md, section "Arrays", and
typed by `irarrays.py`.

Values: `Arg` (function/block argument), `Result` (instruction output), `Const` (a Python
number with a Type). Every value has `.type`, `.name` (a source-derived hint or None),
`.dtype` (the dtype string), `.ndim`, `.shape` (() for scalars). Values inherit the op
mixin of `symgrad.ops`: `x * y`, `ops.sin(x)`, the registry's VJP rules, all emit
instructions into the current `Builder`. `==`/hash are identity (use `ops.eq`).

Operand typing (the builder enforces it, back ends may rely on it): both operands of a
binary op have the SAME dtype (the builder inserts `cast` and types Python numbers to match,
NumPy-2 style: a Python float makes ints f64, a Python number never widens f32).

Elementwise ops (names of `prims.REGISTRY`; all scalar in issue 3):
  add sub mul            same dtype in and out (bool operands promote to i64)
  div                    true division; ints are cast to f64 first
  floordiv mod           Python semantics: floor division, result has the divisor's sign
                         (ints and floats); division by zero is undefined
  pow                    x ** y; i64 ** i64 only with a constant non-negative exponent,
                         otherwise both are cast to f64. pow(0, 0) = 1
  maximum minimum        NaN-propagating (np.maximum); ties: gradient split 0.5/0.5
  neg abs sign           keep dtype; sign(0) = 0
  floor ceil round       keep dtype; round is half-to-even (np.round)
  exp log log1p expm1 sin cos tan tanh sinh cosh arcsin arccos arctan sqrt sigmoid relu
  lgamma digamma trigamma
                         float only (ints are cast to f64 first); lgamma is log|Gamma|
  clamp {min, max}       clip to [min, max] (Python numbers or None)
  lt le gt ge eq ne      -> bool, operands promoted to a common dtype
  logical_and logical_or logical_not   bool -> bool (eager: both sides evaluated)
  where %c, %a, %b       select; %c bool
  cast {dtype}           float->int truncates toward zero (Python int()); bool->x is 0/1;
                         x->bool is x != 0
Structural ops (MLIR scf-style; a region may read any value that dominates it):
  if_ %cond              regions [then, else] (no block args), each ends in `yield`;
                         results = the yielded values
  for_ %start %stop %step *init   region [body(%i: i64, *carried)] ending in `yield`;
                         Python range semantics (negative step too; step 0 undefined);
                         results = final carried values
  while_ *init           regions [before(*carried) ending in `condition %flag, *vals`,
                         body(*carried) ending in `yield *carried`]; the front end always
                         forwards before's args unchanged to `condition` (AD relies on it)
  yield *vals | condition %flag *vals | return *vals    block terminators
Buffers (side effects; never CSE'd, never removed while loaded):
  alloc %n *dims {dtype} -> dtype[:] with n elements (zeros); with dims, n rows of that shape
  load %buf, %i          -> element (row, for a buffer of rank > 1)
  store %buf, %i, %v     no result (writes element/row i)
  grow %buf, %n          -> a buffer with room for at least n elements, contents kept
                         (the old one must not be used afterwards)
Buffers live until the function returns. A function's body ends in `return`; the joint
function made by reverse mode returns (value, *gradients in wrt order).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Number
from typing import Any, Iterator, Sequence

from . import irarrays, prims
from .errors import CompileError, Loc
from .ops import OpsMixin

from numpy import bool_ as _np_bool  # noqa: E402

DTYPES = ("bool", "i64", "f32", "f64")
_RANK = {d: i for i, d in enumerate(DTYPES)}
# NumPy names (used by ops.cast and the registry's cast rule) -> IR names.
NP_NAMES = {"float64": "f64", "float32": "f32", "int64": "i64", "bool": "bool", "int32": "i64",
            "f64": "f64", "f32": "f32", "i64": "i64"}
TO_NUMPY = {"f64": "float64", "f32": "float32", "i64": "int64", "bool": "bool"}


@dataclass(frozen=True)
class Type:
    """dtype + rank; rank 0 is a scalar."""

    dtype: str
    rank: int = 0

    def __post_init__(self) -> None:
        if self.dtype not in _RANK:
            raise ValueError(f"unknown dtype {self.dtype!r}")

    def __str__(self) -> str:
        return self.dtype if self.rank == 0 else f"{self.dtype}[{','.join(':' * self.rank)}]"

    @property
    def is_float(self) -> bool:
        return self.dtype in ("f64", "f32")

    @property
    def is_scalar(self) -> bool:
        return self.rank == 0


F64, F32, I64, BOOL = Type("f64"), Type("f32"), Type("i64"), Type("bool")


# ------------------------------------------------------------------------------ values
class Value(OpsMixin):
    """An SSA value; arithmetic on it emits instructions into the current Builder."""

    __slots__ = ("type", "name", "__weakref__")

    def __init__(self, type: Type, name: str | None = None):
        self.type = type
        self.name = name

    @classmethod
    def _apply(cls, prim: str, args: tuple, params: dict, torch_name: str | None = None) -> "Value":
        return current().op(prim, *args, **params)

    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.rank

    @property
    def shape(self) -> tuple:
        """The runtime sizes: one `dim` instruction per axis, emitted into the current builder."""
        return tuple(current().op("dim", self, axis=k) for k in range(self.type.rank))

    def __bool__(self) -> bool:
        raise TypeError("an IR value has no truth value at compile time")

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:  # identity, so values can key dicts
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name or ''}: {self.type}>"


class Arg(Value):
    """A function or block argument."""

    __slots__ = ("weak",)  # set on a loop argument whose first value is a Python literal


class Result(Value):
    """Output number `index` of instruction `instr`."""

    __slots__ = ("instr", "index", "weak")

    def __init__(self, type: Type, instr: "Instr", index: int, name: str | None = None):
        super().__init__(type, name)
        self.instr = instr
        self.index = index
        self.weak = False  # sizes (`dim`) and integer arithmetic on them: Python ints in NumPy


class Const(Value):
    """A Python number (bool, int or float) with an IR type."""

    __slots__ = ("value", "weak")

    def __init__(self, value: Any, type: Type | None = None):
        # A literal typed from its Python value is weak in promotion (NumPy 2: `x32 + 1.0` is
        # f32); a Const given an explicit type (seeds, casts) is strong like any value.
        self.weak = type is None
        if type is None:
            type = BOOL if isinstance(value, bool) else I64 if isinstance(value, int) else F64
        super().__init__(type, None)
        self.value = _normalise(value, type)

    def __repr__(self) -> str:
        return f"<Const {self.value!r}: {self.type}>"


def _normalise(value: Any, t: Type) -> Any:
    if t.dtype == "bool":
        return bool(value)
    if t.dtype == "i64":
        return int(value)
    return float(value)


# ------------------------------------------------------------------------ instructions
@dataclass(eq=False)
class Instr:
    """One operation. `op` is a registry primitive name or a structural op."""

    op: str
    operands: list[Value]
    params: dict = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    regions: list["Block"] = field(default_factory=list)
    loc: Loc | None = None
    note: str | None = None

    @property
    def result(self) -> Result:
        return self.results[0]

    def __repr__(self) -> str:
        return f"<Instr {self.op}>"


TERMINATORS = ("yield", "condition", "return")
STRUCTURED = ("if_", "for_", "while_")
SIDE_EFFECTS = ("store", "alloc", "grow", "load")  # never merged, never reordered


@dataclass(eq=False)
class Block:
    """A region's block: arguments and instructions, ending in a terminator."""

    args: list[Arg] = field(default_factory=list)
    instrs: list[Instr] = field(default_factory=list)

    @property
    def terminator(self) -> Instr | None:
        if self.instrs and self.instrs[-1].op in TERMINATORS:
            return self.instrs[-1]
        return None


@dataclass(eq=False)
class Function:
    """A function: `body.args` are its arguments; `body` ends in `return`."""

    name: str
    body: Block
    result_types: list[Type]
    loc: Loc | None = None
    source: str | None = None     # the user's source text (for printers)
    meta: dict = field(default_factory=dict)  # e.g. arg_names, wrt, kind ("primal"/"joint")

    @property
    def args(self) -> list[Arg]:
        return self.body.args


def walk(block: Block) -> Iterator[Instr]:
    """Every instruction of `block` and its nested regions, in program order."""
    for ins in block.instrs:
        yield ins
        for r in ins.regions:
            yield from walk(r)


# ----------------------------------------------------------------------------- typing
def common_dtype(values: Sequence[Any]) -> str:
    """NumPy-2 style promotion of IR values and (weak) Python numbers."""
    # Literals (weak Consts), sizes and range indices are weak, like Python numbers.
    strong = [v.dtype for v in values if isinstance(v, Value) and not getattr(v, "weak", False)]
    d = max(strong, key=_RANK.__getitem__) if strong else "bool"
    if d == "f32" and "i64" in strong:
        d = "f64"  # NumPy: float32 with int64 needs float64
    for w in values:
        if isinstance(w, Value):
            if not getattr(w, "weak", False):
                continue
            kind = {"bool": "b", "i64": "i"}.get(w.dtype, "f")
        elif isinstance(w, (bool, _np_bool)):
            kind = "b"
        elif isinstance(w, int) or getattr(getattr(w, "dtype", None), "kind", "") in ("i", "u"):
            kind = "i"
        else:
            kind = "f"
        if kind == "i":
            d = d if _RANK[d] >= _RANK["i64"] else "i64"
        elif kind == "f":
            d = d if _RANK[d] >= _RANK["f32"] else "f64"
    return d


ARITH = frozenset({"add", "sub", "mul", "maximum", "minimum", "floordiv", "mod"})
KEEP = frozenset({"neg", "abs", "sign", "floor", "ceil", "round", "clamp"})
# The registry's float-only primitives, and relu, which the compiler also computes in floats.
FLOAT_ONLY = frozenset({n for n, p in prims.REGISTRY.items() if p.float_only} | {"relu"})
COMPARE = frozenset({"lt", "le", "gt", "ge", "eq", "ne"})
LOGIC = frozenset({"logical_and", "logical_or", "logical_not"})


def _operand_dtype(op: str, args: Sequence[Any]) -> str | None:
    """The dtype every numeric operand is brought to, or None when operands keep theirs."""
    if op in LOGIC:
        return "bool"
    if op == "where":
        return common_dtype(args[1:])
    if op in ARITH or op in COMPARE or op in KEEP or op in FLOAT_ONLY or op == "pow":
        d = common_dtype(args)
        if d in ("bool",) and op not in COMPARE:
            d = "i64"
        if op in FLOAT_ONLY and d in ("bool", "i64"):
            d = "f64"
        if op == "pow" and d == "i64":
            y = args[1]
            yv = y.value if isinstance(y, Const) else y
            if not (isinstance(yv, int) and yv >= 0):
                d = "f64"
        return d
    return None


def result_types(op: str, operands: Sequence[Value], params: dict) -> list[Type]:
    """Type rule of a non-structural op (operands already coerced)."""
    arr = irarrays.result_type(op, operands, params, Type)
    if arr is not None:
        return [arr]
    rank = max((o.type.rank for o in operands), default=0)
    if op in COMPARE or op in LOGIC:
        return [Type("bool", rank)]
    if op == "where":
        return [Type(operands[1].dtype, rank)]
    if op == "cast":
        return [Type(NP_NAMES[params["dtype"]], rank)]
    if op == "load":
        return [Type(operands[0].dtype)]
    if op == "grow":
        return [operands[0].type]
    if op == "store":
        return []
    return [Type(operands[0].dtype, rank)]


# ---------------------------------------------------------------------------- builder
_local = threading.local()


def _active() -> bool:
    return bool(getattr(_local, "stack", None))


def current() -> "Builder":
    stack = getattr(_local, "stack", None)
    if not stack:
        raise RuntimeError("no active ir.Builder: arithmetic on IR values needs one")
    return stack[-1]


class Builder:
    """Appends instructions to a block; `with builder:` makes it the current one."""

    def __init__(self, block: Block | None = None, loc: Loc | None = None, note: str | None = None):
        self.block = block if block is not None else Block()
        self.loc = loc
        self.note = note

    def __enter__(self) -> "Builder":
        if not hasattr(_local, "stack"):
            _local.stack = []
        _local.stack.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _local.stack.pop()

    @contextmanager
    def at(self, loc: Loc | None = None, note: str | None = None) -> Iterator["Builder"]:
        """Instructions emitted inside carry this location and note."""
        old = self.loc, self.note
        self.loc = loc if loc is not None else self.loc
        self.note = note
        try:
            yield self
        finally:
            self.loc, self.note = old

    @contextmanager
    def inside(self, block: Block) -> Iterator[Block]:
        """Emit into `block` for the duration."""
        old = self.block
        self.block = block
        try:
            yield block
        finally:
            self.block = old

    # ---------------------------------------------------------------- low level
    def emit(self, op: str, operands: Sequence[Value], params: dict | None = None, *,
             types: Sequence[Type] = (), regions: Sequence[Block] = (),
             names: Sequence[str | None] = ()) -> Instr:
        """Append an instruction with explicit result types."""
        ins = Instr(op, list(operands), dict(params or {}), [], list(regions), self.loc, self.note)
        names = list(names) + [None] * (len(types) - len(names))
        ins.results = [Result(t, ins, i, n) for i, (t, n) in enumerate(zip(types, names))]
        self.block.instrs.append(ins)
        return ins

    def const(self, value: Any, dtype: str | Type | None = None) -> Const:
        if isinstance(dtype, str):
            dtype = Type(NP_NAMES[dtype])
        return Const(value, dtype)

    def coerce(self, v: Any, dtype: str) -> Value:
        """`v` as a value of `dtype` (casting values, typing numbers)."""
        if isinstance(v, Value):
            if v.dtype == dtype:
                return v
            if isinstance(v, Const):
                return Const(_cast_number(v.value, dtype), Type(dtype))
            return self.emit("cast", [v], {"dtype": dtype}, types=[Type(dtype, v.type.rank)]).result
        if isinstance(v, Number) or hasattr(v, "dtype"):
            return Const(_cast_number(v.item() if hasattr(v, "item") else v, dtype), Type(dtype))
        raise CompileError(f"cannot use {type(v).__name__} value {v!r} in compiled code", self.loc)

    # ---------------------------------------------------------------- primitives
    def op(self, prim: str, *args: Any, name: str | None = None, **params: Any) -> Value:
        """Emit primitive `prim` with operand coercion and its type rule; returns the result."""
        if prim == "cast":
            params["dtype"] = NP_NAMES[params["dtype"]]
            x = args[0] if isinstance(args[0], Value) else Const(args[0])
            if x.dtype == params["dtype"]:
                return x
            if isinstance(x, Const):
                return Const(_cast_number(x.value, params["dtype"]), Type(params["dtype"]))
            return self.emit("cast", [x], params, types=[Type(params["dtype"], x.type.rank)],
                             names=[name]).result
        if prim in _ARRAY_NORMALISE:
            args, params = irarrays.normalise(prim, args, params)
        d = _operand_dtype(prim, args)
        if d is None and any(isinstance(a, Value) and a.type.rank for a in args):
            d = irarrays.operand_dtype(prim, args)
            if d is not None and prim in ("sum", "prod", "mean", "logsumexp"):
                args = (self.coerce(args[0], d),) + tuple(args[1:])
                d = None
        if prim in _SHAPE_OPERANDS:
            k = _SHAPE_OPERANDS[prim]
            ops = list(args[:k]) + [self.coerce(a, "i64") for a in args[k:]]
            if prim == "full":
                params["dtype"] = NP_NAMES[params["dtype"]]
                ops[0] = self.coerce(ops[0], params["dtype"])
        elif prim == "where":
            ops = [self.coerce(args[0], "bool")] + [self.coerce(a, d) for a in args[1:]]
        elif d is not None:
            ops = [self.coerce(a, d) for a in args]
        else:
            ops = [a if isinstance(a, Value) else Const(a) for a in args]
        if prim == "store":
            return self._store(ops, params)
        types = result_types(prim, ops, params)
        if all(isinstance(o, Const) for o in ops) and prim in FOLDABLE:
            return Const(fold(prim, [o.value for o in ops], params, types[0]), types[0])
        same = identity(prim, ops)
        if same is not None:
            return same
        if prim in ("sum_to", "expand_as") and ops[0].type.rank == ops[1].type.rank == 0:
            return ops[0]  # scalar to scalar: nothing to broadcast or undo
        res = self.emit(prim, ops, params, types=types, names=[name]).result
        # Python numbers stay Python numbers under arithmetic: weak in, weak out.
        if prim == "dim" or (prim in _WEAK_KEEPING and res.type.rank == 0 and
                             all(getattr(o, "weak", False) for o in ops)):
            res.weak = True
        return res

    def _store(self, ops: list[Value], params: dict) -> Any:
        buf, i, v = ops
        self.emit("store", [buf, self.coerce(i, "i64"), self.coerce(v, buf.dtype)], params)
        return None

    def ret(self, *vals: Value) -> Instr:
        return self.emit("return", list(vals))

    def yield_(self, *vals: Value) -> Instr:
        return self.emit("yield", list(vals))


_WEAK_KEEPING = ARITH | frozenset({"div", "pow", "neg"})
# Ops whose operands from this position on are i64 sizes.
_SHAPE_OPERANDS = {"reshape": 1, "full": 1, "alloc": 0}
_ARRAY_NORMALISE = frozenset({"reshape", "expand_dims", "squeeze", "transpose", "extremum_onehot"}) \
    | irarrays.REDUCE | irarrays.INDEXED
FOLDABLE = ARITH | KEEP | FLOAT_ONLY | COMPARE | LOGIC | frozenset({"pow", "where"})


from .irfold import _cast_number, _dtype_of, fold, identity  # noqa: E402,F401


# ------------------------------------------------------------------------------ verify
from .irverify import VerifyError, verify  # noqa: E402,F401  (kept apart: ir.py stays small)
