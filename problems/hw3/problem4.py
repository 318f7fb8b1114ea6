"""hw3/problem4: should regression outputs on very different scales (income, age) be normalised?"""

import numpy as np
import sympy as sp

from derivations.calculus.checks import max_abs_error, numeric_gradient
from derivations.core.model import Param, Problem
from derivations.calculus.symbols import partial

r1, r2, delta = sp.symbols("r_1 r_2 delta", positive=True)


def solve(p, sol):
    income_range, age_range, error = p["income_range"], p["age_range"], p["relative_error"]
    sol.assume("Both outputs are predicted with the same relative error δ of their own range "
               "(ŷᵢ − yᵢ = δ·rᵢ), the fair comparison between an income and an age.")
    sol.assume(f"Ranges: income r₁ = {income_range}, age r₂ = {age_range}; δ = {error}.")
    sol.step("Each squared-error term then scales with the square of its range:",
             sp.Symbol("L"), (delta * r1) ** 2 + (delta * r2) ** 2)
    share = r1**2 / (r1**2 + r2**2)
    sol.step("The income term's share of the loss:", sp.Symbol("share_1"), share)
    ratio = (2 * delta * r1) / (2 * delta * r2)
    sol.step("The gradients the network receives, ∂L/∂ŷᵢ = 2(ŷᵢ − yᵢ) = 2δrᵢ, differ by the ratio of the ranges:",
             partial("L", "yhat_1") / partial("L", "yhat_2"), ratio)
    sol.step("Dividing both target and output by the range (min–max scaling ỹ = (y − min)/(max − min)) makes "
             "every range 1, so the ratio becomes 1; standardisation ỹ = (y − μ)/s does the same with the "
             "training set's mean and standard deviation. The network is trained on ỹ and its prediction "
             "is mapped back with y = min + ỹ·(max − min) (or μ + s·ỹ).")
    values = {r1: income_range, r2: age_range, delta: error}
    sol.answer("income_loss_share_raw", sp.Symbol("share_1"), share.subs(values))
    sol.answer("gradient_ratio_raw", partial("L", "yhat_1") / partial("L", "yhat_2"), ratio.subs(values))
    sol.answer("gradient_ratio_normalized", sp.Symbol("ratio_normalized"), ratio.subs({r1: 1, r2: 1}))
    sol.answer("verdict", sp.Symbol("verdict"), None, text=(
        "Yes, output normalisation is needed. Without it the income term is "
        f"{float(share.subs(values)):.4%} of the loss and its gradient {float(ratio.subs(values)):g} times the age "
        "gradient, so training all but ignores age (and the output layer must produce values in the "
        "thousands). Normalise each output component separately, applying the same map to the network's "
        "output and to the ground truth: min–max scaling to [0, 1] (income/10,000, age/100) or "
        "standardisation with the training set's mean and standard deviation; invert it at prediction time."))

    rng = np.random.default_rng(4)
    ranges = np.array([float(income_range), float(age_range)])
    targets = rng.uniform(0, 1, size=(20, 2)) * ranges
    predictions = targets + float(error) * ranges

    def measured(scale):
        def loss(yhat, y):
            return np.sum(((yhat - y) / scale) ** 2)
        shares, ratios = [], []
        for yhat, y in zip(predictions, targets):
            terms = ((yhat - y) / scale) ** 2
            gradient = numeric_gradient(lambda v: loss(v, y), yhat, eps=1e-3)
            shares.append(terms[0] / terms.sum())
            ratios.append(gradient[0] * scale[0] / (gradient[1] * scale[1]))  # ∂L/∂ỹ = scale·∂L/∂ŷ
        return np.mean(shares), np.mean(ratios)

    raw_share, raw_ratio = measured(np.ones(2))
    sol.check("income share of a NumPy loss on simulated predictions",
              lambda a: max_abs_error(a["income_loss_share_raw"], raw_share), 1e-9)
    sol.check("gradient ratio, raw outputs, by finite differences",
              lambda a: max_abs_error(a["gradient_ratio_raw"], raw_ratio), 1e-5)
    sol.check("gradient ratio, min–max normalised outputs, by finite differences",
              lambda a: max_abs_error(a["gradient_ratio_normalized"], measured(ranges)[1]), 1e-5)


PROBLEM = Problem(
    id="hw3/problem4",
    title="Normalising regression outputs on different scales",
    kind="conceptual, with a numeric demonstration",
    statement=("A network reads a photo of a person and predicts two numbers: monthly income (between 0 and "
               "10,000) and age (between 0 and 100), trained with the sum of the two squared errors. Inputs "
               "are normalised as usual. Must the outputs be normalised too, and if so, how (the same map "
               "applied to the prediction and to the ground truth)?"),
    solve_fn=solve,
    params=(Param("income_range", 10000, "range of the first output", minimum=1),
            Param("age_range", 100, "range of the second output", minimum=1),
            Param("relative_error", sp.Rational(1, 10), "prediction error as a fraction of each range",
                  minimum=0.0001)),
)
