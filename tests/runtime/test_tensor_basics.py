"""Spec section 1 and 2: tensor basics, dtype promotion, grad_fn names, is_leaf, node links."""
import warnings

import numpy as np
import pytest

import symgrad as torch


def test_leaf_factories_are_float32_leaves():
    for t in (torch.tensor([1., 2.], requires_grad=True), torch.randn(3, requires_grad=True),
              torch.ones(4, requires_grad=True), torch.zeros(1, requires_grad=True),
              torch.rand(2, requires_grad=True)):
        assert t.is_leaf and t.grad_fn is None and t.requires_grad
        assert t.dtype is torch.float32


def test_default_dtypes():
    assert torch.tensor([2.0], dtype=torch.float32).dtype is torch.float32
    assert torch.tensor([1, 2]).dtype is torch.int64
    assert torch.tensor([True]).dtype is torch.bool
    assert torch.tensor(np.array([1.0])).dtype is torch.float64


def test_comparison_gives_bool_without_grad():
    a = torch.tensor([2., 3.], requires_grad=True)
    c = 9 * a ** 2 == 9 * a ** 2
    assert c.dtype is torch.bool and not c.requires_grad and c.grad_fn is None
    assert repr(c) == "tensor([True, True])"


def test_size_and_view():
    images = torch.zeros(64, 1, 28, 28)
    assert isinstance(images.shape, tuple) and images.shape[0] == 64
    assert images.view(images.shape[0], -1).shape == torch.Size([64, 784])
    assert repr(torch.Size([3])) == "symgrad.Size([3])"
    x = torch.zeros(50176)
    with pytest.raises(RuntimeError, match=r"^shape '\[10, -1\]' is invalid for input of size 50176$"):
        x.view(10, -1)
    with pytest.raises(RuntimeError, match="^only one dimension can be inferred$"):
        torch.ones(2, 2).view(-1, -1)


def test_item_float_numpy():
    t = torch.tensor([1.5], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert t.item() == 1.5
        assert int(t) == 1
    with pytest.raises(RuntimeError, match=r"^Can't call numpy\(\) on Tensor that requires grad. "
                                           r"Use tensor.detach\(\).numpy\(\) instead.$"):
        t.numpy()
    with pytest.raises(RuntimeError, match="^a Tensor with 2 elements cannot be converted to Scalar$"):
        torch.ones(2).item()


def test_float_warns_once_per_process():
    import subprocess
    import sys
    code = ("import warnings, symgrad as torch\n"
            "warnings.simplefilter('always')\n"
            "t = torch.tensor([1.5], requires_grad=True)\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    float(t); float(t)\n"
            "print(len(w)); print(str(w[0].message))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    n, msg = out.split("\n", 1)
    assert n == "1"
    assert msg.strip() == ("Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                           "behavior.\nConsider using tensor.detach() first.")


def test_tensor_of_tensor_warns_and_is_leaf():
    t = torch.tensor([1., 2.], requires_grad=True)
    with pytest.warns(UserWarning, match="To copy construct from a tensor, it is recommended to use "
                                         r"sourceTensor.detach\(\).clone\(\)"):
        c = torch.tensor(t)
    assert c.is_leaf and not c.requires_grad


def test_promotion():
    i = torch.tensor([1, 2])
    assert (i * 2.5).dtype is torch.float32
    assert (i / 2).dtype is torch.float32
    assert (i // 2).dtype is torch.int64
    assert repr(i // 2) == "tensor([0, 1])"
    assert (torch.ones(2) + torch.ones(2, dtype=torch.float64)).dtype is torch.float64
    assert (torch.ones(2) * torch.tensor(2.0, dtype=torch.float64)).dtype is torch.float32
    with pytest.raises(RuntimeError, match=r"^mean\(\): could not infer output dtype. Input dtype must be "
                                           "either a floating point or complex dtype. Got: Long$"):
        i.mean()


def _name(t):
    return type(t.grad_fn).__name__


def test_grad_fn_names():
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    M = torch.ones(3, 3, requires_grad=True)
    B = torch.ones(2, 3, 3, requires_grad=True)
    cases = {
        "AddBackward0": [x + 2, 2 + x, x + x, x.add(x, alpha=2)],
        "SubBackward0": [x - 1, x - x],
        "RsubBackward1": [1 - x],
        "MulBackward0": [x * 2, 2 * x, x * x, 2 / x, x.outer(x)],
        "DivBackward0": [x / 2, x / x],
        "PowBackward0": [x ** 2, x ** 0.5, x.pow(3), x.square()],
        "PowBackward1": [x ** x],
        "PowBackward2": [2 ** x],
        "NegBackward0": [-x, x.neg()],
        "ExpBackward0": [x.exp()], "LogBackward0": [x.log()], "SinBackward0": [x.sin()],
        "CosBackward0": [x.cos()], "TanhBackward0": [x.tanh()], "SqrtBackward0": [x.sqrt()],
        "AbsBackward0": [x.abs()], "ReluBackward0": [x.relu(), torch.relu(x)],
        "SigmoidBackward0": [x.sigmoid()], "ClampBackward1": [x.clamp(min=0), x.clamp(0, 1)],
        "SumBackward0": [x.sum()], "SumBackward1": [M.sum(0)],
        "MeanBackward0": [x.mean()], "MeanBackward1": [M.mean(1), M.mean(1, keepdim=True)],
        "MaxBackward1": [x.max()], "MinBackward1": [x.min()], "MaxBackward0": [M.max(1)[0]],
        "MaximumBackward0": [torch.max(x, x * 2), torch.maximum(x, x)],
        "MvBackward0": [M @ x], "MmBackward0": [M @ M, M.mm(M), torch.matmul(M, M)],
        "DotBackward0": [x @ x], "SqueezeBackward4": [x @ M], "UnsafeViewBackward0": [B @ M],
        "ViewBackward0": [x.view(3, 1), x.reshape(3, 1), M.flatten()],
        "TBackward0": [M.t()], "PermuteBackward0": [M.T, M.permute(1, 0)],
        "TransposeBackward0": [M.transpose(0, 1), M.mT],
        "SelectBackward0": [x[0], M[:, 1]], "SliceBackward0": [x[1:]],
        "IndexBackward0": [M[torch.tensor([0, 2])], x[x > 1], M[torch.arange(3), torch.tensor([0, 1, 2])]],
        "CloneBackward0": [x.clone(), M.t().contiguous()],
        "CatBackward0": [torch.cat([x, x])], "StackBackward0": [torch.stack([x, x])],
        "UnsqueezeBackward0": [x.unsqueeze(0)], "SqueezeBackward1": [x.unsqueeze(0).squeeze(0)],
        "ExpandBackward0": [x.expand(2, 3)],
        "SoftmaxBackward0": [x.softmax(0), torch.softmax(x, 0)],
        "LogSoftmaxBackward0": [x.log_softmax(0)],
        "UnsafeViewBackward0 ": [],
        "WhereBackward0": [torch.where(x > 1, x, x * 2)],
        "AddmmBackward0": [torch.addmm(x, M, M)],
        "LinalgVectorNormBackward0": [x.norm()],
        "ToCopyBackward0": [x.double()],
    }
    for name, ts in cases.items():
        for t in ts:
            assert _name(t) == name.strip(), (name, _name(t))
    assert _name(M.t().reshape(9)) == "UnsafeViewBackward0"


def test_graph_only_when_needed():
    x = torch.rand(10, requires_grad=True)
    assert x.is_leaf
    assert not (x + 2).is_leaf
    assert (torch.rand(10) + 2).is_leaf
    assert torch.rand(10).requires_grad_().is_leaf
    assert not x.double().is_leaf
    assert x.float() is x
    assert x.argmax().grad_fn is None and (x > 0).grad_fn is None
    with torch.no_grad():
        y = x * 2
    assert y.is_leaf and not y.requires_grad


def test_next_functions():
    a = torch.tensor([2., 3.], requires_grad=True)
    b = torch.tensor([6., 4.], requires_grad=True)
    Q = 3 * a ** 3 - b ** 2
    names = [type(n).__name__ for n, _ in Q.grad_fn.next_functions]
    assert names == ["MulBackward0", "PowBackward0"]
    mul = Q.grad_fn.next_functions[0][0]
    assert mul.next_functions[0] == (None, 0)
    pow_node = mul.next_functions[1][0]
    acc = pow_node.next_functions[0][0]
    assert acc.variable is a and acc.name() == "symgrad::autograd::AccumulateGrad"
    assert repr(acc).startswith("<AccumulateGrad object at 0x")
    y = a ** 2
    assert repr(y.grad_fn).startswith("<PowBackward0 object at 0x")
    assert y.grad_fn.name() == "PowBackward0"
