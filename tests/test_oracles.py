"""The reusable oracles: each accepts a right claim and rejects a wrong one."""

import numpy as np
import pytest
import sympy as sp

from derivations.calculus.functions import sigmoid
from derivations.calculus.oracles import Gradient, Identity, Reference, sample_points
from derivations.core.model import Problem, Solution

x, y = sp.symbols("x y", real=True)
a = sp.Symbol("a", positive=True)


def test_identity_scalar_accepts_true_and_rejects_false():
    assert Identity().error(sp.sin(x) ** 2, 1 - sp.cos(x) ** 2) < 1e-25
    assert Identity().error(sp.sin(x) ** 2 + 1e-6, 1 - sp.cos(x) ** 2) > 1e-7


def test_identity_differentiates_numerically_not_with_sympy():
    lhs = sp.Derivative(sigmoid(2 * x + 1), x)
    right = 2 * sigmoid(2 * x + 1) * (1 - sigmoid(2 * x + 1))
    assert Identity().error(right, lhs) < 1e-20
    assert Identity().error(sigmoid(2 * x + 1) * (1 - sigmoid(2 * x + 1)), lhs) > 1e-3   # factor 2 missing


def test_identity_uses_positive_points_for_positive_symbols():
    assert Identity().error(a, sp.sqrt(a ** 2)) < 1e-25


def test_identity_matrix_catches_a_missing_transpose_on_rectangular_shapes():
    m, n = sp.symbols("m n", integer=True, positive=True)
    W, v = sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("v", m, 1)
    assert Identity(of=(W.T * v).T, tolerance=1e-9).error(v.T * W) < 1e-12
    assert Identity(of=(W.T * v).T, tolerance=1e-9).error(v.T * W.T) == float("inf")


def test_sample_points_make_symbolic_dimensions_distinct():
    m, n = sp.symbols("m n", integer=True, positive=True)
    (point,) = sample_points([sp.MatrixSymbol("W", m, n)], count=1)
    assert point[m] != point[n]


def test_gradient_full_and_directional():
    rng = np.random.default_rng(1)
    values = {"W": rng.standard_normal((3, 2)), "x": rng.standard_normal((2, 1))}
    loss = lambda v: float(np.sum((v["W"] @ v["x"]) ** 2))  # noqa: E731
    true_gradient = 2 * (values["W"] @ values["x"]) @ values["x"].T          # shape of W
    for direction in (False, True):
        ok = Gradient(loss=loss, wrt="W", values=values, layout="gradient", direction=direction)
        assert ok.error(true_gradient) < 1e-6
        assert ok.error(1.1 * true_gradient) > 1e-3
        numerator = Gradient(loss=loss, wrt="W", values=values, direction=direction)
        assert numerator.error(true_gradient.T) < 1e-6
    assert Gradient(loss=loss, wrt="W", values=values).error(true_gradient) == float("inf")   # layout


def test_reference_compares_with_its_computation_once():
    calls = []
    oracle = Reference(compute=lambda: calls.append(1) or [1.0, 2.0], describe="a list")
    assert oracle.error([1, 2]) == 0 and oracle.error([1, 3]) == 1 and len(calls) == 1


def _solution():
    return Solution(Problem("t/p", "t", "k", "s", lambda p, s: None), {})


def test_attached_oracles_read_the_current_answer_and_step():
    sol = _solution()
    sol.answer("d", sp.Derivative(y, x), 2 * x, check=Identity(of=sp.Derivative(x ** 2, x)))
    step = sol.step("the chain rule gives {d}", sp.Derivative(x ** 3, x), 3 * x ** 2,
                    math={"d": sp.Symbol("d")}, check=Identity())
    assert all(r.passed for r in sol.run_checks())
    assert [r.kind for r in sol.run_checks()] == ["answer", "step"]
    sol.answers[0].value = 3 * x
    step.rhs = 2 * x ** 2
    assert not any(r.passed for r in sol.run_checks())


def test_step_text_names_only_given_math():
    with pytest.raises(ValueError, match="names"):
        _solution().step("at {x0}", math={"x1": 1})
    pieces = _solution().step("at {x0}.", math={"x0": sp.Integer(3)}).pieces()
    assert pieces[0] == "at " and pieces[1].value == 3 and pieces[2:] == ["."]
    assert _solution().step("labels in {0, 1}").pieces() == ["labels in {0, 1}"]
