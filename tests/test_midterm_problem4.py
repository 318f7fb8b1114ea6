"""midterm/problem4: the step (or sigmoid) nonlinearity under gradient descent, and softplus."""

import json
import math

import pytest
import sympy as sp

from derivations.calculus.functions import sigmoid
from derivations.core import registry
from helpers import assert_user_error, cli

x = sp.Symbol("x", real=True)


def solve(**settings):
    return registry.load("midterm/problem4").solve(settings)


@pytest.fixture(scope="module")
def answers():
    return solve().answer_values()


def test_softplus_gradient_is_the_sigmoid(answers):
    assert answers["softplus_gradient"] == sigmoid(x)
    assert sp.simplify(sp.diff(sp.log(1 + sp.exp(x)), x) - 1 / (1 + sp.exp(-x))) == 0
    assert answers["softplus_gradient_at_0"] == sp.Rational(1, 2)


def test_step_reading_gives_exactly_zero_gradients_and_a_frozen_loss(answers):
    assert answers["olden_derivative"] == 0
    assert answers["olden_gradients"] == [[0, 0]] * 5
    assert answers["olden_losses"] == [1] * 6          # every example wrong: mean squared error 1
    assert answers["olden_loss_drop"] == 0


def test_dead_relu_stays_dead_while_softplus_recovers(answers):
    assert answers["relu_gradients"] == [[0, 0]] * 10
    # ReLU outputs 0 on targets 1, 2, 3: loss (1 + 4 + 9)/3.
    assert answers["relu_losses"] == [sp.Rational(14, 3)] * 11
    losses = [float(v) for v in answers["softplus_losses"]]
    assert losses[0] == pytest.approx(sum((math.log1p(math.exp(-1 - t)) - t) ** 2 for t in (1, 2, 3)) / 3)
    assert losses[-1] < 0.06 and float(answers["softplus_loss_drop"]) == pytest.approx(losses[0] - losses[-1])


def test_softplus_costs(answers):
    assert float(answers["overflow_threshold"]) == pytest.approx(math.log(1.7976931348623157e308), abs=1e-12)
    assert answers["naive_overflows"] is True
    assert answers["stable_softplus"][-1] == 800.0 and answers["stable_softplus"][2] == pytest.approx(math.log(2))
    assert 0.4 < answers["relu_zero_fraction"] < 0.6 and answers["softplus_zero_fraction"] == 0.0


def test_all_checks_pass_for_both_readings():
    for reading in ("step", "sigmoid"):
        results = solve(olden=reading).run_checks()
        assert results and all(r.passed for r in results), [r.name for r in results if not r.passed]


def test_sigmoid_reading_shows_saturation():
    values = solve(olden="sigmoid").answer_values()
    assert sp.simplify(values["olden_derivative"] - sigmoid(x) * (1 - sigmoid(x))) == 0
    slopes = [float(v) for v in values["sigmoid_slopes"]]
    assert slopes[0] == 0.25 and slopes == sorted(slopes, reverse=True) and slopes[-1] < 1e-4
    assert values["depth_bound"] == sp.Rational(1, 4) ** 5
    assert 0 < float(values["depth_gradient"]) < float(values["depth_bound"])
    assert 0 < float(values["olden_loss_drop"]) < 0.01          # the saturated unit barely learns
    assert all(abs(float(g)) < 0.05 for pair in values["olden_gradients"] for g in pair)


def test_small_x_does_not_overflow():
    values = solve(large_x=700).answer_values()
    assert values["naive_overflows"] is False


@pytest.mark.parametrize("reading, name, wrong", [
    ("step", "softplus_gradient", sp.exp(x)),
    ("step", "softplus_gradient", sigmoid(x) * (1 - sigmoid(x))),
    ("step", "olden_derivative", sp.Integer(1)),
    ("step", "relu_gradients", [[0, 0]] * 9 + [[0, sp.Rational(1, 10)]]),
    ("step", "softplus_loss_drop", sp.Float(4.4)),
    ("step", "naive_overflows", False),
    ("step", "softplus_zero_fraction", 0.5),
    ("sigmoid", "olden_derivative", sigmoid(x)),
    ("sigmoid", "depth_bound", sp.Rational(1, 4) ** 4),
    ("sigmoid", "sigmoid_slopes", [sp.Rational(1, 2), 0.105, 0.0066, 4.5e-5]),
])
def test_a_wrong_answer_is_caught(reading, name, wrong):
    solution = solve(olden=reading)
    answer = next(a for a in solution.answers if a.name == name)
    answer.value = wrong
    assert any(not r.passed for r in solution.run_checks())


def test_cli_json_sigmoid_reading():
    run = cli("solve", "midterm/problem4", "--set", "olden=sigmoid", "--set", "depth=3", "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    values = {a["name"]: a["value"] for a in data["answers"]}
    assert values["depth_bound"] == pytest.approx(1 / 64)
    assert values["softplus_gradient_at_0"] == 0.5
    assert all(c["passed"] for c in data["checks"])


@pytest.mark.parametrize("setting, fragment", [
    ("olden=tanh", "olden"),
    ("eta=0", "eta"),
    ("depth=0", "depth"),
    ("steps=1000", "steps"),
    ("dead_w0=1", "dead_w0"),
])
def test_bad_settings_are_one_line_errors(setting, fragment):
    assert_user_error(cli("solve", "midterm/problem4", "--set", setting), fragment)


def test_step_pre_activation_exactly_at_zero_is_an_error():
    # w0 = 1, b0 = 1: the input −1 gives wx + b = 0, where the step has no derivative.
    assert_user_error(cli("solve", "midterm/problem4", "--set", "w0=1", "--set", "b0=1"), "does not evaluate")
