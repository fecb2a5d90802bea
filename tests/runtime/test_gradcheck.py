"""symgrad.autograd.gradcheck / gradgradcheck on eager functions."""
import pytest

import symgrad as torch
from symgrad.autograd import GradcheckError, gradcheck, gradgradcheck


def _x(*shape):
    torch.manual_seed(3)
    return torch.randn(*shape, dtype=torch.float64, requires_grad=True)


def test_passes_on_correct_gradients():
    x, w = _x(3, 4), _x(4, 2)
    assert gradcheck(lambda a, b: (a @ b).tanh(), (x, w))
    assert gradcheck(lambda a: a.softmax(1).log(), (x,))
    assert gradcheck(lambda a: (a ** 3).sum(), x)


def test_reports_the_worst_element():
    from symgrad import prims
    p = prims.REGISTRY["sin"]
    bad = prims.Prim(**{**p.__dict__, "vjp": (lambda g, o, x: g * x.cos() * 1.01,)})
    prims.REGISTRY["sin"] = bad
    try:
        with pytest.raises(GradcheckError, match=r"Jacobian mismatch for output 0 with respect to input 0,\n"
                                                 r"worst element \(output index, input index\) \("):
            gradcheck(lambda a: a.sin(), (_x(5),))
        assert gradcheck(lambda a: a.sin(), (_x(5),), raise_exception=False) is False
    finally:
        prims.REGISTRY["sin"] = p


def test_gradgradcheck():
    x = _x(4)
    assert gradgradcheck(lambda a: (a ** 3).sin(), (x,))
    assert gradgradcheck(lambda a: a.exp() * a.tanh(), (x,))


def test_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="gradcheck expects at least one input tensor to require gradient"):
        gradcheck(lambda a: a * 2, (torch.ones(2, dtype=torch.float64),))


def test_double_backward_through_an_unsupported_helper_is_refused():
    from symgrad import nn
    bn = nn.BatchNorm2d(2).double()
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    y = bn(x).pow(2).sum()
    with pytest.raises(RuntimeError, match="derivative of 'batch_norm_input_grad' is not implemented"):
        torch.autograd.grad(y, x, create_graph=True)
    g, = torch.autograd.grad(bn(x).pow(2).sum(), x)  # first order still works
    assert g.shape == x.shape
