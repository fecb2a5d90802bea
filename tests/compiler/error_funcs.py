"""Functions the compiler must refuse; the offending line carries an `# ERR` marker."""
import math

import numpy as np

COUNTER = 0
TABLE = {"a": 1.0}


def gen_yield(x):
    yield x * 2.0  # ERR


def gen_expression(x):
    return sum(x * i for i in range(3))  # ERR


def try_except(x):
    try:  # ERR
        y = x * 2.0
    except ValueError:
        y = 0.0
    return y


def global_write(x):
    global COUNTER  # ERR
    COUNTER = 1
    return x


def prints(x):
    print(x)  # ERR
    return x


def strings(x):
    s = "abc"  # ERR
    return x


def dicts(x):
    d = {"a": x}  # ERR
    return d


def recursive(x):
    if x < 1.0:
        return x
    return recursive(x - 1.0)  # ERR


def unknown_call(x):
    return math.gamma(x)  # ERR


def lambdas(x):
    f = lambda t: t * 2.0  # ERR
    return x


def list_comprehension(x):
    return [x for _ in range(3)]  # ERR


def with_statement(x):
    with open("f") as fh:  # ERR
        pass
    return x


def raises(x):
    if x < 0:
        raise ValueError("negative")  # ERR
    return x


def nested_def(x):
    def inner(t):  # ERR
        return t
    return x


def subscript(x):
    return x[0]  # ERR


def attribute_of_value(x):
    return x.real  # ERR


def for_over_list(x):
    s = 0.0
    for v in (1.0, 2.0):  # ERR
        s += v * x
    return s


def maybe_unbound(x):
    if x > 0:
        y = x
    return y  # ERR


def no_return_on_some_path(x):
    if x > 0:
        return x
    x = x * 2.0  # ERR


def float_range(x):
    s = 0.0
    for i in range(x):  # ERR
        s += i
    return s


def is_comparison(x):
    return 1.0 if x is None else x  # ERR


def assert_statement(x):
    assert x > 0  # ERR
    return x


def walrus(x):
    return (y := x * 2.0) + y  # ERR


def bitwise(n):
    return n << 2  # ERR


def global_dict_read(x):
    return x * TABLE  # ERR


def undefined_name(x):
    return x * not_defined_anywhere  # ERR


def tuple_return(x):
    return x, x  # ERR


def star_args(*xs):  # ERR
    return 1.0


def helper_with_string(x):
    return _str_helper(x)


def _str_helper(x):
    return x + "a"  # ERR


def loop_var_after_loop(x, n):
    for i in range(n):
        x = x * 1.5
    return x + i  # ERR


def imports_inside(x):
    import os  # ERR
    return x


def int_division_by_zero(x):
    return x + 7 // 0  # ERR
