"""Optimizers and schedules against torch.optim, step for step."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_module

from derivations.backend.nn import schedules
from derivations.backend.nn.optim import SGD, Adam
from derivations.backend.nn.parameter import Parameter

SHAPES = [(4, 3), (3,)]


def run_both(make_ours, make_theirs, steps, seed=0):
    torch = require_module("torch")
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    ours = [Parameter(v.copy()) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    opt, ref = make_ours(ours), make_theirs(torch, theirs)
    for step_grads in grads:
        for p, t, g in zip(ours, theirs, step_grads):
            p.grad[...] = g
            t.grad = torch.tensor(g)
        opt.step()
        ref.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-14)


CASES = {
    "sgd": (lambda ps: SGD(ps, 0.1), lambda torch, ps: torch.optim.SGD(ps, 0.1)),
    "sgd-momentum": (lambda ps: SGD(ps, 0.1, momentum=0.9),
                     lambda torch, ps: torch.optim.SGD(ps, 0.1, momentum=0.9)),
    "sgd-nesterov-wd": (lambda ps: SGD(ps, 0.05, momentum=0.8, nesterov=True, weight_decay=1e-2),
                        lambda torch, ps: torch.optim.SGD(ps, 0.05, momentum=0.8, nesterov=True,
                                                          weight_decay=1e-2)),
    "sgd-momentum-wd": (lambda ps: SGD(ps, 0.05, momentum=0.9, weight_decay=5e-4),
                        lambda torch, ps: torch.optim.SGD(ps, 0.05, momentum=0.9, weight_decay=5e-4)),
    "adam": (lambda ps: Adam(ps, 1e-2), lambda torch, ps: torch.optim.Adam(ps, 1e-2)),
    "adam-l2": (lambda ps: Adam(ps, 1e-2, betas=(0.8, 0.99), weight_decay=0.1),
                lambda torch, ps: torch.optim.Adam(ps, 1e-2, betas=(0.8, 0.99), weight_decay=0.1)),
    "adamw": (lambda ps: Adam(ps, 1e-2, weight_decay=0.1, decoupled=True),
              lambda torch, ps: torch.optim.AdamW(ps, 1e-2, weight_decay=0.1)),
}


@pytest.mark.parametrize("steps", [1, 7])
@pytest.mark.parametrize("case", list(CASES))
def test_optimizer_matches_torch(case, steps):
    run_both(*CASES[case], steps)


def test_sgd_momentum_differs_from_plain_sgd_after_two_steps():
    """Guards the comparison itself: a wrong momentum rule would have to match torch by luck."""
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(2))
    plain, heavy = SGD([a], 0.1), SGD([b], 0.1, momentum=0.9)
    for _ in range(2):
        a.grad[:] = b.grad[:] = 1.0
        plain.step()
        heavy.step()
    np.testing.assert_allclose(a.data, [-0.2, -0.2])
    np.testing.assert_allclose(b.data, [-0.29, -0.29])     # −0.1·1 − 0.1·1.9


def test_optimizers_reject_bad_settings():
    p = [Parameter(np.zeros(2))]
    for make in (lambda: SGD(p, -1), lambda: SGD(p, 0.1, momentum=1.5),
                 lambda: SGD(p, 0.1, nesterov=True), lambda: Adam(p, betas=(1.0, 0.9)),
                 lambda: SGD([], 0.1)):
        with pytest.raises(ValueError):
            make()


def torch_lrs(torch, make_scheduler, lr, steps):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr)
    sched = make_scheduler(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_schedules_match_torch_lr_schedulers():
    torch = require_module("torch")
    S = torch.optim.lr_scheduler
    total = 50
    cases = [
        (schedules.StepLR(0.1, 7, 0.5), lambda o: S.StepLR(o, 7, 0.5)),
        (schedules.CosineLR(0.1, total, min_lr=1e-3), lambda o: S.CosineAnnealingLR(o, total, 1e-3)),
        (schedules.OneCycleLR(0.2, total, pct_start=0.3),
         lambda o: S.OneCycleLR(o, 0.2, total_steps=total, pct_start=0.3, cycle_momentum=False)),
    ]
    for ours, theirs in cases:
        expected = torch_lrs(torch, theirs, 0.1, total)
        np.testing.assert_allclose([ours(t) for t in range(total)], expected, rtol=1e-9, atol=1e-12)


def test_cosine_warmup_rises_linearly_then_decays_to_the_floor():
    s = schedules.CosineLR(1.0, 100, min_lr=0.01, warmup_steps=10)
    assert [s(t) for t in range(3)] == pytest.approx([0.1, 0.2, 0.3])
    assert s(10) == pytest.approx(1.0)
    assert s(100) == pytest.approx(0.01)


@pytest.mark.parametrize("case", ["sgd-nesterov-wd", "adamw"])
def test_flattened_updates_match_torch_too(case):
    make_ours, make_theirs = CASES[case]
    run_both(lambda ps: type(make_ours(ps))(ps, **_settings(make_ours(ps)), flatten=True),
             make_theirs, 3)


def _settings(opt):
    if isinstance(opt, SGD):
        return dict(lr=opt.lr, momentum=opt.momentum, nesterov=opt.nesterov, weight_decay=opt.weight_decay)
    return dict(lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps, weight_decay=opt.weight_decay,
                decoupled=opt.decoupled)


def test_flattened_parameters_stay_views_and_survive_rebinding():
    ps = [Parameter(np.ones((2, 3))), Parameter(np.zeros(4))]
    opt = SGD(ps, 0.5, momentum=0.9, flatten=True)
    assert opt.flat is not None and all(p.data.base is opt.flat.data for p in ps)
    ps[0].grad[...] = 1.0
    opt.step()
    np.testing.assert_allclose(ps[0].data, 0.5)
    ps[1].data = np.full(4, 7.0)              # someone rebinds a parameter's array
    ps[1].grad = np.full(4, 2.0)
    opt.step()                                # relinks, then updates the new values
    assert ps[1].data.base is opt.flat.data
    np.testing.assert_allclose(ps[1].data, 7.0 - 0.5 * 2.0)
    np.testing.assert_allclose(ps[0].data, 0.5 - 0.5 * (0.9 * 1.0 + 1.0))
