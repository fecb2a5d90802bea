"""Functions for test_hardening.py (in a file: the compiler reads their source)."""
import math

import numpy as np


def sqrt_(x):
    return math.sqrt(x)


def log_(x):
    return math.log(x)


def abs_(x):
    return abs(x)


def max_(x, y):
    return max(x, y)


def maximum_(x, y):
    return np.maximum(x, y)


def min_(x, y):
    return min(x, y)


def pow_(x, y):
    return x ** y


def sq_(x):
    return x ** 2


def half_(x):
    return x ** 0.5


def exp_(x):
    return math.exp(x)


def where_(x):
    return np.where(x > 0.0, np.sqrt(x), 0.0)


def tern_(x):
    return math.sqrt(x) if x > 0.0 else 0.0


def poly(x, n):
    return x ** 3 - 2.0 * x * n + 1.0


def poly2(x, n):
    return (x - n) ** 2 + math.sin(x)


def loop(x, n):
    s = 0.0
    for i in range(n):
        s = s * math.tanh(x) + x * i
    return s


def branchy(x, n):
    s = x
    c = 0
    while c < n:
        c += 1
        if s > 0.3:
            s = s * 0.5 - math.sin(s)
        else:
            s += math.exp(-x * c)
    return s
