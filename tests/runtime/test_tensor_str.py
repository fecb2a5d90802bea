"""Tests for symgrad.runtime.tensor_str: spec examples literally, then byte-for-byte
agreement with torch's own repr (when torch is installed)."""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest


def _load_module():
    try:
        return importlib.import_module("symgrad.runtime.tensor_str")
    except ImportError:
        # Package __init__ files may not exist yet; load the file directly.
        path = Path(__file__).resolve().parents[2] / "symgrad" / "runtime" / "tensor_str.py"
        name = "_symgrad_tensor_str_under_test"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses needs the module registered
        spec.loader.exec_module(mod)
        return mod


ts = _load_module()
F32, F64 = np.float32, np.float64
NAN, INF = math.nan, math.inf


def fmt(values, dtype=F32, suffixes=(), dtype_name=None, prefix="tensor("):
    arr = np.array(values, dtype=dtype)
    name = dtype_name or np.dtype(dtype).name
    return ts.format_tensor(arr, dtype_name=name, suffixes=list(suffixes), prefix=prefix)


@pytest.fixture(autouse=True)
def _default_printoptions():
    ts.set_printoptions(profile="default")
    yield
    ts.set_printoptions(profile="default")


# --------------------------------------------------------------------------- spec 1.1


@pytest.mark.parametrize(
    "values, dtype, suffixes, expected",
    [
        ([1.0, 2.0], F32, ["requires_grad=True"], "tensor([1., 2.], requires_grad=True)"),
        ([100.0, 200.0], F32, ["grad_fn=<MulBackward0>"], "tensor([100., 200.], grad_fn=<MulBackward0>)"),
        ([0.9, 1.9], F32, ["requires_grad=True"], "tensor([0.9000, 1.9000], requires_grad=True)"),
        ([-12.0, -8.0], F32, ["grad_fn=<MulBackward0>"], "tensor([-12.,  -8.], grad_fn=<MulBackward0>)"),
        ([-12.0, -8.0], F32, [], "tensor([-12.,  -8.])"),
        ([1.9803, 2.9841, 1.7241], F32, ["grad_fn=<AddBackward0>"],
         "tensor([1.9803, 2.9841, 1.7241], grad_fn=<AddBackward0>)"),
        (10.5325, F32, ["grad_fn=<MeanBackward0>"], "tensor(10.5325, grad_fn=<MeanBackward0>)"),
        ([[1.0606, -0.1873], [1.7177, -1.3912]], F32, ["requires_grad=True"],
         "tensor([[ 1.0606, -0.1873],\n        [ 1.7177, -1.3912]], requires_grad=True)"),
        ([True, False], np.bool_, [], "tensor([ True, False])"),
        ([1, 2, 30], np.int64, [], "tensor([ 1,  2, 30])"),
        ([1e5, 1.0], F32, [], "tensor([1.0000e+05, 1.0000e+00])"),
        ([INF, NAN, 1.0], F32, [], "tensor([inf, nan, 1.])"),
        ([-0.0, 0.5], F32, [], "tensor([-0.0000, 0.5000])"),
        ([0.0, 100.0], F32, [], "tensor([  0., 100.])"),
        ([0.5, 100.0], F32, [], "tensor([  0.5000, 100.0000])"),
        (10.5325, F32, [], "tensor(10.5325)"),
        (300.0, F32, [], "tensor(300.)"),
        (-0.5, F32, [], "tensor(-0.5000)"),
        (3, np.int64, [], "tensor(3)"),
        (1.0, F32, [], "tensor(1.)"),
        ([], F32, [], "tensor([])"),
        ([1.0, 2.0], F64, [], "tensor([1., 2.], dtype=symgrad.float64)"),
        ([3.0, 12.0], F32, ["grad_fn=<MulBackward0>"], "tensor([ 3., 12.], grad_fn=<MulBackward0>)"),
        ([36.0, 81.0], F32, ["grad_fn=<MulBackward0>"], "tensor([36., 81.], grad_fn=<MulBackward0>)"),
        (1.4167, F32, ["grad_fn=<MseLossBackward0>"], "tensor(1.4167, grad_fn=<MseLossBackward0>)"),
        (0.4076, F32, ["grad_fn=<NllLossBackward0>"], "tensor(0.4076, grad_fn=<NllLossBackward0>)"),
        ([0.0, 0.0], F32, ["requires_grad=True"], "tensor([0., 0.], requires_grad=True)"),
    ],
)
def test_spec_examples(values, dtype, suffixes, expected):
    assert fmt(values, dtype, suffixes) == expected


def test_spec_empty_with_shape():
    assert ts.format_tensor(np.zeros((0, 3), F32), dtype_name="float32", suffixes=[]) == "tensor([], size=(0, 3))"


def test_spec_int_summarised():
    out = ts.format_tensor(np.arange(1001, dtype=np.int64), dtype_name="int64", suffixes=[])
    assert out == "tensor([   0,    1,    2,  ...,  998,  999, 1000])"


def test_spec_128x784_zeros():
    out = ts.format_tensor(np.zeros((128, 784), F32), dtype_name="float32", suffixes=[])
    lines = out.split("\n")
    row = "[0., 0., 0.,  ..., 0., 0., 0.]"
    assert len(lines) == 7
    assert lines[0] == "tensor([" + row + ","
    assert lines[3] == "        ...,"
    assert lines[6] == "        " + row + "])"
    assert all(line == "        " + row + "," for line in lines[1:3] + lines[4:6])


def test_spec_parameter_form():
    out = "Parameter containing:\n" + fmt([0.0, 0.0], suffixes=["requires_grad=True"])
    assert out == "Parameter containing:\ntensor([0., 0.], requires_grad=True)"


def test_suffix_wrap_rule():
    # last_line_len + len(suffix) + 2 > 80 moves the suffix to a new line indented by 7.
    # "tensor([...]" is 47 chars, measured as 49: 49 + 21 + 2 fits, then 72 + 22 + 2 does not.
    out = fmt(np.full(5, 0.5), F64, ["grad_fn=<MulBackward0>"])
    assert out == ("tensor([0.5000, 0.5000, 0.5000, 0.5000, 0.5000], dtype=symgrad.float64,\n"
                   "       grad_fn=<MulBackward0>)")


def test_symgrad_spelling_wraps_by_its_own_length():
    # torch prints "tensor([ 1., ..., 10.], dtype=torch.float64," on one line (78 wide);
    # the two extra characters of "symgrad." push the dtype suffix to the next line.
    out = fmt(np.arange(1.0, 11.0), F64, ["requires_grad=True"])
    assert out == ("tensor([ 1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10.],\n"
                   "       dtype=symgrad.float64, requires_grad=True)")


def test_dtype_name_prefix_tolerated():
    assert fmt([1.0], F64, dtype_name="torch.float64") == "tensor([1.], dtype=symgrad.float64)"


def test_printoptions_state_and_context():
    assert ts.get_printoptions() == dict(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)
    with ts.printoptions(precision=2):
        assert fmt([1.23456]) == "tensor([1.23])"
    assert fmt([1.23456]) == "tensor([1.2346])"
    ts.set_printoptions(sci_mode=True)
    ts.set_printoptions(precision=3)  # like torch, omitting sci_mode resets it to auto
    assert ts.get_printoptions()["sci_mode"] is None


# --------------------------------------------------------------------------- vs torch


def _torch():
    return pytest.importorskip("torch")


@pytest.fixture
def torch_spelling(monkeypatch):
    # Compare byte for byte with torch: "symgrad." is 2 chars longer than "torch."
    # and can move a dtype suffix to the next line where torch keeps it.
    monkeypatch.setattr(ts, "DTYPE_NAMESPACE", "torch")


def _suffixes_of(t) -> list[str]:
    if t.grad_fn is not None:
        return [f"grad_fn=<{type(t.grad_fn).__name__}>"]
    return ["requires_grad=True"] if t.requires_grad else []


def assert_matches_torch(t, prefix: str = "tensor(") -> None:
    expected = repr(t)
    got = ts.format_tensor(
        t.detach().numpy(),
        dtype_name=str(t.dtype).removeprefix("torch."),
        suffixes=_suffixes_of(t),
        prefix=prefix,
    )
    assert got == expected


SHAPES = [
    (), (1,), (2,), (5,), (17,), (100,), (1000,), (1001,), (2000,), (0,), (0, 3), (3, 0), (2, 0, 4),
    (1, 1), (2, 3), (7, 13), (31, 33), (1000, 1), (1, 1001), (3, 1001), (40, 30), (2, 3, 4),
    (11, 10, 10), (2, 3, 4, 5), (4, 5, 6, 9), (1, 1, 1, 1), (3, 1, 1, 400), (7, 7, 7, 3),
]
FLOAT_KINDS = ["normal", "scaled", "integral", "logspread", "specials", "zeros", "nonfinite", "rounding"]


def _float_values(kind: str, shape, rng) -> np.ndarray:
    n = int(np.prod(shape))
    if kind == "normal":
        v = rng.standard_normal(n)
    elif kind == "scaled":  # crosses the 1e-4 / 1e8 / ratio-1000 sci thresholds
        v = rng.standard_normal(n) * 10.0 ** rng.choice([-12, -5, -4, -3, 2, 4, 7, 8, 9, 20, 300])
    elif kind == "integral":
        v = np.round(rng.standard_normal(n) * 10.0 ** rng.integers(0, 10))
    elif kind == "logspread":
        v = np.exp(rng.uniform(-12, 12, n)) * rng.choice([-1, 1], n)
    elif kind == "specials":
        v = rng.standard_normal(n) * 10.0 ** rng.integers(-2, 4)
        v[rng.random(n) < 0.3] = rng.choice([INF, -INF, NAN, 0.0, -0.0])
    elif kind == "zeros":
        v = np.where(rng.random(n) < 0.5, 0.0, -0.0)
    elif kind == "nonfinite":
        v = rng.choice([INF, -INF, NAN, 0.0, -0.0, 7.0], n)
    else:  # values on or near a rounding boundary of the fourth decimal
        v = (rng.integers(-20000, 20000, n) + 0.5) / 10000.0
    return v.reshape(shape)


def _build_cases():
    rng = np.random.default_rng(20240613)
    cases = []
    for shape in SHAPES:
        for dtype in (F32, F64):
            for kind in FLOAT_KINDS:
                with np.errstate(over="ignore"):  # float32 overflow to inf is wanted
                    v = _float_values(kind, shape, rng).astype(dtype)
                cases.append(pytest.param(v, id=f"{np.dtype(dtype).name}-{kind}-{shape}"))
        n = int(np.prod(shape))
        for hi in (10, 10**6, 2**62):
            v = rng.integers(-hi, hi, n, dtype=np.int64).reshape(shape)
            cases.append(pytest.param(v, id=f"int64-{hi}-{shape}"))
        cases.append(pytest.param(rng.random(n).reshape(shape) < 0.5, id=f"bool-{shape}"))
        cases.append(pytest.param(rng.integers(-99, 99, n, dtype=np.int32).reshape(shape), id=f"int32-{shape}"))
        cases.append(pytest.param((rng.standard_normal(n) * 50).astype(np.float16).reshape(shape), id=f"f16-{shape}"))
    extras = {
        "f32-tiny-huge": np.array([1e-45, 3.4e38, -1e-38, 1.0], F32),
        "f32-widen": np.array([0.1, 0.2, 0.3, 1 / 3], F32),
        "int64-extremes": np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max]),
        "f64-1e8-boundary": np.array([1e8, 1.0, 99999999.0]),
        "f64-1e-4-boundary": np.array([1e-4, 0.1]),
        "f64-ratio-1000": np.array([1.0, 1000.0]),
        "f64-ratio-1000.5": np.array([1.0, 1000.5]),
        "f64-int-1e7": np.array([1e7, -12345678.0]),
        "f32-neg-zero-int": np.array([-0.0, 1.0], F32),
        "f32-nan-only": np.array([NAN], F32),
        "f32-0d-inf": np.array(-INF, F32),
        "f32-0d-tiny": np.array(1e-7, F32),
        "f64-0d-neg-zero": np.array(-0.0),
        "bool-0d": np.array(True),
        "int-0d": np.array(-7),
        "f32-wide-rows": np.full((3, 40), -123456.789, F32),
        "f64-1000": np.linspace(-5, 5, 1000),
    }
    cases += [pytest.param(v, id=k) for k, v in extras.items()]
    return cases


@pytest.mark.parametrize("values", _build_cases())
def test_matches_torch(values, torch_spelling):
    torch = _torch()
    assert_matches_torch(torch.from_numpy(np.ascontiguousarray(values)))


@pytest.mark.parametrize("variant", ["requires_grad", "grad_fn"])
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("n", range(1, 26))
@pytest.mark.parametrize("scale", [1.0, 1000.5, 1e10, -3.0])
def test_suffix_wrapping_matches_torch(variant, dtype, n, scale, torch_spelling):
    torch = _torch()
    t = torch.from_numpy(np.arange(1, n + 1, dtype=dtype) * dtype(scale)).requires_grad_()
    if variant == "grad_fn":
        t = t * 1
    assert_matches_torch(t)


@pytest.mark.parametrize("shape", [(), (2, 3), (6, 20), (2, 2, 7), (3, 400)])
def test_suffix_on_multiline_matches_torch(shape, torch_spelling):
    torch = _torch()
    base = torch.from_numpy(np.asarray(np.random.default_rng(1).standard_normal(shape) * 1e3))
    assert_matches_torch(base.clone().requires_grad_())
    assert_matches_torch(base.clone().requires_grad_() * 2)
    assert_matches_torch(base.float().requires_grad_() * 2)


OPTION_SETS = [
    dict(precision=2), dict(precision=0), dict(precision=8), dict(threshold=5), dict(threshold=0),
    dict(threshold=10, edgeitems=1), dict(threshold=10, edgeitems=0), dict(edgeitems=0),
    dict(linewidth=40), dict(linewidth=200), dict(linewidth=10), dict(sci_mode=True),
    dict(sci_mode=False), dict(profile="short"), dict(profile="full"),
]
OPTION_ARRAYS = {
    "f32-vec": np.linspace(-3, 7, 23, dtype=F32),
    "f32-mat": np.random.default_rng(2).standard_normal((9, 8)).astype(F32),
    "f64-3d": np.random.default_rng(3).standard_normal((4, 3, 9)) * 1e5,
    "f32-int": np.arange(-20, 20, dtype=F32).reshape(5, 8),
    "f32-specials": np.array([0.0, -0.0, INF, NAN, 2.5e-6, 3.0], F32),
    "int64": np.arange(3000, dtype=np.int64).reshape(30, 100),
    "bool": np.arange(12).reshape(3, 4) % 3 == 0,
    "0d": np.array(2.5, F32),
    "big": np.random.default_rng(4).standard_normal((20, 20, 5)).astype(F32),
}


@pytest.mark.parametrize("values", list(OPTION_ARRAYS.values()), ids=list(OPTION_ARRAYS))
@pytest.mark.parametrize("opts", OPTION_SETS, ids=[repr(o) for o in OPTION_SETS])
def test_printoptions_match_torch(opts, values, torch_spelling):
    torch = _torch()
    try:
        torch.set_printoptions(**opts)
        ts.set_printoptions(**opts)
        assert_matches_torch(torch.from_numpy(values))
        assert ts.get_printoptions() == {k: v for k, v in torch._tensor_str.get_printoptions().items()}
    finally:
        torch.set_printoptions(profile="default")


def test_prefix_of_subclass_matches_torch(torch_spelling):
    torch = _torch()

    class MyLongNamedTensor(torch.Tensor):
        pass

    for v in (np.arange(60, dtype=F32).reshape(3, 20) / 7, np.arange(30.0)):
        t = torch.from_numpy(v).as_subclass(MyLongNamedTensor)
        assert_matches_torch(t, prefix="MyLongNamedTensor(")


def test_parameter_matches_torch():
    torch = _torch()
    p = torch.nn.Parameter(torch.zeros(2))
    ours = "Parameter containing:\n" + fmt([0.0, 0.0], suffixes=["requires_grad=True"])
    assert ours == repr(p)
