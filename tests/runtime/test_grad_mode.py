"""Spec section 5: requires_grad_, detach, detach_, no_grad, enable_grad, set_grad_enabled, inference_mode."""
import pytest

import symgrad as torch


def test_requires_grad_toggle():
    x = torch.tensor([-0.0197, 0.9841, -0.2759], requires_grad=True)
    assert x.requires_grad_(False) is x
    assert repr(x) == "tensor([-0.0197,  0.9841, -0.2759])"
    x.requires_grad = True
    assert repr(x) == "tensor([-0.0197,  0.9841, -0.2759], requires_grad=True)"
    y = x * 2
    y.requires_grad_(True)
    with pytest.raises(RuntimeError, match="^you can only change requires_grad flags of leaf variables. If you "
                                           "want to use a computed variable in a subgraph that doesn't require "
                                           "differentiation use var_no_grad = var.detach\\(\\).$"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="^Only Tensors of floating point and complex dtype can require "
                                           "gradients$"):
        torch.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="^only Tensors of floating point dtype can require gradients$"):
        torch.tensor([1, 2]).requires_grad_()


def test_detach_shares_storage_and_version():
    x = torch.tensor([1., 2.], requires_grad=True)
    d = x.detach()
    assert d.is_leaf and not d.requires_grad and x.requires_grad
    assert repr(d) == "tensor([1., 2.])"
    d[0] = 5.
    assert x.tolist() == [5., 2.]
    assert x._version[0] == 1
    y = x * x
    x.detach().add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    assert x.detach().clone().is_leaf and not x.clone().detach().requires_grad


def test_detach_in_place():
    x = torch.tensor([1., 2.], requires_grad=True)
    y = x * 2
    assert y.detach_() is y and y.is_leaf and not y.requires_grad
    v = (x * 2).view(2)
    with pytest.raises(RuntimeError, match="^Can't detach views in-place. Use detach\\(\\) instead."):
        v.detach_()


def test_clone_keeps_graph():
    x = torch.tensor([1., 2.], requires_grad=True)
    c = x.clone()
    assert repr(c) == "tensor([1., 2.], grad_fn=<CloneBackward0>)"
    c.sum().backward()
    assert x.grad.tolist() == [1., 1.]


def test_no_grad_forms():
    x = torch.tensor([-0.0197, 0.9841, -0.2759], requires_grad=True)
    with torch.no_grad():
        y = x + 2
        assert repr(y) == "tensor([1.9803, 2.9841, 1.7241])"
        assert repr(x) == "tensor([-0.0197,  0.9841, -0.2759], requires_grad=True)"
        assert torch.ones(2, requires_grad=True).requires_grad
    assert y.is_leaf and not y.requires_grad and torch.is_grad_enabled()
    cm = torch.no_grad()
    with pytest.raises(ValueError):
        with cm:
            raise ValueError
    assert torch.is_grad_enabled()
    with cm:
        assert not torch.is_grad_enabled()

    @torch.no_grad()
    def f(t):
        return t * 2

    @torch.no_grad
    def g(t):
        return t * 2
    assert not f(x).requires_grad and not g(x).requires_grad
    with torch.no_grad():
        with torch.enable_grad():
            assert (x * 2).requires_grad

        @torch.enable_grad()
        def h(t):
            return t * 2
        assert h(x).requires_grad


def test_set_grad_enabled():
    torch.set_grad_enabled(False)
    try:
        assert not torch.is_grad_enabled()
        with torch.set_grad_enabled(True):
            assert torch.is_grad_enabled()
        assert not torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(True)
    with torch.set_grad_enabled(False):
        assert not (torch.ones(1, requires_grad=True) * 2).requires_grad
    assert torch.is_grad_enabled()
    with pytest.raises(TypeError, match=r"^set_grad_enabled\(\): argument 'enabled' \(position 1\) must be "
                                        r"bool, not int$"):
        torch.set_grad_enabled(1)


def test_inference_mode():
    x = torch.ones(2, requires_grad=True)
    with torch.inference_mode():
        assert not torch.is_grad_enabled() and torch.is_inference_mode_enabled()
        t = torch.ones(2)
        r = x * 2
    assert t.is_inference() and not r.requires_grad
    assert (x + t).requires_grad  # add saves nothing
    with pytest.raises(RuntimeError, match="^Inference tensors cannot be saved for backward."):
        x * t
    with pytest.raises(RuntimeError, match=r"^Inplace update to inference tensor outside InferenceMode is not "
                                           r"allowed.You can make a clone"):
        t.add_(1)
    with torch.inference_mode(False):
        assert not torch.is_inference_mode_enabled()
