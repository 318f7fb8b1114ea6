"""midterm/problem1: the L1 regulariser's subgradient, the update, a worked step and shrinkage."""

import json

import pytest
import sympy as sp

from derivations.core import registry
from helpers import assert_user_error, cli

R = sp.Rational
w = sp.Symbol("w", real=True)
w_t = sp.Symbol("w_t", real=True)
lam = sp.Symbol("lambda", positive=True)
eta = sp.Symbol("eta", positive=True)
L = sp.Function("L")


def solve(**settings):
    return registry.load("midterm/problem1").solve(settings)


@pytest.fixture(scope="module")
def answers():
    return solve().answer_values()


def test_gradient_of_the_l1_term_is_lambda_sign_w(answers):
    assert sp.simplify(answers["l1_gradient"] - lam * sp.sign(w)) == 0
    assert answers["subgradient_at_zero"] == 0


def test_update_subtracts_eta_times_loss_slope_plus_lambda_sign(answers):
    expected = w_t - eta * (sp.Derivative(L(w_t), w_t) + lam * sp.sign(w_t))
    assert sp.simplify(answers["update"] - expected) == 0


def test_worked_step_at_the_defaults(answers):
    # L(w) = (w − 3)²/2, w0 = 1, η = 1/10, λ = 1/2: L′(1) = −2, w1 = 1 − (−2 + 1/2)/10 = 23/20.
    assert answers["w1"] == R(23, 20)
    assert answers["iterates"] == [R(23, 20), R(257, 200), R(2813, 2000)]


def test_small_weight_l1_crosses_zero_prox_lands_on_it_decay_only_shrinks(answers):
    # w0 = 3/25, ηλ = 1/20: the subgradient step chatters across 0, soft-thresholding stops at 0.
    assert answers["l1_path"] == [R(7, 100), R(1, 50), R(-3, 100), R(1, 50), R(-3, 100)]
    assert answers["prox_path"] == [R(7, 100), R(1, 50), 0, 0, 0]
    assert answers["prox_steps_to_zero"] == 3
    assert answers["decay_path"] == [R(3, 25) * R(19, 20) ** t for t in range(1, 6)]
    assert all(v != 0 for v in answers["decay_path"])


def test_all_checks_pass_at_the_defaults():
    results = solve().run_checks()
    assert results and all(r.passed for r in results), [r.name for r in results if not r.passed]


def test_subgradient_convention_at_zero_is_a_parameter():
    # From 3/20 with ηλ = 1/20 the weight hits 0 exactly on step 3; s(0) decides what happens next.
    stay = solve(small_w0=R(3, 20)).answer_values()
    assert stay["l1_path"] == [R(1, 10), R(1, 20), 0, 0, 0]
    push = solve(small_w0=R(3, 20), subgradient_at_zero=1)
    values = push.answer_values()
    assert values["subgradient_at_zero"] == lam
    assert values["l1_path"] == [R(1, 10), R(1, 20), 0, R(-1, 20), 0]
    assert all(r.passed for r in push.run_checks())


def test_worked_step_from_zero_uses_the_convention():
    # L′(0) = −3: w1 = −(−3 + s0·λ)/10.
    assert solve(w0=0).answer_values()["w1"] == R(3, 10)
    assert solve(w0=0, subgradient_at_zero=-1).answer_values()["w1"] == R(7, 20)


def test_loss_eta_and_lambda_are_parameters():
    values = solve(loss=sp.Symbol("x", real=True) ** 2, eta=R(1, 4), lam=1).answer_values()
    assert values["w1"] == 1 - R(1, 4) * (2 + 1) == R(1, 4)


def test_weight_decay_form_full_doubles_the_shrink():
    solution = solve(weight_decay_form="full")
    assert solution.answer_values()["decay_path"][0] == R(3, 25) * R(9, 10)
    assert all(r.passed for r in solution.run_checks())


def test_subgradient_check_rejects_a_value_outside_the_interval():
    solution = solve()
    for bad in (lam * R(3, 2), -2 * lam):
        solution.answers[[a.name for a in solution.answers].index("subgradient_at_zero")].value = bad
        failed = [r.name for r in solution.run_checks() if not r.passed]
        assert failed == ["subgradient_at_zero vs the subgradient inequality λ|v| ≥ c·v"]


@pytest.mark.parametrize("name, wrong", [
    ("l1_gradient", lam * w),                                                          # weight decay's gradient
    ("update", w_t - eta * (sp.Derivative(L(w_t), w_t) + lam * w_t)),
    ("update", w_t + eta * (sp.Derivative(L(w_t), w_t) + lam * sp.sign(w_t))),          # ascent
    ("w1", R(21, 20)),                                                                  # sign of λ flipped
    ("prox_path", [R(7, 100), R(1, 50), R(-3, 100), R(1, 50), R(-3, 100)]),
    ("prox_steps_to_zero", 2),
])
def test_a_wrong_answer_is_caught(name, wrong):
    solution = solve()
    answer = next(a for a in solution.answers if a.name == name)
    answer.value = wrong
    assert any(not r.passed for r in solution.run_checks())


def test_cli_json_and_settings():
    run = cli("solve", "midterm/problem1", "--set", "subgradient_at_zero=1/2", "--set", "loss=x^2/2",
              "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    values = {a["name"]: a["value"] for a in data["answers"]}
    assert values["w1"] == pytest.approx(1 - 0.1 * (1 + 0.5))
    assert all(c["passed"] for c in data["checks"])


@pytest.mark.parametrize("setting, fragment", [
    ("subgradient_at_zero=2", "subgradient_at_zero"),
    ("lam=0", "lam"),
    ("loss=foo(x)", "loss"),
    ("loss=log(x)", "loss"),
    ("weight_decay_form=quarter", "weight_decay_form"),
])
def test_bad_settings_are_one_line_errors(setting, fragment):
    args = ["--set", setting] + (["--set", "w0=-1"] if setting.startswith("loss=log") else [])
    assert_user_error(cli("solve", "midterm/problem1", *args), fragment)
