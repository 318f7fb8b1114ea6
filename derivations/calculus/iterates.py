"""Optimizer iterates from a symbolic objective: gradient descent and GD with momentum.

The gradient is taken once with ``sympy.diff`` and evaluated at each iterate. An iterate stays
exact while the gradient at it is rational (GD on GELU from x₀ = 0 gives x₁ = −1/20 exactly,
because σ(0) = 1/2); from the first irrational value on, the iteration runs in decimal
arithmetic at ``digits`` significant digits (plus guard digits), so the printed iterates are
correct to the precision asked for.

Momentum follows the exponentially weighted form

    v₀ = ∇f(x₀),   v_{t+1} = β v_t + (1 − β) ∇f(x_t),   x_{t+1} = x_t − η v,

which leaves open whether the step uses the freshly updated average (``reading="new"``:
v = v_{t+1}) or the one from the previous step (``reading="old"``: v = v_t). Both are offered.

The module also holds plain-float versions of both methods (``float_*``) that take a Python
callable and differentiate it by central differences, never touching SymPy: they are the
independent reference the numeric checks compare symbolic iterates against.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> gradient_descent(x**2, x, 1, sp.Rational(1, 4), 2).points
[1, 1/2, 1/4]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import sympy as sp

DIGITS = 30
GUARD_DIGITS = 10
MOMENTUM_READINGS = ("new", "old")


@dataclass
class Iterates:
    """One optimizer run: ``points[t]`` is x_t (t = 0 … steps), ``gradients[t]`` is ∇f(x_t),
    ``values[t]`` is f(x_t), and for momentum ``velocities[t]`` is v_t (t = 0 … steps)."""

    method: str
    points: list[sp.Expr]
    gradients: list[sp.Expr]
    values: list[sp.Expr]
    velocities: list[sp.Expr] = field(default_factory=list)

    @property
    def updates(self) -> list[sp.Expr]:
        """x_1 … x_T: the iterates after each step (x_0 excluded)."""
        return self.points[1:]


def gradient(objective: sp.Expr, variable: sp.Symbol) -> sp.Expr:
    """df/dx, symbolic."""
    return sp.diff(objective, variable)


def evaluate_at(expr: sp.Expr, variable: sp.Symbol, point: sp.Expr, digits: int = DIGITS) -> sp.Expr:
    """``expr`` at ``variable = point``: exact when the result is rational, otherwise a
    ``Float`` with ``digits`` significant digits. Raises ``ValueError`` when the result is not
    a finite real number (a free symbol left over, a pole, a complex value)."""
    value = sp.sympify(expr).subs(variable, point)
    if not value.is_Rational:
        value = value.evalf(digits)
    if not value.is_number or value.free_symbols or not (value.is_real and value.is_finite):
        raise ValueError(f"{expr} at {variable} = {point} is not a finite real number: {value}")
    return value


def _exact_or_float(value: sp.Expr, digits: int) -> sp.Expr:
    return value if value.is_Rational else sp.Float(value, digits)


def gradient_descent(objective: sp.Expr, variable: sp.Symbol, x0, eta, steps: int,
                     digits: int = DIGITS) -> Iterates:
    """``steps`` iterations of x_{t+1} = x_t − η f′(x_t)."""
    return _run(objective, variable, x0, eta, steps, digits, beta=None, reading=None)


def momentum(objective: sp.Expr, variable: sp.Symbol, x0, eta, beta, steps: int,
             reading: str = "new", digits: int = DIGITS) -> Iterates:
    """``steps`` iterations of GD with momentum (exponentially weighted average of
    gradients, v₀ = f′(x₀)); ``reading`` picks v_{t+1} ("new") or v_t ("old") in the step."""
    if reading not in MOMENTUM_READINGS:
        raise ValueError(f"reading must be one of {MOMENTUM_READINGS}, got {reading!r}")
    return _run(objective, variable, x0, eta, steps, digits, beta=beta, reading=reading)


def _run(objective, variable, x0, eta, steps, digits, beta, reading) -> Iterates:
    if steps < 0:
        raise ValueError("steps must be >= 0")
    work = digits + GUARD_DIGITS
    slope = gradient(objective, variable)
    eta, x = sp.sympify(eta), sp.sympify(x0)
    points, grads = [x], []
    velocity = None
    velocities = []
    for _ in range(steps):
        g = evaluate_at(slope, variable, x, work)
        grads.append(g)
        if beta is None:
            direction = g
        else:
            beta = sp.sympify(beta)
            if velocity is None:
                velocity = g                              # v₀ = ∇f(x₀)
                velocities.append(velocity)
            previous, velocity = velocity, _number(beta * velocity + (1 - beta) * g, work)
            velocities.append(velocity)
            direction = velocity if reading == "new" else previous
        x = _number(x - eta * direction, work)
        points.append(x)
    grads.append(evaluate_at(slope, variable, x, work))
    values = [evaluate_at(objective, variable, p, work) for p in points]
    rounded = lambda seq: [_exact_or_float(v, digits) for v in seq]  # noqa: E731
    method = "gradient descent" if beta is None else f"momentum ({reading} reading)"
    return Iterates(method, rounded(points), rounded(grads), rounded(values), rounded(velocities))


def _number(value: sp.Expr, digits: int) -> sp.Expr:
    value = sp.sympify(value)
    return value if value.is_Rational else value.evalf(digits)


# --- Plain-float references, for checks: no SymPy below this line ------------------------

def central_difference(f: Callable[[float], float], x: float, h: float = 1e-6) -> float:
    """(f(x + h) − f(x − h)) / 2h."""
    return (f(x + h) - f(x - h)) / (2 * h)


def float_gradient_descent(f: Callable[[float], float], x0: float, eta: float, steps: int) -> list[float]:
    """x_1 … x_steps of gradient descent in float64, derivative by central differences."""
    x, out = float(x0), []
    for _ in range(steps):
        x = x - eta * central_difference(f, x)
        out.append(x)
    return out


def float_momentum(f: Callable[[float], float], x0: float, eta: float, beta: float, steps: int,
                   reading: str = "new") -> list[float]:
    """x_1 … x_steps of GD with momentum in float64 (same two readings as :func:`momentum`)."""
    x, out = float(x0), []
    v = central_difference(f, x)
    for _ in range(steps):
        v_new = beta * v + (1 - beta) * central_difference(f, x)
        x = x - eta * (v_new if reading == "new" else v)
        v = v_new
        out.append(x)
    return out


def float_golden_section(f: Callable[[float], float], low: float, high: float, tol: float = 1e-12) -> float:
    """The minimiser of a unimodal ``f`` on [low, high] by golden-section search, in float64."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = float(low), float(high)
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    while b - a > tol:
        if f(c) < f(d):
            b, d = d, c
            c = b - ratio * (b - a)
        else:
            a, c = c, d
            d = a + ratio * (b - a)
    return (a + b) / 2


def float_values(f: Callable[[float], float], points: Sequence[float]) -> list[float]:
    return [f(float(p)) for p in points]


def float_gelu(x: float, scale: float = 1.702) -> float:
    """x·σ(scale·x) in float64 with ``math.exp``, written to avoid overflow for large |x|."""
    z = scale * x
    if z >= 0:
        return x / (1 + math.exp(-z))
    e = math.exp(z)
    return x * e / (1 + e)
