"""What an instructor would mark down in hw3/problem1, problem2, problem3 and problem5, pinned."""

import json

import numpy as np
import pytest
import sympy as sp

from derivations.calculus.functions import sigmoid
from derivations.core import registry
from helpers import cli, cli_in_process


def solve(problem_id, **settings):
    return registry.load(problem_id).solve(settings)


def answers(solution):
    return {a.name: a for a in solution.answers}


# --- hw3/problem5: part (3) for general bounds a ≤ y ≤ b ---------------------------------------

@pytest.mark.parametrize("family, general, instance", [
    ("smooth", lambda a, b, z: a + (b - a) * sigmoid(z), 3 * sigmoid(sp.Symbol("z", real=True)) - 1),
    ("hard", lambda a, b, z: sp.Min(sp.Max(z, a), b), sp.Min(sp.Max(sp.Symbol("z", real=True), -1), 2)),
])
def test_hw3_problem5_part3_is_general_in_a_and_b_with_the_instance_beside_it(family, general, instance):
    from problems.hw3 import problem5 as p5

    got = answers(solve("hw3/problem5", family=family))
    a, b, z = p5.A, p5.B, p5.z
    assert got["f_bounded"].value.free_symbols == {a, b, z}
    assert sp.simplify(got["f_bounded"].value - general(a, b, z)) == 0
    assert sp.simplify(got["f_bounded_instance"].value - instance) == 0
    assert got["projection_bounded"].value == sp.Min(sp.Max(z, a), b)
    assert got["projection_bounded_instance"].value == sp.Min(sp.Max(z, -1), 2)
    # the symbol says which bounds: f₃(z, a, b) and f₃(z, −1, 2)
    assert got["f_bounded"].symbol.args == (z, a, b) and got["f_bounded_instance"].symbol.args == (z, -1, 2)


def test_hw3_problem5_general_part3_is_checked_at_several_bounds():
    solution = solve("hw3/problem5")
    general = [c for c in solution.checks if c.name.startswith(("f_bounded vs", "projection_bounded vs"))]
    assert len(general) == 2 and all("3 choices of (a, b)" in c.name for c in general)
    # a formula right only at the default bounds (a = −1, b = 2) fails the general check
    wrong = {**solution.answer_values(), "f_bounded": 3 * sigmoid(sp.Symbol("z", real=True)) - 1}
    assert not general[0].run(wrong).passed
    assert all(r.passed for r in solution.run_checks())


def test_hw3_problem5_latex_subscripts_hold_no_words_or_arguments(capsys):
    run = cli_in_process(capsys, "solve", "hw3/problem5", "--format", "latex")
    assert run.code == 0, run.err
    assert "_{nonnegative" not in run.out and "nonnegative(z)" not in run.out and "bounded(z)" not in run.out
    out = run.out.replace(", ", ",")
    assert r"P_{1}{\left(z \right)}" in out and r"f_{3}{\left(z,a,b \right)}" in out
    assert r"f_{3}{\left(z,-1,2 \right)}" in out


# --- hw3/problem1: the h₃ typo, and `--values` that give numbers ------------------------------

def test_hw3_problem1_states_the_h3_typo():
    assumptions = solve("hw3/problem1").assumptions
    assert any("h₃" in a and "typo" in a for a in assumptions)


def _hw3_problem1_point():
    """A point of the net with f₁ = tanh, f₂ = sin, f₃ = σ and L = (ŷ − t)²/2, and what
    `--values` takes there: the hidden outputs, the slopes f′ₙ(uₙ) and ∂L/∂ŷ."""
    import math

    p = {"x": 0.7, "w1": 1.3, "w2": -0.4, "w3": 0.9, "w4": -1.7, "b1": 0.2, "b2": -0.5, "b3": 0.1}
    t = 0.25
    u1, u2 = p["w1"] * p["x"] + p["b1"], p["w2"] * p["x"] + p["b2"]
    h1, h2 = math.tanh(u1), math.sin(u2)
    u3 = p["w3"] * h1 + p["w4"] * h2 + p["b3"]
    yhat = 1 / (1 + math.exp(-u3))
    values = {**p, "h1": h1, "h2": h2, "df1": 1 - h1 ** 2, "df2": math.cos(u2), "df3": yhat * (1 - yhat),
              "dL_dyhat": yhat - t}
    return p, t, values


def test_hw3_problem1_values_give_the_gradients_torch_autograd_computes(capsys):
    torch = pytest.importorskip("torch")
    p, t, values = _hw3_problem1_point()
    run = cli_in_process(capsys, "solve", "hw3/problem1", "--format", "json", "--values", json.dumps(values))
    assert run.code == 0, run.err
    got = {a["name"]: a["value"] for a in json.loads(run.out)["answers"]}
    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
    h1 = torch.tanh(leaves["w1"] * leaves["x"] + leaves["b1"])
    h2 = torch.sin(leaves["w2"] * leaves["x"] + leaves["b2"])
    yhat = torch.sigmoid(leaves["w3"] * h1 + leaves["w4"] * h2 + leaves["b3"])
    ((yhat - t) ** 2 / 2).backward()
    assert set(got) == {f"dL_d{name}" for name in p}
    for name, leaf in leaves.items():
        assert got[f"dL_d{name}"] == pytest.approx(float(leaf.grad), abs=1e-12), name


def test_hw3_problem1_values_missing_a_name_say_which(capsys):
    from helpers import assert_user_error

    _, _, values = _hw3_problem1_point()
    del values["df3"]
    assert_user_error(cli_in_process(capsys, "solve", "hw3/problem1", "--values", json.dumps(values)), "df3")
    del values["dL_dyhat"]
    assert_user_error(cli_in_process(capsys, "solve", "hw3/problem1", "--values", json.dumps(values)), "dL_dyhat")


def test_hw3_problem1_answers_print_the_slopes_at_their_pre_activations():
    from derivations.calculus.printing import inline
    from derivations.render.latex import latex

    value = answers(solve("hw3/problem1"))["dL_dw1"].value
    assert "f₁′(b₁ + w₁·x)" in inline(value) and "f₃′(b₃ + h₁·w₃ + h₂·w₄)" in inline(value)
    assert r"f_{1}'\left(b_{1} + w_{1} x\right)" in latex(value)
    assert {s.name for s in value.free_symbols} == {"df1", "df3", "w3", "x", "∂L/∂yhat"}


# --- hw3/problem2: the reading through x = ±√z, and why the graph says 0 -----------------------

def test_hw3_problem2_names_the_reading_through_x_and_why_the_graph_gives_zero():
    from problems.hw3 import problem2 as p2

    solution = solve("hw3/problem2")
    assert any("leaf" in a and "no such path" in a for a in solution.assumptions)
    assert any("−√z" in a and "σ′(h)/x" in a and "dy_dz_through_x" in a for a in solution.assumptions)
    got = answers(solution)
    assert got["dy_dz"].value == 0
    x = p2.x
    slope = sigmoid(2 * x + 1) * (1 - sigmoid(2 * x + 1))
    assert sp.simplify(got["dy_dz_through_x"].value - slope / x) == 0
    assert any(s.lhs == sp.Derivative(p2.y, p2.z) and s.check is not None and s.rhs.has(p2.h) for s in solution.steps)
    assert all(r.passed for r in solution.run_checks())


@pytest.mark.parametrize("wrong", ["dy/dx", "no 1/x", "one branch"])
def test_hw3_problem2_the_reading_through_x_is_checked(wrong):
    from problems.hw3 import problem2 as p2

    solution = solve("hw3/problem2")
    x, slope = p2.x, sigmoid(2 * p2.x + 1) * (1 - sigmoid(2 * p2.x + 1))
    claim = {"dy/dx": 2 * slope, "no 1/x": slope, "one branch": slope / sp.Abs(x)}[wrong]
    check = next(c for c in solution.checks if c.name.startswith("dy_dz_through_x"))
    assert not check.run({**solution.answer_values(), "dy_dz_through_x": claim}).passed


def test_hw3_problem2_values_evaluate_the_reading_through_x(capsys):
    run = cli_in_process(capsys, "solve", "hw3/problem2", "--format", "json", "--values", '{"x": -0.75}')
    assert run.code == 0, run.err
    got = {a["name"]: a["value"] for a in json.loads(run.out)["answers"]}
    s = 1 / (1 + np.exp(-(2 * -0.75 + 1)))
    assert got["dy_dz_through_x"] == pytest.approx(s * (1 - s) / -0.75, rel=1e-12)
    assert got["dy_dz"] == 0
