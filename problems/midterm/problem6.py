"""midterm/problem6: Adam with a gradient that never changes. The bias-corrected moments are
exactly g and g² at every step (induction), so with ε = 0 every update is −α·sign(g); a large ε
turns the update back into something that depends on |g|: gradient descent with learning rate
α/ε for small gradients, the sign step −α·sign(g) only for gradients much larger than ε."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp

from derivations.calculus import optimizers
from derivations.calculus.iterates import float_adam
from derivations.calculus.optimizers import ALPHA, BETA_1, BETA_2, EPSILON, G, M, T, V, X
from derivations.calculus.oracles import Identity, Oracle, Reference
from derivations.core.errors import UserError
from derivations.calculus.printing import inline
from derivations.core.model import Fractions, Ints, Param, Pick, Problem, Variation

MAX_STEPS = 50
#: The gradients of the table: g = 10^k for these k.
TABLE_EXPONENTS = tuple(range(-3, 4))
#: Float loops differentiate g·θ by central differences, which costs ~1e-10 relative in g.
LOOP_TOLERANCE = 1e-8

m_t, m_prev, mhat_t = sp.Symbol("m_t"), sp.Symbol("m_t-1"), sp.Symbol("mhat_t")
v_t, v_prev, vhat_t = sp.Symbol("v_t"), sp.Symbol("v_t-1"), sp.Symbol("vhat_t")
theta_0, theta_t, theta_prev = sp.Symbol("theta_0"), sp.Symbol("theta_t"), sp.Symbol("theta_t-1")
#: The t-th update θ_t − θ_{t−1} (kept unevaluated so that it prints as written).
STEP = sp.Add(theta_t, -theta_prev, evaluate=False)
STEP_IN_ALPHA = sp.Mul(STEP, 1 / ALPHA, evaluate=False)


# --------------------------------------------------------------------------------------------
# Plain references (no SymPy): the moments by their own loop, the updates by float_adam.

def plain_moments(g: float, beta_1: float, beta_2: float, steps: int) -> dict[str, list[float]]:
    """m_t, v_t, m̂_t, v̂_t for t = 1 … steps with the gradient fixed at ``g``, in float64."""
    m = v = 0.0
    out: dict[str, list[float]] = {"m": [], "v": [], "mhat": [], "vhat": []}
    for t in range(1, steps + 1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        out["m"].append(m)
        out["v"].append(v)
        out["mhat"].append(m / (1 - beta_1**t))
        out["vhat"].append(v / (1 - beta_2**t))
    return out


def plain_updates(g: float, alpha: float, beta_1: float, beta_2: float, epsilon: float, steps: int,
                  placement: str) -> list[float]:
    """θ_t − θ_{t−1} for t = 1 … steps of ``float_adam`` on the loss g·θ from θ₀ = 0."""
    points = [0.0] + float_adam(lambda p: g * p, 0.0, alpha, beta_1, beta_2, epsilon, steps,
                                epsilon_placement=placement)
    return [b - a for a, b in zip(points, points[1:])]


@dataclass
class AgainstLoop(Oracle):
    """A claimed closed form in g, α, β₁, β₂, ε and t against a plain float loop: at every
    sampled point (symbol name -> float) and every t = 1 … ``steps``, the claim evaluated by
    mpmath against ``reference(point)[t − 1]``. The error is relative to max(1, |reference|),
    or to α when ``per_alpha`` (an update is measured in units of the step size)."""

    reference: Callable[[dict[str, float]], list[float]] = None
    points: Sequence[dict[str, float]] = ()
    steps: int = 5
    per_alpha: bool = False
    tolerance: float = 1e-12
    describe: str = "a plain float loop"

    def error(self, claimed: Any, lhs: Any = None) -> float:
        expr = sp.sympify(claimed)
        names = sorted(expr.free_symbols, key=str)
        f = sp.lambdify(names, expr, "mpmath")
        worst = 0.0
        for point in self.points:
            reference = self.reference(point)
            for t in range(1, self.steps + 1):
                env = {**point, "t": t}
                value = float(f(*[env[s.name] for s in names]))
                scale = point["alpha"] if self.per_alpha else max(1.0, abs(reference[t - 1]))
                worst = max(worst, abs(value - reference[t - 1]) / scale)
        return worst


def sample_points(seed: int, count: int = 6, epsilon: float | None = None) -> list[dict[sp.Symbol, float]]:
    """Random points for the identities and loops: g of either sign over four decades, t a
    positive integer, 0 < β₁, β₂ < 1, α and ε in [0.5, 2] (ε fixed when given)."""
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(count):
        points.append({G: float(rng.choice([-1.0, 1.0]) * 10 ** rng.uniform(-2, 2)), T: int(rng.integers(1, 9)),
                       ALPHA: float(rng.uniform(0.5, 2)), BETA_1: float(rng.uniform(0.05, 0.95)),
                       BETA_2: float(rng.uniform(0.5, 0.9999)),
                       EPSILON: float(rng.uniform(0.5, 2)) if epsilon is None else epsilon})
    return points


def _named(points):
    return [{s.name: v for s, v in p.items() if s != T} for p in points]


# --------------------------------------------------------------------------------------------

def _validate(p):
    for name in ("beta1", "beta2"):
        if not 0 < p[name] < 1:
            raise UserError(f"{name} must lie strictly between 0 and 1, got {p[name]}")
    if not p["alpha"] > 0:
        raise UserError(f"alpha must be > 0, got {p['alpha']}")
    if not p["eps"] > 0:
        raise UserError(f"eps must be > 0 (part 1 is the case eps = 0), got {p['eps']}")
    if p["steps"] > MAX_STEPS:
        raise UserError(f"steps must be at most {MAX_STEPS}")


def _moment_steps(sol, p, order, beta, symbol, prev, hat, seed):
    """The induction for one moment: m_t = (1 − β₁ᵗ)g (order 1) or v_t = (1 − β₂ᵗ)g² (order 2)."""
    power = G**order
    closed = (1 - beta**T) * power
    steps = p["steps"]
    loop = lambda name: (lambda pt: plain_moments(pt["g"], pt["beta_1"], pt["beta_2"], steps)[name])  # noqa: E731
    key = "m" if order == 1 else "v"
    points = sample_points(seed)
    sol.step("Base case: the state starts at 0, so the first update leaves only the new term:",
             sp.Symbol(f"{key}_1"), (1 - beta) * power,
             check=AgainstLoop(reference=lambda pt: loop(key)(pt)[:1], points=_named(points), steps=1,
                               describe="a plain float loop"))
    sol.step("Induction step: assume the closed form holds one step earlier,", prev, (1 - beta ** (T - 1)) * power)
    sol.step("and put it into the update {lhs} = {rule}:",
             beta * (1 - beta ** (T - 1)) * power + (1 - beta) * power, closed,
             math={"lhs": symbol, "rule": beta * prev + (1 - beta) * power}, check=Identity(points=points))
    sol.step("So for every t ≥ 1:", symbol, closed,
             check=AgainstLoop(reference=loop(key), points=_named(points), steps=steps,
                               describe=f"a plain float loop, t = 1 … {steps}"))
    sol.step("The bias correction divides by exactly this factor, which is never 0 because 0 < {beta} < 1, so the "
             "corrected moment is the same at every step:", hat, power, math={"beta": beta},
             check=AgainstLoop(reference=loop(key + "hat"), points=_named(points), steps=steps,
                               describe=f"a plain float loop, t = 1 … {steps}"))
    return closed


def solve(p, sol):
    _validate(p)
    alpha, beta1, beta2, eps, placement, steps = (p["alpha"], p["beta1"], p["beta2"], p["eps"],
                                                   p["eps_placement"], p["steps"])
    seed = p["seed"]
    other = "inside" if placement == "outside" else "outside"

    sol.assume("Adam is the rule of Kingma and Ba as PyTorch implements it: m₀ = v₀ = 0, t counts updates from 1, "
               "m_t = β₁m_{t−1} + (1 − β₁)g_t, v_t = β₂v_{t−1} + (1 − β₂)g_t², m̂_t = m_t/(1 − β₁ᵗ), "
               "v̂_t = v_t/(1 − β₂ᵗ) and θ_t = θ_{t−1} − α·m̂_t/(√v̂_t + ε).")
    sol.assume(f"ε is added {placement} the square root ("
               + ("PyTorch's default and the paper's form" if placement == "outside"
                  else "θ_t = θ_{t−1} − α·m̂_t/√(v̂_t + ε)")
               + f"); --set eps_placement={other} takes the other form.")
    sol.assume("θ is one scalar parameter (with many, everything below holds for each coordinate), and its gradient "
               "is the same nonzero number g at every iteration, as for the loss g·θ.")
    sol.assume(f"'Large ε' is read as ε = eps = {eps} (--set eps=...), compared with gradients g = 10^k for "
               f"k = {TABLE_EXPONENTS[0]} … {TABLE_EXPONENTS[-1]}; updates are given in units of α, so they do not "
               f"depend on α = {alpha}. Negative g give the negated updates (the update is odd in g).")
    sol.assume(f"The sheet fixes no α, β₁, β₂: PyTorch's defaults α = {alpha}, β₁ = {beta1}, β₂ = {beta2} are "
               f"used where a number is needed; the derivation keeps them as symbols. Numeric checks run "
               f"t = 1 … {steps} (--set steps=...).")

    rule = optimizers.adam(alpha, beta1, beta2, eps, epsilon_placement=placement)
    sol.step("Adam as the shared optimizer record runs it, with the parameter θ written {x}, the gradient {g} "
             "and the step count {t} (the state starts at zero):",
             math={"x": X, "g": G, "t": T})
    for equation in rule.initial_equations + rule.equations:
        sol.step("", equation.lhs, equation.rhs)

    # The moments, by induction.
    _moment_steps(sol, p, 1, BETA_1, m_t, m_prev, mhat_t, seed)
    _moment_steps(sol, p, 2, BETA_2, v_t, v_prev, vhat_t, seed + 1)
    points = sample_points(seed + 2)
    named = _named(points)

    def loop_updates(epsilon, where):
        return lambda pt: plain_updates(pt["g"], pt["alpha"], pt["beta_1"], pt["beta_2"],
                                        pt["epsilon"] if epsilon is None else epsilon, steps, where)

    # (1) ε = 0.
    zero_update = -ALPHA * sp.sign(G)
    quotient = rule.updates[-1][1] - X
    sol.step("(1) With ε = 0 the update is {quotient}. Substituting the corrected moments {mhat} = {g} and "
             "{vhat} = {g2}, whose root is |g| for real g:", STEP, -ALPHA * G / sp.Pow(G**2, sp.Rational(1, 2), evaluate=False),
             math={"quotient": quotient.subs(EPSILON, 0), "mhat": mhat_t, "vhat": vhat_t, "g": G, "g2": G**2},
             check=AgainstLoop(reference=loop_updates(0.0, placement), points=named, steps=steps, per_alpha=True,
                               tolerance=LOOP_TOLERANCE, describe=f"float_adam with ε = 0, t = 1 … {steps}"))
    sol.step("As g is not 0, g/|g| is the sign of g:", STEP, zero_update,
             check=AgainstLoop(reference=loop_updates(0.0, placement), points=named, steps=steps, per_alpha=True,
                               tolerance=LOOP_TOLERANCE, describe=f"float_adam with ε = 0, t = 1 … {steps}"))
    sol.step("Neither t, nor β₁ and β₂, nor the size of g appears: every step moves θ by exactly α against the "
             "gradient's sign, so after t steps", theta_t, theta_0 - T * ALPHA * sp.sign(G))
    sol.answer("m_t", m_t, (1 - BETA_1**T) * G,
               text="m_t = (1 − β₁ᵗ)g for every t ≥ 1 (induction from m₀ = 0).",
               check=AgainstLoop(reference=lambda pt: plain_moments(pt["g"], pt["beta_1"], pt["beta_2"], steps)["m"],
                                 points=named, steps=steps, describe="a plain float loop"))
    sol.answer("v_t", v_t, (1 - BETA_2**T) * G**2, text="v_t = (1 − β₂ᵗ)g² for every t ≥ 1.",
               check=AgainstLoop(reference=lambda pt: plain_moments(pt["g"], pt["beta_1"], pt["beta_2"], steps)["v"],
                                 points=named, steps=steps, describe="a plain float loop"))
    sol.answer("mhat_t", mhat_t, G, text="m̂_t = g at every step: the bias correction is exact.",
               check=AgainstLoop(reference=lambda pt: plain_moments(pt["g"], pt["beta_1"], pt["beta_2"], steps)["mhat"],
                                 points=named, steps=steps, describe="a plain float loop"))
    sol.answer("vhat_t", vhat_t, G**2, text="v̂_t = g² at every step.",
               check=AgainstLoop(reference=lambda pt: plain_moments(pt["g"], pt["beta_1"], pt["beta_2"], steps)["vhat"],
                                 points=named, steps=steps, describe="a plain float loop"))
    sol.answer("update_eps0", STEP, zero_update,
               text="(1) With ε = 0: θ_t − θ_{t−1} = −α·sign(g) at every step, whatever t, β₁, β₂ and |g|.",
               check=AgainstLoop(reference=loop_updates(0.0, placement), points=named, steps=steps, per_alpha=True,
                                 tolerance=LOOP_TOLERANCE, describe="float_adam with ε = 0"))

    # (2) ε > 0.
    if placement == "outside":
        update = -ALPHA * G / (sp.Abs(G) + EPSILON)
        small = -ALPHA / EPSILON * G / (1 + sp.Abs(G) / EPSILON)
        large = -ALPHA * sp.sign(G) / (1 + EPSILON / sp.Abs(G))
        rate = ALPHA / EPSILON
    else:
        update = -ALPHA * G / sp.sqrt(G**2 + EPSILON)
        small = -ALPHA / sp.sqrt(EPSILON) * G / sp.sqrt(1 + G**2 / EPSILON)
        large = -ALPHA * sp.sign(G) / sp.sqrt(1 + EPSILON / G**2)
        rate = ALPHA / sp.sqrt(EPSILON)
    sol.step("(2) With ε > 0 the same moments go into {quotient}:", STEP, update,
             math={"quotient": quotient},
             check=AgainstLoop(reference=loop_updates(None, placement), points=named, steps=steps, per_alpha=True,
                               tolerance=LOOP_TOLERANCE, describe=f"float_adam with sampled ε, t = 1 … {steps}"))
    scale = EPSILON if placement == "outside" else sp.sqrt(EPSILON)
    sol.step("It is still the same at every step, but it now depends on |g| (and it is odd in g: negative gradients "
             "mirror positive ones). Small gradients, |g| much smaller than {scale}: the last factor tends to 1 as "
             "g → 0, so the update is plain gradient descent with learning rate {rate}, proportional to g rather "
             "than to its sign:", update, small, math={"scale": scale, "rate": rate}, check=Identity(points=points))
    sol.step("Large gradients, |g| much larger than {scale}: the last factor tends to 1 and the update approaches "
             "the sign step {sign} of part (1):", update, large, math={"scale": scale, "sign": zero_update},
             check=Identity(points=points))

    # The table for the chosen ε.
    in_alpha = sp.simplify((update / ALPHA).subs(EPSILON, eps))
    gs = [sp.Integer(10) ** k for k in TABLE_EXPONENTS]
    table = sp.Matrix([[g, sp.nsimplify(in_alpha.subs(G, g)) if placement == "outside" else in_alpha.subs(G, g)]
                       for g in gs])
    a_f, b1_f, b2_f, e_f = float(alpha), float(beta1), float(beta2), float(eps)

    def loop_row(g):
        return [float(g)] + [d / a_f for d in plain_updates(float(g), a_f, b1_f, b2_f, e_f, steps, placement)]

    sol.step("With ε = {eps} and g = 10^k the update in units of α, exactly and to six digits (the same at every "
             "step t):", math={"eps": eps})
    for g, value in table.tolist():
        sol.step("g = {g}: {decimal}; gradient descent with learning rate {rate} would give {gd}.",
                 STEP_IN_ALPHA, value,
                 math={"g": g, "decimal": sp.Float(sp.N(value, 20), 6), "rate": rate.subs(EPSILON, eps),
                       "gd": sp.Float(sp.N((-rate * G / ALPHA).subs({EPSILON: eps, G: g}), 20), 6)},
                 check=Reference(compute=lambda g=g: loop_row(g)[1:], convert=lambda c: [c] * steps,
                                 tolerance=LOOP_TOLERANCE, describe=f"float_adam, t = 1 … {steps}"))

    sol.answer("update_eps", STEP, update,
               text=f"(2) With ε > 0 (ε {placement} the root): θ_t − θ_{{t−1}} = "
                    + ("−α·g/(|g| + ε)" if placement == "outside" else "−α·g/√(g² + ε)")
                    + " at every step.",
               check=AgainstLoop(reference=loop_updates(None, placement), points=named, steps=steps, per_alpha=True,
                                 tolerance=LOOP_TOLERANCE, describe="float_adam with sampled ε"))
    sol.answer("update_table", sp.Matrix([[G, STEP_IN_ALPHA]]), table,
               text=f"(2) update_table is a list of rows [g, (θ_t − θ_{{t−1}})/α] (in JSON a list of pairs) for "
                    f"g = 10^k, k = {TABLE_EXPONENTS[0]} … {TABLE_EXPONENTS[-1]} in that order, at ε = {eps} ({placement} the root): the update in units "
                    "of α, the same at every step; negative g give the negated values.",
               check=Reference(compute=lambda: [loop_row(g) for g in gs],
                               convert=lambda c: [[row[0]] + [row[1]] * steps for row in sp.Matrix(c).tolist()],
                               tolerance=LOOP_TOLERANCE, describe=f"float_adam, t = 1 … {steps}"))
    first, last = float(table[0, 1]), float(table[-1, 1])
    formula, threshold = (("−α·g/(|g| + ε)", "ε") if placement == "outside" else ("−α·g/√(g² + ε)", "√ε"))
    sol.answer("eps_effect", None, text=(
        f"(2) A large ε stops the update from being a sign step. The update {formula} still does not change with t, "
        f"but it now depends on |g|: for |g| much smaller than {threshold} it is ≈ −(α/{threshold})·g, gradient "
        f"descent with learning rate α/{threshold} (at ε = {eps}, g = 10^{TABLE_EXPONENTS[0]} moves only "
        f"{abs(first):.4g}·α), and only for |g| much larger than {threshold} does it approach the sign step "
        f"−α·sign(g) (g = 10^{TABLE_EXPONENTS[-1]} moves {abs(last):.7g}·α)"
        + (", with |g| = ε moving exactly α/2" if placement == "outside" else "")
        + ". ε thus acts as a threshold below which Adam's per-parameter normalisation switches off, which is "
          "why a larger ε makes Adam behave more like SGD with momentum."))


PROBLEM = Problem(
    id="midterm/problem6",
    title="Adam with a constant gradient: sign steps, and what a large ε changes",
    kind="symbolic sequence + numeric check",
    statement=(
        "Adam is run on a parameter θ whose gradient is the same nonzero value g at every iteration. "
        "(1) Take ε = 0 and 0 < β₁, β₂ < 1, and show that every update θ_t − θ_{t−1} equals −α·sign(g). "
        "(2) How does the update depend on g when ε is large, for instance ε = 1?"
    ),
    variation=Variation(restate=lambda p: PROBLEM.statement.replace("ε = 1?", f"ε = {inline(p['eps'])}?")),
    solve_fn=solve,
    params=(
        Param("eps", sp.Integer(1), "ε of part (2), > 0", vary=Pick((sp.Rational(1, 2), sp.Integer(1), sp.Integer(2), sp.Integer(5)))),
        Param("eps_placement", "outside", "ε added to √v̂ (outside, PyTorch) or to v̂ under the root (inside)",
              kind="choice", choices=("outside", "inside")),
        Param("alpha", sp.Rational(1, 1000), "the step size α (> 0)", vary=Fractions(sp.Rational(1, 1000), sp.Rational(1, 100), 1000)),
        Param("beta1", sp.Rational(9, 10), "β₁, strictly between 0 and 1", vary=Pick((sp.Rational(4, 5), sp.Rational(17, 20), sp.Rational(9, 10), sp.Rational(19, 20)))),
        Param("beta2", sp.Rational(999, 1000), "β₂, strictly between 0 and 1", vary=Pick((sp.Rational(99, 100), sp.Rational(995, 1000), sp.Rational(999, 1000)))),
        Param("steps", 5, f"steps t = 1 … steps of the numeric checks (at most {MAX_STEPS})", kind="int", minimum=1),
        Param("seed", 0, "random points of the identity and loop checks", kind="int", shown=False, vary=Ints(1, 999_999)),
    ),
)
