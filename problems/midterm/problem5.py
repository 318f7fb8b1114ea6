"""midterm/problem5: weight normalisation w = g·v/‖v‖ — the gradients with respect to g and v
from the numerator-layout rule table, the projection form that makes ∂L/∂v orthogonal to v, and
why batch norm without a shift on wᵀx is weight normalisation when x is whitened, with the
backend's BatchNorm2d showing the finite-batch gap close like 1/√B."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp

from derivations.backend.nn.normalization import BatchNorm2d
from derivations.calculus.checks import max_abs_error
from derivations.calculus.matrix_calculus import Elementwise, Eye, Norm, divide, numeric, vjp
from derivations.calculus.oracles import FLOAT_TOLERANCE, Gradient, Identity, Oracle, Reference, sample_points
from derivations.calculus.rules import contributions, reciprocal
from derivations.calculus.symbols import partial_matrix
from derivations.core.errors import UserError
from derivations.core.model import Fractions, Ints, Param, Problem, Variation

n = sp.Symbol("n", integer=True, positive=True)
v, w, x = (sp.MatrixSymbol(name, n, 1) for name in ("v", "w", "x"))
g = sp.Symbol("g", real=True)
gamma = sp.Symbol("gamma", real=True)
g_matrix = sp.MatrixSymbol("g", 1, 1)           # g as the rule table's 1×1 factor
Sigma = sp.MatrixSymbol("Sigma", n, n)
dL_dw, dL_dv = partial_matrix("L", "w", 1, n), partial_matrix("L", "v", 1, n)
dL_dg = partial_matrix("L", "g", 1, 1)
s = sp.Symbol("s", real=True)
E, Var = sp.Function("E"), sp.Function("Var")
BN_s = sp.Symbol("BN(s)")

#: float64 evaluations of two formulas that agree exactly differ by rounding only
ROUNDING = 1e-12
#: sizes n at which every part-(1) formula is checked (none square with anything else)
SIZES = (2, 3, 5)
#: the numeric demonstration: inputs per sample, batch sizes, independent batches per size
DEMO_N, BATCH_SIZES, REPEATS = 4, (16, 256, 4096, 65536), 8
#: how far the fitted exponent of the whitened gap may sit from −1/2; its sampling spread at
#: REPEATS = 8 is about 0.03 (over 400 seeds: −0.59 … −0.41)
EXPONENT_BAND = 0.15

#: zero-mean, unit-variance laws with rational support, as {value: probability}; entry i of x
#: follows law i mod 3, independently, for the exact expectations of part (2)
LAWS = (
    {Fraction(-1): Fraction(1, 2), Fraction(1): Fraction(1, 2)},
    {Fraction(-2): Fraction(1, 8), Fraction(0): Fraction(3, 4), Fraction(2): Fraction(1, 8)},
    {Fraction(-1, 2): Fraction(4, 5), Fraction(2): Fraction(1, 5)},
)


# --------------------------------------------------------------------------------------------
# Local oracles.

@dataclass
class Worst(Oracle):
    """Several oracles (one per size n) as one check: the largest of their errors."""

    oracles: Sequence[Oracle] = ()
    describe: str = "every size"
    tolerance: float = FLOAT_TOLERANCE

    def error(self, claimed: Any, lhs: Any = None) -> float:
        return max(o.error(claimed, lhs) for o in self.oracles)


@dataclass
class Exact(Oracle):
    """A claim about s = wᵀx against expectations computed exactly, outcome by outcome, over
    finite laws of x (products of :data:`LAWS`, or those pushed through a correlating matrix),
    at random rational w of sizes 2, 3, 4. ``statistic(case)`` is the exact value; the claim is
    evaluated in float64 at the case's w, x, γ, Σ and n."""

    statistic: Callable[[dict], Any] = None
    correlated: bool = False
    whitened: bool = True
    seed: int = 0
    tolerance: float = ROUNDING
    describe: str = "exact expectations over finite laws of x"

    def error(self, claimed: Any, lhs: Any = None) -> float:
        worst = 0.0
        kinds = [k for k, on in (("whitened", self.whitened), ("correlated", self.correlated)) if on]
        for case in (c for kind in kinds for c in _cases(kind, self.seed)):
            try:
                got = numeric(claimed, case["values"])
            except (ValueError, TypeError, KeyError, sp.ShapeError):
                return float("inf")
            worst = max(worst, max_abs_error(got, self.statistic(case)))
        return worst


def _law(size: int, correlated: bool) -> list[tuple[Fraction, tuple]]:
    """All outcomes (probability, x) of x with independent entries from :data:`LAWS`; with
    ``correlated`` each outcome z becomes Az for the bidiagonal A with ones on and below the
    diagonal, so E[xxᵀ] = AAᵀ ≠ I."""
    outcomes = []
    for picks in itertools.product(*(LAWS[i % 3].items() for i in range(size))):
        z = tuple(value for value, _ in picks)
        p = math.prod(prob for _, prob in picks)
        outcomes.append((p, tuple(z[i] + (z[i - 1] if correlated and i else 0) for i in range(size))))
    return outcomes


def _expect(law, f):
    return sum(p * f(x_) for p, x_ in law)


def _dot(a, b):
    return sum(p * q for p, q in zip(a, b))


@lru_cache(maxsize=8)
def _cases(kind: str, seed: int) -> list[dict]:
    """For n = 2, 3, 4: a random rational w, one outcome x of the law, a random γ, and the
    exact E[s], Var[s] and E[xxᵀ] of that law."""
    rng = np.random.default_rng(seed)
    cases = []
    for size in (2, 3, 4):
        law = _law(size, kind == "correlated")
        w_ = [Fraction(int(rng.choice([-1, 1]) * rng.integers(1, 6)), int(rng.integers(1, 4))) for _ in range(size)]
        x_ = law[int(rng.integers(len(law)))][1]
        gamma_ = Fraction(int(rng.integers(1, 9)), 4) * int(rng.choice([-1, 1]))
        mean = _expect(law, lambda o: _dot(w_, o))
        second = [[float(_expect(law, lambda o: o[i] * o[j])) for j in range(size)] for i in range(size)]
        cases.append({
            "w": w_, "x": x_, "gamma": gamma_, "mean": mean,
            "var": _expect(law, lambda o: _dot(w_, o) ** 2) - mean**2, "second": second,
            "values": {"w": np.array([[float(c)] for c in w_]), "x": np.array([[float(c)] for c in x_]),
                       "gamma": float(gamma_), "Sigma": np.array(second), "n": size},
        })
    return cases


def _batch_norm_exact(case):
    """γ(s − E[s])/√Var[s] at the case's outcome, from the exact moments."""
    return [[float(case["gamma"] * (_dot(case["w"], case["x"]) - case["mean"])) / float(case["var"]) ** 0.5]]


# --------------------------------------------------------------------------------------------
# Part (1): concrete losses at several sizes, for the gradient checks.

@lru_cache(maxsize=8)
def _gradient_cases(seed: int) -> list[dict]:
    """For each size n: random v and g and a concrete smooth loss L(w) = Σ aᵢ sin(wᵢ + bᵢ) +
    (cᵀw)²/2, with ∂L/∂w at w = g·v/‖v‖ written out by hand (the upstream the formulas take)."""
    rng = np.random.default_rng(seed)
    cases = []
    for size in SIZES:
        a, b, c = (rng.standard_normal((size, 1)) for _ in range(3))
        v_ = rng.standard_normal((size, 1))
        g_ = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
        loss = lambda w_, a=a, b=b, c=c: float(np.sum(a * np.sin(w_ + b)) + (c.T @ w_).item() ** 2 / 2)  # noqa: E731
        w_ = g_ * v_ / np.linalg.norm(v_)
        upstream = (a * np.cos(w_ + b) + c * (c.T @ w_)).T
        cases.append({"loss": loss, "values": {"v": v_, "g": g_, dL_dw.name: upstream, "n": size}})
    return cases


def _reparametrised(case):
    """L(g·v/‖v‖) as a function of the values dict, for central differences in g or v."""
    return lambda vals: case["loss"](vals["g"] * vals["v"] / np.linalg.norm(vals["v"]))


def _gradient_check(wrt: str, seed: int) -> Worst:
    oracles = []
    for case in _gradient_cases(seed):
        values = dict(case["values"])
        if wrt == "g":                              # central differences need g as an array
            values["g"] = np.array([[values["g"]]])
        oracles.append(Gradient(loss=_reparametrised(case), wrt=wrt, values=values))
    return Worst(oracles=oracles, describe=f"central differences of L(g·v/‖v‖) in {wrt}, concrete L, n = 2, 3, 5")


def _scale_invariance(seed: int) -> float:
    """The largest |d/dt L(g·(1 + t)v/‖(1 + t)v‖)| at t = 0 by central differences: how much L
    moves when v is stretched along itself, which is (∂L/∂v)·v."""
    worst, h = 0.0, 1e-4
    for case in _gradient_cases(seed):
        f = _reparametrised(case)
        vals = case["values"]
        along = (f({**vals, "v": (1 + h) * vals["v"]}) - f({**vals, "v": (1 - h) * vals["v"]})) / (2 * h)
        worst = max(worst, abs(along))
    return worst


def _sized_points(exprs, seed: int) -> list[dict]:
    """Two random points at each size in SIZES, for identities between matrix formulas."""
    return [p for i, size in enumerate(SIZES) for p in sample_points(exprs, 2, seed + i, {n: size})]


# --------------------------------------------------------------------------------------------
# Part (2): the batch-norm demonstration.

@lru_cache(maxsize=4)
def _demo(seed: int, rho: float) -> dict:
    """v, g and, for each batch size B, the pre-activations s = vᵀx of REPEATS batches of
    whitened x (entries uniform on [−√3, √3]) and of correlated x' = Ax (AAᵀ = Σ, ones on the
    diagonal, ρ off it), as (B, REPEATS) arrays: one column per independent batch."""
    rng = np.random.default_rng(seed)
    v_ = rng.standard_normal((DEMO_N, 1))
    g_ = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
    sigma = (1 - rho) * np.eye(DEMO_N) + rho
    a = np.linalg.cholesky(sigma)
    weights = np.hstack([v_, a.T @ v_])             # s = vᵀx and vᵀ(Ax) = (Aᵀv)ᵀx
    batches = {}
    for size in BATCH_SIZES:
        # x = √3(2u − 1) for u uniform on [0, 1)ⁿ, so each s = √3(2uᵀc − 1ᵀc) without forming x
        u = rng.random((REPEATS * size, DEMO_N))
        s_ = np.sqrt(3.0) * (2 * (u @ weights) - weights.sum(axis=0))
        batches[size] = tuple(s_[:, k].reshape(REPEATS, size).T for k in range(2))
    return {"v": v_, "g": g_, "sigma": sigma, "batches": batches}


def _rms_gap(normalised, s_, demo):
    """Root-mean-square of BN(s) − g·s/‖v‖ over every sample of every batch."""
    return float(np.sqrt(np.mean((normalised - demo["g"] * s_ / np.linalg.norm(demo["v"])) ** 2)))


def backend_gaps(demo) -> list[list[float]]:
    """Rows [B, gap with whitened x, gap with correlated x]: each batch is one channel of the
    backend's BatchNorm2d in training mode (batch statistics), with ε = 0, β = 0 and γ = g."""
    rows = []
    for size, pair in demo["batches"].items():
        layer = BatchNorm2d(2 * REPEATS, eps=0.0, dtype=np.float64)
        layer.gamma.data[...] = demo["g"]
        out = layer(np.hstack(pair))
        rows.append([float(size)] + [_rms_gap(out[:, k * REPEATS:(k + 1) * REPEATS], s_, demo)
                                     for k, s_ in enumerate(pair)])
    return rows


def plain_gaps(demo) -> list[list[float]]:
    """The same rows with NumPy's mean and var in place of the layer."""
    return [[float(size)] + [_rms_gap(demo["g"] * (s_ - s_.mean(axis=0)) / np.sqrt(s_.var(axis=0)), s_, demo)
                             for s_ in pair]
            for size, pair in demo["batches"].items()]


def fitted_exponent(rows) -> float:
    """The slope of log(whitened gap) against log B, by least squares."""
    rows = np.asarray(rows, dtype=float)
    return float(np.polyfit(np.log(rows[:, 0]), np.log(rows[:, 1]), 1)[0])


# --------------------------------------------------------------------------------------------

def _upstream(values: dict) -> Any:
    """∂L/∂w for ``--values``, given under the JSON-friendly key dL_dw (a declared input, so it
    is there). Refuses v = 0, where w = g·v/‖v‖ is undefined, in words rather than with a
    division error."""
    if "v" in values and not np.any(values["v"]):
        raise UserError("--values: v must not be the zero vector (w = g·v/‖v‖ divides by ‖v‖)")
    return values["dL_dw"]


def solve(p, sol):
    seed, rho = p["seed"], p["rho"]
    if not -sp.Rational(1, DEMO_N - 1) < rho < 1:
        raise UserError(f"rho must lie strictly between −1/{DEMO_N - 1} and 1 (so that Σ is positive definite), "
                        f"got {rho}")
    sol.inputs = {"v": (n, 1), "g": (), "dL_dw": (1, n)}
    sol.definitions.append((dL_dw.name, _upstream))

    sol.assume("Numerator layout: for the scalar L and a column a with n entries, ∂L/∂a is a 1×n row. So the "
               "upstream ∂L/∂w and the answer ∂L/∂v are rows and ∂L/∂g is 1×1 (a number); v.grad in PyTorch "
               "is the column (∂L/∂v)ᵀ. In --values, v is the column, g a number and dL_dw the row ∂L/∂w.")
    sol.assume("v is not the zero vector, so ‖v‖ > 0 and w = g·v/‖v‖ is defined and smooth; g is any real "
               "number. L depends on g and v only through w, and the answers hold for every such L. The checks "
               "use concrete smooth losses (a random sum of sines plus a squared linear term) at n = 2, 3 and 5.")
    sol.assume("Part (2): batch norm acts on the scalar pre-activation s = wᵀx of one unit, with the population "
               "mean and variance of s (the large-batch limit of the batch statistics used in training), "
               "ε = 0 (with ε > 0 it divides by √(Var[s] + ε) and the match is only approximate), no shift "
               "(β = 0) and the scale γ kept.")
    sol.assume("The entries of x are independent with mean 0 and variance 1; nothing else about their "
               "distribution matters. The exact checks use three discrete laws of that kind (±1; −2, 0, 2 with "
               "probabilities 1/8, 3/4, 1/8; −1/2, 2 with probabilities 4/5, 1/5); the numeric demonstration "
               "uses entries uniform on [−√3, √3].")
    sol.assume("If x has a nonzero mean μ, batch norm also subtracts wᵀμ; if its covariance Σ is not I, it "
               "divides by √(wᵀΣw) instead of ‖w‖. Either way it is no longer weight normalisation; the "
               "correlated case is worked below, and demonstrated with Σ having ones on the diagonal and "
               f"ρ = {rho} (the parameter rho) off it.")

    # (1) the gradients, from the rule table
    w_graph = divide(v * g_matrix, Norm(v))
    sol.step("(1) The reparametrisation as the rule table sees it: a product of the column v, the gain g "
             "(a 1×1 factor, so the product rule treats it like any other factor) and the 1×1 reciprocal "
             "of the norm.", w, w_graph)
    (_, to_v), (_, to_g), (_, to_reciprocal) = contributions(w_graph, dL_dw)
    sol.step("Backward from the upstream row {N}: the product hands each factor {N} with the factors after it "
             "on the left and those before it on the right, so v gets {Nv}, g gets {Ng} and 1/‖v‖ gets {Nr}. "
             "The table's 1/t multiplies its upstream by −1/t², and its norm passes ‖v‖⁻¹·(upstream)·vᵀ to v, "
             "where it is added to the product's direct contribution.",
             math={"N": dL_dw, "Nv": to_v, "Ng": to_g, "Nr": to_reciprocal})
    grads = vjp(w_graph, dL_dw)
    d_g = grads[g_matrix]
    raw = grads[v].xreplace({g_matrix: g * sp.Identity(1)}).doit()
    sol.step("The gradient with respect to g: the upstream row applied to the unit vector v/‖v‖.", dL_dg, d_g,
             check=_gradient_check("g", seed))
    sol.step("The gradient with respect to v, the two contributions added (g back as a scalar):", dL_dv, raw,
             check=_gradient_check("v", seed + 1))
    unit = divide(v, Norm(v))
    projected = g * reciprocal(Norm(v)) * dL_dw * (Eye(n) - unit * unit.T)
    points = _sized_points([raw, projected], seed + 2)
    sol.step("Both terms carry g·‖v‖⁻¹·∂L/∂w on the left; what remains on the right is I − vvᵀ/‖v‖², the "
             "orthogonal projection that removes the component along v:", dL_dv, projected,
             check=Identity(of=raw, points=points, tolerance=ROUNDING,
                            describe="both forms at random points, n = 2, 3, 5"))
    sol.step("The projection sends v to v − v(vᵀv)/‖v‖² = 0, so the gradient has no component along v:",
             dL_dv * v, sp.ImmutableMatrix([[0]]),
             check=Identity(of=projected * v, points=points, tolerance=ROUNDING,
                            describe="the projection form times v at random points, n = 2, 3, 5"))
    sol.answer("dL_dg", dL_dg, d_g, check=_gradient_check("g", seed + 3))
    sol.answer("dL_dv", dL_dv, projected, check=_gradient_check("v", seed + 4))
    sol.answer("orthogonal", dL_dv * v, sp.S.Zero,
               text="(1) (∂L/∂v)·v = 0: the gradient with respect to v is orthogonal to v, because stretching v "
                    "leaves w = g·v/‖v‖, and so L, unchanged. A gradient step therefore never changes ‖v‖ to "
                    "first order; the length of w is governed by g alone.",
               check=Reference(compute=lambda: _scale_invariance(seed + 5),
                               describe="central differences of L along v (n = 2, 3, 5)"))

    # (2) batch norm without the shift on s = wᵀx
    s_def = w.T * x
    sol.step("(2) One unit's pre-activation is {s} = {wx}, a weighted sum of the entries of x.",
             math={"s": s, "wx": s_def})
    sol.step("Expectation is linear, so {Es} = wᵀE[x], and every entry of x has mean 0:", E(s), sp.S.Zero,
             math={"Es": E(s)}, check=Exact(statistic=lambda c: float(c["mean"]), seed=seed,
                                            describe="exact E[wᵀx] over finite whitened laws, n = 2, 3, 4"))
    sol.step("With E[s] = 0 the variance is E[s²] = E[wᵀx xᵀw] = wᵀ{Sigma}w, where {Sigma} = E[xxᵀ] is the "
             "second-moment matrix of x (its covariance, as E[x] = 0). This holds for any zero-mean x, "
             "correlated or not:", Var(s), w.T * Sigma * w, math={"Sigma": Sigma},
             check=Exact(statistic=lambda c: [[float(c["var"])]], correlated=True, seed=seed + 1,
                         describe="exact Var[wᵀx] over finite whitened and correlated laws, n = 2, 3, 4"))
    sol.step("Independence gives E[xᵢxⱼ] = E[xᵢ]E[xⱼ] = 0 for distinct i and j, and unit variance gives "
             "E[xᵢ²] = 1:",
             Sigma, Eye(n), check=Exact(statistic=lambda c: c["second"], seed=seed + 2,
                                        describe="exact E[xxᵀ] over finite whitened laws, n = 2, 3, 4"))
    sol.step("So the variance of the pre-activation is the squared length of the weights:", Var(s), Norm(w) ** 2,
             check=Exact(statistic=lambda c: [[float(c["var"])]], seed=seed + 3,
                         describe="exact Var[wᵀx] over finite whitened laws, n = 2, 3, 4"))
    bn_value = gamma * divide(s_def, Norm(w))
    sol.step("Batch norm without the shift subtracts E[s] = 0 and divides by √Var[s] = ‖w‖, then scales by "
             "{gamma}:", BN_s, bn_value, math={"gamma": gamma},
             check=Exact(statistic=_batch_norm_exact, seed=seed + 4,
                         describe="γ(s − E[s])/√Var[s] with exact moments, whitened laws, n = 2, 3, 4"))
    weight_norm = (gamma * divide(w, Norm(w))).T * x
    sol.step("Moving the scalars inside the product gives a linear unit whose weight vector is {gamma} times "
             "{u}: weight normalisation with {g} = {gamma} and {v} = {w}.", BN_s, weight_norm,
             math={"u": divide(w, Norm(w)), "g": g, "gamma": gamma, "v": v, "w": w},
             check=Identity(of=bn_value, points=_sized_points([bn_value], seed + 5), tolerance=ROUNDING,
                            describe="both forms at random points, n = 2, 3, 5"))
    correlated = gamma * divide(s_def, Elementwise(sp.sqrt, w.T * Sigma * w))
    sol.step("Without whitening the same steps stop at Var[s] = wᵀΣw: batch norm divides by the Σ-length "
             "of w, which is ‖w‖ only when wᵀΣw = wᵀw, so for general w it is not weight normalisation:",
             BN_s, correlated,
             check=Exact(statistic=_batch_norm_exact, whitened=False, correlated=True, seed=seed + 6,
                         describe="γ(s − E[s])/√Var[s] with exact moments, correlated laws, n = 2, 3, 4"))
    sol.answer("variance", Var(s), Norm(w) ** 2,
               text="(2) For independent zero-mean, unit-variance inputs, E[wᵀx] = 0 and Var[wᵀx] = ‖w‖².",
               check=Exact(statistic=lambda c: [[float(c["var"])]], seed=seed + 7,
                           describe="exact Var[wᵀx] over finite whitened laws, n = 2, 3, 4"))
    sol.answer("bn_is_weight_norm", BN_s, weight_norm,
               text="(2) So batch norm without the shift gives γ(wᵀx − 0)/‖w‖ = (γ·w/‖w‖)ᵀx: exactly the "
                    "unit weight-normalised with g = γ and v = w (population statistics, ε = 0).",
               check=Exact(statistic=_batch_norm_exact, seed=seed + 8,
                           describe="γ(s − E[s])/√Var[s] with exact moments, whitened laws, n = 2, 3, 4"))

    # (2) numerically: the backend's batch norm on finite batches
    demo = _demo(seed, float(rho))
    rows = backend_gaps(demo)
    plain = lru_cache(maxsize=1)(lambda: plain_gaps(demo))     # one NumPy recomputation for every check
    v_, g_, sigma = demo["v"], demo["g"], demo["sigma"]
    limit = abs(g_) * abs(1 - np.sqrt((v_.T @ sigma @ v_).item()) / np.linalg.norm(v_))
    B, gap_white, gap_corr = sp.symbols("B gap_I gap_Sigma")
    table = sp.ImmutableMatrix([[sp.Integer(int(r[0])), sp.Float(r[1]), sp.Float(r[2])] for r in rows])
    sol.step("Numerically, with the backend's BatchNorm2d in training mode (batch mean and variance), ε = 0, "
             "β = 0 and γ = g: n = {n}, v = {v}, g = {g} from the seed, and {R} independent batches of each size "
             "B. Each row gives the root-mean-square gap between BN(vᵀx) and g·vᵀx/‖v‖ over all samples, for "
             "whitened x (gap_I) and for x with covariance Σ (gap_Σ):",
             sp.ImmutableMatrix([[B, gap_white, gap_corr]]), table,
             math={"n": DEMO_N, "v": tuple(sp.Float(c, 4) for c in v_[:, 0]), "g": sp.Float(g_, 4), "R": REPEATS},
             check=Reference(compute=plain, tolerance=ROUNDING, describe="the gaps recomputed with NumPy's mean and var"))
    exponent = fitted_exponent(rows)
    sol.answer("bn_gaps", sp.ImmutableMatrix([[B, gap_white, gap_corr]]), table,
               text=f"(2) bn_gaps lists rows [B, gap_I, gap_Σ] for B = {', '.join(map(str, BATCH_SIZES))}: with "
                    "whitened x the gap between finite-batch BN and weight normalisation shrinks towards 0 as "
                    "the batch grows; with correlated x it levels off.",
               check=Reference(compute=plain, tolerance=ROUNDING, describe="the gaps recomputed with NumPy's mean and var"))
    sol.answer("gap_exponent", sp.Symbol("p"), sp.Float(exponent),
               text=f"(2) With whitened x the gap falls like B^p with p ≈ {exponent:.3f} (least squares of log gap "
                    "on log B): the 1/√B of the sampling error in the batch mean and variance.",
               check=[Reference(compute=lambda: fitted_exponent(plain()), tolerance=ROUNDING,
                                describe="the exponent refitted to the NumPy gaps"),
                      Reference(compute=lambda: -0.5, tolerance=EXPONENT_BAND,
                                describe=f"the 1/√B rate, p = −1/2 ± {EXPONENT_BAND}")])
    largest = BATCH_SIZES[-1]
    sol.answer("correlated_gap_limit", sp.Symbol("gap_Sigma_inf"), sp.Float(limit),
               text=f"(2) With correlated x the gap tends to |g|·|1 − √(vᵀΣv)/‖v‖| = {limit:.4f}, not 0: batch "
                    "norm divides by √(vᵀΣv), weight normalisation by ‖v‖.",
               check=Reference(compute=lambda: plain()[-1][2], tolerance=5 * abs(g_) / np.sqrt(largest),
                               describe=f"the correlated gap at B = {largest}, within five times the sampling "
                                        f"scale |g|/√{largest} of one batch"))


def _variant_inputs(rng) -> dict[str, np.ndarray]:
    """Numbers for the key: v and ∂L/∂w with entries −2 … 2 and a nonzero g, in a size n of 2 … 5."""
    n_ = int(rng.integers(2, 6))
    return {"v": rng.integers(-2, 3, size=(n_, 1)).astype(float), "g": float(rng.choice([-3, -2, -1, 1, 2, 3])),
            "dL_dw": rng.integers(-2, 3, size=(1, n_)).astype(float)}


PROBLEM = Problem(
    id="midterm/problem5",
    title="Weight normalisation: gradients through g·v/‖v‖, and batch norm as weight normalisation",
    kind="matrix calculus + proof with numeric check",
    statement=(
        "Weight normalisation replaces a weight vector w by g·v/‖v‖, where the scalar g and the vector v "
        "(the same shape as w) are the new parameters. (1) Express ∂L/∂g and ∂L/∂v through g, v and the "
        "upstream gradient ∂L/∂w. (2) Show that batch normalisation without its shift parameter β, applied to "
        "the pre-activation wᵀx, is weight normalisation when the entries of x are independent with mean 0 "
        "and variance 1."
    ),
    solve_fn=solve,
    params=(
        Param("seed", 0, "random points of the checks and the batches of the demonstration", kind="int", vary=Ints(1, 999_999)),
        Param("rho", sp.Rational(1, 2), f"off-diagonal covariance ρ of the correlated inputs, in (−1/{DEMO_N - 1}, 1)",
              vary=Fractions(sp.Rational(1, 10), sp.Rational(9, 10), 10)),
    ),
    variation=Variation(inputs=lambda rng, p: _variant_inputs(rng),
                        degenerate=lambda v: None if np.any(v["v"]) else "v is zero (w = g·v/‖v‖ is undefined)"),
)
