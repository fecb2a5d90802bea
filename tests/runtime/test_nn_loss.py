"""Spec section 8 (nn): losses and gradients of models built from nn.

Every gradient is checked against central differences in float64, and against PyTorch
(same structure, copied weights) when torch is installed; seed 003's first-layer gradient
pattern is reproduced on synthetic images."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import symgrad
from symgrad import nn

F = nn.functional
REDUCTIONS = ("mean", "sum", "none")


def gf(t) -> str | None:
    return None if t.grad_fn is None else type(t.grad_fn).__name__


def fd_grads(f, arrays, eps=1e-6):
    """Central differences of the scalar `f()` w.r.t. each float64 array, perturbed in place."""
    out = []
    for a in arrays:
        g = np.zeros_like(a)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            hi = f()
            flat[i] = old - eps
            lo = f()
            flat[i] = old
            gflat[i] = (hi - lo) / (2 * eps)
        out.append(g)
    return out


def mlp(mod, dtype, n_in=5, n_hidden=7, n_out=4):
    m = mod.Sequential(mod.Linear(n_in, n_hidden), mod.ReLU(), mod.Linear(n_hidden, n_out))
    return m.double() if dtype == np.float64 else m


def copy_weights(src, dst, torch):
    with torch.no_grad():
        for (_, p), (_, q) in zip(src.named_parameters(), dst.named_parameters()):
            q.copy_(torch.tensor(p.detach().numpy().copy()))


# ---------------------------------------------------------------------------- scenarios
RNG = np.random.default_rng(42)
X = RNG.standard_normal((6, 5))
T_CLASS = np.array([0, 3, 1, 3, 2, 0])
T_IGNORE = np.array([0, -100, 1, 3, -100, 0])
T_PROB = RNG.dirichlet(np.ones(4), size=6)
W_CLASS = np.array([0.5, 1.0, 2.0, 1.5])
V_NONE = RNG.standard_normal(6)  # weights a 'none' loss into a scalar

CE_CASES = [dict(), dict(weight=True), dict(target=T_IGNORE), dict(target=T_IGNORE, ignore_index=-100),
            dict(target=np.array([0, 2, 1, 3, 2, 0]), ignore_index=2), dict(label_smoothing=0.1),
            dict(label_smoothing=0.2, weight=True, target=T_IGNORE), dict(target=T_PROB),
            dict(target=T_PROB, label_smoothing=0.3, weight=True)]


def ce_loss(mod, model, x, case, reduction):
    kw = {k: v for k, v in case.items() if k in ("ignore_index", "label_smoothing")}
    target = case.get("target", T_CLASS)
    t = mod.tensor(target)
    if target.dtype.kind == "f":  # probability targets take the input's dtype
        t = t.to(x.dtype)
    if case.get("weight"):
        kw["weight"] = mod.tensor(W_CLASS).to(x.dtype)
    out = mod.nn.CrossEntropyLoss(reduction=reduction, **kw)(model(x), t)
    return out if reduction != "none" else (out * mod.tensor(V_NONE).to(x.dtype)).sum()


def check_fd(model, x, loss_fn, rtol=1e-6, atol=1e-8):
    """Autograd grads of params and input against central differences (float64)."""
    params = list(model.parameters())
    loss_fn().backward()
    got = [p.grad.numpy() for p in params] + [x.grad.numpy()]
    arrays = [p.detach().numpy() for p in params] + [x.detach().numpy()]
    with symgrad.no_grad():
        want = fd_grads(lambda: loss_fn().item(), arrays)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES, ids=lambda c: "-".join(sorted(c)) or "plain")
def test_cross_entropy_mlp_fd(case, reduction):
    symgrad.manual_seed(0)
    model = mlp(nn, np.float64)
    x = symgrad.tensor(X, requires_grad=True)
    check_fd(model, x, lambda: ce_loss(symgrad, model, x, case, reduction))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES, ids=lambda c: "-".join(sorted(c)) or "plain")
def test_cross_entropy_mlp_matches_torch(case, reduction, dtype, torch_or_skip):
    torch = torch_or_skip
    ours, theirs = mlp(nn, dtype), mlp(torch.nn, dtype)
    copy_weights(ours, theirs, torch)
    results = []
    for mod, model in ((symgrad, ours), (torch, theirs)):
        x = mod.tensor(X.astype(dtype), requires_grad=True)
        loss = ce_loss(mod, model, x, case, reduction)
        loss.backward()
        results.append([loss.item(), x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()])
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("case", CE_CASES, ids=lambda c: "-".join(sorted(c)) or "plain")
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_grad_fn_names_match_torch(case, reduction, torch_or_skip):
    torch = torch_or_skip
    names = []
    for mod in (symgrad, torch):
        x = mod.tensor(X[:, :4], requires_grad=True)
        kw = {k: v for k, v in case.items() if k in ("ignore_index", "label_smoothing")}
        target = case.get("target", T_CLASS)
        t = mod.tensor(target).to(x.dtype) if target.dtype.kind == "f" else mod.tensor(target)
        if case.get("weight"):
            kw["weight"] = mod.tensor(W_CLASS).to(x.dtype)
        loss = mod.nn.functional.cross_entropy(x, t, reduction=reduction, **kw)
        names.append(gf(loss))
    assert names[0] == names[1]


def test_cross_entropy_spec_values():
    x = symgrad.tensor([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]], requires_grad=True)
    t = symgrad.tensor([2, 0])
    loss = nn.CrossEntropyLoss()(x, t)
    assert repr(loss) == "tensor(0.4076, grad_fn=<NllLossBackward0>)"
    assert [type(n).__name__ for n, _ in loss.grad_fn.next_functions] == ["LogSoftmaxBackward0"]
    loss.backward()
    p = np.exp(x.detach().numpy()) / np.exp(x.detach().numpy()).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), (p - np.eye(3)[[2, 0]]) / 2, rtol=1e-6)
    ls = F.cross_entropy(x, t, label_smoothing=0.1)
    assert repr(ls) == "tensor(0.5076, grad_fn=<AddBackward0>)"
    assert gf(F.cross_entropy(x, symgrad.softmax(x.detach(), 1))) == "DivBackward1"
    assert repr(F.cross_entropy(x, t, reduction="none")) == "tensor([0.4076, 0.4076], grad_fn=<NllLossBackward0>)"
    # unbatched: 1-D input with a 0-dim target
    assert repr(F.cross_entropy(x[0], symgrad.tensor(2))) == "tensor(0.4076, grad_fn=<NllLossBackward0>)"
    w = symgrad.tensor([1.0, 2.0, 3.0])
    lp = -np.log(p[[0, 1], [2, 0]])
    np.testing.assert_allclose(F.cross_entropy(x, t, weight=w).item(), (3 * lp[0] + 1 * lp[1]) / 4, rtol=1e-6)
    np.testing.assert_allclose(F.cross_entropy(x, symgrad.tensor([2, -100])).item(), lp[0], rtol=1e-6)
    eps, logp = 0.1, np.log(p)
    want = np.mean((1 - eps) * lp + eps * (-logp).mean(1))
    np.testing.assert_allclose(ls.item(), want, rtol=1e-6)


def test_cross_entropy_errors():
    x = symgrad.randn(2, 3, requires_grad=True)
    with pytest.raises(IndexError, match=r"^Target 3 is out of bounds\.$"):
        nn.CrossEntropyLoss()(x, symgrad.tensor([3, 0]))
    with pytest.raises(IndexError, match=r"^Target -1 is out of bounds\.$"):
        F.cross_entropy(x, symgrad.tensor([0, -1]))
    with pytest.raises(RuntimeError, match="^expected target dtype to be Long or Byte, but got Float$"):
        nn.CrossEntropyLoss()(x, symgrad.tensor([2.0, 0.0]))
    with pytest.raises(RuntimeError, match="but got Int$"):
        F.cross_entropy(x, symgrad.tensor([1, 2], dtype=symgrad.int32))
    with pytest.raises(ValueError, match=r"^Expected input batch_size \(2\) to match target batch_size \(3\)\.$"):
        F.cross_entropy(x, symgrad.tensor([2, 0, 1]))
    with pytest.raises(RuntimeError, match=r"^weight tensor should be defined either for all 3 classes or no "
                                           r"classes but got weight tensor of shape: \[4\]$"):
        F.cross_entropy(x, symgrad.tensor([2, 0]), weight=symgrad.ones(4))
    with pytest.raises(RuntimeError, match="^Expected floating point type for target with class probabilities, "
                                           "got Long$"):
        F.cross_entropy(x, symgrad.tensor([[0, 1, 0], [1, 0, 0]]))
    with pytest.raises(ValueError, match="^avg is not a valid value for reduction$"):
        nn.CrossEntropyLoss(reduction="avg")(x, symgrad.tensor([2, 0]))
    assert F.cross_entropy(x, symgrad.tensor([1, 2], dtype=symgrad.uint8)).item() > 0


def test_cross_entropy_spatial_and_nll():
    x = symgrad.randn(2, 3, 4, dtype=symgrad.float64, requires_grad=True)
    t = symgrad.tensor([[0, 1, 2, 1], [2, 2, 0, 1]])
    loss = F.cross_entropy(x, t)
    logp = x.detach().numpy() - np.log(np.exp(x.detach().numpy()).sum(1, keepdims=True))
    want = -np.mean([logp[n, t.numpy()[n, d], d] for n in range(2) for d in range(4)])
    np.testing.assert_allclose(loss.item(), want, rtol=1e-12)
    assert F.cross_entropy(x, t, reduction="none").shape == (2, 4)
    check_fd(nn.Sequential(), x, lambda: F.cross_entropy(x, t, label_smoothing=0.2))
    lp = symgrad.randn(4, 3, dtype=symgrad.float64).log_softmax(1).detach().requires_grad_()
    nll = nn.NLLLoss(weight=symgrad.tensor([1.0, 2.0, 0.5], dtype=symgrad.float64))
    tt = symgrad.tensor([0, 2, 1, 1])
    assert gf(nll(lp, tt)) == "NllLossBackward0" and repr(nll) == "NLLLoss()"
    check_fd(nn.Sequential(), lp, lambda: nll(lp, tt))


def test_legacy_size_average_warns():
    x, y = symgrad.ones(3), symgrad.zeros(3)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated, please use "
                                         "reduction='sum' instead."):
        assert F.mse_loss(x, y, size_average=False).item() == 3.0


# ---------------------------------------------------------------------------- MSE / L1
def test_mse_spec_values():
    a = symgrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = symgrad.tensor([1.5, 2.0, 5.0])
    loss = nn.MSELoss()(a, b)
    assert repr(loss) == "tensor(1.4167, grad_fn=<MseLossBackward0>)"
    assert nn.MSELoss(reduction="sum")(a, b).item() == 4.25
    none = nn.MSELoss(reduction="none")(a, b)
    assert none.tolist() == [0.25, 0.0, 4.0] and gf(none) == "MseLossBackward0"
    loss.backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * (a.detach().numpy() - b.numpy()) / 3, rtol=1e-6)
    assert repr(nn.MSELoss()) == "MSELoss()"
    manual = symgrad.mean((a - b) ** 2)
    np.testing.assert_allclose(manual.item(), loss.item(), rtol=1e-6)


def test_mse_size_warning_and_error():
    with pytest.warns(UserWarning) as rec:
        out = nn.MSELoss()(symgrad.tensor([[1.0], [2.0], [3.0]], requires_grad=True), symgrad.tensor([1.5, 2, 5]))
    assert str(rec[0].message) == (
        "Using a target size (symgrad.Size([3])) that is different to the input size (symgrad.Size([3, 1])). "
        "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.")
    assert out.item() == pytest.approx(3.75) and gf(out) == "MseLossBackward0"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=r"^The size of tensor a \(3\) must match the size of tensor b "
                                               r"\(4\) at non-singleton dimension 0$"):
            nn.MSELoss()(symgrad.ones(3), symgrad.ones(4))
        with pytest.raises(RuntimeError, match=r"a \(3\) must match the size of tensor b \(4\) at "
                                               r"non-singleton dimension 1$"):
            F.mse_loss(symgrad.ones(2, 3), symgrad.ones(2, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_regression_losses_fd_and_names(name, reduction):
    symgrad.manual_seed(1)
    model = mlp(nn, np.float64, n_out=3)
    x = symgrad.tensor(X, requires_grad=True)
    y = symgrad.tensor(RNG.standard_normal((6, 3)))
    v = symgrad.tensor(RNG.standard_normal((6, 3)))
    fn = getattr(F, name)

    def loss():
        out = fn(model(x), y, reduction=reduction)
        return out if reduction != "none" else (out * v).sum()

    check_fd(model, x, loss)
    out = fn(model(x), y, reduction=reduction)
    if name == "mse_loss":
        assert gf(out) == "MseLossBackward0"
    else:
        assert gf(out) == {"mean": "MeanBackward0", "sum": "SumBackward0", "none": "AbsBackward0"}[reduction]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("cls", ["MSELoss", "L1Loss"])
def test_regression_losses_match_torch(cls, reduction, torch_or_skip):
    torch = torch_or_skip
    ours, theirs = mlp(nn, np.float32, n_out=3), mlp(torch.nn, np.float32, n_out=3)
    copy_weights(ours, theirs, torch)
    y = RNG.standard_normal((6, 3)).astype(np.float32)
    results = []
    for mod, model in ((symgrad, ours), (torch, theirs)):
        x = mod.tensor(X.astype(np.float32), requires_grad=True)
        out = getattr(mod.nn, cls)(reduction=reduction)(model(x), mod.tensor(y))
        results.append([gf(out), out.detach().numpy()])
        out.sum().backward()
        results[-1] += [x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)


def test_linear_ranks_fd():
    lin = nn.Linear(3, 2).double()
    for shape in [(3,), (2, 4, 3)]:
        x = symgrad.randn(*shape, dtype=symgrad.float64, requires_grad=True)
        v = symgrad.randn(*(shape[:-1] + (2,)), dtype=symgrad.float64)
        lin.zero_grad()
        check_fd(lin, x, lambda: (lin(x) * v).sum())
    nb = nn.Linear(3, 2, bias=False).double()
    x = symgrad.randn(4, 3, dtype=symgrad.float64, requires_grad=True)
    check_fd(nb, x, lambda: F.leaky_relu(nb(x), 0.1).sum() + F.softmax(nb(x), 1)[:, 0].sum())


# ---------------------------------------------------------------------------- seed 003
def test_seed003_first_layer_gradient_pattern():
    symgrad.manual_seed(3)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    images = symgrad.rand(64, 1, 28, 28) * 2 - 1
    border = np.ones((28, 28), dtype=bool)
    border[4:24, 4:24] = False
    images.numpy()[:, 0, border] = -1.0  # MNIST after Normalize((0.5,), (0.5,)): border is -1
    labels = symgrad.randint(0, 10, (64,))
    dead = 5
    with symgrad.no_grad():
        model[0].bias[dead] = -1000.0  # this hidden unit's ReLU is off for the whole batch
    loss = nn.CrossEntropyLoss()(model(images.view(images.shape[0], -1)), labels)
    loss.backward()
    wg, bg = model[0].weight.grad.numpy(), model[0].bias.grad.numpy()
    cols = np.flatnonzero(border.reshape(-1))
    np.testing.assert_allclose(wg[:, cols], np.repeat(-bg[:, None], cols.size, 1), rtol=1e-5, atol=1e-9)
    assert not wg[dead].any() and bg[dead] == 0.0
    assert np.abs(bg).max() > 0 and np.abs(wg[:, ~border.reshape(-1)]).max() > 0
    # What seed 003 prints: the visible columns (first and last 3) of each row are constant.
    for row in wg[:, [0, 1, 2, 781, 782, 783]]:
        np.testing.assert_allclose(row, row[0], rtol=1e-5, atol=1e-9)


def test_seed003_pipeline_matches_torch_from_the_same_seed(torch_or_skip):
    """manual_seed -> init -> data -> shuffled loader -> loss -> grads, side by side with PyTorch."""
    torch = torch_or_skip
    out = []
    for mod in (symgrad, torch):
        mod.manual_seed(3)
        model = mod.nn.Sequential(mod.nn.Linear(784, 128), mod.nn.ReLU(), mod.nn.Linear(128, 64), mod.nn.ReLU(),
                                  mod.nn.Linear(64, 10))
        images = mod.rand(100, 1, 28, 28) * 2 - 1
        targets = mod.randint(0, 10, (100,))
        loader = mod.utils.data.DataLoader(mod.utils.data.TensorDataset(images, targets), batch_size=64,
                                           shuffle=True)
        x, y = next(iter(loader))
        loss = mod.nn.CrossEntropyLoss()(model(x.view(x.shape[0], -1)), y)
        loss.backward()
        out.append([y.numpy(), x.numpy(), loss.item()] + [p.grad.numpy() for p in model.parameters()])
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])
    for a, b in zip(out[0][2:], out[1][2:]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("loss_name", ["cross_entropy", "mse_loss"])
def test_second_order_through_losses_matches_torch(loss_name, torch_or_skip):
    torch = torch_or_skip
    ours, theirs = mlp(nn, np.float64), mlp(torch.nn, np.float64)
    copy_weights(ours, theirs, torch)
    target = {"cross_entropy": T_CLASS, "mse_loss": RNG.standard_normal((6, 4))}[loss_name]
    results = []
    for mod, model in ((symgrad, ours), (torch, theirs)):
        x = mod.tensor(X, requires_grad=True)
        loss = getattr(mod.nn.functional, loss_name)(model(x).tanh(), mod.tensor(target))
        g, = mod.autograd.grad(loss, x, create_graph=True)
        hv, = mod.autograd.grad((g * g).sum(), x)
        results.append(hv.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9, atol=1e-12)
