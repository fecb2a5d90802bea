"""Every refused construct raises a located error: file, line, column, source line, caret."""
from __future__ import annotations

import inspect

import pytest

import error_funcs as E
from symgrad import CompileError, UnsupportedSyntaxError, compile_grad

U, C = UnsupportedSyntaxError, CompileError
# (function, error class, message fragment, token the caret must point at)
CASES = [
    ("gen_yield", U, "generators", "yield"),
    ("gen_expression", U, "generator expressions", "(x * i for"),
    ("try_except", U, "try/except", "try"),
    ("global_write", U, "global", "global"),
    ("prints", U, "'print'", "print"),
    ("strings", U, "strings", '"abc"'),
    ("dicts", U, "dicts", "{"),
    ("recursive", U, "recursive call", "recursive(x - 1.0)"),
    ("unknown_call", U, "math.gamma", "math.gamma(x)"),
    ("lambdas", U, "lambda", "lambda"),
    ("list_comprehension", U, "list comprehensions", "["),
    ("with_statement", U, "with statements", "with"),
    ("raises", U, "raise", "raise"),
    ("nested_def", U, "nested function", "def inner"),
    ("subscript", C, "only arrays can be indexed", "x[0]"),
    ("attribute_of_value", U, "attribute 'real'", "x.real"),
    ("for_over_list", U, "range", "(1.0, 2.0)"),
    ("maybe_unbound", C, "'y' may be used before", "y"),
    ("no_return_on_some_path", U, "return statement on every path", "x = x * 2.0"),
    ("float_range", C, "range() arguments must be integers", "x"),
    ("is_comparison", U, "'is'", "x is None"),
    ("assert_statement", U, "assert", "assert"),
    ("walrus", U, ":=", "y := x * 2.0"),
    ("bitwise", U, "'<<'", "n << 2"),
    ("global_dict_read", C, "'TABLE' is a dict", "TABLE"),
    ("undefined_name", C, "'not_defined_anywhere' is not defined", "not_defined_anywhere"),
    ("tuple_return", U, "several values", "x, x"),
    ("star_args", U, "*args", "xs"),
    ("helper_with_string", U, "strings", '"a"'),
    ("loop_var_after_loop", C, "'i' may be used before", "i"),
    ("imports_inside", U, "import", "import"),
    ("int_division_by_zero", C, "division or modulo by zero", "7 // 0"),
]


def marker_line(fn_name: str) -> tuple[int, str]:
    """Line number and text of the `# ERR` line of the function (or its helper)."""
    lines, start = inspect.getsourcelines(E)
    fn = getattr(E, "_str_helper" if fn_name == "helper_with_string" else fn_name)
    src, first = inspect.getsourcelines(fn)
    for k, text in enumerate(src):
        if "# ERR" in text:
            return first + k, text.rstrip("\n")
    raise AssertionError(f"no # ERR marker in {fn_name}")


@pytest.mark.parametrize("name,cls,fragment,token", CASES, ids=[c[0] for c in CASES])
def test_refused_with_location(name: str, cls: type, fragment: str, token: str) -> None:
    fn = getattr(E, name)
    args = (1.0, 3) if name == "loop_var_after_loop" else (1.0,)
    with pytest.raises(cls) as info:
        compile_grad(fn, cache=False, backend="numpy")(*args)
    err = info.value
    line_no, text = marker_line(name)
    assert fragment in err.message, err.message
    assert err.loc is not None and err.loc.file.endswith("error_funcs.py")
    assert err.loc.line == line_no, (err.loc, str(err))
    code = text.split("# ERR")[0].rstrip()
    assert err.loc.col == code.index(token), (err.loc, code, token)
    rendered = str(err)
    assert f'error_funcs.py", line {line_no}, column {err.loc.col + 1}' in rendered
    shown = code.strip()
    assert f"    {shown}" in rendered
    caret = rendered.split(f"    {shown}")[1].split("\n")[1]
    indent = len(code) - len(code.lstrip())
    assert caret.index("^") == 4 + err.loc.col - indent


def test_unsupported_is_a_syntax_error() -> None:
    with pytest.raises(SyntaxError) as info:
        compile_grad(E.prints, cache=False, backend="numpy")(1.0)
    assert info.value.lineno == marker_line("prints")[0]
    assert info.value.filename.endswith("error_funcs.py")
