"""hw3/problem4: should regression outputs on very different scales (income, age) be normalised?"""

import numpy as np
import sympy as sp

from derivations.calculus.checks import numeric_gradient
from derivations.calculus.oracles import Reference
from derivations.core.model import Fractions, Ints, Param, Problem, Variation
from derivations.calculus.symbols import partial

r1, r2, delta = sp.symbols("r_1 r_2 delta", positive=True)
r_i, yhat_i, y_i = sp.symbols("r_i yhat_i y_i", real=True)
y_, ytilde, y_min, y_max, mu, s_ = sp.symbols("y ytilde y_min y_max mu s", real=True)


def solve(p, sol):
    income_range, age_range, error = p["income_range"], p["age_range"], p["relative_error"]
    values = {r1: income_range, r2: age_range, delta: error}
    at_parameters = lambda e: float(sp.sympify(e).subs(values))  # noqa: E731
    raw, normalized = _simulated(income_range, age_range, error)
    sol.assume("Both outputs are predicted with the same relative error δ of their own range "
               "(ŷᵢ − yᵢ = δ·rᵢ), the fair comparison between an income and an age.")
    sol.assume(f"Ranges: income r₁ = {income_range}, age r₂ = {age_range}; δ = {error}.")
    sol.step("Each squared-error term then scales with the square of its range:",
             sp.Symbol("L"), (delta * r1) ** 2 + (delta * r2) ** 2,
             check=Reference(compute=lambda: raw["loss"], convert=at_parameters, tolerance=1e-6,
                             describe="a NumPy loss on simulated predictions"))
    share = r1**2 / (r1**2 + r2**2)
    sol.step("The income term's share of the loss:", sp.Symbol("share_1"), share,
             check=Reference(compute=lambda: raw["share"], convert=at_parameters, tolerance=1e-9,
                             describe="the income share of a NumPy loss on simulated predictions"))
    ratio = (2 * delta * r1) / (2 * delta * r2)
    sol.step("The gradients the network receives, {grad} = {two_error} = {two_delta_r}, differ by the ratio of "
             "the ranges:", partial("L", "yhat_1") / partial("L", "yhat_2"), ratio,
             math={"grad": partial("L", "yhat_i"), "two_error": sp.Mul(2, yhat_i - y_i, evaluate=False), "two_delta_r": 2 * delta * r_i},
             check=Reference(compute=lambda: raw["ratio"], convert=at_parameters, tolerance=1e-5,
                             describe="finite differences of a NumPy loss"))
    sol.step("Dividing both target and output by the range (min–max scaling ỹ = {minmax}) makes every range 1, so "
             "the ratio becomes 1; standardisation ỹ = {standard} does the same with the training set's mean and "
             "standard deviation. The network is trained on {ytilde} and its prediction is mapped back with "
             "y = {back_minmax} (or {back_standard}).",
             math={"minmax": (y_ - y_min) / (y_max - y_min),
                   "standard": (y_ - mu) / s_, "ytilde": ytilde,
                   "back_minmax": y_min + ytilde * (y_max - y_min),
                   "back_standard": mu + s_ * ytilde})
    sol.answer("income_loss_share_raw", sp.Symbol("share_1"), share.subs(values),
               check=Reference(compute=lambda: raw["share"], tolerance=1e-9,
                               describe="the income share of a NumPy loss on simulated predictions"))
    sol.answer("gradient_ratio_raw", partial("L", "yhat_1") / partial("L", "yhat_2"), ratio.subs(values),
               check=Reference(compute=lambda: raw["ratio"], tolerance=1e-5,
                               describe="finite differences of a NumPy loss, raw outputs"))
    sol.answer("gradient_ratio_normalized", sp.Symbol("ratio_normalized"), ratio.subs({r1: 1, r2: 1}),
               check=Reference(compute=lambda: normalized()["ratio"], tolerance=1e-5,
                               describe="finite differences of a NumPy loss, min–max normalised outputs"))
    sol.answer("verdict", sp.Symbol("verdict"), None, text=(
        "Yes, output normalisation is needed. Without it the income term is "
        f"{float(share.subs(values)):.4%} of the loss and its gradient {float(ratio.subs(values)):g} times the age "
        "gradient, so training all but ignores age (and the output layer must produce values in the "
        "thousands). Normalise each output component separately, applying the same map to the network's "
        "output and to the ground truth: min–max scaling to [0, 1] (income/10,000, age/100) or "
        "standardisation with the training set's mean and standard deviation; invert it at prediction time."))


def _simulated(income_range, age_range, error):
    """Simulated predictions off by δ·rᵢ, and their NumPy loss, income share and gradient ratio
    (by central differences): on the raw outputs now, on min–max normalised ones when called."""
    rng = np.random.default_rng(4)
    ranges = np.array([float(income_range), float(age_range)])
    targets = rng.uniform(0, 1, size=(20, 2)) * ranges
    predictions = targets + float(error) * ranges

    def measured(scale):
        def loss(yhat, y):
            return np.sum(((yhat - y) / scale) ** 2)
        losses, shares, ratios = [], [], []
        for yhat, y in zip(predictions, targets):
            terms = ((yhat - y) / scale) ** 2
            # central differences are exact on a quadratic but for rounding, which a step the size
            # of the error keeps far below the tolerance at any range
            gradient = numeric_gradient(lambda v: loss(v, y), yhat, eps=float(np.abs(yhat - y).max()))
            losses.append(loss(yhat, y))
            shares.append(terms[0] / terms.sum())
            ratios.append(gradient[0] * scale[0] / (gradient[1] * scale[1]))  # ∂L/∂ỹ = scale·∂L/∂ŷ
        return {"loss": np.mean(losses), "share": np.mean(shares), "ratio": np.mean(ratios)}

    return measured(np.ones(2)), lambda: measured(ranges)


STATEMENT = ("A network reads a photo of a person and predicts two numbers: monthly income (between 0 and "
             "{income}) and age (between 0 and {age}), trained with the sum of the two squared errors. Inputs "
             "are normalised as usual. Must the outputs be normalised too, and if so, how (the same map "
             "applied to the prediction and to the ground truth)?")


def _restate(p):
    return STATEMENT.format(income=f"{p['income_range']:,}", age=p["age_range"])


def _degenerate(p):
    ratio = p["income_range"] / p["age_range"]
    return None if ratio >= 10 else f"the ranges differ only {ratio:.1f}-fold: nothing to demonstrate"


PROBLEM = Problem(
    id="hw3/problem4",
    title="Normalising regression outputs on different scales",
    kind="conceptual, with a numeric demonstration",
    statement=STATEMENT.format(income="10,000", age="100"),
    solve_fn=solve,
    params=(Param("income_range", 10000, "range of the first output", minimum=1, vary=Ints(1000, 50000, 500)),
            Param("age_range", 100, "range of the second output", minimum=1, vary=Ints(50, 120, 5)),
            Param("relative_error", sp.Rational(1, 10), "prediction error as a fraction of each range",
                  minimum=0.0001, vary=Fractions(sp.Rational(1, 20), sp.Rational(1, 4), 20))),
    variation=Variation(degenerate=_degenerate, restate=_restate),
)
