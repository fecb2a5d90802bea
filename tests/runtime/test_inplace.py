"""Spec section 6: in-place operations and the version counter."""
import numpy as np
import pytest

import symgrad as torch

HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
        "symgrad.autograd.set_detect_anomaly(True, check_nan=False).")


def test_leaf_in_place_errors():
    x = torch.tensor([1., 2.], requires_grad=True)
    for op in (lambda: x.add_(1), lambda: x.mul_(2), lambda: x.zero_(), lambda: x.sub_(1)):
        with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad is being used in an "
                                               "in-place operation.$"):
            op()
    with pytest.raises(RuntimeError, match="^a view of a leaf Variable that requires grad is being used in an "
                                           "in-place operation.$"):
        x[0] = 5.


def test_in_place_under_no_grad_keeps_leaf():
    x = torch.tensor([1., 2.], requires_grad=True)
    (x * 2).sum().backward()
    with torch.no_grad():
        x -= 0.5 * x.grad
        x[0] = 7.
    assert x.is_leaf and x.requires_grad and x.tolist() == [7., 1.]
    y = x - 0.1 * x.grad
    assert not y.is_leaf and type(y.grad_fn).__name__ == "SubBackward0"


def test_version_counter():
    x = torch.tensor([1., 2.])
    assert x._version[0] == 0
    x.add_(1)
    x[0] = 3.
    assert x._version[0] == 2
    x.data.add_(1)
    assert x._version[0] == 2


def test_modified_saved_values():
    x = torch.tensor([1., 2.], requires_grad=True)
    y = x + 1
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError) as e:
        z.sum().backward()
    assert str(e.value) == ("one of the variables needed for gradient computation has been modified by an "
                            "inplace operation: [symgrad.FloatTensor [2]], which is output 0 of Add, is at "
                            "version 1; expected version 0 instead. " + HINT)
    x = torch.tensor([1., 2.], requires_grad=True)
    y = x.exp()
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"\[symgrad.FloatTensor \[2\]\], which is output 0 of Exp, is at "):
        y.sum().backward()
    x = torch.tensor([1., 2.], requires_grad=True)
    z = x * x
    with torch.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError, match=r"inplace operation: \[symgrad.FloatTensor \[2\]\] is at version 1; "
                                           r"expected version 0 instead. Hint"):
        z.sum().backward()


def test_data_bypasses_check_silently():
    x = torch.tensor([1., 2.], requires_grad=True)
    z = x * x
    x.data.add_(1)
    z.sum().backward()
    assert x.grad.tolist() == [4., 6.]  # 2*(x+1), as PyTorch


def test_in_place_on_nonleaf_replaces_grad_fn():
    x = torch.tensor([1., 2.], requires_grad=True)
    y = (x * 2).add_(1)
    assert type(y.grad_fn).__name__ == "AddBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [2., 2.]
    for op, name in ((lambda t: t.mul_(3), "MulBackward0"), (lambda t: t.exp_(), "ExpBackward0"),
                     (lambda t: t.relu_(), "ReluBackward0"), (lambda t: t.zero_(), "ZeroBackward0")):
        t = x * 1
        op(t)
        assert type(t.grad_fn).__name__ == name
    x.grad = None
    t = x * 1
    t.mul_(3)
    t.sum().backward()
    assert x.grad.tolist() == [3., 3.]
    x.grad = None
    t = x * 1
    t.exp_()
    t.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1., 2.]), rtol=1e-6)


def test_setitem_on_nonleaf():
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    z = x * 2
    z[0] = 5.
    assert type(z.grad_fn).__name__ == "CopySlices"
    z.sum().backward()
    assert x.grad.tolist() == [0., 2., 2.]
    w = torch.tensor([1.], requires_grad=True)
    buf = torch.zeros(3)
    buf[1:2] = w * 4
    buf.sum().backward()
    assert w.grad.tolist() == [4.]
