"""midterm/problem6: Adam with a constant gradient, against torch.optim.Adam in float64 and the
symbolic runner's exact iterates."""

import json
import math

import pytest
import sympy as sp
import torch

from derivations.calculus import optimizers as opt
from derivations.calculus.iterates import run_constant_gradient
from derivations.calculus.optimizers import ALPHA, BETA_1, BETA_2, EPSILON, G, T
from derivations.core import registry
from helpers import assert_user_error, cli

R = sp.Rational
TABLE_G = [10.0**k for k in range(-3, 4)]
STEPS = 6


@pytest.fixture(scope="module")
def solution():
    return registry.load("midterm/problem6").solve()


def answers(solution):
    return solution.answer_values()


def torch_updates(g, lr=1e-3, betas=(0.9, 0.999), eps=1.0, steps=STEPS):
    """θ_t − θ_{t−1} of torch.optim.Adam in float64 with the gradient set by hand to g."""
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([p], lr=lr, betas=betas, eps=eps, foreach=False)
    out, before = [], 0.0
    for _ in range(steps):
        optimizer.zero_grad()
        p.grad = torch.tensor([g], dtype=torch.float64)
        optimizer.step()
        out.append(p.item() - before)
        before = p.item()
    return out


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("g", TABLE_G)
def test_table_matches_torch_adam_at_every_step(solution, g, sign):
    table = {float(row[0]): float(row[1]) for row in answers(solution)["update_table"].tolist()}
    lr = 1e-3
    for step in torch_updates(sign * g, lr=lr):
        assert abs(step / lr - sign * table[g]) < 1e-12        # relative to the step size α


@pytest.mark.parametrize("eps", ["1/100", "10"])
def test_table_for_other_eps_matches_torch(eps):
    sol = registry.load("midterm/problem6").solve({"eps": sp.Rational(eps)})
    for g, value in sol.answer_values()["update_table"].tolist():
        for step in torch_updates(float(g), eps=float(sp.Rational(eps))):
            assert abs(step / 1e-3 - float(value)) < 1e-12


@pytest.mark.parametrize("g", [-1000.0, -0.3, 1e-3, 2.5])
@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.75)])
def test_epsilon_zero_update_is_minus_alpha_sign_g_in_torch(solution, g, betas):
    formula = answers(solution)["update_eps0"]
    alpha = 0.05
    claimed = float(formula.subs({ALPHA: alpha, G: g}))
    for step in torch_updates(g, lr=alpha, betas=betas, eps=0.0):
        assert abs(step - claimed) < 1e-12 * alpha
    assert claimed == -alpha * math.copysign(1.0, g)


@pytest.mark.parametrize("g", [-7.0, -0.01, 0.2, 300.0])
def test_epsilon_formula_matches_torch(solution, g):
    formula = answers(solution)["update_eps"]
    alpha, eps, betas = 0.01, 0.5, (0.8, 0.99)
    claimed = float(formula.subs({ALPHA: alpha, EPSILON: eps, G: g}))
    for step in torch_updates(g, lr=alpha, betas=betas, eps=eps):
        assert abs(step - claimed) < 1e-12 * alpha


def test_table_values_exact_and_limits(solution):
    table = answers(solution)["update_table"]
    assert table.shape == (7, 2)
    assert table[:, 0].T.tolist()[0] == [R(1, 1000), R(1, 100), R(1, 10), 1, 10, 100, 1000]
    assert table[:, 1].T.tolist()[0] == [R(-1, 1001), R(-1, 101), R(-1, 11), R(-1, 2), R(-10, 11), R(-100, 101),
                                         R(-1000, 1001)]
    # small g: gradient descent with rate α/ε; large g: close to the sign step
    assert abs(float(table[0, 1]) + 1e-3) < 1e-6 and abs(float(table[-1, 1]) + 1) < 1e-3


def test_moments_match_the_runner_exactly_for_symbolic_g():
    g = sp.Symbol("g", real=True, nonzero=True)
    b1, b2 = R(9, 10), R(999, 1000)
    solution = registry.load("midterm/problem6").solve()
    values = answers(solution)
    iterates = run_constant_gradient(opt.adam(R(1, 1000), b1, b2, 0), g, 5)
    for t in range(1, 6):
        at = {G: g, T: t, BETA_1: b1, BETA_2: b2}
        assert sp.simplify(values["m_t"].subs(at) - iterates.state("m")[t]) == 0
        assert sp.simplify(values["v_t"].subs(at) - iterates.state("v")[t]) == 0
        assert values["mhat_t"].subs(at) == iterates.state("mhat")[t - 1]
        assert values["vhat_t"].subs(at) == iterates.state("vhat")[t - 1]
        assert sp.simplify(values["update_eps0"].subs({G: g, ALPHA: R(1, 1000)}) - iterates.increments[t - 1]) == 0


def test_inside_placement():
    sol = registry.load("midterm/problem6").solve({"eps_placement": "inside"})
    values = sol.answer_values()
    assert sp.simplify(values["update_eps"] + ALPHA * G / sp.sqrt(G**2 + EPSILON)) == 0
    assert sp.simplify(values["update_table"][3, 1] + 1 / sp.sqrt(2)) == 0
    assert all(r.passed for r in sol.run_checks())


def test_all_checks_pass_and_catch_a_wrong_table(solution):
    assert all(r.passed for r in solution.run_checks())
    table = next(a for a in solution.answers if a.name == "update_table")
    good = table.value
    table.value = good.copy()
    table.value[3, 1] = R(-1, 3)
    failed = [r.name for r in solution.run_checks() if not r.passed]
    table.value = good
    assert failed == ["update_table vs float_adam, t = 1 … 5"]


def test_induction_step_check_catches_a_wrong_closed_form(solution):
    step = next(s for s in solution.steps if s.rhs == (1 - BETA_1**T) * G and s.lhs != sp.Symbol("m_t"))
    original = step.rhs
    step.rhs = (1 - BETA_1 ** (T + 1)) * G
    assert step.check.error(step.rhs, step.lhs) > 1e-3
    step.rhs = original
    assert step.check.error(step.rhs, step.lhs) < 1e-20


def test_cli_json_table():
    run = cli("solve", "midterm/problem6", "--set", "eps=1", "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    values = {a["name"]: a["value"] for a in data["answers"]}
    table = values["update_table"]
    assert [row[0] for row in table] == pytest.approx(TABLE_G)
    assert [row[1] for row in table] == pytest.approx([-g / (g + 1) for g in TABLE_G], rel=1e-15)
    assert values["m_t"] is None and data["parameters"]["eps_placement"] == "outside"
    assert all(c["passed"] for c in data["checks"])


@pytest.mark.parametrize("setting", ["eps=0", "beta1=1", "beta2=0", "alpha=-1", "steps=51", "eps_placement=under"])
def test_bad_settings_exit_2(setting):
    run = cli("solve", "midterm/problem6", "--set", setting)
    assert_user_error(run)
