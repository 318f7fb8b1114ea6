"""Optimizer iterates from a symbolic objective: one runner for every update rule.

An optimizer is a record (``optimizers.UpdateRule``): its hyperparameters, its state with the
initial values and its update assignments as SymPy expressions. :func:`run` executes any rule
on an objective f(x) of one variable. The gradient is taken once with ``sympy.diff`` and
evaluated at each iterate. An iterate stays exact while the values it depends on are rational
(GD on GELU from x₀ = 0 gives x₁ = −1/20 exactly, because σ(0) = 1/2); from the first
irrational value on, the iteration runs in decimal arithmetic at ``digits`` significant digits
(plus guard digits), so the printed iterates are correct to the precision asked for.
``exact=True`` keeps everything as exact expressions instead and lets the gradient or the
hyperparameters be symbols (Adam with a constant gradient g, say: :func:`run_constant_gradient`).

Momentum follows the exponentially weighted form

    v₀ = ∇f(x₀),   v_{t+1} = β v_t + (1 − β) ∇f(x_t),   x_{t+1} = x_t − η v,

which leaves open whether the step uses the freshly updated average (``reading="new"``:
v = v_{t+1}) or the one from the previous step (``reading="old"``: v = v_t). Both are offered.

The module also holds plain-float versions of every rule (``float_*``) that take a Python
callable and differentiate it by central differences, never touching SymPy and written apart
from the records: they are the independent reference the numeric checks compare symbolic
iterates against (:func:`float_iterates` picks the one for a rule).

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> gradient_descent(x**2, x, 1, sp.Rational(1, 4), 2).points
[1, 1/2, 1/4]
>>> run(optimizers.nesterov(sp.Rational(1, 4), sp.Rational(1, 2)), x**2, x, 1, 2).points
[1, 1/4, -1/16]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import sympy as sp

from derivations.calculus import optimizers
from derivations.calculus.finite_differences import central_differences
from derivations.calculus.optimizers import MOMENTUM_READINGS, G, T, UpdateRule, X

DIGITS = 30
GUARD_DIGITS = 10
__all__ = ["DIGITS", "GUARD_DIGITS", "MOMENTUM_READINGS", "Iterates", "run", "run_constant_gradient",
           "gradient_descent", "momentum", "gradient", "evaluate_at", "float_iterates", "central_difference",
           "float_gradient_descent", "float_momentum", "float_nesterov", "float_adam", "float_l1_subgradient",
           "float_golden_section", "float_values", "float_gelu"]


@dataclass
class Iterates:
    """One optimizer run: ``points[t]`` is x_t (t = 0 … steps), ``gradients[t]`` is ∇f(x_t),
    ``values[t]`` is f(x_t). ``states[0]`` holds the rule's initial state and ``states[t]``
    (t ≥ 1) every quantity step t assigned other than x (the state, intermediates such as
    Adam's m̂ and v̂, and g itself where weight decay changes it), keyed by symbol name."""

    method: str
    points: list[sp.Expr]
    gradients: list[sp.Expr]
    values: list[sp.Expr]
    states: list[dict[str, sp.Expr]] = field(default_factory=list)
    rule: UpdateRule | None = None

    @property
    def updates(self) -> list[sp.Expr]:
        """x_1 … x_T: the iterates after each step (x_0 excluded)."""
        return self.points[1:]

    @property
    def increments(self) -> list[sp.Expr]:
        """x_t − x_{t−1} for t = 1 … T: what each step moved."""
        return [b - a for a, b in zip(self.points, self.points[1:])]

    def state(self, name: str) -> list[sp.Expr]:
        """The history of one state variable or intermediate, in step order (an initial state
        variable from t = 0, an intermediate from t = 1)."""
        return [s[name] for s in self.states if name in s]

    @property
    def velocities(self) -> list[sp.Expr]:
        """v_0 … v_T, the state named v (momentum's velocity); empty for a rule without one."""
        return self.state("v")


def gradient(objective: sp.Expr, variable: sp.Symbol) -> sp.Expr:
    """df/dx, symbolic."""
    return sp.diff(objective, variable)


def evaluate_at(expr: sp.Expr, variable: sp.Symbol, point: sp.Expr, digits: int = DIGITS) -> sp.Expr:
    """``expr`` at ``variable = point``: exact when the result is rational, otherwise a
    ``Float`` with ``digits`` significant digits. Raises ``ValueError`` when the result is not
    a finite real number (a free symbol left over, a pole, a complex value)."""
    return _number(sp.sympify(expr).subs(variable, point), digits, f"{expr} at {variable} = {point}")


def _number(value: sp.Expr, digits: int, what) -> sp.Expr:
    """A step's value: exact while rational, else a decimal; non-finite values are errors."""
    value = sp.sympify(value)
    if not value.is_Rational:
        value = value.evalf(digits)
    if not value.is_number or value.free_symbols or not (value.is_real and value.is_finite):
        raise ValueError(f"{what} is not a finite real number: {value}")
    return value


def _exact(value: sp.Expr, what) -> sp.Expr:
    """A step's value in exact mode: any expression, but no infinity or NaN."""
    value = sp.sympify(value)
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ValueError(f"{what} is not finite: {value}")
    return value


def _exact_or_float(value: sp.Expr, digits: int) -> sp.Expr:
    return value if value.is_Rational else sp.Float(value, digits)


def run(rule: UpdateRule, objective: sp.Expr, variable: sp.Symbol, x0, steps: int,
        digits: int = DIGITS, exact: bool = False) -> Iterates:
    """``steps`` updates of ``rule`` on ``objective`` from ``x0``.

    Each step evaluates g = f′(x_t), then runs the rule's assignments in order with t the step
    count (1 first). Values are exact while rational and decimals at ``digits`` significant
    digits (computed with guard digits) from the first irrational one on; ``exact=True`` keeps
    exact expressions throughout and allows free symbols (symbolic gradients or
    hyperparameters). Raises ``ValueError`` on a non-finite value."""
    if steps < 0:
        raise ValueError("steps must be >= 0")
    work = digits + GUARD_DIGITS
    slope = gradient(objective, variable)
    if exact:
        number = _exact
        at = lambda expr, p: _exact(sp.sympify(expr).subs(variable, p), f"{expr} at {variable} = {p}")  # noqa: E731
    else:
        number = lambda value, what: _number(value, work, what)  # noqa: E731
        at = lambda expr, p: evaluate_at(expr, variable, p, work)  # noqa: E731
    hyper = dict(rule.hyperparameters)
    updates = [(target, rhs.xreplace(hyper)) for target, rhs in rule.updates]
    x = sp.sympify(x0)
    g = at(slope, x)
    state = {s: number(init.xreplace(hyper).xreplace({X: x, G: g}), f"initial {s}") for s, init in rule.state}
    points, grads, states = [x], [g], [{s.name: v for s, v in state.items()}]
    for t in range(1, steps + 1):
        env = {X: x, G: g, T: sp.Integer(t), **state}
        assigned = {}
        for target, rhs in updates:
            env[target] = number(rhs.xreplace(env), f"{target} at step {t}")
            if target != X:
                assigned[target.name] = env[target]
        x, state = env[X], {s: env[s] for s in state}
        g = at(slope, x)
        points.append(x)
        grads.append(g)
        states.append(assigned)
    values = [at(objective, p) for p in points]
    if not exact:
        rounded = lambda seq: [_exact_or_float(v, digits) for v in seq]  # noqa: E731
        points, grads, values = rounded(points), rounded(grads), rounded(values)
        states = [{k: _exact_or_float(v, digits) for k, v in s.items()} for s in states]
    return Iterates(rule.name, points, grads, values, states, rule)


def run_constant_gradient(rule: UpdateRule, g, steps: int, x0=0, digits: int = DIGITS,
                          exact: bool = True) -> Iterates:
    """``rule`` with the gradient fixed at ``g`` (a number or a symbol): the objective g·x.
    Exact by default, so with a symbolic g the increments come out as expressions in g."""
    x = sp.Symbol("x", real=True)
    return run(rule, sp.sympify(g) * x, x, x0, steps, digits, exact)


def gradient_descent(objective: sp.Expr, variable: sp.Symbol, x0, eta, steps: int,
                     digits: int = DIGITS) -> Iterates:
    """``steps`` iterations of x_{t+1} = x_t − η f′(x_t)."""
    return run(optimizers.gradient_descent(eta), objective, variable, x0, steps, digits)


def momentum(objective: sp.Expr, variable: sp.Symbol, x0, eta, beta, steps: int,
             reading: str = "new", digits: int = DIGITS) -> Iterates:
    """``steps`` iterations of GD with momentum (exponentially weighted average of
    gradients, v₀ = f′(x₀)); ``reading`` picks v_{t+1} ("new") or v_t ("old") in the step."""
    return run(optimizers.momentum(eta, beta, reading), objective, variable, x0, steps, digits)


def float_iterates(rule: UpdateRule, f: Callable[[float], float], x0: float, steps: int) -> list[float]:
    """x_1 … x_steps of ``rule``'s own plain-float loop (picked by ``rule.kind``, given the
    rule's hyperparameters as floats and its options), the independent reference for
    :func:`run`."""
    loop = FLOAT_LOOPS[rule.kind]
    keywords = {name: float(value) for name, value in rule.hyperparameter_values.items()}
    return loop(f, float(x0), steps=steps, **keywords, **dict(rule.options))


# --- Plain-float references, for checks: no SymPy below this line (NumPy only) -----------

def central_difference(f: Callable[[float], float], x: float, h: float = 1e-6) -> float:
    """(f(x + h) − f(x − h)) / 2h for a plain-float ``f``: the project's one routine
    (:func:`~derivations.calculus.finite_differences.central_differences`, NumPy only) on a 0-d
    array, with ``f`` handed plain floats."""
    return float(central_differences(lambda at: f(float(at)), np.array(float(x)), h))


def _gradient(f: Callable[[float], float], x: float, lambda_wd: float, weight_decay: str) -> float:
    """f′(x) by central differences, plus λx for coupled (L2) weight decay."""
    if weight_decay not in ("coupled", "decoupled"):
        raise ValueError(f"weight_decay must be 'coupled' or 'decoupled', got {weight_decay!r}")
    return central_difference(f, x) + (lambda_wd * x if weight_decay == "coupled" else 0.0)


def float_gradient_descent(f: Callable[[float], float], x0: float, eta: float, steps: int, *,
                           lambda_wd: float = 0.0, weight_decay: str = "coupled") -> list[float]:
    """x_1 … x_steps of gradient descent in float64, derivative by central differences."""
    x, out = float(x0), []
    for _ in range(steps):
        g = _gradient(f, x, lambda_wd, weight_decay)
        if weight_decay == "decoupled":
            x = x - eta * lambda_wd * x
        x = x - eta * g
        out.append(x)
    return out


def float_momentum(f: Callable[[float], float], x0: float, eta: float, beta: float, steps: int,
                   reading: str = "new", *, lambda_wd: float = 0.0, weight_decay: str = "coupled") -> list[float]:
    """x_1 … x_steps of GD with momentum in float64 (same two readings as :func:`momentum`)."""
    if reading not in ("new", "old"):
        raise ValueError(f"reading must be 'new' or 'old', got {reading!r}")
    x, out = float(x0), []
    v = _gradient(f, x, lambda_wd, weight_decay)
    for _ in range(steps):
        g = _gradient(f, x, lambda_wd, weight_decay)
        if weight_decay == "decoupled":
            x = x - eta * lambda_wd * x
        v_new = beta * v + (1 - beta) * g
        x = x - eta * (v_new if reading == "new" else v)
        v = v_new
        out.append(x)
    return out


def float_nesterov(f: Callable[[float], float], x0: float, eta: float, mu: float, steps: int, *,
                   lambda_wd: float = 0.0, weight_decay: str = "coupled") -> list[float]:
    """x_1 … x_steps of Nesterov momentum as in ``torch.optim.SGD(nesterov=True)``, float64."""
    x, out, buffer = float(x0), [], 0.0
    for _ in range(steps):
        g = _gradient(f, x, lambda_wd, weight_decay)
        if weight_decay == "decoupled":
            x = x - eta * lambda_wd * x
        buffer = mu * buffer + g
        x = x - eta * (g + mu * buffer)
        out.append(x)
    return out


def float_adam(f: Callable[[float], float], x0: float, alpha: float, beta_1: float, beta_2: float,
               epsilon: float, steps: int, *, epsilon_placement: str = "outside", lambda_wd: float = 0.0,
               weight_decay: str = "coupled") -> list[float]:
    """x_1 … x_steps of Adam with bias correction in float64; ε added to √v̂ ("outside") or
    to v̂ under the root ("inside"); ``weight_decay="decoupled"`` is AdamW."""
    if epsilon_placement not in ("outside", "inside"):
        raise ValueError(f"epsilon_placement must be 'outside' or 'inside', got {epsilon_placement!r}")
    x, out, m, v = float(x0), [], 0.0, 0.0
    for t in range(1, steps + 1):
        g = _gradient(f, x, lambda_wd, weight_decay)
        if weight_decay == "decoupled":
            x = x - alpha * lambda_wd * x
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
        denominator = math.sqrt(v_hat) + epsilon if epsilon_placement == "outside" else math.sqrt(v_hat + epsilon)
        x = x - alpha * m_hat / denominator
        out.append(x)
    return out


def float_l1_subgradient(f: Callable[[float], float], x0: float, eta: float, lambda_1: float, steps: int, *,
                         s_0: float = 0.0, lambda_wd: float = 0.0, weight_decay: str = "coupled") -> list[float]:
    """x_1 … x_steps of x ← x − η(f′(x) + λ₁ s(x)) in float64, s(x) = sign x and s(0) = ``s_0``."""
    x, out = float(x0), []
    for _ in range(steps):
        g = _gradient(f, x, lambda_wd, weight_decay)
        if weight_decay == "decoupled":
            x = x - eta * lambda_wd * x
        s = s_0 if x == 0 else math.copysign(1.0, x)
        x = x - eta * (g + lambda_1 * s)
        out.append(x)
    return out


FLOAT_LOOPS = {
    "gradient descent": float_gradient_descent,
    "momentum": float_momentum,
    "nesterov": float_nesterov,
    "adam": float_adam,
    "l1 subgradient": float_l1_subgradient,
}


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
