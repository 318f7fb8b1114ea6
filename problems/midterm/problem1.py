"""midterm/problem1: the L1 regulariser λ|w| — its (sub)gradient, the gradient-descent update,
a worked step on a concrete loss, and why L1 drives small weights to zero where weight decay
only shrinks them."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy as sp

from derivations.calculus import optimizers
from derivations.calculus.checks import scalar_derivative_error
from derivations.calculus.iterates import float_iterates
from derivations.calculus.iterates import run as iterate_rule
from derivations.calculus.oracles import EXACT_TOLERANCE, Identity, Oracle, Reference
from derivations.core.errors import UserError
from derivations.core.model import Fractions, Ints, Param, Pick, Problem
from derivations.core.params import EXPRESSION_VARIABLE

w = sp.Symbol("w", real=True)
w_t = sp.Symbol("w_t", real=True)
lam = sp.Symbol("lambda", positive=True)
eta = sp.Symbol("eta", positive=True)
L = sp.Function("L")
MAX_STEPS = 50

#: Concrete losses substituted for the unknown L when the symbolic update is checked.
TEST_LOSSES = (sp.cos(2 * w) + w**3 / 3, sp.exp(w / 2) - 3 * w, (w - 3) ** 2 / 2)


# --------------------------------------------------------------------------------------------
# Local oracles (the toolkit has no subgradient or descent-step oracle).

@dataclass
class SubgradientInequality(Oracle):
    """A claimed subgradient c(λ) of λ|w| at w = 0 against the definition: λ|v| ≥ λ|0| + c·v
    for every v. The error is the largest violation over a grid of v and a few λ (0 when c lies
    in [−λ, λ], positive otherwise)."""

    lambdas: Sequence[float] = (0.25, 0.5, 1.0, 2.0)
    tolerance: float = 1e-12
    describe: str = "the subgradient inequality λ|v| ≥ c·v"

    def error(self, claimed: Any, lhs: Any = None) -> float:
        claimed = sp.sympify(claimed)
        worst = 0.0
        for value in self.lambdas:
            c = float(claimed.subs(lam, value))
            for v in np.linspace(-2.0, 2.0, 41):
                worst = max(worst, c * v - value * abs(v))
        return worst


@dataclass
class DescentStep(Oracle):
    """A claimed update w_{t+1}(w_t) containing the unknown L′(w_t): with L replaced by concrete
    losses, (w_t − w_{t+1})/η must be the derivative of L(w_t) + λ|w_t|, taken by mpmath's numeric
    differentiation at random nonzero points."""

    losses: Sequence[sp.Expr] = TEST_LOSSES
    seed: int = 0
    tolerance: float = EXACT_TOLERANCE
    describe: str = "finite differences of L + λ|w| for concrete L"
    points: list = field(default_factory=list)

    def error(self, claimed: Any, lhs: Any = None) -> float:
        if not self.points:
            self.points.extend(_nonzero_points([w_t, lam, eta], 4, self.seed))
        worst = 0.0
        for loss in self.losses:
            concrete = loss.subs(w, w_t)
            update = sp.sympify(claimed).subs(L(w_t), concrete).doit()
            slope = (w_t - update) / eta
            worst = max(worst, scalar_derivative_error(concrete + lam * sp.Abs(w_t), slope, w_t, self.points))
        return worst


def _nonzero_points(symbols, count, seed):
    """Random points with the weight kept away from 0 (|w| in [0.1, 2], either sign) and the
    positive constants in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(count):
        point = {}
        for s in symbols:
            if s.is_positive:
                point[s] = float(rng.uniform(0.5, 2.0))
            else:
                point[s] = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 2.0))
        points.append(point)
    return points


# --------------------------------------------------------------------------------------------
# Plain reference loops (no SymPy): Fractions where the inputs are rational, floats otherwise.

def _plain(value):
    value = sp.sympify(value)
    return Fraction(int(value.p), int(value.q)) if value.is_Rational else float(value)


def _sign(v, at_zero):
    return at_zero if v == 0 else (1 if v > 0 else -1)


def plain_l1_path(w0, step, at_zero, steps):
    """w ← w − ηλ·s(w) for a weight the loss does not use (ηλ = ``step``)."""
    v, out = w0, []
    for _ in range(steps):
        v = v - step * _sign(v, at_zero)
        out.append(v)
    return out


def plain_prox_path(w0, step, steps):
    """Soft-thresholding w ← sign(w)·max(|w| − ηλ, 0)."""
    v, out = w0, []
    for _ in range(steps):
        v = _sign(v, 0) * max(abs(v) - step, 0)
        out.append(v)
    return out


def plain_decay_path(w0, factor, steps):
    """w ← w − factor·w, weight decay's step for an unused weight."""
    v, out = w0, []
    for _ in range(steps):
        v = v - factor * v
        out.append(v)
    return out


def plain_steps_to_zero(w0, step, cap=10**6):
    """How many soft-thresholding steps take ``w0`` to exactly 0, counted one by one."""
    v, t = w0, 0
    while v != 0:
        if t >= cap:
            return float("nan")
        v = _sign(v, 0) * max(abs(v) - step, 0)
        t += 1
    return t


# --------------------------------------------------------------------------------------------

def _validate(p):
    if not p["lam"] > 0:
        raise UserError(f"lam must be > 0, got {p['lam']}")
    if not p["eta"] > 0:
        raise UserError(f"eta must be > 0, got {p['eta']}")
    if not -1 <= p["subgradient_at_zero"] <= 1:
        raise UserError(f"subgradient_at_zero must lie in [-1, 1] (a subgradient of |w| at 0), "
                        f"got {p['subgradient_at_zero']}")
    for name in ("steps", "shrink_steps"):
        if p[name] > MAX_STEPS:
            raise UserError(f"{name} must be at most {MAX_STEPS}")


def _subgradient(value, s0):
    return sp.sign(value) if value != 0 else s0


def solve(p, sol):
    _validate(p)
    lam_v, eta_v, s0, w0 = p["lam"], p["eta"], p["subgradient_at_zero"], p["w0"]
    form = p["weight_decay_form"]
    decay_scale = sp.Rational(1, 2) if form == "half" else sp.Integer(1)
    loss_x = p["loss"]
    loss = loss_x.subs(EXPRESSION_VARIABLE, w)

    sol.assume("The sheet's regularisers are garbled. Weight decay is read as (λ/2)‖w‖₂² "
               "(d2l.ai's form, gradient λw); --set weight_decay_form=full reads it as λ‖w‖₂² (gradient 2λw). "
               "L1 regularisation adds λ‖w‖₁ = λ Σ|wᵢ|, and the regularised loss is L(w) + λ‖w‖₁ with λ > 0.")
    sol.assume("As the sheet allows, the model has one parameter, so w is a scalar and ‖w‖₁ = |w|; with many "
               "parameters every formula below holds for each wᵢ separately.")
    sol.assume("|w| has no derivative at w = 0; any number in [−λ, λ] is a subgradient there. This solution "
               "takes s(0)·λ with s(0) = subgradient_at_zero (0 by default, as PyTorch's sign(0) = 0 gives); "
               "--set subgradient_at_zero=c takes any c in [−1, 1].")
    sol.assume("The unregularised loss L is unknown, so its derivative L′(w) stays symbolic in the update. "
               "The worked example uses a concrete loss (the parameter loss, a formula in x read as w), "
               "a start w₀, a step size η and λ with exact defaults.")
    sol.assume("The shrinkage illustration follows a weight that the loss does not use (L′ = 0), so only the "
               "regulariser moves it.")

    # (1) the gradient of λ|w|
    d_l1 = sp.Derivative(lam * sp.Abs(w), w)
    l1_grad = lam * sp.sign(w)
    sol.step("For w > 0, |w| = w has slope 1; for w < 0, |w| = −w has slope −1. Both cases together give "
             "λ times the sign of w, valid for every nonzero w.", d_l1, l1_grad,
             check=Identity(of=d_l1, points=_nonzero_points([w, lam], 6, p["seed"])))
    s0_value = s0 * lam
    g0 = sp.Symbol("g_0")
    sol.step("At w = 0 the slope from the left is {minus} and from the right is {plus}, so there is no "
             "derivative; every c with λ|v| ≥ c·v for all v, that is every c in [{minus}, {plus}], is a "
             "subgradient. The convention s(0) = {s0} picks:",
             g0, s0_value, math={"minus": -lam, "plus": lam, "s0": s0}, check=SubgradientInequality())
    sol.answer("l1_gradient", d_l1, l1_grad,
               text="(1) d(λ|w|)/dw = λ·sign(w) for every nonzero w (λ for w > 0, −λ for w < 0); at w = 0 any value in "
                    "[−λ, λ] is a subgradient, and the convention s(0) is stated as an assumption.",
               check=Identity(of=d_l1, points=_nonzero_points([w, lam], 6, p["seed"] + 1)))
    sol.answer("subgradient_at_zero", g0, s0_value, check=SubgradientInequality())

    # (2) the gradient-descent update
    w_next = sp.Symbol("w_{t+1}")
    update = w_t - eta * (sp.Derivative(L(w_t), w_t) + lam * sp.sign(w_t))
    sol.step("Gradient descent with step size η subtracts η times the gradient of the regularised loss: "
             "the unknown {dL} plus the L1 term's {l1}.", w_next, update,
             math={"dL": sp.Derivative(L(w_t), w_t), "l1": lam * sp.sign(w_t)}, check=DescentStep(seed=p["seed"]))
    at_zero = -eta * (sp.Derivative(L(w_t), w_t).subs(w_t, 0) + s0 * lam)
    sol.step("At {wt} = 0 the sign is replaced by the chosen subgradient, so the step from 0 moves the weight to "
             "{step}.", math={"wt": w_t, "step": at_zero})
    d_decay = sp.Derivative(decay_scale * lam * w**2, w)
    sol.step("Compare weight decay: its gradient {decay} shrinks with w, so the pull towards 0 fades as w gets "
             "small, while the L1 pull keeps the size λ all the way to 0.", d_decay, 2 * decay_scale * lam * w,
             math={"decay": 2 * decay_scale * lam * w}, check=Identity(of=d_decay))
    sol.answer("update", w_next, update, text="(2) w_{t+1} = w_t − η(∂L/∂w(w_t) + λ·sign(w_t)); "
               "at w_t = 0 the term λ·sign(w_t) is the chosen subgradient s(0)·λ.",
               check=DescentStep(seed=p["seed"] + 1))

    # (3) a worked step on a concrete loss, run by the shared optimizer runner
    dloss = sp.diff(loss, w)
    steps = p["steps"]
    rule = optimizers.l1_subgradient(eta_v, lam_v, subgradient_at_zero=s0)
    try:
        run = iterate_rule(rule, loss_x, EXPRESSION_VARIABLE, w0, steps)
    except (TypeError, ValueError) as exc:
        raise UserError(f"the loss {loss_x} cannot be used from w0 = {w0}: {exc}") from None
    points, grads, iterates = run.points, run.gradients, run.updates
    sol.step("The update as the shared optimizer record runs it, with the current weight written {x}, the loss "
             "slope {g}, the strength {lam1} = λ and the convention {s0} at 0:",
             math={"x": optimizers.X, "g": optimizers.G, "lam1": optimizers.LAMBDA_1, "s0": optimizers.S_0})
    for equation in rule.equations:
        sol.step("", equation.lhs, equation.rhs)
    sol.step("Worked example: the chosen loss and its derivative, which the update needs.",
             sp.Derivative(L(w), w), dloss, math={}, check=Identity(of=sp.Derivative(loss, w),
                                                                    points=[{w: float(v)} for v in points]))
    plain = lambda: float_iterates(rule, sp.lambdify(EXPRESSION_VARIABLE, loss_x, "math"), w0, steps)  # noqa: E731
    for t in range(1, steps + 1):
        wt, g = points[t - 1], grads[t - 1]
        sol.step("Step {t}: at {wprev} = {wval} the loss slope is {g} and the L1 term adds {reg}, so with "
                 "η = {eta} the new weight is", sp.Symbol(f"w_{t}"), points[t],
                 math={"t": t, "wprev": sp.Symbol(f"w_{t - 1}"), "wval": wt, "g": g,
                       "reg": lam_v * _subgradient(wt, s0), "eta": eta_v},
                 check=Reference(compute=lambda t=t: plain()[t - 1],
                                 describe="a float64 loop with central differences"))
    sol.answer("w1", sp.Symbol("w_1"), iterates[0],
               check=Reference(compute=lambda: plain()[0], describe="a float64 loop with central differences"))
    sol.answer("iterates", tuple(sp.Symbol(f"w_{t}") for t in range(1, steps + 1)), list(iterates),
               check=Reference(compute=plain, describe="a float64 loop with central differences"))

    # (4) small weights: L1 reaches or crosses 0, weight decay only shrinks
    start, n = p["small_w0"], p["shrink_steps"]
    push, factor = eta_v * lam_v, eta_v * 2 * decay_scale * lam_v
    unused = sp.Integer(0)                   # the loss does not depend on this weight
    l1_path = iterate_rule(rule, unused, EXPRESSION_VARIABLE, start, n).updates
    prox_path, v = [], start
    for _ in range(n):
        v = sp.sign(v) * sp.Max(sp.Abs(v) - push, 0)
        prox_path.append(v)
    decay_rule = optimizers.gradient_descent(eta_v, weight_decay=2 * decay_scale * lam_v)
    decay_path = iterate_rule(decay_rule, unused, EXPRESSION_VARIABLE, start, n).updates
    exact = sp.ceiling(sp.Abs(start) / push)
    if exact > 10**6:
        raise UserError("small_w0 is too far from 0 for eta*lam: soft-thresholding needs over a million steps")

    names = lambda prefix: tuple(sp.Symbol(f"{prefix}_{t}") for t in range(1, n + 1))  # noqa: E731
    u_t, v_t = sp.Symbol("u_t"), sp.Symbol("v_t")
    plain_start, plain_push, plain_factor = _plain(start), _plain(push), _plain(factor)
    sol.step("An unused weight (L′ = 0) starting at {w0}: each L1 subgradient step moves it by the fixed amount "
             "{push} towards 0, so it reaches 0 or jumps across it within a few steps, and then stays within "
             "{push} of 0.", names("w"), list(l1_path), math={"w0": start, "push": push},
             check=Reference(compute=lambda: plain_l1_path(plain_start, plain_push, _plain(s0), n),
                             describe="a plain loop"))
    sol.step("The proximal form of the same step (soft-thresholding, written {u}) stops exactly at 0 instead of "
             "crossing it, and the weight stays 0 from then on.", names("u"), list(prox_path),
             math={"u": u_t}, check=Reference(compute=lambda: plain_prox_path(plain_start, plain_push, n),
                                      describe="a plain loop"))
    sol.step("Weight decay (written {v}) multiplies the weight by {keep} each step: the weight shrinks "
             "geometrically but is never exactly 0.", names("v"), list(decay_path), math={"v": v_t, "keep": 1 - factor},
             check=Reference(compute=lambda: plain_decay_path(plain_start, plain_factor, n),
                             describe="a plain loop"))
    sol.answer("l1_path", names("w"), l1_path,
               text="(bonus) An unused weight under L1 steps goes to 0 or through it in about |w₀|/(ηλ) steps "
                    "(soft-thresholding keeps it at exactly 0), while under weight decay it only shrinks by a "
                    "constant factor per step and never reaches 0: L1 makes weights sparse, weight decay does not.",
               check=Reference(compute=lambda: plain_l1_path(plain_start, plain_push, _plain(s0), n),
                               describe="a plain loop"))
    sol.answer("prox_path", names("u"), prox_path,
               check=Reference(compute=lambda: plain_prox_path(plain_start, plain_push, n), describe="a plain loop"))
    sol.answer("decay_path", names("v"), decay_path,
               check=Reference(compute=lambda: plain_decay_path(plain_start, plain_factor, n),
                               describe="a plain loop"))
    sol.step("Soft-thresholding reaches 0 after ⌈|w₀|/(ηλ)⌉ steps:", sp.Symbol("t_0"), exact,
             check=Reference(compute=lambda: plain_steps_to_zero(plain_start, plain_push),
                             describe="counting the steps of a plain loop"))
    sol.answer("prox_steps_to_zero", sp.Symbol("t_0"), exact,
               check=Reference(compute=lambda: plain_steps_to_zero(plain_start, plain_push),
                               describe="counting the steps of a plain loop"))


PROBLEM = Problem(
    id="midterm/problem1",
    title="The L1 regulariser: subgradient and gradient-descent update",
    kind="calculus",
    statement=(
        "Weight decay penalises the squared Euclidean norm of the parameter vector w, scaled by a "
        "hyperparameter λ. L1 regularisation instead adds λ times the sum of the absolute values of the "
        "parameters, so the regularised loss is L(w) + λ‖w‖₁, where L is the model's own loss. Taking the model "
        "to have a single scalar parameter w: (1) what is the gradient of the L1 term with respect to w? "
        "(2) What does one step of plain gradient descent on the regularised loss do to w? (L is not known, so "
        "its derivative may appear in the answer.)"
    ),
    solve_fn=solve,
    params=(
        Param("lam", sp.Rational(1, 2), "the regularisation strength λ (> 0)",
              vary=Fractions(sp.Rational(1, 10), 1, 10)),
        Param("eta", sp.Rational(1, 10), "the step size η (> 0)", vary=Fractions(sp.Rational(1, 20), sp.Rational(1, 4), 20)),
        Param("subgradient_at_zero", sp.Integer(0),
              "the subgradient of |w| used at w = 0, a number in [-1, 1] (times λ)"),
        Param("loss", (EXPRESSION_VARIABLE - 3) ** 2 / 2, "the concrete loss L of the worked example, in x",
              kind="expression", vary=Pick(tuple((EXPRESSION_VARIABLE - c) ** 2 / 2 for c in (-3, -2, -1, 1, 2, 3)))),
        Param("w0", sp.Integer(1), "the start of the worked example", vary=Fractions(-2, 2, 2, nonzero=True)),
        Param("steps", 3, "gradient-descent steps in the worked example", kind="int", minimum=1),
        Param("small_w0", sp.Rational(3, 25), "the start of the unused weight in the shrinkage illustration",
              vary=Fractions(sp.Rational(1, 25), sp.Rational(1, 5), 25)),
        Param("shrink_steps", 5, "steps of the shrinkage illustration", kind="int", minimum=1),
        Param("weight_decay_form", "half", "weight decay as (λ/2)‖w‖² (half) or λ‖w‖² (full)", kind="choice",
              choices=("half", "full"), vary=Pick(("half", "full"))),
        Param("seed", 0, "random points of the identity checks", kind="int", shown=False, vary=Ints(1, 999_999)),
    ),
)
