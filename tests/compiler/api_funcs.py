"""Functions used by the API tests (compiled functions need their source in a file)."""
import math


def f2(x, y):
    return x * x * y + math.sin(y)


def with_defaults(x, scale=2.0, n=3):
    s = 0.0
    for i in range(n):
        s += scale * x
    return s


def ints_only(n, m):
    return n * m + 1


def counter(x, n):
    return x ** n


def scaled_product(x, n, scale=2.0):
    return x * n * scale
