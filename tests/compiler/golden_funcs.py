"""Canonical functions whose SSA text is pinned by golden files (tests/compiler/golden/)."""
import math


def straight_line(x, w):
    h = x * w
    t = math.tanh(h)
    return t * 2.0 + 1.0


def math_calls(x):
    return math.exp(-x * x) + math.log(1.0 + x ** 2)


def if_else(x):
    if x > 0.0:
        y = x * x
    else:
        y = -x
    return y + 1.0


def elif_chain(x):
    if x > 1.0:
        return 1.0
    elif x > 0.0:
        return x
    return 0.0


def ternary(x, y):
    return x if x > y else y * 2.0


def for_range(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * i
    return s


def for_break(x, n):
    s = x
    for i in range(1, n):
        if s > 100.0:
            break
        s = s * x
    return s


def while_loop(x):
    k = 0
    while x < 10.0:
        x = x * 1.5
        k += 1
    return x * k


def nested_loops(x, n):
    s = 0.0
    for i in range(n):
        for j in range(i):
            s += x * j
    return s


def _helper(t, scale=2.0):
    return scale * t * t


def inlined_helper(x):
    return _helper(x) + _helper(x, scale=0.5)


def int_float(x, n):
    m = n // 2
    r = n % 3
    q = n / 4
    x += m
    x *= r
    return x + q


def short_circuit(x, y):
    if x > 0.0 and y > 0.0:
        return x * y
    return x or y


def recurrence(x0, h):
    x = x0
    for i in range(100):
        x = x - h * math.sin(x)
    return x
