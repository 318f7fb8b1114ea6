"""Gradient descent and momentum iterates from a symbolic objective (derivations.calculus.iterates)."""

import doctest
import math

import mpmath
import pytest
import sympy as sp

from derivations.calculus import iterates, optimizers
from derivations.calculus.functions import sigmoid
from derivations.calculus.iterates import (
    central_difference, float_gelu, float_golden_section, float_gradient_descent, float_iterates, float_momentum,
    gradient, gradient_descent, momentum, run, run_constant_gradient,
)

x = sp.Symbol("x", real=True)
GELU = x * sigmoid(sp.Rational(851, 500) * x)


def mp_gelu(t):
    return t / (1 + mpmath.exp(-mpmath.mpf(1702) / 1000 * t))


def mp_momentum(x0, eta, beta, steps, reading):
    """Independent reference: mpmath's own numeric derivative, no SymPy."""
    with mpmath.workdps(40):
        xt = mpmath.mpf(x0)
        v = mpmath.diff(mp_gelu, xt)
        out = []
        for _ in range(steps):
            v_new = beta * v + (1 - beta) * mpmath.diff(mp_gelu, xt)
            xt = xt - eta * (v_new if reading == "new" else v)
            v = v_new
            out.append(xt)
        return out


def test_quadratic_descent_is_exact():
    run = gradient_descent(x**2, x, 1, sp.Rational(1, 4), 3)
    assert run.points == [1, sp.Rational(1, 2), sp.Rational(1, 4), sp.Rational(1, 8)]
    assert all(p.is_Rational for p in run.points)
    assert run.values[-1] == sp.Rational(1, 64)
    assert run.updates == run.points[1:]


def test_first_gelu_step_from_zero_is_exactly_minus_one_twentieth():
    run = gradient_descent(GELU, x, 0, sp.Rational(1, 10), 3)
    assert run.gradients[0] == sp.Rational(1, 2)
    assert run.points[1] == sp.Rational(-1, 20)
    assert isinstance(run.points[2], sp.Float)


@pytest.mark.parametrize("digits", [15, 30, 60])
def test_decimal_iterates_are_correct_to_the_requested_digits(digits):
    run = gradient_descent(GELU, x, 0, sp.Rational(1, 10), 3, digits=digits)
    with mpmath.workdps(digits + 20):
        xt = mpmath.mpf(0)
        for t in range(3):
            xt = xt - mpmath.mpf(1) / 10 * mpmath.diff(mp_gelu, xt)
            claimed = mpmath.mpf(str(run.points[t + 1]))
            assert abs(claimed - xt) <= abs(xt) * mpmath.mpf(10) ** (2 - digits)


@pytest.mark.parametrize("reading", ["new", "old"])
def test_momentum_both_readings_match_an_mpmath_loop(reading):
    run = momentum(GELU, x, -3, sp.Rational(1, 10), sp.Rational(9, 10), 3, reading=reading)
    reference = mp_momentum(-3, mpmath.mpf("0.1"), mpmath.mpf("0.9"), 3, reading)
    for claimed, ref in zip(run.updates, reference):
        assert abs(float(claimed) - float(ref)) < 1e-14
    assert len(run.velocities) == 4  # v0 … v3


def test_momentum_readings_agree_on_the_first_step_and_differ_later():
    new = momentum(GELU, x, -3, sp.Rational(1, 10), sp.Rational(9, 10), 3, reading="new")
    old = momentum(GELU, x, -3, sp.Rational(1, 10), sp.Rational(9, 10), 3, reading="old")
    assert new.points[1] == old.points[1]
    assert abs(float(new.points[2] - old.points[2])) > 1e-7
    # The sheet's momentum values, pinned to 10 significant digits (mpmath, 40 digits).
    assert float(new.points[3]) == pytest.approx(-2.992632526218, rel=1e-11)
    assert float(old.points[3]) == pytest.approx(-2.992634740182, rel=1e-11)


def test_momentum_with_beta_zero_is_gradient_descent():
    gd = gradient_descent(GELU, x, -3, sp.Rational(1, 10), 4)
    mom = momentum(GELU, x, -3, sp.Rational(1, 10), 0, 4, reading="new")
    assert [float(a) for a in gd.points] == pytest.approx([float(b) for b in mom.points], abs=1e-25)


def test_unknown_reading_is_rejected():
    with pytest.raises(ValueError, match="reading"):
        momentum(GELU, x, 0, 1, sp.Rational(1, 2), 2, reading="middle")


def test_non_numeric_gradient_is_reported():
    y = sp.Symbol("y")
    with pytest.raises(ValueError, match="not a finite real number"):
        gradient_descent(x * y, x, 0, 1, 1)


def test_gradient_is_symbolic_diff():
    assert sp.simplify(gradient(x**3, x) - 3 * x**2) == 0


def test_float_references():
    assert central_difference(math.sin, 0.3) == pytest.approx(math.cos(0.3), abs=1e-9)
    assert float_gradient_descent(lambda t: t * t, 1.0, 0.25, 2) == pytest.approx([0.5, 0.25])
    assert float_momentum(lambda t: t * t, 1.0, 0.25, 0.0, 2) == pytest.approx([0.5, 0.25])
    assert float_gelu(-800.0) == pytest.approx(0.0) and float_gelu(800.0) == 800.0
    assert float_golden_section(lambda t: (t - 0.3) ** 2, -1, 1) == pytest.approx(0.3, abs=1e-7)


def test_float_central_difference_is_the_one_numpy_routine(monkeypatch):
    import numpy as np
    from derivations.calculus.finite_differences import central_differences

    at = np.array([0.3])
    assert central_difference(float_gelu, 0.3) == central_differences(lambda a: float_gelu(float(a[0])), at)[0]
    calls = []
    monkeypatch.setattr(iterates, "central_differences", lambda f, x, h: calls.append(h) or np.float64(2.0))
    assert central_difference(math.sin, 0.3, 1e-4) == 2.0 and calls == [1e-4]     # no second formula


def test_module_doctests():
    for module in (iterates, optimizers):
        assert doctest.testmod(module).failed == 0


def test_wrappers_run_the_records():
    wrapped = momentum(GELU, x, -3, sp.Rational(1, 10), sp.Rational(9, 10), 3, reading="old")
    direct = run(optimizers.momentum(sp.Rational(1, 10), sp.Rational(9, 10), "old"), GELU, x, -3, 3)
    assert wrapped.points == direct.points and wrapped.velocities == direct.velocities
    assert wrapped.method == "momentum (old reading)" and wrapped.rule == direct.rule
    assert gradient_descent(GELU, x, 0, sp.Rational(1, 10), 2).method == "gradient descent"


def test_increments_and_state_history():
    run_ = run(optimizers.nesterov(sp.Rational(1, 4), sp.Rational(1, 2)), x**2, x, 1, 2)
    assert run_.increments == [sp.Rational(-3, 4), sp.Rational(-5, 16)]
    assert run_.state("b") == [0, 2, sp.Rational(3, 2)] and run_.velocities == []


def test_float_iterates_picks_the_rules_own_loop():
    rule = optimizers.momentum(sp.Rational(1, 10), sp.Rational(9, 10), "old")
    assert float_iterates(rule, float_gelu, -3.0, 3) == float_momentum(float_gelu, -3.0, 0.1, 0.9, 3, "old")
    with pytest.raises(ValueError, match="weight_decay"):
        float_gradient_descent(float_gelu, 0.0, 0.1, 1, lambda_wd=0.1, weight_decay="both")


def test_exact_mode_keeps_symbols_and_rejects_infinities():
    g = sp.Symbol("g", positive=True)
    assert run_constant_gradient(optimizers.gradient_descent(sp.Rational(1, 2)), g, 2).points == [0, -g / 2, -g]
    with pytest.raises(ValueError, match="not finite"):
        run_constant_gradient(optimizers.adam(epsilon=0), 0, 1)
    with pytest.raises(ValueError, match="not a finite real number"):
        run_constant_gradient(optimizers.adam(epsilon=0), 0, 1, exact=False)
