"""Native lowering of the gamma family: `lgamma`, `digamma`, `trigamma`.

Each is an internal `double -> double` function emitted once into the module that uses it
(f32 operands are widened and the result narrowed, as `symgrad.special` computes in f64).
`lgamma` calls libm's `lgamma_r` (the reentrant form: plain `lgamma` writes the global
`signgam`, a data race when native code runs on several threads). glibc has no digamma or
trigamma, so those are emitted as IR: the same steps and constants as the NumPy versions
in `symgrad.special`, branch-free except around the reflection (a `tan`/`sin` call that
only x < 0 needs), with no fast-math flags, so both back ends round alike (up to libm's
`tan`/`sin`/`log` against NumPy's).
"""
from __future__ import annotations

import math
from typing import Any, Callable

from llvmlite import ir as L

from .. import special as S

F64, F32, I1, I32 = L.DoubleType(), L.FloatType(), L.IntType(1), L.IntType(32)
PTR = L.PointerType()
FNTY = L.FunctionType(F64, [F64])


def _k(v: float) -> L.Constant:
    return L.Constant(F64, float(v))


class _Body:
    """An IRBuilder over a helper's body, with the lowering context's libm declarations."""

    def __init__(self, cx: Any, f: L.Function):
        self.cx, self.f = cx, f
        self.b = L.IRBuilder(f.append_basic_block("entry"))

    def call1(self, name: str, x: L.Value) -> L.Value:
        """A one-argument libm function (`tan`) or float intrinsic (`llvm.floor`)."""
        fn = self.cx.intrinsic(name, F64) if name.startswith("llvm.") else self.cx.libm(name, "f64", 1)
        return self.b.call(fn, [x])

    def horner(self, coefs: tuple[float, ...], x: L.Value) -> L.Value:
        return S.horner(coefs, x, mul=lambda a, c: self.b.fmul(_k(a) if isinstance(a, float) else a, c),
                        add=lambda a, c: self.b.fadd(a, _k(c)))

    def lt(self, a: L.Value, c: float) -> L.Value:
        return self.b.fcmp_ordered("<", a, _k(c))

    def gt(self, a: L.Value, c: float) -> L.Value:
        return self.b.fcmp_ordered(">", a, _k(c))

    def reflect_if_negative(self, x: L.Value, part: Callable[["_Body"], L.Value]) -> tuple[L.Value, L.Value]:
        """(x < 0, part() where x < 0 else 0.0): `part` runs in a block of its own."""
        b = self.b
        neg = self.lt(x, 0.0)
        pre = b.block
        refl, main = self.f.append_basic_block("reflect"), self.f.append_basic_block("main")
        b.cbranch(neg, refl, main)
        b.position_at_end(refl)
        v = part(self)
        end = b.block
        b.branch(main)
        b.position_at_end(main)
        phi = b.phi(F64)
        phi.add_incoming(_k(0.0), pre)
        phi.add_incoming(v, end)
        return neg, phi


def _build_lgamma(cx: Any, f: L.Function) -> None:
    from .llvm import _OpenAttributes  # late: llvm imports this module through llvm_prims
    lg = cx.module_fn("lgamma_r", L.FunctionType(F64, [F64, PTR]))
    lg.attributes = _OpenAttributes(["nounwind", "willreturn", "memory(argmem: write)"])
    b = L.IRBuilder(f.append_basic_block("entry"))
    sign = b.alloca(I32, name="sign")
    b.ret(b.call(lg, [f.args[0], sign]))


def _build_digamma(cx: Any, f: L.Function) -> None:
    """Cephes' psi (SciPy): see `symgrad.special.digamma`, whose steps this mirrors."""
    h = _Body(cx, f)
    b, x = h.b, f.args[0]
    r = b.fsub(x, h.call1("llvm.trunc", x))
    neg, y = h.reflect_if_negative(
        x, lambda h: h.b.fdiv(_k(-math.pi), h.call1("tan", h.b.fmul(_k(math.pi), r))))
    t = b.select(neg, b.fsub(_k(1.0), x), x)
    isint = b.and_(b.fcmp_ordered("<=", t, _k(10.0)),
                   b.fcmp_ordered("==", t, h.call1("llvm.floor", t)))
    yint = y
    for i in range(1, 10):
        yint = b.select(b.and_(isint, b.fcmp_ordered("<", _k(i), t)), b.fadd(yint, _k(1.0 / i)), yint)
    yint = b.fsub(yint, _k(S.EULER))
    small = h.lt(t, 1.0)
    y = b.select(small, b.fsub(y, b.fdiv(_k(1.0), t)), y)
    t = b.select(small, b.fadd(t, _k(1.0)), t)
    for _ in range(S.PSI_SHIFTS):
        m = b.and_(h.gt(t, 2.0), h.lt(t, 10.0))
        t = b.select(m, b.fsub(t, _k(1.0)), t)
        y = b.select(m, b.fadd(y, b.fdiv(_k(1.0), t)), y)
    # [1, 2]: Boost's rational approximation around the positive root
    g = t
    for root in S.PSI_ROOTS:
        g = b.fsub(g, _k(root))
    u = b.fsub(t, _k(1.0))
    rat = b.fdiv(h.horner(S.PSI_P, u), h.horner(S.PSI_Q, u))
    near = b.fadd(b.fmul(g, _k(S.PSI_Y)), b.fmul(g, rat))
    # [10, inf): the asymptotic series
    z = b.fdiv(_k(1.0), b.fmul(t, t))
    tail = b.select(h.lt(t, 1.0e17), b.fmul(z, h.horner(S.PSI_A, z)), _k(0.0))
    asy = b.fsub(b.fsub(h.call1("log", t), b.fdiv(_k(0.5), t)), tail)
    out = b.select(b.fcmp_ordered("<=", t, _k(2.0)), b.fadd(y, near), b.fadd(y, asy))
    out = b.select(isint, yint, out)
    out = b.select(b.and_(neg, b.fcmp_ordered("==", r, _k(0.0))), _k(math.nan), out)
    inf = b.call(cx.intrinsic("llvm.copysign", F64), [_k(math.inf), b.fneg(x)])
    b.ret(b.select(b.fcmp_ordered("==", x, _k(0.0)), inf, out))


def _build_trigamma(cx: Any, f: L.Function) -> None:
    """Reflection, recurrence up to x >= 10, Bernoulli series: `symgrad.special.trigamma`."""
    h = _Body(cx, f)
    b, x = h.b, f.args[0]

    def reflection(h: _Body) -> L.Value:
        s = h.call1("sin", h.b.fmul(_k(math.pi), h.b.fsub(x, h.call1("llvm.roundeven", x))))
        return h.b.fdiv(_k(math.pi * math.pi), h.b.fmul(s, s))

    neg, refl = h.reflect_if_negative(x, reflection)
    t = b.select(neg, b.fsub(_k(1.0), x), x)
    y = _k(0.0)
    for _ in range(S.TRI_SHIFTS):
        m = h.lt(t, 10.0)
        y = b.select(m, b.fadd(y, b.fdiv(_k(1.0), b.fmul(t, t))), y)
        t = b.select(m, b.fadd(t, _k(1.0)), t)
    z = b.fdiv(_k(1.0), b.fmul(t, t))
    num = b.fadd(b.fadd(_k(1.0), b.fdiv(_k(0.5), t)), b.fmul(z, h.horner(S.TRI_B, z)))
    pos = b.fadd(y, b.fdiv(num, t))
    out = b.select(neg, b.fsub(refl, pos), pos)
    pole = b.and_(b.and_(b.fcmp_ordered("<=", x, _k(0.0)),
                         b.fcmp_ordered("==", x, h.call1("llvm.floor", x))),
                  b.fcmp_ordered("!=", x, _k(-math.inf)))
    b.ret(b.select(pole, _k(math.inf), out))


_BUILDERS: dict[str, Callable[[Any, L.Function], None]] = {
    "lgamma": _build_lgamma, "digamma": _build_digamma, "trigamma": _build_trigamma,
}


def helper(cx: Any, name: str) -> L.Function:
    """The module's internal f64 function for primitive `name`, emitted on first use."""
    f = cx.module_fn(f"{cx.symbol}.{name}", FNTY)
    if not f.blocks:
        f.linkage = "internal"
        f.attributes.add("nounwind")
        _BUILDERS[name](cx, f)
    return f


def gamma_rule(name: str) -> Callable[[Any, list, str, dict], L.Value]:
    """The `llvm_prims.TABLE` rule for `name`: a call to the helper, in f64."""
    def lower(cx: Any, a: list, dtype: str, p: dict) -> L.Value:
        fn = helper(cx, name)
        if dtype == "f64":
            return cx.b.call(fn, [a[0]])
        return cx.b.fptrunc(cx.b.call(fn, [cx.b.fpext(a[0], F64)]), F32)
    return lower
