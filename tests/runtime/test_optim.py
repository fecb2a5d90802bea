"""Spec section 7: symgrad.optim (SGD, Adam, AdamW, lr_scheduler).

Trajectories are checked against NumPy references written from the spec's pseudocode and,
when installed, against PyTorch itself."""
from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import symgrad

optim = symgrad.optim
TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}
N_STEPS = 6


def _problem(dtype, n=7, seed=0):
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(n).astype(dtype)
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(N_STEPS)]
    return p0, grads


def _run(mod, cls_name, kwargs, p0, grads):
    """Run `cls_name` from `mod` (symgrad or torch) on the fixed gradients; return the trajectory."""
    p = mod.tensor(p0.copy(), requires_grad=True)
    opt = getattr(mod.optim, cls_name)([p], **kwargs)
    out = []
    for g in grads:
        p.grad = mod.tensor(g.copy())
        opt.step()
        out.append(p.detach().numpy().copy())
    return out, opt, p


# ---------------------------------------------------------------------------- references
def ref_sgd(p, grads, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
            maximize=False, **_):
    """Spec 7.2, transcribed."""
    out, buf = [], None
    for grad in grads:
        g = -grad if maximize else grad
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p)
    return out


def ref_adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
             maximize=False, decoupled=False, **_):
    """Spec 7.3, transcribed."""
    beta1, beta2 = betas
    m, v, vmax = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    out = []
    for t, grad in enumerate(grads, 1):
        g = -grad if maximize else grad
        if weight_decay:
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
        if amsgrad:
            vmax = np.maximum(vmax, v)
            vv = vmax
        else:
            vv = v
        denom = np.sqrt(vv) / np.sqrt(bc2) + eps
        p = p - (lr / bc1) * m / denom
        out.append(p)
    return out


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, weight_decay=0.2),
    dict(lr=0.05, momentum=0.9, weight_decay=0.1, maximize=True),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True),
    dict(lr=0.1, momentum=0.5, fused=True),
]
ADAM_CASES = [
    ("Adam", dict()),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.05, eps=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), amsgrad=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05, eps=0.1, maximize=True)),
    ("AdamW", dict(lr=0.01, fused=True)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_sgd_matches_reference(kwargs, dtype):
    p0, grads = _problem(dtype)
    got, _, _ = _run(symgrad, "SGD", kwargs, p0, grads)
    want = ref_sgd(p0, grads, **kwargs)
    for a, b in zip(got, want):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", ADAM_CASES, ids=str)
def test_adam_matches_reference(name, kwargs, dtype):
    p0, grads = _problem(dtype)
    got, _, _ = _run(symgrad, name, kwargs, p0, grads)
    ref_kwargs = dict(kwargs)
    if name == "AdamW":
        ref_kwargs.setdefault("weight_decay", 0.01)
        ref_kwargs["decoupled"] = True
    elif kwargs.get("decoupled_weight_decay"):
        ref_kwargs["decoupled"] = True
    want = ref_adam(p0, grads, **ref_kwargs)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_sgd_matches_torch(kwargs, dtype, torch_or_skip):
    p0, grads = _problem(dtype, seed=1)
    got, _, _ = _run(symgrad, "SGD", kwargs, p0, grads)
    want, _, _ = _run(torch_or_skip, "SGD", kwargs, p0, grads)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", ADAM_CASES, ids=str)
def test_adam_matches_torch(name, kwargs, dtype, torch_or_skip):
    p0, grads = _problem(dtype, seed=2)
    got, opt, p = _run(symgrad, name, kwargs, p0, grads)
    want, topt, tp = _run(torch_or_skip, name, kwargs, p0, grads)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, **TOL[dtype])
    st, tst = opt.state[p], topt.state[tp]
    assert list(st) == list(tst)
    for key in st:
        np.testing.assert_allclose(st[key].numpy(), tst[key].numpy(), **TOL[dtype])


def test_adam_eps_is_outside_sqrt():
    # Only a large eps tells sqrt(v_hat) + eps apart from sqrt(v_hat + eps).
    p0, grads = _problem(np.float64)
    got, _, _ = _run(symgrad, "Adam", dict(lr=0.05, eps=0.1), p0, grads)
    outside = ref_adam(p0, grads, lr=0.05, eps=0.1)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads, 1):
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        p = p - 0.05 * (m / (1 - 0.9 ** t)) / np.sqrt(v / (1 - 0.999 ** t) + 0.1)
    np.testing.assert_allclose(got[-1], outside[-1], rtol=1e-12)
    assert np.abs(got[-1] - p).max() > 1e-3


def test_adam_first_step_is_about_lr_sign():
    p = symgrad.tensor([1., 2., 3.], requires_grad=True)
    p.grad = symgrad.tensor([5., -0.5, 1e-3])
    symgrad.optim.Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.detach().numpy(), [0.9, 2.1, 2.9], atol=1e-5)


def test_fused_is_identical_to_eager():
    for name, kwargs in [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                         ("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01))]:
        p0, grads = _problem(np.float32)
        a, _, _ = _run(symgrad, name, dict(kwargs, fused=True), p0, grads)
        b, _, _ = _run(symgrad, name, kwargs, p0, grads)
        for x, y in zip(a, b):
            assert np.array_equal(x, y)


# ---------------------------------------------------------------------------- seeds
def test_seed000_plain_sgd():
    a = symgrad.tensor([1., 2.], requires_grad=True)
    a.grad = symgrad.tensor([100., 100.])
    opt = optim.SGD([a], lr=0.001)
    assert opt.step() is None
    np.testing.assert_allclose(a.detach().numpy(), [0.9, 1.9], rtol=1e-6)
    assert a.is_leaf and a.requires_grad and a.grad_fn is None
    assert a.grad.tolist() == [100., 100.]  # step does not clear .grad
    assert len(opt.state) == 0 and opt.state_dict()["state"] == {}  # momentum 0: no state


def test_seed001_momentum_sequence():
    p = symgrad.tensor([1., -2., 0.5], requires_grad=True)
    g = np.array([0.3, -1.0, 2.0], dtype=np.float32)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = symgrad.tensor(g)
    opt.step()
    step1 = np.array([1., -2., 0.5], dtype=np.float32) - 0.1 * g
    np.testing.assert_allclose(p.detach().numpy(), step1, rtol=1e-6)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), step1 - 0.1 * 1.9 * g, rtol=1e-6)
    buf = opt.state[p]["momentum_buffer"]
    assert isinstance(buf, symgrad.Tensor) and not buf.requires_grad
    np.testing.assert_allclose(buf.numpy(), 1.9 * g, rtol=1e-6)


def test_seed002_none_grad_is_skipped_then_step():
    w = symgrad.ones(4, requires_grad=True)
    opt = optim.SGD([w], lr=0.01)
    v0 = w._version[0]
    opt.step()
    assert w.tolist() == [1., 1., 1., 1.] and w._version[0] == v0
    assert len(opt.state) == 0
    (w * 3).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [0.97] * 4, rtol=1e-6)
    assert w.is_leaf and w.requires_grad


def test_forgetting_zero_grad_accumulates():
    w = symgrad.tensor([1.], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    for _ in range(2):
        (w * 2).sum().backward()
        opt.step()
    # grads 2 then 4 (accumulated): 1 - 0.2 - 0.4
    np.testing.assert_allclose(w.detach().numpy(), [0.4], rtol=1e-6)


# ---------------------------------------------------------------------------- the contract
def test_step_writes_in_place_and_bumps_version():
    p = symgrad.tensor([1., 2., 3.], requires_grad=True)
    buffer = p._data
    alias = p.detach()  # shares storage and the version counter
    p.grad = symgrad.tensor([1., 1., 1.])
    v0 = p._version[0]
    optim.SGD([p], lr=0.5).step()
    assert p._data is buffer
    assert alias.tolist() == [0.5, 1.5, 2.5]
    assert p._version[0] == v0 + 1 and alias._version[0] == v0 + 1


def test_step_under_no_grad_and_closure():
    w = symgrad.tensor([1., 2.], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    seen = []

    def closure():
        seen.append(symgrad.is_grad_enabled())
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with symgrad.no_grad():
        loss = opt.step(closure)
    assert seen == [True]
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6], rtol=1e-6)
    assert w.is_leaf and w.grad_fn is None and symgrad.is_grad_enabled()


def test_zero_grad():
    w = symgrad.tensor([1., 2.], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * 3).sum().backward()
    opt.zero_grad()
    assert w.grad is None
    (w * 3).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and g.tolist() == [0., 0.] and not g.requires_grad
    opt.step()  # a zero gradient still steps (only None is skipped)
    assert w.tolist() == [1., 2.]


def test_param_that_does_not_require_grad_is_updated():
    t = symgrad.tensor([1., 1.])
    opt = optim.SGD([t], lr=0.5)
    opt.step()
    assert t.tolist() == [1., 1.]
    t.grad = symgrad.tensor([2., 4.])
    opt.step()
    assert t.tolist() == [0., -1.] and not t.requires_grad


def test_editing_group_lr_changes_later_steps():
    w = symgrad.tensor([1.], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = symgrad.tensor([1.])
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [0.4], rtol=1e-6)


def test_param_groups_override_and_fill_defaults():
    a = symgrad.tensor([1.], requires_grad=True)
    b = symgrad.tensor([1.], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    g0, g1 = opt.param_groups
    assert g0["lr"] == 0.1 and g1["lr"] == 0.5 and g1["momentum"] == 0.9
    assert g1["params"][0] is b
    assert set(g0) == {"params", "lr", "momentum", "dampening", "weight_decay", "nesterov",
                       "maximize", "foreach", "differentiable", "fused"}
    a.grad, b.grad = symgrad.tensor([1.]), symgrad.tensor([1.])
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.5], rtol=1e-6)


def test_adam_param_group_keys():
    p = symgrad.tensor([1.], requires_grad=True)
    assert set(optim.Adam([p]).param_groups[0]) == {
        "params", "lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach",
        "capturable", "differentiable", "fused", "decoupled_weight_decay"}
    g = optim.AdamW([p]).param_groups[0]
    assert g["weight_decay"] == 0.01 and g["decoupled_weight_decay"] is True


def test_add_param_group():
    a = symgrad.tensor([1.], requires_grad=True)
    b = symgrad.tensor([2.], requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": [b], "lr": 0.2})
    assert opt.param_groups[1]["momentum"] == 0.5 and opt.param_groups[1]["lr"] == 0.2
    with pytest.raises(ValueError, match="^some parameters appear in more than one parameter group$"):
        opt.add_param_group({"params": [a]})
    assert len(opt.param_groups) == 2


def test_generator_and_duplicate_warning():
    a = symgrad.tensor([1.], requires_grad=True)
    opt = optim.SGD((t for t in [a]), lr=0.1)
    assert opt.param_groups[0]["params"][0] is a
    with pytest.warns(UserWarning, match="^optimizer contains a parameter group with duplicate "
                                         "parameters; in future, this will cause an error; "):
        optim.SGD([a, a], lr=0.1)


def test_adam_state_layout():
    p = symgrad.tensor([1., 2.], requires_grad=True)
    p.grad = symgrad.tensor([1., 1.])
    opt = optim.Adam([p], amsgrad=True)
    opt.step()
    st = opt.state[p]
    assert list(st) == ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    assert st["step"].shape == () and st["step"].dtype is symgrad.float32
    assert repr(st["step"]) == "tensor(1.)"
    opt.step()
    assert repr(st["step"]) == "tensor(2.)"
    q = symgrad.tensor([1.], requires_grad=True)
    q.grad = symgrad.tensor([1.])
    plain = optim.Adam([q])
    plain.step()
    assert list(plain.state[q]) == ["step", "exp_avg", "exp_avg_sq"]


def test_adamw_decays_with_zero_gradient():
    p = symgrad.tensor([1.], requires_grad=True)
    p.grad = symgrad.tensor([0.])
    optim.AdamW([p], lr=0.1).step()
    np.testing.assert_allclose(p.detach().numpy(), [1 - 0.1 * 0.01], rtol=1e-7)


def test_tensor_lr():
    p = symgrad.tensor([1.], requires_grad=True)
    p.grad = symgrad.tensor([1.])
    optim.SGD([p], lr=symgrad.tensor(0.25)).step()
    assert p.item() == 0.75


# ---------------------------------------------------------------------------- state_dict
def _clone_params(*ts):
    return [symgrad.tensor(t.detach().numpy().copy(), requires_grad=True) for t in ts]


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)),
                                         ("AdamW", dict(lr=0.01))])
def test_state_dict_round_trip(name, kwargs):
    rng = np.random.default_rng(3)
    a = symgrad.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    b = symgrad.tensor(rng.standard_normal(2).astype(np.float32), requires_grad=True)
    cls = getattr(optim, name)
    opt = cls([{"params": [a]}, {"params": [b], "lr": 0.05}], **kwargs)
    grads = [(rng.standard_normal(3).astype(np.float32), rng.standard_normal(2).astype(np.float32))
             for _ in range(4)]
    for ga, gb in grads[:2]:
        a.grad, b.grad = symgrad.tensor(ga), symgrad.tensor(gb)
        opt.step()
    sd = copy.deepcopy(opt.state_dict())
    assert sorted(sd["state"]) == [0, 1]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.05

    a2, b2 = _clone_params(a, b)
    fresh = cls([{"params": [a2]}, {"params": [b2]}], **kwargs)
    fresh.load_state_dict(sd)
    assert fresh.param_groups[1]["lr"] == 0.05 and fresh.param_groups[0]["params"][0] is a2
    assert isinstance(fresh.state, type(opt.state)) and set(map(id, fresh.state)) == {id(a2), id(b2)}
    for ga, gb in grads[2:]:
        for (x, y), o in (((a, b), opt), ((a2, b2), fresh)):
            x.grad, y.grad = symgrad.tensor(ga), symgrad.tensor(gb)
            o.step()
    assert np.array_equal(a.detach().numpy(), a2.detach().numpy())
    assert np.array_equal(b.detach().numpy(), b2.detach().numpy())


def test_state_dict_format_and_sharing():
    p = symgrad.tensor([1., 2.], requires_grad=True)
    p.grad = symgrad.tensor([1., 1.])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert list(sd["state"][0]) == ["momentum_buffer"]
    assert sd["param_groups"][0] == {"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 0,
                                     "nesterov": False, "maximize": False, "foreach": None,
                                     "differentiable": False, "fused": None, "params": [0]}
    # As in PyTorch, the state tensors are the optimizer's own, not copies.
    assert sd["state"][0]["momentum_buffer"] is opt.state[p]["momentum_buffer"]
    assert opt.param_groups[0]["params"][0] is p  # state_dict does not touch the groups


def test_load_state_dict_errors():
    a, b = symgrad.tensor([1.], requires_grad=True), symgrad.tensor([1.], requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="^loaded state dict contains a parameter group that doesn't "
                                         "match the size of optimizer's group$"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="^loaded state dict has a different number of parameter groups$"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)


def test_load_state_dict_with_python_number_step():
    p = symgrad.tensor([1.], requires_grad=True)
    p.grad = symgrad.tensor([1.])
    opt = optim.Adam([p])
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["step"] = 1  # older checkpoints
    fresh = optim.Adam([p])
    fresh.load_state_dict(sd)
    assert repr(fresh.state[p]["step"]) == "tensor(1.)"


def test_pickle_round_trip():
    p = symgrad.tensor([1., 2.], requires_grad=True)
    p.grad = symgrad.tensor([1., 1.])
    opt = optim.Adam([p], lr=0.01)
    opt.step()
    clone = pickle.loads(pickle.dumps(opt))
    assert repr(clone) == repr(opt)
    assert list(clone.state.values())[0]["step"].item() == 1.0


# ---------------------------------------------------------------------------- errors, repr
def test_constructor_errors():
    p = symgrad.tensor([1., 2.], requires_grad=True)
    cases = [
        (lambda: optim.SGD([], lr=0.1), ValueError, "optimizer got an empty parameter list"),
        (lambda: optim.SGD([p], lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
        (lambda: optim.SGD([p], lr=0.1, momentum=-0.1), ValueError, "Invalid momentum value: -0.1"),
        (lambda: optim.SGD([p], lr=0.1, weight_decay=-0.1), ValueError,
         "Invalid weight_decay value: -0.1"),
        (lambda: optim.SGD([p], lr=0.1, nesterov=True), ValueError,
         "Nesterov momentum requires a momentum and zero dampening"),
        (lambda: optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
         "Nesterov momentum requires a momentum and zero dampening"),
        (lambda: optim.SGD([p * 2], lr=0.1), ValueError, "can't optimize a non-leaf Tensor"),
        (lambda: optim.SGD(p, lr=0.1), TypeError,
         "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
         "symgrad.FloatTensor"),
        (lambda: optim.SGD([1.0], lr=0.1), TypeError,
         "optimizer can only optimize Tensors, but one of the params is float"),
        (lambda: optim.SGD([np.zeros(2)], lr=0.1), TypeError,
         "optimizer can only optimize Tensors, but one of the params is numpy.ndarray"),
        (lambda: optim.Adam([p], betas=(1.0, 0.999)), ValueError, "Invalid beta parameter at index 0: 1.0"),
        (lambda: optim.Adam([p], betas=(0.9, -0.1)), ValueError,
         "Invalid beta parameter at index 1: -0.1"),
        (lambda: optim.Adam([p], eps=-1), ValueError, "Invalid epsilon value: -1"),
        (lambda: optim.Adam([p], lr=-1.0), ValueError, "Invalid learning rate: -1.0"),
        (lambda: optim.AdamW([p], weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
        (lambda: optim.Adam([p], betas=(0, 0.999)), ValueError,
         "betas must be either both floats or both Tensors"),
        (lambda: optim.SGD([p], lr=0.1, fused=True, foreach=True), RuntimeError,
         "`fused` and `foreach` cannot be `True` together."),
        (lambda: optim.Adam([p], fused=True, foreach=True), RuntimeError,
         "`fused` and `foreach` cannot be `True` together."),
        (lambda: optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1), ValueError,
         "some parameters appear in more than one parameter group"),
        (lambda: optim.SGD([p], lr=symgrad.tensor([0.1, 0.2])), ValueError, "Tensor lr must be 1-element"),
    ]
    for make, exc, msg in cases:
        with pytest.raises(exc) as info:
            make()
        assert str(info.value) == msg


def test_non_leaf_that_retains_grad_is_accepted():
    x = symgrad.tensor([1.], requires_grad=True)
    y = x * 2
    y.retain_grad()
    optim.SGD([y], lr=0.1)


def test_differentiable_is_refused_clearly():
    p = symgrad.tensor([1.], requires_grad=True)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        optim.SGD([p], lr=0.1, differentiable=True)


def test_repr_exact():
    p = symgrad.tensor([1.], requires_grad=True)
    assert repr(optim.SGD([p], lr=0.01)) == (
        "SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n    foreach: None\n"
        "    fused: None\n    lr: 0.01\n    maximize: False\n    momentum: 0\n    nesterov: False\n"
        "    weight_decay: 0\n)")
    assert repr(optim.Adam([p])) == (
        "Adam (\nParameter Group 0\n    amsgrad: False\n    betas: (0.9, 0.999)\n    capturable: False\n"
        "    decoupled_weight_decay: False\n    differentiable: False\n    eps: 1e-08\n    foreach: None\n"
        "    fused: None\n    lr: 0.001\n    maximize: False\n    weight_decay: 0\n)")
    q = symgrad.tensor([1.], requires_grad=True)
    two = optim.AdamW([{"params": [p]}, {"params": [q], "lr": 0.1}])
    text = repr(two)
    assert text.startswith("AdamW (\nParameter Group 0\n") and "\nParameter Group 1\n" in text
    assert "    decoupled_weight_decay: True\n" in text and "    weight_decay: 0.01\n" in text


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.01, momentum=0.9)), ("Adam", dict()),
                                         ("AdamW", dict(amsgrad=True))])
def test_repr_matches_torch(name, kwargs, torch_or_skip):
    ours = getattr(optim, name)([symgrad.tensor([1.], requires_grad=True)], **kwargs)
    theirs = getattr(torch_or_skip.optim, name)([torch_or_skip.tensor([1.], requires_grad=True)], **kwargs)
    assert repr(ours) == repr(theirs)


def test_step_hooks():
    p = symgrad.tensor([1.], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.step()
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]


def test_import_paths():
    import symgrad.optim.lr_scheduler as ls
    from symgrad.optim import SGD
    assert ls.StepLR is optim.lr_scheduler.StepLR and SGD is optim.SGD
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sgd = optim.SGD([symgrad.tensor([1.], requires_grad=True)])  # lr is optional in 2.13
    assert isinstance(sgd, optim.Optimizer) and sgd.param_groups[0]["lr"] == 1e-3


def test_named_parameters_and_set_params():
    a = symgrad.tensor([1.], requires_grad=True)
    b = symgrad.tensor([2.], requires_grad=True)
    opt = optim.SGD([("w", a), ("b", b)], lr=0.1)
    assert [id(t) for t in opt.param_groups[0]["params"]] == [id(a), id(b)]
    sd = opt.state_dict()
    assert sd["param_groups"][0]["param_names"] == ["w", "b"] and sd["param_groups"][0]["params"] == [0, 1]
    with pytest.raises(TypeError, match="^optimizer parameters need to be organized in ordered collections"):
        optim.SGD([{"params": {a}}], lr=0.1)
