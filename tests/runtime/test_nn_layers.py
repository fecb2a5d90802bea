"""Spec section 8 (nn): containers, activation/shape layers, dropout, nn.init."""
from __future__ import annotations

import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import symgrad
from symgrad import nn

F = nn.functional

SEED3_REPR = ("Sequential(\n"
              "  (0): Linear(in_features=784, out_features=128, bias=True)\n"
              "  (1): ReLU()\n"
              "  (2): Linear(in_features=128, out_features=64, bias=True)\n"
              "  (3): ReLU()\n"
              "  (4): Linear(in_features=64, out_features=10, bias=True)\n"
              ")")


def gf(t) -> str | None:
    return None if t.grad_fn is None else type(t.grad_fn).__name__


def seed3_model(mod=nn):
    return mod.Sequential(mod.Linear(784, 128), mod.ReLU(), mod.Linear(128, 64), mod.ReLU(), mod.Linear(64, 10))


# ---------------------------------------------------------------------------- Sequential
def test_sequential_seed3_structure():
    m = seed3_model()
    assert repr(m) == SEED3_REPR and len(m) == 5
    assert [(k, tuple(p.shape)) for k, p in m.named_parameters()] == [
        ("0.weight", (128, 784)), ("0.bias", (128,)), ("2.weight", (64, 128)), ("2.bias", (64,)),
        ("4.weight", (10, 64)), ("4.bias", (10,))]
    assert sum(p.numel() for p in m.parameters()) == 109386
    assert m[-1] is m[4] and m[-5] is m[0] and m[0].weight.grad is None
    assert [type(x).__name__ for x in m] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    for bad in (5, -6):
        with pytest.raises(IndexError, match=f"^index {bad} is out of range$"):
            m[bad]
    with pytest.raises(TypeError):
        m["a"]


def test_sequential_slicing_and_editing():
    m = seed3_model()
    head = m[0:2]
    assert type(head) is nn.Sequential and head[0] is m[0] and len(head) == 2
    assert list(m[::2]._modules) == ["0", "2", "4"]  # slices keep the original keys
    m.append(nn.Softmax(dim=1))
    assert len(m) == 6 and repr(m[5]) == "Softmax(dim=1)"
    m[5] = nn.LogSoftmax(dim=1)
    assert type(m[-1]) is nn.LogSoftmax
    del m[0]
    assert list(m._modules) == ["0", "1", "2", "3", "4"] and type(m[0]) is nn.ReLU
    m.insert(0, nn.Identity())
    assert type(m[0]) is nn.Identity and len(m) == 6
    m.insert(-1, nn.Tanh())
    assert type(m[-2]) is nn.Tanh and type(m[-1]) is nn.LogSoftmax
    assert type(m.pop(0)) is nn.Identity and len(m) == 6
    both = nn.Sequential(nn.ReLU()) + nn.Sequential(nn.Tanh())
    assert [type(x).__name__ for x in both] == ["ReLU", "Tanh"]
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [k for k, _ in od.named_parameters()] == ["fc.weight", "fc.bias"] and od.act is od[1]
    assert repr(nn.Sequential()) == "Sequential()"
    with pytest.raises(TypeError, match="^int is not a Module subclass$"):
        nn.Sequential(nn.ReLU()).append(3)


def test_sequential_forward_matches_manual():
    m = seed3_model()
    x = symgrad.randn(3, 784)
    h = m[0](x).relu()
    h = m[2](h).relu()
    np.testing.assert_allclose(m(x).detach().numpy(), m[4](h).detach().numpy(), rtol=1e-6)
    assert gf(m(x)) == "AddmmBackward0"


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(ml) == ("ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n"
                        "  (3): ReLU()\n)")
    assert repr(nn.ModuleList()) == "ModuleList()" and len(ml) == 4 and ml[-1] is ml[3]
    with pytest.raises(IndexError, match="^index 4 is out of range$"):
        ml[4]
    ml.append(nn.Tanh())
    ml += [nn.Sigmoid()]
    assert len(ml) == 6 and len(list(ml.parameters())) == 6

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 1)])
            self.heads = nn.ModuleDict({"a": nn.Linear(1, 1)})

    assert [k for k, _ in Holder().named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "heads.a.weight", "heads.a.bias"]
    md = nn.ModuleDict([("x", nn.ReLU())])
    md["y"] = nn.Tanh()
    assert list(md) == ["x", "y"] and "y" in md and len(md) == 2 and type(md.pop("x")) is nn.ReLU


def test_container_reprs_match_torch(torch_or_skip):
    torch = torch_or_skip
    for build in (seed3_model,
                  lambda mod: mod.ModuleList([mod.Linear(2, 2), mod.Linear(2, 2), mod.ReLU(), mod.ReLU()]),
                  lambda mod: mod.Sequential(mod.Flatten(), mod.Dropout(0.2), mod.Softmax(dim=1),
                                             mod.LeakyReLU(0.2), mod.ReLU(inplace=True), mod.Identity(),
                                             mod.Sequential(mod.Tanh(), mod.Sigmoid(), mod.LogSoftmax(1))),
                  lambda mod: mod.Sequential(mod.MSELoss(), mod.CrossEntropyLoss(label_smoothing=0.1),
                                             mod.NLLLoss(), mod.L1Loss(), mod.Linear(3, 4, bias=False))):
        assert repr(build(nn)) == repr(build(torch.nn))


# ---------------------------------------------------------------------------- layers
def test_activation_layers():
    x = symgrad.tensor([[-1.0, 0.0, 2.0]], requires_grad=True)
    assert nn.ReLU()(x).tolist() == [[0.0, 0.0, 2.0]] and gf(nn.ReLU()(x)) == "ReluBackward0"
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert gf(nn.Sigmoid()(x)) == "SigmoidBackward0" and gf(nn.Tanh()(x)) == "TanhBackward0"
    assert gf(nn.Softmax(dim=1)(x)) == "SoftmaxBackward0" and gf(nn.LogSoftmax(dim=1)(x)) == "LogSoftmaxBackward0"
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).detach().numpy().sum(), 1.0, rtol=1e-6)
    lr = nn.LeakyReLU(0.1)(x)
    np.testing.assert_allclose(lr.detach().numpy(), [[-0.1, 0.0, 2.0]], rtol=1e-6)
    assert gf(lr) == "LeakyReluBackward0" and repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    ident = nn.Identity(3, foo=1)
    assert ident(x) is x and repr(ident) == "Identity()"
    h = x * 1
    assert nn.ReLU(inplace=True)(h) is h and gf(h) == "ReluBackward0"


def test_softmax_implicit_dim_warns():
    x = symgrad.tensor([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]])
    with pytest.warns(UserWarning, match="^Implicit dimension choice for softmax has been deprecated. "
                                         "Change the call to include dim=X as an argument.$"):
        y = nn.Softmax()(x)
    np.testing.assert_allclose(y.numpy().sum(1), [1.0, 1.0], rtol=1e-6)
    with pytest.warns(UserWarning, match="log_softmax"):
        F.log_softmax(symgrad.ones(3))
    assert repr(nn.Softmax()) == "Softmax(dim=None)"


def test_flatten():
    x = symgrad.randn(2, 3, 4, 5, requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (2, 60) and gf(y) == "ViewBackward0"
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    images = symgrad.randn(64, 1, 28, 28)
    assert nn.Flatten()(images).shape == images.view(images.shape[0], -1).shape == (64, 784)


def test_dropout():
    x = symgrad.ones(1000, requires_grad=True)
    d = nn.Dropout(0.25)
    assert repr(d) == "Dropout(p=0.25, inplace=False)"
    y = d(x)
    assert gf(y) == "MulBackward0"
    vals = np.unique(y.detach().numpy())
    np.testing.assert_allclose(vals, [0.0, 1 / 0.75], rtol=1e-6)
    assert 150 < (y.detach().numpy() == 0).sum() < 350
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy(), rtol=1e-6)
    assert d.eval()(x) is x and F.dropout(x, 0.5, training=False) is x
    symgrad.manual_seed(4)
    a = F.dropout(symgrad.ones(50), 0.5)
    symgrad.manual_seed(4)
    assert F.dropout(symgrad.ones(50), 0.5).tolist() == a.tolist()
    assert not F.dropout(x, 1.0).detach().numpy().any()
    for p in (1.5, -0.1):
        with pytest.raises(ValueError, match=f"^dropout probability has to be between 0 and 1, but got {p}$"):
            nn.Dropout(p)


def test_one_hot():
    assert F.one_hot(symgrad.tensor([0, 2])).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert F.one_hot(symgrad.tensor([1]), 4).dtype is symgrad.int64


# ---------------------------------------------------------------------------- init
def test_calculate_gain():
    g = nn.init.calculate_gain
    assert g("linear") == g("sigmoid") == g("conv2d") == 1 and g("tanh") == 5.0 / 3
    assert g("relu") == math.sqrt(2) and g("leaky_relu", 0.2) == math.sqrt(2 / 1.04) and g("selu") == 0.75
    assert g("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    with pytest.raises(ValueError, match="^Unsupported nonlinearity gelu$"):
        g("gelu")


def test_init_functions():
    w = symgrad.empty(300, 200)
    nn.init.xavier_uniform_(w)
    a = math.sqrt(6 / 500)
    assert np.abs(w.numpy()).max() <= a and abs(w.numpy().var() - a * a / 3) < 2e-4
    nn.init.kaiming_uniform_(w, nonlinearity="relu")
    b = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(w.numpy()).max() <= b and abs(w.numpy().var() - b * b / 3) < 2e-3
    nn.init.kaiming_normal_(w, mode="fan_out")
    assert abs(w.numpy().std() - math.sqrt(2 / 300)) < 3e-3
    nn.init.xavier_normal_(w)
    assert abs(w.numpy().std() - math.sqrt(2 / 500)) < 3e-3
    p = nn.Parameter(symgrad.empty(3, 2))
    assert nn.init.zeros_(p) is p and not p.detach().numpy().any() and p.requires_grad
    assert nn.init.ones_(p).tolist() == [[1.0, 1.0]] * 3 and nn.init.constant_(p, 0.5).tolist()[0] == [0.5, 0.5]
    assert nn.init.normal_(p, 0, 1) is p and nn.init.uniform_(p, -1, 1) is p
    assert nn.init.eye_(p).tolist() == [[1, 0], [0, 1], [0, 0]]
    with pytest.raises(ValueError, match="^Fan in and fan out can not be computed for tensor with fewer than 2"):
        nn.init.xavier_uniform_(symgrad.empty(3))
    with pytest.raises(ValueError, match="Mode fan_up not supported"):
        nn.init.kaiming_uniform_(w, mode="fan_up")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        nn.init.kaiming_uniform_(symgrad.empty(0, 3))
    assert str(rec[0].message) == "Initializing zero-element tensors is a no-op"


def test_init_matches_torch_stream(torch_or_skip):
    torch = torch_or_skip
    for name, kw in [("uniform_", dict(a=-2, b=3)), ("xavier_uniform_", {}), ("kaiming_uniform_", dict(a=1)),
                     ("normal_", dict(mean=1, std=2)), ("xavier_normal_", {}), ("kaiming_normal_", {})]:
        for shape in [(4, 3), (40, 30)]:
            torch.manual_seed(11)
            symgrad.manual_seed(11)
            want = getattr(torch.nn.init, name)(torch.empty(*shape), **kw).numpy()
            got = getattr(nn.init, name)(symgrad.empty(*shape), **kw).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=name)


# ---------------------------------------------------------------------------- nn.utils
def _grad_model(mod, scale):
    m = mod.nn.Sequential(mod.nn.Linear(3, 4), mod.nn.Linear(4, 2))
    with mod.no_grad():
        for i, p in enumerate(m.parameters()):
            p.copy_(mod.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape)) * (i + 1)))
            p.grad = mod.tensor(np.linspace(-scale, scale, p.numel()).reshape(tuple(p.shape)), dtype=mod.float32)
    return m


@pytest.mark.parametrize("max_norm,norm_type", [(0.5, 2.0), (100.0, 2.0), (0.3, 1.0), (0.2, float("inf"))])
def test_clip_grad_norm(max_norm, norm_type):
    m = _grad_model(symgrad, 2.0)
    grads = [p.grad.numpy().copy() for p in m.parameters()]
    flat = np.concatenate([g.ravel() for g in grads]).astype(np.float64)
    want = np.abs(flat).max() if np.isinf(norm_type) else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    total = nn.utils.clip_grad_norm_(m.parameters(), max_norm, norm_type)
    np.testing.assert_allclose(total.item(), want, rtol=1e-6)
    coef = min(max_norm / (want + 1e-6), 1.0)
    for p, g in zip(m.parameters(), grads):
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-6)
    nn.utils.clip_grad_value_(m.parameters(), 0.01)
    assert max(np.abs(p.grad.numpy()).max() for p in m.parameters()) <= 0.01


def test_clip_grad_norm_matches_torch(torch_or_skip):
    torch = torch_or_skip
    ours, theirs = _grad_model(symgrad, 3.0), _grad_model(torch, 3.0)
    a = nn.utils.clip_grad_norm_(ours.parameters(), 1.0)
    b = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-6)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)


def test_parameters_vector_round_trip():
    m = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(m.parameters())
    assert vec.shape == (8,) and type(vec.grad_fn).__name__ == "CatBackward0"
    nn.utils.vector_to_parameters(symgrad.arange(8, dtype=symgrad.float32), m.parameters())
    assert m.weight.tolist() == [[0, 1, 2], [3, 4, 5]] and m.bias.tolist() == [6, 7]
    assert type(m.weight) is nn.Parameter and m.weight.requires_grad
