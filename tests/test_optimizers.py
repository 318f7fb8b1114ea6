"""Update rules as records (derivations.calculus.optimizers) run by iterates.run, against each
rule's own plain-float loop and against torch.optim in float64."""

import dataclasses
import math

import pytest
import sympy as sp
import torch

from derivations.calculus import optimizers as opt
from derivations.calculus.functions import sigmoid
from derivations.calculus.iterates import (
    float_adam, float_gelu, float_iterates, float_momentum, run, run_constant_gradient,
)

x = sp.Symbol("x", real=True)
R = sp.Rational

# (symbolic objective, the same in plain floats, the same in torch, starting point)
OBJECTIVES = {
    "quadratic": (R(3, 2) * (x - 1) ** 2, lambda t: 1.5 * (t - 1) ** 2, lambda t: 1.5 * (t - 1) ** 2, 2),
    "gelu": (x * sigmoid(R(851, 500) * x), float_gelu, lambda t: t * torch.sigmoid(1.702 * t), -2),
    "quartic": (x**4 / 4, lambda t: t**4 / 4, lambda t: t**4 / 4, R(3, 2)),
}

RULES = {
    "gd": opt.gradient_descent(R(1, 10)),
    "gd_l2": opt.gradient_descent(R(1, 10), weight_decay=R(1, 5)),
    "momentum_new": opt.momentum(R(1, 10), R(9, 10), "new"),
    "momentum_old": opt.momentum(R(1, 10), R(9, 10), "old"),
    "momentum_old_l2": opt.momentum(R(1, 10), R(1, 2), "old", weight_decay=R(1, 10)),
    "nesterov": opt.nesterov(R(1, 10), R(9, 10)),
    "nesterov_l2": opt.nesterov(R(1, 20), R(1, 2), weight_decay=R(1, 10)),
    "adam": opt.adam(R(1, 10)),
    "adam_eps_inside": opt.adam(R(1, 10), epsilon=R(1, 100), epsilon_placement="inside"),
    "adam_l2": opt.adam(R(1, 10), weight_decay=R(1, 10)),
    "adamw": opt.adamw(R(1, 10), weight_decay=R(1, 10)),
    "l1": opt.l1_subgradient(R(1, 10), R(1, 2)),
    "l1_s0_half": opt.l1_subgradient(R(1, 10), R(1, 2), subgradient_at_zero=R(1, 2), weight_decay=R(1, 10)),
}
STEPS = 5


def symbolic_floats(rule, objective, steps=STEPS):
    expr, _, _, x0 = OBJECTIVES[objective]
    return [float(p) for p in run(rule, expr, x, x0, steps).updates]


def max_error(a, b):
    assert len(a) == len(b)
    return max(abs(p - q) for p, q in zip(a, b))


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
@pytest.mark.parametrize("name", sorted(RULES))
def test_runner_agrees_with_the_rules_own_float_loop(name, objective):
    rule = RULES[name]
    _, f, _, x0 = OBJECTIVES[objective]
    claimed, reference = symbolic_floats(rule, objective), float_iterates(rule, f, float(x0), STEPS)
    assert max_error(claimed, reference) < 1e-9
    assert max_error(claimed, [float(x0)] * STEPS) > 1e-3          # the iterates do move


# --- Exact arithmetic ------------------------------------------------------------------

def test_gradient_descent_on_x_squared_is_exact():
    points = run(opt.gradient_descent(R(1, 4)), x**2, x, 1, 4).points
    assert points == [1, R(1, 2), R(1, 4), R(1, 8), R(1, 16)]


def test_momentum_and_nesterov_on_x_squared_are_exact():
    new = run(opt.momentum(R(1, 4), R(1, 2), "new"), x**2, x, 1, 3)
    # v0 = 2, v1 = 2, x1 = 1/2; v2 = 1 + 1/2 = 3/2, x2 = 1/2 − 3/8 = 1/8; v3 = 3/4 + 1/8 = 7/8, x3 = 1/8 − 7/32
    assert new.points == [1, R(1, 2), R(1, 8), R(-3, 32)]
    assert new.velocities == [2, 2, R(3, 2), R(7, 8)]
    old = run(opt.momentum(R(1, 4), R(1, 2), "old"), x**2, x, 1, 3)
    # x1 = 1 − 2/4 = 1/2 (v0), v1 = 2; x2 = 1/2 − 2/4 = 0 (v1), v2 = 1 + 1/2 = 3/2; x3 = −3/8
    assert old.points == [1, R(1, 2), 0, R(-3, 8)]
    nesterov = run(opt.nesterov(R(1, 4), R(1, 2)), x**2, x, 1, 2)
    # b1 = 2, x1 = 1 − (2 + 1)/4 = 1/4; g1 = 1/2, b2 = 3/2, x2 = 1/4 − (1/2 + 3/4)/4 = −1/16
    assert nesterov.points == [1, R(1, 4), R(-1, 16)]
    assert all(p.is_Rational for p in new.points + old.points + nesterov.points)


def test_adam_first_step_is_exact_then_decimal():
    iterates = run(opt.adam(R(1, 10)), x**2, x, 1, 3)
    # m̂1 = g0 = 2, v̂1 = 4, so x1 = 1 − (1/10)·2/(2 + 10⁻⁸): rational.
    assert iterates.points[1] == 1 - R(1, 10) * 2 / (2 + R(1, 10**8))
    assert isinstance(iterates.points[2], sp.Float)
    assert iterates.states[0] == {"m": 0, "v": 0}
    assert set(iterates.states[1]) == {"m", "v", "mhat", "vhat"}
    assert iterates.state("mhat")[0] == 2 and iterates.state("vhat")[0] == 4


def test_weight_decay_shows_in_the_state_history_and_the_first_velocity():
    iterates = run(opt.momentum(R(1, 4), R(1, 2), weight_decay=R(1, 2)), x**2, x, 1, 1)
    assert iterates.velocities[0] == R(5, 2)                        # v0 = f′(1) + λ·1
    assert iterates.states[1]["g"] == R(5, 2) and iterates.points[1] == R(3, 8)


def test_non_finite_update_is_reported():
    with pytest.raises(ValueError, match="not a finite real number"):
        run(opt.adam(R(1, 10), epsilon=0), x**2, x, 0, 1)           # 0/0 at the minimum


# --- Adam with a constant gradient ---------------------------------------------------

@pytest.mark.parametrize("g", [R(3, 7), -5, 2, R(-1, 1000)])
def test_adam_constant_gradient_moves_exactly_alpha_with_epsilon_zero(g):
    alpha = R(1, 10)
    iterates = run_constant_gradient(opt.adam(alpha, epsilon=0), g, 5)
    assert iterates.increments == [-alpha * sp.sign(g)] * 5


def test_adam_constant_symbolic_gradient_gives_minus_alpha_sign_g():
    g = sp.Symbol("g", real=True, nonzero=True)
    alpha = sp.Symbol("alpha", positive=True)
    iterates = run_constant_gradient(opt.adam(alpha, epsilon=0), g, 5)
    assert len(iterates.increments) == 5
    for step in iterates.increments:
        assert sp.simplify(step + alpha * sp.sign(g)) == 0
    assert iterates.state("mhat") == [g] * 5 and iterates.state("vhat") == [g**2] * 5


def test_adam_constant_gradient_with_symbolic_betas():
    g, alpha = sp.Symbol("g", positive=True), sp.Symbol("alpha", positive=True)
    b1, b2 = sp.symbols("b1 b2", positive=True)
    iterates = run_constant_gradient(opt.adam(alpha, b1, b2, 0), g, 3)
    assert [sp.simplify(step) for step in iterates.increments] == [-alpha] * 3


def test_adam_constant_gradient_with_epsilon_one():
    g, alpha = sp.Symbol("g", real=True), R(1, 10)
    outside = run_constant_gradient(opt.adam(alpha, epsilon=1), g, 5).increments
    inside = run_constant_gradient(opt.adam(alpha, epsilon=1, epsilon_placement="inside"), g, 5).increments
    for a, b in zip(outside, inside):
        assert sp.simplify(a + alpha * g / (sp.Abs(g) + 1)) == 0
        assert sp.simplify(b + alpha * g / sp.sqrt(g**2 + 1)) == 0
    assert run_constant_gradient(opt.adam(alpha, epsilon=1), 3, 2).increments == [-alpha * R(3, 4)] * 2


def test_adam_constant_gradient_default_epsilon_is_alpha_within_epsilon_effects():
    alpha, g = R(1, 1000), R(1, 2)
    for step in run_constant_gradient(opt.adam(alpha), g, 5).increments:
        assert 0 < step + alpha <= alpha * 2 * R(1, 10**8)


# --- The L1 subgradient at 0 ------------------------------------------------------------

@pytest.mark.parametrize("s0, x1", [(0, 0), (1, R(-1, 20)), (R(-1, 2), R(1, 40))])
def test_l1_step_at_zero_follows_the_stated_subgradient(s0, x1):
    rule = opt.l1_subgradient(R(1, 10), R(1, 2), subgradient_at_zero=s0)
    points = run(rule, x**2, x, 0, 3).updates
    assert points[0] == x1                                         # x1 = −η·λ·s0 since f′(0) = 0
    if s0 == 0:
        assert points == [0, 0, 0]                                 # 0 ∈ ∂(x² + λ|x|)(0): it stays
    assert float_iterates(rule, lambda t: t * t, 0.0, 3) == pytest.approx([float(p) for p in points], abs=1e-12)


def test_l1_step_away_from_zero_uses_the_sign():
    rule = opt.l1_subgradient(R(1, 10), R(1, 2))
    assert run(rule, (x - 1) ** 2, x, 0, 1).points[1] == R(2, 10)       # at 0: s = 0, only f′ = −2
    assert run(rule, (x - 1) ** 2, x, -1, 1).points[1] == -1 + R(4, 10) + R(1, 20)


def test_subgradient_outside_minus_one_one_is_rejected():
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        opt.l1_subgradient(R(1, 10), 1, subgradient_at_zero=2)


# --- The records ----------------------------------------------------------------------

def test_records_hold_the_rule_as_equations():
    rule = opt.adam()
    assert [eq.lhs for eq in rule.equations] == [opt.M, opt.V, opt.M_HAT, opt.V_HAT, opt.X]
    assert rule.updates[-1][1] == opt.X - opt.ALPHA * opt.M_HAT / (sp.sqrt(opt.V_HAT) + opt.EPSILON)
    inside = opt.adam(epsilon_placement="inside")
    assert inside.updates[-1][1] == opt.X - opt.ALPHA * opt.M_HAT / sp.sqrt(opt.V_HAT + opt.EPSILON)
    assert rule.hyperparameter_values == {"alpha": R(1, 1000), "beta_1": R(9, 10), "beta_2": R(999, 1000),
                                          "epsilon": R(1, 10**8)}
    assert rule.initial_equations[0].rhs == 0 and rule.state_symbols == (opt.M, opt.V)
    assert "\\hat{m}" in sp.latex(rule.equations[2])
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.name = "other"


def test_momentum_readings_differ_only_in_the_order_of_the_assignments():
    new, old = opt.momentum(1, R(1, 2), "new"), opt.momentum(1, R(1, 2), "old")
    assert new.updates == old.updates[::-1]
    assert dict(new.options) == {"reading": "new"} and dict(old.options) == {"reading": "old"}
    with pytest.raises(ValueError, match="reading"):
        opt.momentum(1, R(1, 2), "middle")
    with pytest.raises(ValueError, match="epsilon_placement"):
        opt.adam(epsilon_placement="under")


def test_weight_decay_forms():
    coupled = opt.gradient_descent(R(1, 10), weight_decay=R(1, 2))
    assert coupled.updates[0] == (opt.G, opt.G + opt.LAMBDA_WD * opt.X)
    decoupled = opt.adamw()
    assert decoupled.updates[0] == (opt.X, opt.X - opt.ALPHA * opt.LAMBDA_WD * opt.X)
    assert decoupled.name.startswith("AdamW") and dict(decoupled.options)["weight_decay"] == "decoupled"
    with pytest.raises(ValueError, match="weight decay"):
        opt.gradient_descent(1, weight_decay=-1)


# --- torch.optim in float64 -----------------------------------------------------------

def torch_iterates(make_optimizer, objective, steps=6, by_hand=False):
    _, f, torch_f, x0 = OBJECTIVES[objective]
    p = torch.tensor([float(x0)], dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([p])
    out = []
    for _ in range(steps):
        optimizer.zero_grad()
        if by_hand:      # the gradient set by hand from the exact derivative
            p.grad = torch.tensor([float(sp.diff(OBJECTIVES[objective][0], x).subs(x, float(p.item())))],
                                  dtype=torch.float64)
        else:
            torch_f(p).sum().backward()
        optimizer.step()
        out.append(p.item())
    return out


TORCH = {
    "gd": (opt.gradient_descent(R(1, 10)), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "gd_l2": (opt.gradient_descent(R(1, 10), weight_decay=R(1, 5)),
              lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.2)),
    "momentum_new": (opt.momentum(R(1, 10), R(9, 10), "new"),
                     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.9)),
    "momentum_new_l2": (opt.momentum(R(1, 10), R(1, 2), "new", weight_decay=R(1, 10)),
                        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5, dampening=0.5, weight_decay=0.1)),
    "nesterov": (opt.nesterov(R(1, 10), R(9, 10)),
                 lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
    "adam": (opt.adam(R(1, 10)), lambda ps: torch.optim.Adam(ps, lr=0.1, foreach=False)),
    "adam_betas": (opt.adam(R(1, 20), R(1, 2), R(3, 4), R(1, 1000)),
                   lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.5, 0.75), eps=1e-3, foreach=False)),
    "adam_l2": (opt.adam(R(1, 10), weight_decay=R(1, 10)),
                lambda ps: torch.optim.Adam(ps, lr=0.1, weight_decay=0.1, foreach=False)),
    "adamw": (opt.adamw(R(1, 10), weight_decay=R(1, 10)),
              lambda ps: torch.optim.AdamW(ps, lr=0.1, weight_decay=0.1, foreach=False)),
}


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
@pytest.mark.parametrize("name", sorted(TORCH))
def test_runner_agrees_with_torch_optim_in_float64(name, objective):
    rule, make = TORCH[name]
    assert max_error(symbolic_floats(rule, objective, 6), torch_iterates(make, objective)) < 1e-12


@pytest.mark.parametrize("name", ["momentum_new", "adam", "nesterov"])
def test_torch_with_the_gradient_set_by_hand(name):
    rule, make = TORCH[name]
    assert max_error(symbolic_floats(rule, "quartic", 6), torch_iterates(make, "quartic", by_hand=True)) < 1e-12


# --- Deliberately wrong rules are caught ----------------------------------------------

def without_bias_correction(rule):
    updates = tuple((t, {opt.M_HAT: opt.M, opt.V_HAT: opt.V}.get(t, rhs)) for t, rhs in rule.updates)
    return dataclasses.replace(rule, updates=updates)


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_adam_without_bias_correction_is_caught(objective):
    wrong = without_bias_correction(opt.adam(R(1, 10)))
    _, f, _, x0 = OBJECTIVES[objective]
    assert max_error(symbolic_floats(wrong, objective), float_iterates(wrong, f, float(x0), STEPS)) > 1e-2
    assert max_error(symbolic_floats(wrong, objective, 6), torch_iterates(TORCH["adam"][1], objective)) > 1e-2


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_momentum_with_the_readings_swapped_is_caught(objective):
    new = opt.momentum(R(1, 10), R(9, 10), "new")
    swapped = dataclasses.replace(new, updates=new.updates[::-1])        # still claims the "new" reading
    _, f, _, x0 = OBJECTIVES[objective]
    # On GELU's gentle slope the readings differ by only ~4e-5, still 10⁴ times the agreement tolerance.
    assert max_error(symbolic_floats(swapped, objective), float_iterates(swapped, f, float(x0), STEPS)) > 1e-5
    assert max_error(symbolic_floats(swapped, objective, 6), torch_iterates(TORCH["momentum_new"][1], objective)) > 1e-5


def test_nesterov_stepping_with_the_buffer_alone_is_caught():
    right = opt.nesterov(R(1, 10), R(9, 10))
    wrong = dataclasses.replace(right, updates=(right.updates[0], (opt.X, opt.X - opt.ETA * opt.B)))
    reference = float_iterates(wrong, OBJECTIVES["quadratic"][1], 2.0, STEPS)
    assert max_error(symbolic_floats(wrong, "quadratic"), reference) > 1e-2


def test_float_loops_are_the_independent_references():
    quadratic = OBJECTIVES["quadratic"][1]
    # Adam with ε = 0 and a constant slope moves exactly α per step in floats too.
    assert float_adam(lambda t: 0.3 * t, 0.0, 0.1, 0.9, 0.999, 0.0, 5) == pytest.approx([-0.1 * k for k in range(1, 6)],
                                                                                        abs=1e-9)
    assert float_momentum(quadratic, 2.0, 0.1, 0.0, 3, "new") == pytest.approx(
        float_iterates(opt.gradient_descent(R(1, 10)), quadratic, 2.0, 3), abs=1e-12)
    with pytest.raises(ValueError, match="epsilon_placement"):
        float_adam(quadratic, 0.0, 0.1, 0.9, 0.999, 0.0, 1, epsilon_placement="under")
    assert math.isfinite(float_iterates(opt.adamw(), quadratic, 2.0, 3)[-1])
