"""Optimizer update rules as data: one small record per rule, run by ``iterates.run``.

A rule is a list of assignments in the current point x, the gradient g = ∇f(x), the step
count t (1 at the first update, as in PyTorch), the rule's state and its hyperparameters.
The assignments run in order, and each right-hand side sees the values assigned before it in
the same step, as in PyTorch's ``step()``. That order is what tells the two readings of
momentum apart: "new" updates v and then steps with it, "old" steps with v and then updates it.

Because the assignments are SymPy expressions, a renderer can print a rule
(:attr:`UpdateRule.equations`) and a problem can show every update as an equation; the
runner substitutes numbers (or, in exact mode, symbols) for x, g, t, the state and the
hyperparameters.

>>> rule = momentum(sp.Rational(1, 10), sp.Rational(9, 10), reading="old")
>>> [str(eq.lhs) for eq in rule.equations]
['x', 'v']
>>> rule.hyperparameter_values
{'eta': 1/10, 'beta': 9/10}
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

X = sp.Symbol("x", real=True)                        # the current point x_t
G = sp.Symbol("g", real=True)                        # the gradient ∇f(x_t)
T = sp.Symbol("t", integer=True, positive=True)      # the step count, 1 at the first update

ETA, BETA, MU = sp.symbols("eta beta mu", positive=True)
ALPHA, BETA_1, BETA_2 = sp.symbols("alpha beta_1 beta_2", positive=True)
EPSILON, LAMBDA_1, LAMBDA_WD = sp.symbols("epsilon lambda_1 lambda_wd", nonnegative=True)
S_0 = sp.Symbol("s_0", real=True)                    # the subgradient of |x| chosen at x = 0

V, B, M = sp.symbols("v b m", real=True)             # velocity (Adam: 2nd moment), Nesterov buffer, 1st moment
M_HAT, V_HAT = sp.Symbol("mhat", real=True), sp.Symbol("vhat", nonnegative=True)

MOMENTUM_READINGS = ("new", "old")
EPSILON_PLACEMENTS = ("outside", "inside")


@dataclass(frozen=True)
class UpdateRule:
    """One optimizer as data.

    ``kind`` names the family ("gradient descent", "momentum", "nesterov", "adam",
    "l1 subgradient"), which picks the rule's independent plain-float loop; ``name`` is what a
    reader sees. ``hyperparameters`` pairs each symbol with its value, ``state`` each state
    variable with its initial value (an expression in x = x₀, g = ∇f(x₀) and the
    hyperparameters), and ``updates`` lists the assignments of one step in order. ``options``
    records the structural choices (momentum reading, where ε goes, the weight-decay form) as
    (name, value) strings."""

    name: str
    kind: str
    hyperparameters: tuple[tuple[sp.Symbol, sp.Expr], ...]
    state: tuple[tuple[sp.Symbol, sp.Expr], ...]
    updates: tuple[tuple[sp.Symbol, sp.Expr], ...]
    options: tuple[tuple[str, str], ...] = ()

    @property
    def equations(self) -> tuple[sp.Eq, ...]:
        """The update assignments as unevaluated equations, target on the left."""
        return tuple(sp.Eq(target, rhs, evaluate=False) for target, rhs in self.updates)

    @property
    def initial_equations(self) -> tuple[sp.Eq, ...]:
        """The state's initial values as unevaluated equations."""
        return tuple(sp.Eq(s, init, evaluate=False) for s, init in self.state)

    @property
    def hyperparameter_values(self) -> dict[str, sp.Expr]:
        """Hyperparameter values keyed by symbol name (the keywords of the float loops)."""
        return {s.name: value for s, value in self.hyperparameters}

    @property
    def state_symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(s for s, _ in self.state)


def _rule(name, kind, hyperparameters, state, updates, options=(), weight_decay=0) -> UpdateRule:
    rule = UpdateRule(name, kind, tuple((s, sp.sympify(v)) for s, v in hyperparameters),
                      tuple(state), tuple(updates), tuple(options))
    return with_weight_decay(rule, weight_decay) if weight_decay else rule


def with_weight_decay(rule: UpdateRule, weight_decay, decoupled: bool = False,
                      step_size: sp.Symbol | None = None) -> UpdateRule:
    """``rule`` with weight decay λ.

    Coupled (L2, PyTorch's ``weight_decay``): λx is added to the gradient before anything else
    sees it, as if the objective were f + λx²/2; initial values in g see it too.
    Decoupled (AdamW): the point first shrinks, x ← x − ηλx with ``step_size`` η, and the rule
    then runs on the plain gradient."""
    lam = sp.sympify(weight_decay)
    if not (lam.is_number and lam >= 0):
        raise ValueError(f"weight decay must be a number >= 0, got {weight_decay}")
    hyper = rule.hyperparameters + ((LAMBDA_WD, lam),)
    if decoupled:
        if step_size is None:
            raise ValueError("decoupled weight decay needs the rule's step-size symbol")
        return replace(rule, name=f"{rule.name} with decoupled weight decay", hyperparameters=hyper,
                       updates=((X, X - step_size * LAMBDA_WD * X),) + rule.updates,
                       options=rule.options + (("weight_decay", "decoupled"),))
    return replace(rule, name=f"{rule.name} with L2 weight decay", hyperparameters=hyper,
                   state=tuple((s, init.xreplace({G: G + LAMBDA_WD * X})) for s, init in rule.state),
                   updates=((G, G + LAMBDA_WD * X),) + rule.updates,
                   options=rule.options + (("weight_decay", "coupled"),))


def gradient_descent(eta, *, weight_decay=0) -> UpdateRule:
    """x ← x − ηg."""
    return _rule("gradient descent", "gradient descent", ((ETA, eta),), (), ((X, X - ETA * G),),
                 weight_decay=weight_decay)


def momentum(eta, beta, reading: str = "new", *, weight_decay=0) -> UpdateRule:
    """The exponentially weighted form v₀ = ∇f(x₀), v_{t+1} = βv_t + (1 − β)∇f(x_t),
    x_{t+1} = x_t − ηv, with v = v_{t+1} (``reading="new"``; PyTorch's SGD with
    ``dampening=β``) or v = v_t (``reading="old"``)."""
    if reading not in MOMENTUM_READINGS:
        raise ValueError(f"reading must be one of {MOMENTUM_READINGS}, got {reading!r}")
    average, step = (V, BETA * V + (1 - BETA) * G), (X, X - ETA * V)
    updates = (average, step) if reading == "new" else (step, average)
    return _rule(f"momentum ({reading} reading)", "momentum", ((ETA, eta), (BETA, beta)),
                 ((V, G),), updates, (("reading", reading),), weight_decay)


def nesterov(eta, mu, *, weight_decay=0) -> UpdateRule:
    """PyTorch's Nesterov momentum (dampening 0): b ← μb + g, x ← x − η(g + μb), b₀ = 0."""
    return _rule("Nesterov momentum", "nesterov", ((ETA, eta), (MU, mu)), ((B, sp.Integer(0)),),
                 ((B, MU * B + G), (X, X - ETA * (G + MU * B))), weight_decay=weight_decay)


def adam(alpha=sp.Rational(1, 1000), beta_1=sp.Rational(9, 10), beta_2=sp.Rational(999, 1000),
         epsilon=sp.Rational(1, 10**8), *, epsilon_placement: str = "outside", weight_decay=0,
         decoupled: bool = False) -> UpdateRule:
    """Adam with bias correction: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
    m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), x ← x − αm̂/(√v̂ + ε) (``epsilon_placement="outside"``,
    PyTorch's form) or x ← x − αm̂/√(v̂ + ε) ("inside"); m₀ = v₀ = 0. The defaults are
    PyTorch's. ``decoupled=True`` applies ``weight_decay`` as AdamW does."""
    if epsilon_placement not in EPSILON_PLACEMENTS:
        raise ValueError(f"epsilon_placement must be one of {EPSILON_PLACEMENTS}, "
                         f"got {epsilon_placement!r}")
    denominator = sp.sqrt(V_HAT) + EPSILON if epsilon_placement == "outside" else sp.sqrt(V_HAT + EPSILON)
    rule = _rule(f"Adam (ε {epsilon_placement} √v̂)", "adam",
                 ((ALPHA, alpha), (BETA_1, beta_1), (BETA_2, beta_2), (EPSILON, epsilon)),
                 ((M, sp.Integer(0)), (V, sp.Integer(0))),
                 ((M, BETA_1 * M + (1 - BETA_1) * G),
                  (V, BETA_2 * V + (1 - BETA_2) * G**2),
                  (M_HAT, M / (1 - BETA_1**T)),
                  (V_HAT, V / (1 - BETA_2**T)),
                  (X, X - ALPHA * M_HAT / denominator)),
                 (("epsilon_placement", epsilon_placement),))
    if weight_decay:
        rule = with_weight_decay(rule, weight_decay, decoupled, step_size=ALPHA)
        if decoupled:
            rule = replace(rule, name=f"AdamW (ε {epsilon_placement} √v̂)")
    return rule


def adamw(alpha=sp.Rational(1, 1000), beta_1=sp.Rational(9, 10), beta_2=sp.Rational(999, 1000),
          epsilon=sp.Rational(1, 10**8), weight_decay=sp.Rational(1, 100), *,
          epsilon_placement: str = "outside") -> UpdateRule:
    """AdamW: Adam after the decoupled shrink x ← x − αλx (PyTorch's defaults)."""
    return adam(alpha, beta_1, beta_2, epsilon, epsilon_placement=epsilon_placement,
                weight_decay=weight_decay, decoupled=True)


def l1_subgradient(eta, lambda_1, *, subgradient_at_zero=0, weight_decay=0) -> UpdateRule:
    """The subgradient step for f(x) + λ₁|x|: x ← x − η(g + λ₁s(x)), with s(x) = sign(x) for
    x ≠ 0 and s(0) = ``subgradient_at_zero`` (0 by default; any value in [−1, 1] is a
    subgradient of |x| at 0, so the choice is a convention that has to be stated)."""
    s0 = sp.sympify(subgradient_at_zero)
    if not (s0.is_number and s0.is_real and -1 <= s0 <= 1):
        raise ValueError(f"the subgradient of |x| at 0 must lie in [-1, 1], got {subgradient_at_zero}")
    s = sp.Piecewise((S_0, sp.Eq(X, 0)), (sp.sign(X), True))
    return _rule("L1 subgradient step", "l1 subgradient", ((ETA, eta), (LAMBDA_1, lambda_1), (S_0, s0)), (),
                 ((X, X - ETA * (G + LAMBDA_1 * s)),), weight_decay=weight_decay)
