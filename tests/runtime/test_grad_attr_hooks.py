"""Spec section 4: .grad of leaves and non-leaves, retain_grad, assigning .grad, hooks."""
import warnings

import pytest

import symgrad as torch

NONLEAF = ("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
           "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
           "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
           "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See "
           "github.com/pytorch/pytorch/pull/30531 for more information.")


def test_nonleaf_grad_warns_and_leaf_does_not():
    x = torch.randn(2, 2, requires_grad=True)
    assert x.grad is None
    z = (x ** 2).mean()
    with pytest.warns(UserWarning) as rec:
        assert z.grad is None
    assert str(rec[0].message) == NONLEAF
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None
        assert torch.ones(2).grad is None
        z.backward()
        assert x.grad.shape == x.shape


def test_seed_003_x_over_2():
    x = torch.tensor([[1.0606, -0.1873], [1.7177, -1.3912]], requires_grad=True)
    assert repr(x) == "tensor([[ 1.0606, -0.1873],\n        [ 1.7177, -1.3912]], requires_grad=True)"
    y = x ** 2
    assert repr(y).startswith("tensor([[1.1249, 0.0351],\n        [2.950")
    z = y.mean()
    z.backward()
    assert repr(x.grad) == repr(x / 2).replace(", grad_fn=<DivBackward0>", "")


def test_retain_grad():
    x = torch.tensor([1., 2.], requires_grad=True)
    y = x * 3
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad.tolist() == [6., 12.]
    x.retain_grad()
    assert not x.retains_grad
    with pytest.raises(RuntimeError, match="^can't retain_grad on Tensor that has requires_grad=False$"):
        torch.ones(2).retain_grad()


def test_assigning_grad():
    x = torch.tensor([1., 2.], requires_grad=True)
    x.grad = None
    x.grad = torch.ones(2)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [3., 3.]
    with pytest.raises(RuntimeError, match=r"^attempting to assign a gradient of size '\[3\]' to a tensor of "
                                           r"size '\[2\]'. Please ensure that the gradient and the tensor "
                                           r"are the same size$"):
        x.grad = torch.ones(3)
    with pytest.raises(RuntimeError, match=r"^attempting to assign a gradient with dtype 'long int' to a "
                                           r"tensor with grad_dtype 'Float'\. "):
        x.grad = torch.ones(2, dtype=torch.int64)


def test_hooks():
    x = torch.tensor([1., 2.], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.tolist()))
    (x * 2).sum().backward()
    assert seen == [[2., 2.]]
    h.remove()
    (x * 2).sum().backward()
    assert seen == [[2., 2.]]
    x.grad = None
    x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [20., 20.]
    w = torch.tensor([1., 2.], requires_grad=True)
    y = w * 3
    y.register_hook(lambda g: g + 1)
    (y * 2).sum().backward()
    assert w.grad.tolist() == [9., 9.]
    with pytest.raises(RuntimeError, match="^cannot register a hook on a tensor that doesn't require gradient$"):
        torch.ones(2).register_hook(lambda g: g)
