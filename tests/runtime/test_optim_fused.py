"""`fused=True`: one native kernel per optimizer configuration and dtype, bitwise equal to
the eager update, with the same state, versions and state_dict."""
import itertools

import numpy as np
import pytest

import symgrad as torch
from symgrad.runtime.optim import fused

SHAPES = [(7, 5), (5,), (33,), ()]


def _params(dtype, seed):
    rng = np.random.default_rng(seed)
    return [torch.tensor(rng.standard_normal(s), dtype=dtype, requires_grad=True) for s in SHAPES]


def _run(make_opt, dtype, fused_flag, steps=6, seed=0, skip=()):
    """Steps with random gradients; parameter `skip[i]` has no grad at step i (skipped)."""
    params = _params(dtype, seed)
    opt = make_opt(params, fused_flag)
    rng = np.random.default_rng(seed + 1)
    for i in range(steps):
        opt.zero_grad()
        for k, p in enumerate(params):
            if (i, k) in skip:
                continue
            g = rng.standard_normal(p.shape) * (10.0 ** rng.integers(-3, 3))
            p.grad = torch.tensor(g, dtype=dtype)
        opt.step()
    return params, opt


def _bits(t):
    a = t._data
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _assert_bitwise(make_opt, dtype, **kw):
    eager, oe = _run(make_opt, dtype, None, **kw)
    fast, of = _run(make_opt, dtype, True, **kw)
    for pe, pf in zip(eager, fast):
        np.testing.assert_array_equal(_bits(pe), _bits(pf))
        assert pe._version[0] == pf._version[0] and pf.is_leaf and pf.requires_grad
    se, sf = oe.state_dict()["state"], of.state_dict()["state"]
    assert se.keys() == sf.keys()
    for k in se:
        assert se[k].keys() == sf[k].keys()
        for name in se[k]:
            if name == "step":
                assert se[k][name].dtype is torch.float32  # fused keeps a float32 step, as PyTorch
                assert sf[k][name].item() == se[k][name].item()
            else:
                np.testing.assert_array_equal(_bits(se[k][name]), _bits(sf[k][name]))


SGD_CASES = [dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, nesterov=True),
             dict(lr=0.01, momentum=0.5, dampening=0.3, weight_decay=0.01),
             dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True),
             dict(lr=0.3, weight_decay=0.2, maximize=True)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("kw", SGD_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_sgd_fused_is_bitwise_eager(dtype, kw):
    _assert_bitwise(lambda ps, f: torch.optim.SGD(ps, fused=f, **kw), dtype, skip={(1, 0), (2, 3)})


ADAM_CASES = [(torch.optim.Adam, dict()), (torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
              (torch.optim.Adam, dict(amsgrad=True, maximize=True, eps=0.1)),
              (torch.optim.Adam, dict(betas=(0.2, 0.9))),  # lerp weight >= 0.5: the other formula
              (torch.optim.AdamW, dict(lr=0.01)), (torch.optim.AdamW, dict(amsgrad=True, weight_decay=0.3))]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("cls,kw", ADAM_CASES,
                         ids=lambda v: v.__name__ if isinstance(v, type) else ",".join(f"{k}={x}" for k, x in v.items()))
def test_adam_fused_is_bitwise_eager(dtype, cls, kw):
    _assert_bitwise(lambda ps, f: cls(ps, fused=f, **kw), dtype, skip={(1, 0), (3, 2)})


def test_one_kernel_per_configuration_and_dtype():
    ps = _params(torch.float32, 3) + _params(torch.float64, 4)
    opt = torch.optim.SGD(ps, lr=0.1, momentum=0.9, fused=True)
    for p in ps:
        p.grad = torch.ones_like(p)
    before = dict(fused._kernels)
    opt.step()
    opt.step()
    new = {k for k in fused._kernels if k not in before}
    assert {k[1] for k in new} <= {"f32", "f64"}
    assert len([k for k in fused._kernels if k[:2] == ("sgd", "f32") and k[2:] == (False, False, True, True,
                                                                                 False)]) == 1


def test_fused_falls_back_for_non_contiguous_and_other_dtypes():
    base = torch.randn(6, 4)
    p = base.t().detach().requires_grad_()  # a transposed (non-contiguous) leaf
    q = torch.randn(3, requires_grad=True)
    pe, qe = p.detach().clone().requires_grad_(), q.detach().clone().requires_grad_()
    for params, f in (([p, q], True), ([pe, qe], None)):
        opt = torch.optim.Adam(params, lr=0.1, fused=f)
        for _ in range(3):
            for t in params:
                t.grad = torch.ones_like(t) * 0.5
            opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), pe.detach().numpy())
    np.testing.assert_array_equal(q.detach().numpy(), qe.detach().numpy())


def test_fused_training_loop_matches_eager_bitwise():
    def train(fused_flag):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2, fused=fused_flag)
        x = torch.randn(32, 8)
        y = torch.randint(0, 3, (32,))
        for _ in range(10):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()]
    for a, b in zip(train(None), train(True)):
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def test_fused_constructor_errors_unchanged():
    p = torch.randn(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        torch.optim.SGD([p], lr=0.1, fused=True, foreach=True)
    assert torch.optim.Adam([p], fused=True).param_groups[0]["fused"] is True


@pytest.mark.parametrize("flags", list(itertools.product([False, True], repeat=2)))
def test_kernel_ir_is_plain_ieee(flags):
    # No fast-math flags and no fma: the reason results are bitwise equal to NumPy's.
    k = fused.adam_kernel(np.float32, dict(maximize=flags[0], weight_decay=flags[1], decoupled=True,
                                           amsgrad=flags[0], lerp_small=True))
    assert " fast " not in k.ir and "contract" not in k.ir and "fma" not in k.ir


def test_fused_takes_transposed_gradients():
    # A gradient of `x @ W.T` can arrive in Fortran order; the update must not care.
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal((6, 4)).astype(np.float32)
    gs = [np.asfortranarray(rng.standard_normal((6, 4)).astype(np.float32)) for _ in range(3)]
    out = []
    for f in (None, True):
        p = torch.tensor(w0.copy(), requires_grad=True)
        opt = torch.optim.Adam([p], lr=0.1, fused=f)
        for g in gs:
            p.grad = torch.from_numpy(g)
            opt.step()
        out.append(p.detach().numpy().copy())
    np.testing.assert_array_equal(out[0].view(np.uint32), out[1].view(np.uint32))
