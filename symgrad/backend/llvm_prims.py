"""Lowering of scalar registry primitives to LLVM IR: THE table, keyed by primitive name.

Semantics follow NumPy's scalar loops (which match Python's for floor division and
modulo): floats divide by zero to inf/nan, `maximum`/`minimum` propagate NaN the way
`np.maximum` does, integer division by zero gives 0 and `INT_MIN // -1` wraps (NumPy's
results; x86's `idiv` would trap and kill the process), float -> int casts of NaN or
out-of-range values give INT_MIN (NumPy on x86). libm is called for transcendental
functions, so results equal Python's `math` module bit for bit.

Every rule is `rule(cx, args, dtype, params) -> llvm value`, where `dtype` is the operands'
IR dtype (the builder makes operands of one instruction share it) and `cx` is the lowering
context of `backend.llvm` (builder `cx.b`, fast-math flags `cx.fm`, `cx.libm`, `cx.intrinsic`,
`cx.fail_if`).
"""
from __future__ import annotations

from typing import Any, Callable

from llvmlite import ir as L

from .llvm_special import gamma_rule
from .native import ERR_NEG_POW

F64, F32, I64, I1, I8 = L.DoubleType(), L.FloatType(), L.IntType(64), L.IntType(1), L.IntType(8)
LTYPE = {"f64": F64, "f32": F32, "i64": I64, "bool": I1}
INT_MIN = -(1 << 63)


Rule = Callable[[Any, list, str, dict], L.Value]
TABLE: dict[str, Rule] = {}


def rule(*names: str) -> Callable[[Rule], Rule]:
    def deco(f: Rule) -> Rule:
        for n in names:
            TABLE[n] = f
        return f
    return deco


def is_float(dtype: str) -> bool:
    return dtype in ("f64", "f32")


def const(dtype: str, v: Any) -> L.Constant:
    return L.Constant(LTYPE[dtype], int(v) if dtype in ("i64", "bool") else float(v))


# ----------------------------------------------------------------------- arithmetic
def _arith(fop: str, iop: str) -> Rule:
    def lower(cx, a, dtype, p):
        if is_float(dtype):
            return getattr(cx.b, fop)(a[0], a[1], flags=cx.fm)
        return getattr(cx.b, iop)(a[0], a[1])  # wraps, as NumPy int64 does
    return lower


TABLE["add"] = _arith("fadd", "add")
TABLE["sub"] = _arith("fsub", "sub")
TABLE["mul"] = _arith("fmul", "mul")


@rule("div")
def _div(cx, a, dtype, p):
    return cx.b.fdiv(a[0], a[1], flags=cx.fm)


def _float_divmod(cx, x, y, dtype):
    """NumPy's npy_divmod (= CPython's float_divmod without the ZeroDivisionError)."""
    b, fm = cx.b, cx.fm
    zero = const(dtype, 0.0)
    mod = b.frem(x, y, flags=fm)
    div = b.fdiv(b.fsub(x, mod, flags=fm), y, flags=fm)
    fix = b.and_(b.fcmp_unordered("!=", mod, zero),  # mod != 0 (NaN counts, as in C)
                 b.xor(b.fcmp_ordered("<", y, zero), b.fcmp_ordered("<", mod, zero)))
    sign0 = cx.intrinsic("llvm.copysign", LTYPE[dtype])
    mod = b.select(b.fcmp_ordered("==", mod, zero), b.call(sign0, [zero, y]),
                   b.select(fix, b.fadd(mod, y, flags=fm), mod))
    div = b.select(fix, b.fsub(div, const(dtype, 1.0), flags=fm), div)
    fl = b.call(cx.intrinsic("llvm.floor", LTYPE[dtype]), [div])
    fl = b.select(b.fcmp_ordered(">", b.fsub(div, fl, flags=fm), const(dtype, 0.5)),
                  b.fadd(fl, const(dtype, 1.0), flags=fm), fl)
    q = b.fdiv(x, y, flags=fm)
    fl = b.select(b.fcmp_ordered("==", div, zero), b.call(sign0, [zero, q]), fl)
    by_zero = b.fcmp_ordered("==", y, zero)
    return b.select(by_zero, q, fl), b.select(by_zero, b.frem(x, y, flags=fm), mod)


def _int_divmod(cx, x, y):
    """Floor division and modulo with NumPy's results for y == 0 (0, 0) and INT_MIN // -1."""
    b = cx.b
    zero, one, m1 = const("i64", 0), const("i64", 1), const("i64", -1)
    unsafe = b.or_(b.icmp_signed("==", y, zero), b.icmp_signed("==", y, m1))
    ys = b.select(unsafe, one, y)  # never divide by 0 or -1: both can trap on x86
    q, r = b.sdiv(x, ys), b.srem(x, ys)
    adj = b.and_(b.icmp_signed("!=", r, zero), b.icmp_signed("<", b.xor(r, ys), zero))
    q = b.select(adj, b.sub(q, one), q)
    r = b.select(adj, b.add(r, ys), r)
    is0 = b.icmp_signed("==", y, zero)
    q = b.select(unsafe, b.select(is0, zero, b.sub(zero, x)), q)
    r = b.select(unsafe, zero, r)
    return q, r


@rule("floordiv")
def _floordiv(cx, a, dtype, p):
    return (_float_divmod(cx, a[0], a[1], dtype) if is_float(dtype) else _int_divmod(cx, *a))[0]


@rule("mod")
def _mod(cx, a, dtype, p):
    return (_float_divmod(cx, a[0], a[1], dtype) if is_float(dtype) else _int_divmod(cx, *a))[1]


@rule("pow")
def _pow(cx, a, dtype, p):
    if is_float(dtype):
        y = a[1]
        if getattr(cx, "in_kernel", 0) and isinstance(y, L.Constant) and y.constant in (2.0, 3.0):
            # Array kernels: x*x(*x) vectorises (a libmvec pow is ~5x slower); within 1 ulp.
            sq = cx.b.fmul(a[0], a[0], flags=cx.fm)
            return sq if y.constant == 2.0 else cx.b.fmul(sq, a[0], flags=cx.fm)
        return cx.b.call(cx.libm("pow", dtype, 2), a, fastmath=cx.fm)
    return _ipow(cx, a[0], a[1])


def _ipow(cx, x, n):
    """Integer power by squaring (wrapping, as NumPy); a negative exponent is an error."""
    b = cx.b
    cx.fail_if(b.icmp_signed("<", n, const("i64", 0)), ERR_NEG_POW)
    pre = b.block
    head, body, done = (b.append_basic_block(s) for s in ("ipow.head", "ipow.body", "ipow.done"))
    b.branch(head)
    b.position_at_end(head)
    acc, base, e = b.phi(I64), b.phi(I64), b.phi(I64)
    b.cbranch(b.icmp_signed(">", e, const("i64", 0)), body, done)
    b.position_at_end(body)
    odd = b.trunc(b.and_(e, const("i64", 1)), I1)
    acc2 = b.select(odd, b.mul(acc, base), acc)
    base2, e2 = b.mul(base, base), b.ashr(e, const("i64", 1))
    b.branch(head)
    for phi, start, nxt in ((acc, const("i64", 1), acc2), (base, x, base2), (e, n, e2)):
        phi.add_incoming(start, pre)
        phi.add_incoming(nxt, body)
    b.position_at_end(done)
    return acc


def _nan_max(cx, x, y, dtype, op):
    """`np.maximum`/`np.minimum`: (x > y or isnan(x)) ? x : y, so NaN from either side wins
    and a tie returns y (NumPy 2: maximum(0.0, -0.0) is -0.0)."""
    b = cx.b
    if not is_float(dtype):
        return b.select(b.icmp_signed(op, x, y) if dtype == "i64" else b.icmp_unsigned(op, x, y),
                        x, y)
    keep = b.or_(b.fcmp_ordered(op, x, y), b.fcmp_unordered("uno", x, x))
    return b.select(keep, x, y)


@rule("maximum")
def _maximum(cx, a, dtype, p):
    return _nan_max(cx, a[0], a[1], dtype, ">")


@rule("minimum")
def _minimum(cx, a, dtype, p):
    return _nan_max(cx, a[0], a[1], dtype, "<")


@rule("relu")
def _relu(cx, a, dtype, p):
    return _nan_max(cx, a[0], const(dtype, 0), dtype, ">")


@rule("clamp")
def _clamp(cx, a, dtype, p):
    # np.clip with one bound is np.maximum/np.minimum; with both it is its own loop,
    # `x < lo ? lo : x` then `x > hi ? hi : x` (an empty interval gives hi; NaN stays).
    x, lo, hi = a[0], p.get("min"), p.get("max")
    if lo is None or hi is None:
        if lo is not None:
            x = _nan_max(cx, x, const(dtype, lo), dtype, ">")
        if hi is not None:
            x = _nan_max(cx, x, const(dtype, hi), dtype, "<")
        return x
    b = cx.b
    for bound, op in ((const(dtype, lo), "<"), (const(dtype, hi), ">")):
        cmp = (b.fcmp_ordered(op, x, bound) if is_float(dtype) else
               b.icmp_signed(op, x, bound) if dtype == "i64" else b.icmp_unsigned(op, x, bound))
        x = b.select(cmp, bound, x)
    return x


@rule("where")
def _where(cx, a, dtype, p):
    return cx.b.select(a[0], a[1], a[2])


# ---------------------------------------------------------------------------- unary
@rule("neg")
def _neg(cx, a, dtype, p):
    return cx.b.fneg(a[0], flags=cx.fm) if is_float(dtype) else cx.b.sub(const(dtype, 0), a[0])


@rule("abs")
def _abs(cx, a, dtype, p):
    if is_float(dtype):
        return cx.b.call(cx.intrinsic("llvm.fabs", LTYPE[dtype]), a, fastmath=cx.fm)
    fn = cx.module_fn("llvm.abs.i64", L.FunctionType(I64, [I64, I1]))
    return cx.b.call(fn, [a[0], L.Constant(I1, 0)])  # abs(INT_MIN) wraps, as NumPy


@rule("sign")
def _sign(cx, a, dtype, p):
    b, x = cx.b, a[0]
    if is_float(dtype):
        zero = const(dtype, 0)
        # np.sign: +0.0 for either zero, NaN stays NaN.
        r = b.select(b.fcmp_unordered("uno", x, x), x, zero)
        r = b.select(b.fcmp_ordered(">", x, zero), const(dtype, 1), r)
        return b.select(b.fcmp_ordered("<", x, zero), const(dtype, -1), r)
    gt = b.zext(b.icmp_signed(">", x, const("i64", 0)), I64)
    lt = b.zext(b.icmp_signed("<", x, const("i64", 0)), I64)
    return b.sub(gt, lt)


def _float_intrinsic(name: str) -> Rule:
    def lower(cx, a, dtype, p):
        if not is_float(dtype):
            return a[0]  # floor/ceil/round of an integer is itself
        return cx.b.call(cx.intrinsic(name, LTYPE[dtype]), a, fastmath=cx.fm)
    return lower


TABLE["floor"] = _float_intrinsic("llvm.floor")
TABLE["ceil"] = _float_intrinsic("llvm.ceil")
TABLE["round"] = _float_intrinsic("llvm.roundeven")   # half to even, as np.round
TABLE["sqrt"] = _float_intrinsic("llvm.sqrt")


def _libm(cname: str) -> Rule:
    def lower(cx, a, dtype, p):
        return cx.b.call(cx.libm(cname, dtype, 1), a, fastmath=cx.fm)
    return lower


for _prim, _c in (("exp", "exp"), ("log", "log"), ("log1p", "log1p"), ("expm1", "expm1"),
                  ("sin", "sin"), ("cos", "cos"), ("tan", "tan"), ("tanh", "tanh"),
                  ("sinh", "sinh"), ("cosh", "cosh"), ("arcsin", "asin"), ("arccos", "acos"),
                  ("arctan", "atan")):
    TABLE[_prim] = _libm(_c)


# lgamma (libm's lgamma_r), digamma and trigamma (emitted as IR): internal helper functions.
for _prim in ("lgamma", "digamma", "trigamma"):
    TABLE[_prim] = gamma_rule(_prim)


@rule("sigmoid")
def _sigmoid(cx, a, dtype, p):
    b, one = cx.b, const(dtype, 1.0)
    e = b.call(cx.libm("exp", dtype, 1), [b.fneg(a[0], flags=cx.fm)], fastmath=cx.fm)
    return b.fdiv(one, b.fadd(one, e, flags=cx.fm), flags=cx.fm)


# ---------------------------------------------------------------- compare and logic
_CMP = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}


def _compare(op: str) -> Rule:
    def lower(cx, a, dtype, p):
        b = cx.b
        if is_float(dtype):
            # Python/NumPy: every comparison with NaN is False except `!=`.
            if op == "!=":
                return b.fcmp_unordered(op, a[0], a[1], flags=cx.fm)
            return b.fcmp_ordered(op, a[0], a[1], flags=cx.fm)
        if dtype == "bool":
            return b.icmp_unsigned(op, a[0], a[1])
        return b.icmp_signed(op, a[0], a[1])
    return lower


for _prim, _op in _CMP.items():
    TABLE[_prim] = _compare(_op)


@rule("logical_and")
def _and(cx, a, dtype, p):
    return cx.b.and_(a[0], a[1])


@rule("logical_or")
def _or(cx, a, dtype, p):
    return cx.b.or_(a[0], a[1])


@rule("logical_not")
def _not(cx, a, dtype, p):
    return cx.b.xor(a[0], L.Constant(I1, 1))


# ------------------------------------------------------------------------------ cast
def cast(cx, x: L.Value, src: str, dst: str) -> L.Value:
    """Convert between IR dtypes with NumPy's scalar results."""
    b = cx.b
    if src == dst:
        return x
    if dst == "bool":
        if is_float(src):
            return b.fcmp_unordered("!=", x, const(src, 0))  # NaN is truthy
        return b.icmp_signed("!=", x, const(src, 0))
    if src == "bool":
        return b.zext(x, I64) if dst == "i64" else b.uitofp(x, LTYPE[dst])
    if is_float(src) and is_float(dst):
        return b.fpext(x, F64) if dst == "f64" else b.fptrunc(x, F32)
    if dst == "i64":
        # fptosi of NaN/inf/out-of-range is poison in LLVM; x86 and NumPy give INT_MIN.
        lo, hi = const(src, -2.0 ** 63), const(src, 2.0 ** 63)
        ok = b.and_(b.fcmp_ordered(">=", x, lo), b.fcmp_ordered("<", x, hi))
        safe = b.select(ok, x, const(src, 0))
        return b.select(ok, b.fptosi(safe, I64), const("i64", INT_MIN))
    return b.sitofp(x, LTYPE[dst])


@rule("cast")
def _cast(cx, a, dtype, p):
    return cast(cx, a[0], dtype, p["dtype"])
