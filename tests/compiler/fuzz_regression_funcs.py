"""Shrunk reproducers found by the differential fuzzer (`symgrad fuzz`), one per bug.

They live in a file because the compiler reads functions' source from disk.
"""
import math

import numpy as np


# fuzz seed 5056: a loop whose body assigns a value defined before the loop straight to a
# carried name lost that value's gradient (d/dy was 0).
def loop_yields_free_value(x, y):
    for i in range(1, 0, -1):
        x = y
    return x


def loop_yields_free_value_n(x, y, n):
    for i in range(n):
        x = y
    return x * x


def while_yields_free_value(x, y):
    c = 0
    while c < 2:
        c += 1
        x = y
    return x


def loop_mixes_free_value(x, y, n):
    s = 0.0
    for i in range(n):
        s = s * 0.5 + x
        x = y
    return s + x


# fuzz seeds 1018 and 315: hypot at the origin, reached through an expression that is
# identically zero. Not a bug: hypot has no derivative at (0, 0); the unsimplified
# gradient is NaN, as PyTorch's, and the simplified IR cancels x - x first and gives 0.
def hypot_at_origin(x):
    x *= math.log(1.0)
    x += math.hypot(x, x)
    return x


# maximum/minimum with a NaN operand: PyTorch passes the gradient to both inputs.
def maximum_nan(x, y):
    return np.maximum(x, y) + min(x, y)


# For gradcheck on compiled functions (tests/compiler/test_gradcheck_compiled.py).
def gc_scalar(x, y, n):
    s = 0.0
    for i in range(n):
        s += math.sin(x * i) * y
    return s + x * y


def gc_array(x, w, k):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.tanh(x[i] * w[i]) * k
    return s


def gc_wrong(x):
    return x * x


# fuzz seed 21377: a value read only by a while condition got a materialised zero adjoint,
# which times hypot's singular derivative at the origin made d/dy NaN (PyTorch: 0).
def condition_only_value(x, y, n):
    a = y * 0.0
    v = math.hypot(a, a)
    c = 0
    while c < n and x < v:
        c += 1
        x = y
    return x + max(2.5, y)
