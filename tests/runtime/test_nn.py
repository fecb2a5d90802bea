"""Spec section 8 (nn): Parameter, Module, containers, layers, init.

Losses, finite-difference gradients and the PyTorch parity of a trained MLP are in
test_nn_loss.py. PyTorch comparisons skip when torch is not installed."""
from __future__ import annotations

import copy
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import symgrad
from symgrad import nn

F = nn.functional


def gf(t) -> str | None:
    return None if t.grad_fn is None else type(t.grad_fn).__name__


def to_torch_text(s: str) -> str:
    return s.replace("symgrad.", "torch.")


# ---------------------------------------------------------------------------- Parameter
def test_parameter_basics():
    p = nn.Parameter(symgrad.zeros(2))
    assert isinstance(p, symgrad.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad is None
    assert repr(p) == "Parameter containing:\ntensor([0., 0.], requires_grad=True)"
    assert repr(nn.Parameter(symgrad.zeros(2), requires_grad=False)) == "Parameter containing:\ntensor([0., 0.])"
    y = p * 2
    assert type(y) is symgrad.Tensor and repr(y) == "tensor([0., 0.], grad_fn=<MulBackward0>)"
    assert type(p.detach()) is symgrad.Tensor and type(p.clone()) is symgrad.Tensor
    assert p.float() is p


def test_parameter_shares_storage_and_rejects_ints():
    t = symgrad.ones(3)
    p = nn.Parameter(t)
    t.add_(1)
    assert p.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="^Only Tensors of floating point and complex dtype can require gradients$"):
        nn.Parameter(symgrad.tensor([1, 2]))
    assert nn.Parameter(symgrad.tensor([1, 2]), requires_grad=False).dtype is symgrad.int64
    # A non-leaf becomes a leaf Parameter.
    q = nn.Parameter(symgrad.ones(2, requires_grad=True) * 2)
    assert q.is_leaf and q.requires_grad


def test_parameter_deepcopy_and_pickle():
    p = nn.Parameter(symgrad.tensor([1.0, 2.0]))
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(q) is nn.Parameter and q.requires_grad and q.tolist() == [1.0, 2.0]
        q.data.add_(1)
        assert p.tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------- Linear
def test_linear_default_init_matches_spec():
    symgrad.manual_seed(0)
    lin = nn.Linear(2, 3)
    np.testing.assert_allclose(lin.weight.detach().numpy(),
                               [[-0.0053, 0.3793], [-0.5820, -0.5204], [-0.2723, 0.1896]], atol=5e-5)
    np.testing.assert_allclose(lin.bias.detach().numpy(), [-0.0140, 0.5607, -0.0628], atol=5e-5)
    assert lin.weight.dtype is symgrad.float32 and lin.weight.grad is None


def test_linear_default_init_bitwise_like_torch(torch_or_skip):
    torch = torch_or_skip
    for seed, (i, o) in [(0, (2, 3)), (1, (784, 128)), (7, (5, 1)), (3, (1000, 10))]:
        torch.manual_seed(seed)
        symgrad.manual_seed(seed)
        a, b = torch.nn.Linear(i, o), nn.Linear(i, o)
        np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
        np.testing.assert_array_equal(a.bias.detach().numpy(), b.bias.detach().numpy())
        assert torch.rand(2).tolist() == symgrad.rand(2).tolist()  # the streams stay aligned


def test_linear_init_variance():
    symgrad.manual_seed(1)
    w = nn.Linear(1000, 500).weight.detach().numpy()
    assert abs(w.var() - 1 / 3000) < 1e-5 and np.abs(w).max() <= 1 / math.sqrt(1000)


def test_linear_forward_names_and_errors():
    lin = nn.Linear(3, 2)
    x = symgrad.randn(4, 3)
    y = lin(x)
    assert y.shape == (4, 2) and gf(y) == "AddmmBackward0"
    np.testing.assert_allclose(y.detach().numpy(), x.numpy() @ lin.weight.detach().numpy().T
                               + lin.bias.detach().numpy(), rtol=1e-6)
    assert gf(lin(symgrad.randn(3))) == "ViewBackward0" and lin(symgrad.randn(3)).shape == (2,)
    y3 = lin(symgrad.randn(5, 4, 3))
    assert y3.shape == (5, 4, 2) and gf(y3) == "ViewBackward0"
    assert type(y3.grad_fn.next_functions[0][0]).__name__ == "AddmmBackward0"
    nb = nn.Linear(3, 2, bias=False)
    assert nb.bias is None and gf(nb(x)) == "MmBackward0"
    assert repr(nb) == "Linear(in_features=3, out_features=2, bias=False)"
    assert [k for k, _ in nb.named_parameters()] == ["weight"]
    with pytest.raises(RuntimeError, match=r"^mat1 and mat2 shapes cannot be multiplied \(4x5 and 3x2\)$"):
        lin(symgrad.ones(4, 5))
    with pytest.raises(RuntimeError, match=r"\(1x5 and 3x2\)"):
        lin(symgrad.ones(5))
    with pytest.raises(RuntimeError, match=r"\(8x5 and 3x2\)"):
        lin(symgrad.ones(2, 4, 5))
    with pytest.raises(RuntimeError, match="^mat1 and mat2 must have the same dtype, but got Double and Float$"):
        lin(symgrad.ones(4, 3, dtype=symgrad.float64))


def test_linear_batch_gradients_formula():
    lin = nn.Linear(3, 2).double()
    x = symgrad.randn(5, 3, dtype=symgrad.float64)
    delta = np.random.default_rng(0).standard_normal((5, 2))
    lin(x).backward(symgrad.tensor(delta))
    np.testing.assert_allclose(lin.weight.grad.numpy(), delta.T @ x.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lin.bias.grad.numpy(), delta.sum(0), rtol=1e-12)


# ---------------------------------------------------------------------------- Module
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 3)
        self.scale = nn.Parameter(symgrad.ones(1))  # registered after fc1, listed before it
        self.body = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU()))
        self.register_buffer("rm", symgrad.zeros(3))
        self.register_buffer("nothing", None)
        self.register_buffer("scratch", symgrad.ones(1), persistent=False)

    def forward(self, x):
        return self.body(self.fc1(x)) * self.scale


def test_registration_and_traversal_order():
    n = Net()
    params = n.parameters()
    assert iter(params) is params  # a generator
    assert [k for k, _ in n.named_parameters()] == ["scale", "fc1.weight", "fc1.bias", "body.0.weight",
                                                    "body.0.bias"]
    assert list(n.state_dict()) == ["scale", "rm", "fc1.weight", "fc1.bias", "body.0.weight", "body.0.bias"]
    assert [k for k, _ in n.named_buffers()] == ["rm", "scratch"]
    assert [k for k, _ in n.named_modules()] == ["", "fc1", "body", "body.0", "body.1", "body.1.0"]
    assert [k for k, _ in n.named_children()] == ["fc1", "body"]
    assert len(list(n.modules())) == 6 and list(n.children())[0] is n.fc1
    assert [k for k, _ in n.named_parameters(recurse=False)] == ["scale"]
    assert n.get_submodule("body.1.0").__class__ is nn.ReLU
    assert n(symgrad.randn(4, 2)).shape == (4, 3)


def test_repr_nested_module():
    assert repr(Net()) == (
        "Net(\n  (fc1): Linear(in_features=2, out_features=3, bias=True)\n  (body): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=3, bias=True)\n    (1): Sequential(\n"
        "      (0): ReLU()\n    )\n  )\n)")


def test_shared_parameters_dedup():
    shared = nn.Linear(2, 2)
    s = nn.Sequential(shared, shared)
    assert [k for k, _ in s.named_parameters()] == ["0.weight", "0.bias"]
    assert list(s.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert [k for k, _ in s.named_modules()] == ["", "0"]


def test_setattr_rules_and_errors():
    m = nn.Linear(2, 3)
    with pytest.raises(TypeError, match=r"^cannot assign 'symgrad.FloatTensor' as parameter 'weight' "
                                        r"\(torch.nn.Parameter or None expected\)$"):
        m.weight = symgrad.ones(3, 2)
    m.bias = None
    assert m.bias is None and list(m.state_dict()) == ["weight"]
    assert repr(m) == "Linear(in_features=2, out_features=3, bias=False)"
    with pytest.raises(AttributeError, match="^'Linear' object has no attribute 'foo'$"):
        m.foo
    m.child = nn.ReLU()
    assert "child" in m._modules and [k for k, _ in m.named_children()] == ["child"]
    del m.child
    assert not m._modules
    m.extra = 3  # plain attributes stay plain
    assert m.extra == 3 and "extra" in m.__dict__

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(symgrad.ones(1))

    with pytest.raises(AttributeError, match=r"^cannot assign parameters before Module.__init__\(\) call$"):
        Early()
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", symgrad.ones(1))
    with pytest.raises(TypeError, match=r"^cannot assign 'symgrad.FloatTensor' object to parameter 'x' "
                                        r"\(torch.nn.Parameter or None required\)$"):
        m.register_parameter("x", symgrad.ones(1))
    with pytest.raises(TypeError, match="^int is not a Module subclass$"):
        m.add_module("c", 3)
    with pytest.raises(KeyError):
        m.add_module("a.b", nn.ReLU())
    with pytest.raises(ValueError, match="^Cannot assign non-leaf Tensor to parameter 'z'"):
        m.register_parameter("z", _nonleaf_param())


def _nonleaf_param():
    p = nn.Parameter(symgrad.ones(1))
    p.grad_fn = (symgrad.ones(1, requires_grad=True) * 2).grad_fn
    return p


def test_forward_missing_and_hooks():
    class B(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match=r'^Module \[B\] is missing the required "forward" function$'):
        B()(1)
    lin = nn.Linear(2, 2)
    seen = []
    h = lin.register_forward_hook(lambda mod, inp, out: seen.append(out.shape) or out * 0)
    assert lin(symgrad.ones(1, 2)).tolist() == [[0.0, 0.0]] and seen == [(1, 2)]
    h.remove()
    assert lin(symgrad.ones(1, 2)).abs().sum().item() > 0
    pre = lin.register_forward_pre_hook(lambda mod, inp: (inp[0] * 0,))
    assert lin(symgrad.ones(1, 2)).tolist() == [lin.bias.tolist()]
    pre.remove()


def test_train_eval_recursive():
    n = Net()
    assert n.training and n.body[1][0].training
    assert n.eval() is n and not n.training and not n.body[1][0].training
    assert n.train() is n and n.body[1][0].training
    assert n.train(False) is n and not n.fc1.training
    with pytest.raises(ValueError, match="^training mode is expected to be boolean$"):
        n.train(1)


def test_zero_grad_apply_requires_grad():
    n = Net()
    n(symgrad.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in n.parameters())
    g = n.fc1.weight.grad
    n.zero_grad(set_to_none=False)
    assert n.fc1.weight.grad is g and not g.numpy().any()
    assert n.zero_grad() is None and all(p.grad is None for p in n.parameters())
    names = []
    assert n.apply(lambda m: names.append(type(m).__name__)) is n
    assert names == ["Linear", "Linear", "ReLU", "Sequential", "Sequential", "Net"]
    assert n.requires_grad_(False) is n and not any(p.requires_grad for p in n.parameters())


def test_dtype_casts_keep_parameter_identity():
    lin = nn.Linear(2, 3)
    w = lin.weight
    lin(symgrad.ones(1, 2)).sum().backward()
    assert lin.double() is lin
    assert lin.weight is w and type(w) is nn.Parameter and w.dtype is symgrad.float64
    assert w.requires_grad and w.is_leaf and w.grad.dtype is symgrad.float64
    assert gf(lin(symgrad.ones(1, 2, dtype=symgrad.float64))) == "AddmmBackward0"
    assert lin.to(symgrad.float32) is lin and w.dtype is symgrad.float32
    assert lin.float() is lin and lin.to("cpu") is lin and lin.cpu() is lin
    with pytest.raises(TypeError, match="only accepts floating point"):
        lin.to(symgrad.int64)
    loss = nn.CrossEntropyLoss(weight=symgrad.ones(3)).double()
    assert loss.weight.dtype is symgrad.float64 and list(loss.state_dict()) == ["weight"]


# ---------------------------------------------------------------------------- state_dict
def test_state_dict_detached_shares_storage():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict) and list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(not v.requires_grad and v.is_leaf and type(v) is symgrad.Tensor for v in sd.values())
    with symgrad.no_grad():
        m[0].weight.fill_(7.0)
    assert sd["0.weight"].numpy().max() == 7.0
    assert m.state_dict(keep_vars=True)["0.weight"] is m[0].weight


def test_load_state_dict_copies_in_place_and_messages():
    src = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    dst = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    w = dst[0].weight
    r = dst.load_state_dict(src.state_dict())
    assert repr(r) == str(r) == "<All keys matched successfully>"
    assert r.missing_keys == [] and r.unexpected_keys == []
    assert dst[0].weight is w and w.tolist() == src[0].weight.tolist() and w.requires_grad
    assert not np.shares_memory(w.detach().numpy(), src[0].weight.detach().numpy())

    seed3 = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with pytest.raises(RuntimeError) as e:
        seed3.load_state_dict({"0.weight": seed3[0].weight.detach()})
    assert str(e.value) == ('Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: '
                            '"0.bias", "2.weight", "2.bias". ')
    small = nn.Sequential(nn.Linear(2, 3))
    with pytest.raises(RuntimeError) as e:
        small.load_state_dict({"0.weight": symgrad.ones(2, 2), "0.bias": symgrad.ones(3)})
    assert str(e.value) == ("Error(s) in loading state_dict for Sequential:\n\tsize mismatch for 0.weight: "
                            "copying a param with shape symgrad.Size([2, 2]) from checkpoint, the shape in "
                            "current model is symgrad.Size([3, 2]).")
    with pytest.raises(RuntimeError) as e:
        small.load_state_dict({"0.weight": symgrad.ones(2, 2)})
    assert str(e.value).count("\n\t") == 2 and '\tMissing key(s) in state_dict: "0.bias". \n\tsize mismatch' \
        in str(e.value)
    with pytest.raises(RuntimeError) as e:
        small.load_state_dict(dict(small.state_dict(), x=symgrad.ones(1), **{"0.y": symgrad.ones(1)}))
    assert str(e.value).endswith('\n\tUnexpected key(s) in state_dict: "x", "0.y". ')
    r = small.load_state_dict({"0.weight": symgrad.ones(3, 2), "junk": symgrad.ones(1)}, strict=False)
    assert repr(r) == "_IncompatibleKeys(missing_keys=['0.bias'], unexpected_keys=['junk'])"
    assert small[0].weight.tolist() == [[1.0, 1.0]] * 3


def test_load_state_dict_messages_match_torch(torch_or_skip):
    torch = torch_or_skip
    cases = [lambda nn_, t: {"0.weight": t.ones(3, 2)},
             lambda nn_, t: {"0.weight": t.ones(2, 2), "0.bias": t.ones(3), "q": t.ones(1)},
             lambda nn_, t: {"0.weight": t.ones(3, 2), "0.bias": t.ones(3), "1.x": t.ones(1), "a.b": t.ones(1)}]
    for case in cases:
        msgs = []
        for nn_, t in ((torch.nn, torch), (nn, symgrad)):
            m = nn_.Sequential(nn_.Linear(2, 3), nn_.ReLU())
            try:
                m.load_state_dict(case(nn_, t))
                msgs.append(None)
            except RuntimeError as e:
                msgs.append(to_torch_text(str(e)))
            msgs.append(repr(m.load_state_dict({k: v for k, v in case(nn_, t).items()
                                                if v.shape != (2, 2)}, strict=False)))
        assert msgs[:2] == msgs[2:]
