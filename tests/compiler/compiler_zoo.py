"""A zoo of scalar functions covering the constructs the compiler accepts.

Each `@case(points...)` registers a function with the argument tuples it is checked at
(points stay away from kinks and branch switches, so finite differences are valid there).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from math import exp, log, sin

import numpy as np


@dataclass
class Case:
    fn: object
    points: list
    wrt: tuple | None = None
    torch: bool = True
    tags: set = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.fn.__name__


ZOO: list[Case] = []


def case(*points, wrt=None, torch=True):
    def deco(fn):
        ZOO.append(Case(fn, [tuple(p) for p in points], wrt, torch))
        return fn
    return deco


SCALE = 2.5
OFFSET = -0.25
N_STEPS = 7


def helper_sq(t):
    return t * t


def helper_soft(t, beta=2.0):
    if t > 20.0 / beta:
        return t
    return math.log1p(math.exp(beta * t)) / beta


def helper_clip(t, lo, hi):
    if t < lo:
        return lo
    if t > hi:
        return hi
    return t


def helper_nested(a, b):
    return helper_sq(a) + 3.0 * helper_sq(b - a)


def make_scaled(k):
    def scaled(x):
        return k * x * x + SCALE
    return scaled


# ------------------------------------------------------------------ arithmetic
@case((1.3, 0.7), (-0.4, 2.1))
def poly(x, y):
    return 3.0 * x ** 3 - 2.0 * x * y + y ** 2 - 7.0


@case((1.3, 0.7), (-2.4, 1.9))
def quotient(x, y):
    return (x + 1.0) / (y * y + 1.0) - x / 3


@case((1.3,), (-2.5,))
def int_mixing(x):
    n = 3
    m = n * 2 + 1
    return x * m + n / 2 + 7 // 2 + (-7) // 2 + (-7) % 3


@case((1.3, 4.1), (-2.6, 1.7))
def float_floor_mod(x, y):
    q = x // y
    r = x % y
    return q * 2.0 + r * r


@case((2.0, 3.0),)
def negation_and_unary_plus(x, y):
    return -x * +y - (-(x - y))


@case((0.3,), (1.7,))
def constant_folding(x):
    return x * (2 + 3) * (1.5 ** 2) + 10 / 4 - 2 ** 3


@case((1.1, 2.2, 0.5),)
def three_args(a, b, c):
    return a * b * c + a / (b + c) - c ** a


@case((1.5,),)
def globals_and_pi(x):
    return SCALE * x + OFFSET + math.pi * x ** 2 + math.e


closure_constant = make_scaled(1.5)  # `k` lives in a closure cell
ZOO.append(Case(closure_constant, [(0.6,), (2.5,)]))


# ------------------------------------------------------------------ math functions
@case((0.7,), (2.3,))
def math_funcs(x):
    return math.sin(x) * math.cos(x) + math.exp(-x) + math.log(x) + math.sqrt(x) + math.tanh(x)


@case((0.7,), (-0.3,))
def numpy_funcs(x):
    return np.sin(x) + np.cos(2.0 * x) + np.exp(x / 2) + np.tanh(x) + np.arctan(x)


@case((0.4,), (0.9,))
def imported_names(x):
    return sin(x) * exp(x) + log(x + 1.0)


@case((0.3,), (-0.6,))
def inverse_trig(x):
    return math.asin(x) + math.acos(x / 2) + math.atan(3.0 * x)


@case((0.8,), (1.9,))
def hyperbolic(x):
    return math.sinh(x) + math.cosh(x) / 2.0 + math.tanh(x) ** 2


@case((0.05,), (3.0,))
def log1p_expm1(x):
    return math.log1p(x) + math.expm1(x) + np.log1p(x * x)


@case((0.7, 3.0), (2.6, 1.5), (-0.4, 2.2))
def log_gamma(x, y):
    # math.lgamma (the Wishart prior's multigamma term in ADBench's GMM); its gradient is digamma
    return math.lgamma(x * y + 0.25) - 2.0 * math.lgamma(y) + x * math.lgamma(x + 3.0)


@case((0.8,), (3.3,))
def log_bases(x):
    return math.log2(x) + math.log10(x) + np.log2(x + 1.0)


@case((0.5, 1.5), (2.0, -1.0))
def hypot_and_square(x, y):
    return math.hypot(x, y) + np.square(x - y)


@case((0.4,), (1.6,))
def tan_sigmoid(x):
    return math.tan(x) + 1.0 / (1.0 + math.exp(-x))


@case((1.2,), (-0.7,))
def composition(x):
    return math.exp(math.sin(x) ** 2) * math.log(2.0 + math.cos(x))


# ------------------------------------------------------------------ powers
@case((1.3,), (-0.8,))
def int_powers(x):
    return x ** 2 + x ** 3 - x ** 4 / 5 + x ** 0 + x ** 1


@case((1.3,), (0.4,))
def float_powers(x):
    return x ** 0.5 + x ** 1.5 - x ** -0.5 + x ** 2.0


@case((1.3, 0.7), (0.5, 2.5))
def variable_exponent(x, y):
    return x ** y + y ** x


@case((0.7,), (-1.2,))
def constant_base(x):
    return 2.0 ** x + 3 ** x + math.pow(x * x + 1.0, 0.25) + pow(x, 2)


@case((1.4,), (-1.4,))
def negative_int_powers(x):
    return x ** -1 + x ** -2 * 3.0


@case((2.0, 3), (1.5, 2))
def int_exponent_arg(x, n):
    return x ** n + n ** 2 + 2 ** n


# ------------------------------------------------------------------ abs / min / max
@case((1.3, -0.7), (-2.0, 0.5))
def abs_min_max(x, y):
    return abs(x) + max(x, y) - min(x, y) + abs(x - 2 * y)


@case((1.3, -0.7, 0.2), (-2.0, 0.5, 4.0))
def multi_arg_max(a, b, c):
    return max(a, b, c) * 2.0 + min(a, b, c, 0.1) + max(a * b, c)


@case((1.3, -0.7),)
def numpy_extrema(x, y):
    return np.maximum(x, y) + np.minimum(x * x, y) + np.abs(y) + math.fabs(x)


@case((0.4,), (2.5,), (-3.0,))
def clip_relu(x):
    return np.clip(x, -1.0, 1.0) + max(x, 0.0) * 2.0


# ------------------------------------------------------------------ branches
@case((1.3,), (-0.7,), (-3.0,))
def if_elif_else(x):
    if x > 1.0:
        y = x * x
    elif x > -1.0:
        y = math.sin(x)
    else:
        y = -x * 3.0
    return y + x


@case((1.3, 0.2), (-0.7, 0.4), (0.5, -2.0))
def nested_if(x, y):
    z = x
    if x > 0:
        if y > 0:
            z = x * y
        else:
            z = x - y
    else:
        z = x + 2.0 * y
    return z * z


@case((1.3,), (-0.7,))
def ternary(x):
    a = x * 2.0 if x > 0 else -x
    return a + (math.exp(x) if a > 1.0 else math.cos(x))


@case((1.3,), (-0.7,), (0.2,))
def early_return(x):
    if x > 1.0:
        return x * x
    if x < 0.0:
        return -x
    return math.sin(x) + 1.0


@case((1.3,), (-0.7,))
def branch_only_one_side(x):
    y = 2.0 * x
    if x > 0:
        y = y * x
    return y


@case((1.3,), (-2.5,))
def if_else_both_return(x):
    if x > 0:
        return math.log(1.0 + x)
    else:
        return x * x


@case((1.3, 0.4), (-0.7, 2.0), (0.3, -1.0))
def bool_ops(x, y):
    r = 0.0
    if x > 0 and y > 0:
        r = x * y
    elif x > 0 or y > 1.0:
        r = x + y
    if not (x > 1.0):
        r = r + x * 0.5
    return r


@case((1.3, 0.4), (0.5, 0.7))
def chained_compare(x, y):
    if 0.0 < y < x < 2.0:
        return x * y
    return x + y


@case((1.3,), (0.0 + 0.25,))
def short_circuit_value(x):
    a = x > 1.0 and x * 2.0 or x * 3.0
    return a + 1.0


@case((0.5,), (-0.7,))
def guarded_sqrt(x):
    return math.sqrt(x) if x > 0 else 0.0


@case((3.0, 2), (3.0, 0))
def int_truthiness(x, n):
    if n:
        return x * n
    return x


@case((1.3,), (-0.7,))
def branch_type_unify(x):
    if x > 0:
        y = 1
    else:
        y = x
    return y * x


# ------------------------------------------------------------------ for loops
@case((1.1, 5), (0.7, 0), (-0.3, 3))
def for_runtime_bound(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * i + math.sin(x * s)
    return s


@case((0.9, 2, 11, 3), (0.9, 10, -2, -3))
def for_start_stop_step(x, a, b, c):
    s = x
    for i in range(a, b, c):
        s = s * 0.9 + x * i
    return s


@case((1.1,),)
def for_negative_step(x):
    s = 1.0
    for i in range(10, 0, -2):
        s = s * x + i
    return s


@case((0.8, 4), (1.2, 3))
def nested_loops(x, n):
    s = 0.0
    for i in range(n):
        t = x
        for j in range(i):
            t = t * x + 0.1 * j
        s = s + t
    return s


@case((1.01,), (0.5,))
def rosenbrock_like(x):
    s = 0.0
    a = x
    for i in range(6):
        b = a * 0.9 + 0.1
        s += 100.0 * (b - a ** 2) ** 2 + (1.0 - a) ** 2
        a = b
    return s


@case((0.3, 1.5, 0.8),)
def recurrence(x0, h, p):
    x = x0
    for i in range(50):
        x = x - h * math.sin(x) * p
    return x


@case((1.1, 10), (0.6, 8))
def for_break(x, n):
    s = 0.0
    for i in range(n):
        s += x * i
        if s > 5.0:
            break
    return s


@case((1.1, 10),)
def for_continue(x, n):
    s = 0.0
    for i in range(n):
        if i % 3 == 0:
            continue
        s += x * i
    return s


@case((1.1, 10), (0.01, 10))
def for_early_return(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * x
        if s > 3.0:
            return s * 2.0
    return s


@case((0.7, 5),)
def loop_int_to_float(x, n):
    s = 0
    for i in range(n):
        s += i
    t = 0
    for i in range(n):
        t += x
    return s * x + t


@case((0.7, 4),)
def loop_multiple_carried(x, n):
    a, b = x, 1.0
    for i in range(n):
        a, b = b, a + b * x
    return a + b


@case((0.9, 3),)
def loop_with_branch_inside(x, n):
    s = x
    for i in range(n * 2):
        if i % 2 == 0:
            s = s * x
        else:
            s = s + math.cos(s)
    return s


@case((1.3, 2),)
def loop_unused_index_after(x, n):
    for i in range(n):
        x = x * 1.5
    y = x + 1.0
    return y


# ------------------------------------------------------------------ while loops
@case((3.0,), (150.0,))
def while_data_dependent(x):
    k = 0
    while x < 100.0:
        x = x * 2.0
        k += 1
    return x + k


@case((2.0,), (0.7,))
def while_newton_sqrt(a):
    x = a
    it = 0
    while abs(x * x - a) > 1e-12 and it < 50:
        x = 0.5 * (x + a / x)
        it += 1
    return x


@case((1.7, 9),)
def while_break(x, n):
    i = 0
    s = 0.0
    while True:
        s = s + x / (i + 1)
        i += 1
        if i >= n:
            break
    return s


@case((1.7,), (0.2,))
def while_continue_return(x):
    i = 0
    s = 0.0
    while i < 12:
        i += 1
        if i % 2 == 1:
            continue
        s += x * i
        if s > 20.0:
            return s - x
    return s


@case((0.6, 3),)
def while_in_for(x, n):
    s = 0.0
    for i in range(n):
        y = x + i
        while y < 10.0:
            y = y * 1.7
        s += y
    return s


# ------------------------------------------------------------------ assignments, helpers
@case((1.3, 0.7),)
def aug_assign_all(x, y):
    z = x
    z += y
    z -= 0.5 * y
    z *= x
    z /= (y + 2.0)
    z **= 2
    w = 17
    w //= 3
    w %= 4
    return z + w


@case((1.3, 0.7),)
def tuple_unpacking(x, y):
    a, b = x, y
    a, b = b, a
    (c, d) = (a * b, a - b)
    return a + 2 * b + c * d


@case((1.3,), (-0.7,))
def annotated(x: float) -> float:
    y: float = x * 2.0
    return y + x


@case((1.3,), (-25.0,))
def helper_calls(x):
    return helper_sq(x) + helper_soft(x) + helper_soft(x, beta=4.0)


@case((1.3, 0.4), (-1.5, 0.2))
def helper_nesting(x, y):
    return helper_nested(x, y) + helper_clip(x, -1.0, 1.0)


@case((1.3,), (0.4,))
def helper_with_loop_inside(x):
    s = 0.0
    for i in range(3):
        s += helper_soft(x * i)
    return s


@case((1.3, 2.0), (0.4, 0.5))
def default_args(x, y=1.5, n=3):
    return x * y * n


@case((0.4,), (2.0,))
def docstring_and_pass(x):
    """A docstring is fine."""
    if x > 1.0:
        pass
    else:
        x = x * 2.0
    return x


@case((1.3, 3), wrt=("x",))
def explicit_wrt(x, n):
    return x ** n + float(n)


@case((1.3, 2.2), wrt=("y",))
def wrt_second(x, y):
    return x * y * y


@case((1.7,), (-2.3,))
def casts(x):
    n = int(x)
    m = math.floor(x)
    k = round(x)
    return float(n) * x + m + k + math.ceil(x) * x


@case((0.8,), (1.5,))
def numpy_scalar_constructors(x):
    return np.float64(x) * 2.0 + np.float64(3)


# ------------------------------------------------------------------ harder control flow
@case((0.7, 4), (1.3, 4), (0.1, 2))
def return_in_inner_loop(x, n):
    s = 0.0
    for i in range(n):
        for j in range(n):
            s += x * (i + j)
            if s > 6.0:
                return s * x
    return s


@case((1.7,), (0.3,), (60.0,))
def while_return_inside(x):
    while x < 50.0:
        x = x * 1.9
        if x > 20.0:
            r = x - 1.0
            return r * 2.0
    return x


@case((0.9, 6),)
def continue_in_nested_if(x, n):
    s = 0.0
    for i in range(n):
        if i > 1:
            if i % 2 == 0:
                continue
            s += x
        s += x * x
    return s


def _loop_helper(t, n):
    acc = t
    for i in range(n):
        acc = acc * t
        if acc > 5.0:
            return acc
    return -acc


@case((1.4, 6), (0.5, 3))
def helper_loop_return(x, n):
    return _loop_helper(x, n) + _loop_helper(x * 0.5, n)


@case((1.3, True), (1.3, False))
def bool_argument(x, flag):
    if flag:
        return x * 2.0
    return x * x


@case((0.7, 3),)
def break_in_inner_only(x, n):
    s = 0.0
    for i in range(n):
        for j in range(10):
            if j > i:
                break
            s += x ** j
    return s


@case((2.5,), (0.45,))
def while_with_loop_in_branch(x):
    k = 0
    while k < 5:
        if x > 1.0:
            for i in range(k):
                x = x * 0.9
        else:
            x = x + 0.5
        k += 1
    return x


@case((0.8,),)
def loop_var_reassigned(x):
    s = 0.0
    for i in range(4):
        i = i * 2
        s += i * x
    return s


@case((1.2, 0.5),)
def swap_in_loop(x, y):
    for i in range(5):
        x, y = y, x * y + 0.1
    return x - y


@case((0.4, 5),)
def loop_dependent_bounds(x, n):
    s = x
    for i in range(n):
        for j in range(i, n, 2):
            s = s * 0.95 + x * j
    return s


@case((3.0, 0.5),)
def while_two_conditions(x, tol):
    it = 0
    while x > tol and it < 100:
        x = x * 0.8 - 0.01
        it = it + 1
    return x * it


@case((2.0, 3), (1.5, 2))
def math_returns_floats(x, n):
    a = math.pow(n, 2) // 3
    b = math.fabs(-n) / 4
    return x * a + b
