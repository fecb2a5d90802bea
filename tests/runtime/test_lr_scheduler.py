"""symgrad.optim.lr_scheduler: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR and
LambdaLR, checked by hand and against PyTorch where installed."""
from __future__ import annotations

import numpy as np
import pytest

import symgrad

optim = symgrad.optim


def test_step_lr_and_exponential_lr():
    p = symgrad.tensor([1.], requires_grad=True)
    opt = optim.SGD([p], lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    assert opt.param_groups[0]["initial_lr"] == 1.0 and "initial_lr: 1.0" in repr(opt)
    lrs = []
    for _ in range(5):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25]

    opt2 = optim.Adam([symgrad.tensor([1.], requires_grad=True)], lr=0.1)
    exp = optim.lr_scheduler.ExponentialLR(opt2, gamma=0.9)
    for _ in range(3):
        opt2.step()
        exp.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.1 * 0.9 ** 3)


def test_scheduler_warns_when_stepped_first():
    opt = optim.SGD([symgrad.tensor([1.], requires_grad=True)], lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before"):
        sched.step()


def test_schedulers_match_torch(torch_or_skip):
    torch = torch_or_skip
    specs = [("StepLR", dict(step_size=3, gamma=0.3)), ("ExponentialLR", dict(gamma=0.8)),
             ("MultiStepLR", dict(milestones=[2, 5, 5], gamma=0.5)),
             ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01)),
             ("LambdaLR", dict(lr_lambda=lambda e: 1 / (e + 1)))]
    for name, kw in specs:
        traj = []
        for mod in (symgrad, torch):
            opt = mod.optim.SGD([mod.tensor([1.], requires_grad=True)], lr=0.5)
            sched = getattr(mod.optim.lr_scheduler, name)(opt, **kw)
            seq = []
            for _ in range(10):
                opt.step()
                sched.step()
                seq.append(sched.get_last_lr()[0])
            traj.append(seq)
        np.testing.assert_allclose(traj[0], traj[1], rtol=1e-12, err_msg=name)


def test_closed_form_with_epoch_warns():
    opt = optim.SGD([symgrad.tensor([1.], requires_grad=True)], lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    opt.step()
    with pytest.warns(UserWarning, match="^The epoch parameter in `scheduler.step\\(\\)` was not necessary"):
        sched.step(5)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)


def test_scheduler_state_dict_and_resume():
    opt = optim.SGD([symgrad.tensor([1.], requires_grad=True)], lr=1.0)
    sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    opt.step()
    sched.step()
    sd = sched.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 1 and sd["base_lrs"] == [1.0]
    fresh_opt = optim.SGD([symgrad.tensor([1.], requires_grad=True)], lr=1.0)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        optim.lr_scheduler.ExponentialLR(fresh_opt, gamma=0.5, last_epoch=3)
    fresh_opt.load_state_dict(opt.state_dict())
    fresh = optim.lr_scheduler.ExponentialLR(fresh_opt, gamma=0.5)
    fresh.load_state_dict(sd)
    fresh_opt.step()
    fresh.step()
    assert fresh_opt.param_groups[0]["lr"] == 0.25 and fresh.get_last_lr() == [0.25]


def test_get_lr_outside_step_warns_and_type_error():
    opt = optim.SGD([symgrad.tensor([1.], requires_grad=True)], lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    with pytest.raises(TypeError, match="^list is not an Optimizer$"):
        optim.lr_scheduler.StepLR([], step_size=2)
