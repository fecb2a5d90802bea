"""`symgrad.lgamma` / `symgrad.digamma` (and the Tensor methods) against PyTorch where
installed: values (poles and infinities included), dtypes, gradients; and the refusal of a
third derivative, which would need trigamma's (not implemented)."""
import math

import numpy as np
import pytest

import symgrad

X = [0.3, 1.0, 1.5, 2.0, 7.25, 40.0, -0.5, -2.7, 1e-3, 0.0, -0.0, -1.0, -3.0, math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("name", ["lgamma", "digamma"])
def test_values_and_dtypes_match_torch(name, torch_or_skip):
    torch = torch_or_skip
    ours = getattr(symgrad, name)(symgrad.tensor(X, dtype=symgrad.float64)).numpy()
    theirs = getattr(torch, name)(torch.tensor(X, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15, equal_nan=True)
    for dtype in ("float32", "int64"):
        a = symgrad.tensor([1, 2, 5]).to(getattr(symgrad, dtype))
        b = torch.tensor([1, 2, 5]).to(getattr(torch, dtype))
        got, want = getattr(symgrad, name)(a).dtype, getattr(torch, name)(b).dtype
        assert str(got).split(".")[-1] == str(want).split(".")[-1]
        assert str(getattr(a, name)().dtype) == str(getattr(symgrad, name)(a).dtype)


def test_second_derivative_is_trigamma(torch_or_skip):
    torch = torch_or_skip
    x = np.array([0.4, 2.5, -1.5])
    a = symgrad.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    (ga,) = symgrad.autograd.grad(a.lgamma().sum(), a, create_graph=True)
    (gb,) = torch.autograd.grad(b.lgamma().sum(), b, create_graph=True)
    ga.sum().backward()
    gb.sum().backward()
    # PyTorch's trigamma sums a short series: about 1e-9 relative
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8)


def test_third_derivative_is_refused():
    a = symgrad.tensor([0.4, 2.5], requires_grad=True)
    (g1,) = symgrad.autograd.grad(a.lgamma().sum(), a, create_graph=True)
    with pytest.raises(RuntimeError, match="derivative of 'trigamma' is not implemented"):
        symgrad.autograd.grad(g1.sum(), a, create_graph=True)
