"""hw1/problem4: six conceptual questions (softmax as a soft arg max, when softmax overflows, two
stacked linear layers, four activation functions, kinds of linear map, learning rate against batch
size), each answered in words and backed by numbers the engine computes and checks against an
independent computation: NumPy, mpmath, the NumPy backend or a closed form."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from derivations.backend.nn import SGD, LeakyReLU, Linear, MSELoss, ReLU, Sequential, Sigmoid, Tanh
from derivations.backend.nn.data import BatchLoader
from derivations.calculus.checks import to_float
from derivations.calculus.functions import relu, sigmoid
from derivations.calculus.oracles import Identity, Oracle, Reference
from derivations.core.errors import UserError
from derivations.core.model import Fractions, IntArray, Ints, Param, Pick, Problem, Variation

x = sp.Symbol("x", real=True)
T = sp.Symbol("T", positive=True)
c = sp.Symbol("c", real=True)
z = sp.Symbol("z", real=True)
Z = sp.symbols("z1:4", real=True)                 # three logits for the symbolic identities
softmax = sp.Function("softmax")
#: Question 3, column vectors as on this sheet: x is n×1, W1 m×n, b1 m×1, W2 k×m, b2 k×1.
n, m, k = sp.symbols("n m k", integer=True, positive=True)
X_IN, B1, B2 = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("b1", m, 1), sp.MatrixSymbol("b2", k, 1)
W1_, W2_ = sp.MatrixSymbol("W1", m, n), sp.MatrixSymbol("W2", k, m)
INPUTS = {"z1": (), "z2": (), "z3": (), "x": (n, 1), "W1": (m, n), "b1": (m, 1), "W2": (k, m), "b2": (k, 1)}
DIGITS = 30
MAX_ENTRIES = 10                                  # logits, temperatures, offsets, points, matrix sides
MAX_LOGIT, MAX_SCALED_LOGIT, MAX_POINT = 10**4, 10**6, 100
DTYPES = (np.float32, np.float64)
#: two float64 evaluations of one quantity written in different orders
ROUNDING = 1e-12

#: Question 4: pre-activations z ~ N(bias, 1) for the dead-unit counts.
ACTIVATION_SAMPLES = 10_000
#: Question 5: example maps of the plane, one of each kind.
ANGLE = sp.pi / 6
KINDS = {
    "rotation": sp.Matrix([[sp.cos(ANGLE), -sp.sin(ANGLE)], [sp.sin(ANGLE), sp.cos(ANGLE)]]),
    "reflection": sp.Matrix([[sp.cos(2 * ANGLE), sp.sin(2 * ANGLE)], [sp.sin(2 * ANGLE), -sp.cos(2 * ANGLE)]]),
    "scaling": sp.diag(3, sp.Rational(1, 2)),
    "shear": sp.Matrix([[1, 1], [0, 1]]),
}
XOR_INPUTS = ((0, 0), (0, 1), (1, 0), (1, 1))
XOR_TARGETS = (0, 1, 1, 0)
#: One ReLU hidden layer that computes XOR: h = ReLU(V x + a), y = u·h.
XOR_V, XOR_A, XOR_U = ((1, 1), (1, 1)), (0, -1), (1, -2)
#: Question 6: least squares on seeded synthetic data.
SAMPLES, FEATURES, NOISE = 256, 4, sp.Rational(1, 10)
EDGE_STEPS, EDGE_FACTORS = 20, (sp.Rational(9, 10), sp.Rational(11, 10))
#: float64 rounding (1e-15 relative) of losses up to ~100, which the unstable run magnifies as it
#: magnifies the loss, by up to |1 − 2.2|^(2K) ≈ 1500 at K = 20
EDGE_TOLERANCE = 1e-9
MAX_EPOCHS = 20


# --------------------------------------------------------------------------------------------
# Small helpers.

def _exact(values) -> list[sp.Rational]:
    """Numbers as exact rationals, decimals as typed (0.1 -> 1/10)."""
    return [sp.Rational(repr(float(v))) for v in np.asarray(values, dtype=float).ravel()]


def _exact_matrix(values, name: str) -> sp.Matrix:
    array = np.asarray(values, dtype=float)
    if array.ndim != 2:
        raise UserError(f"{name} must be a matrix (a JSON list of rows), got shape {array.shape}")
    return sp.Matrix(*array.shape, _exact(array))


def _number(value: sp.Expr, digits: int = 15) -> sp.Expr:
    """A computed value as reported: exact when rational, else ``digits`` significant digits."""
    return value if value.is_Rational else sp.Float(sp.N(value, DIGITS), digits)


def _column(entries) -> list[list[float]]:
    return [[float(v)] for v in entries]


def _mp(value) -> mpmath.mpf:
    exact = sp.Rational(value)
    return mpmath.mpf(int(exact.p)) / int(exact.q)


def mp_softmax(values, temperature=1, dps: int = 80) -> list[float]:
    """softmax(z/T) in mpmath at ``dps`` digits, from exact values."""
    with mpmath.workdps(dps):
        exps = [mpmath.exp(_mp(v) / _mp(temperature)) for v in values]
        total = mpmath.fsum(exps)
        return [float(e / total) for e in exps]


def numpy_softmax(values, temperature=1.0) -> list[float]:
    """float64 softmax(z/T) with the max subtracted."""
    scaled = np.asarray([float(v) for v in values]) / float(temperature)
    e = np.exp(scaled - scaled.max())
    return (e / e.sum()).tolist()


# --------------------------------------------------------------------------------------------
# Question 1: softmax as a soft arg max.

def softmax_at(logits, temperature) -> list[sp.Float]:
    exps = [sp.exp(v / temperature) for v in logits]
    total = sp.Add(*exps)
    return [_number(e / total) for e in exps]


def softmax_limit(logits, cold: bool) -> list[sp.Expr]:
    """The limit of softmax(z/T) as T -> 0+ (cold) or T -> oo, from softmax_i = 1/Σ_j e^((z_j − z_i)s)
    with s = 1/T: each term tends to 0, 1 or oo as s -> oo, and to 1 as s -> 0."""
    s = sp.Symbol("s", positive=True)
    return [1 / sp.Add(*(sp.exp((zj - zi) * s).subs(s, sp.oo if cold else 0) for zj in logits)) for zi in logits]


def limit_reference(logits, cold: bool) -> list[float]:
    """mpmath at a temperature far past the limit: gap/200 (each off term below e^−200) or
    10^40 times the logits' size."""
    gaps = [abs(a - b) for a in logits for b in logits if a != b]
    temperature = min(gaps) / 200 if cold and gaps else sp.Integer(10) ** 40 * (1 + max(abs(v) for v in logits))
    return mp_softmax(logits, temperature)


def _question1(p, sol):
    logits, temperatures = p["logits"], p["temperatures"]
    z_vec = sp.Tuple(*logits)
    sum_exp = sp.Add(*(sp.exp(zj) for zj in Z))
    lse_grad = sp.Derivative(sp.log(sum_exp), Z[0])
    sol.step("(1) softmax is the gradient of the smooth maximum log Σⱼ e^(zⱼ) (logsumexp), just as the one-hot "
             "indicator of the arg max is the gradient of max; for three logits:",
             lse_grad, sp.exp(Z[0]) / sum_exp, check=Identity(of=lse_grad))
    cold_form = sp.exp(Z[0] / T) / sp.Add(*(sp.exp(zj / T) for zj in Z))
    rewritten = 1 / sp.Add(*(sp.exp((zj - Z[0]) / T) for zj in Z))
    sol.step("Dividing numerator and denominator by e^(z₁/T) leaves one term per logit, each a power of e with "
             "exponent (zⱼ − z₁)/T:", cold_form, rewritten, check=Identity(of=cold_form))
    table = [softmax_at(logits, t) for t in temperatures]
    plain = lambda: [numpy_softmax(logits, t) for t in temperatures]  # noqa: E731
    sol.step("For the logits z = {z}, one row per temperature T = {temps}:", softmax(z / T), table,
             math={"z": z_vec, "temps": sp.Tuple(*temperatures)},
             check=Reference(compute=plain, describe="NumPy's float64 softmax", tolerance=ROUNDING))
    cold, hot = softmax_limit(logits, cold=True), softmax_limit(logits, cold=False)
    cold_check = Reference(compute=lambda: limit_reference(logits, True), tolerance=1e-15,
                           describe="mpmath far below the smallest gap between logits")
    hot_check = Reference(compute=lambda: limit_reference(logits, False), tolerance=1e-15,
                          describe="mpmath at a temperature of 10^40")
    sol.step("As T → 0⁺ a term whose zⱼ is below zᵢ tends to 0 and one above it to ∞, so all the mass goes to the "
             "arg max (shared equally by tied maxima):", sp.Limit(softmax(z / T), T, 0, "+"), cold, check=cold_check)
    sol.step("and as T → ∞ every term tends to 1, so softmax tends to the uniform distribution:",
             sp.Limit(softmax(z / T), T, sp.oo), hot, check=hot_check)
    sol.answer("logsumexp_gradient", lse_grad, sp.exp(Z[0]) / sum_exp, check=Identity(of=lse_grad, seed=1))
    sol.answer("softmax_by_temperature", softmax(z / T), table,
               check=Reference(compute=plain, describe="NumPy's float64 softmax", tolerance=ROUNDING))
    sol.answer("softmax_cold_limit", sp.Limit(softmax(z / T), T, 0, "+"), cold, check=cold_check)
    sol.answer("softmax_hot_limit", sp.Limit(softmax(z / T), T, sp.oo), hot,
               text="(1) arg max returns the index of the largest logit, as a one-hot vector; it is piecewise "
                    "constant, so its gradient is zero wherever it exists. Softmax is its smooth relaxation: a "
                    "probability vector that keeps the order of the logits, puts the most mass on the largest, and "
                    "is differentiable, being the gradient of logsumexp, the smooth maximum. With a temperature, "
                    "softmax(z/T) tends to the one-hot arg max as T → 0⁺ and to the uniform distribution as T → ∞; "
                    "at T = 1 it sits in between. It is therefore a soft arg max, not a soft max: the soft max is "
                    "logsumexp.",
               check=hot_check)


# --------------------------------------------------------------------------------------------
# Question 2: when softmax is unstable, and the max-shift.

def exp_range(dtype) -> list[sp.Float]:
    """[ln(smallest subnormal / 2), ln(largest float)] at DIGITS digits: e^x rounds to 0 below the
    first and is infinite above the second."""
    info = np.finfo(dtype)
    low = sp.log(sp.Float(float(info.smallest_subnormal), DIGITS) / 2)
    high = sp.log(sp.Float(float(info.max), DIGITS))
    return [low.evalf(DIGITS), high.evalf(DIGITS)]


def predicted_nonfinite(values: np.ndarray, ends) -> bool:
    """Whether e^(zᵢ)/Σⱼ e^(zⱼ) gives NaN: the largest e^z overflows (∞/∞) or every one underflows (0/0).
    A sum that overflows alone gives zeros, which are finite."""
    largest = sp.Rational(float(values.max()))
    return bool(largest > ends[1] or largest < ends[0])


def _bisect(predicate, low: float, high: float) -> float:
    """The point where ``predicate`` turns from true (at ``low``) to false (at ``high``)."""
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if predicate(middle) else (low, middle)
    return low


def measured_exp_range(dtype) -> list[float]:
    """Both ends of exp's range found by bisection on ``np.exp`` in ``dtype``."""
    with np.errstate(over="ignore", under="ignore"):
        low = _bisect(lambda t: np.exp(dtype(t)) == 0, -2000.0, 0.0)
        high = _bisect(lambda t: bool(np.isfinite(np.exp(dtype(t)))), 0.0, 2000.0)
    return [low, high]


def exp_range_tolerance(dtype, ends) -> float:
    """Two float spacings at the larger end: the boundary lies between two floats of ``dtype``."""
    return 2 * float(np.spacing(dtype(max(abs(float(v)) for v in ends))))


def stored(values, dtype) -> np.ndarray:
    return np.asarray([float(v) for v in values], dtype=dtype)


def naive_is_nonfinite(values: np.ndarray) -> bool:
    with np.errstate(all="ignore"):
        e = np.exp(values)
        return not bool(np.all(np.isfinite(e / e.sum())))


def shifted_softmax(values: np.ndarray) -> list[float]:
    """softmax(z − max z) in the dtype of ``values``. Its error is a few roundings of numbers ≤ 1 (an
    exp, a sum of at most MAX_ENTRIES terms, a division): under 16 machine epsilons."""
    e = np.exp(values - values.max())
    return (e / e.sum()).tolist()


def _question2(p, sol):
    logits, offsets = p["logits"], p["offsets"]
    shifted_lhs = sp.exp(Z[0] - c) / sp.Add(*(sp.exp(zj - c) for zj in Z))
    sol.step("(2) Softmax does not change when the same c is subtracted from every logit: e^(−c) cancels between "
             "numerator and denominator.", shifted_lhs, sp.exp(Z[0]) / sp.Add(*(sp.exp(zj) for zj in Z)),
             check=Identity(of=shifted_lhs))
    ends = {dtype: exp_range(dtype) for dtype in DTYPES}
    ranges = {dtype: [_number(v) for v in ends[dtype]] for dtype in DTYPES}
    range_checks = {dtype: Reference(compute=lambda d=dtype: measured_exp_range(d), describe="bisection on np.exp",
                                     tolerance=exp_range_tolerance(dtype, ranges[dtype])) for dtype in DTYPES}
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        sol.step(f"In {name}, e^x rounds to 0 below ln of half the smallest positive {name} and is infinite above ln "
                 f"of the largest:", sp.Symbol(f"exp_range_{name}"), ranges[dtype], check=range_checks[dtype])
    inputs = {dtype: [stored([v + o for v in logits], dtype) for o in offsets] for dtype in DTYPES}
    predicted = [[predicted_nonfinite(values, ends[dtype]) for values in inputs[dtype]] for dtype in DTYPES]
    naive_check = Reference(compute=lambda: [[naive_is_nonfinite(v) for v in inputs[d]] for d in DTYPES],
                            describe="the naive formula run in NumPy", tolerance=0)
    sol.step("The naive formula e^(zᵢ)/Σⱼ e^(zⱼ) on the logits z + o, o = {offsets} (rows float32, float64) gives "
             "∞/∞ when the largest logit is past the upper end and 0/0 when it is below the lower end; NaN or ∞ "
             "(true or false):", sp.Symbol("naive_nonfinite"), predicted,
             math={"offsets": sp.Tuple(*offsets)}, check=naive_check)
    results, checks = {}, {}
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        results[dtype] = [shifted_softmax(v) for v in inputs[dtype]]
        checks[dtype] = Reference(compute=lambda d=dtype: [mp_softmax([sp.Rational(float(t)) for t in v], dps=60)
                                                           for v in inputs[d]],
                                  describe=f"mpmath at 60 digits on the stored {name} logits",
                                  tolerance=16 * float(np.finfo(dtype).eps))
    sol.step("Subtracting max z first makes every exponent ≤ 0, so the largest term is e⁰ = 1 and the sum lies "
             "between 1 and the number of logits: nothing overflows and the denominator cannot be 0. In float32, "
             "one row per offset:", sp.Symbol("softmax_shifted_float32"), results[np.float32],
             check=checks[np.float32])
    sol.step("and in float64:", sp.Symbol("softmax_shifted_float64"), results[np.float64], check=checks[np.float64])
    sol.answer("shift_invariance", shifted_lhs, sp.exp(Z[0]) / sp.Add(*(sp.exp(zj) for zj in Z)),
               check=Identity(of=shifted_lhs, seed=1))
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        sol.answer(f"exp_range_{name}", sp.Symbol(f"exp_range_{name}"), ranges[dtype], check=range_checks[dtype])
    sol.answer("naive_nonfinite", sp.Symbol("naive_nonfinite"), predicted, check=naive_check)
    sol.answer("softmax_shifted_float32", sp.Symbol("softmax_shifted_float32"), results[np.float32],
               check=checks[np.float32])
    sol.answer("softmax_shifted_float64", sp.Symbol("softmax_shifted_float64"), results[np.float64],
               text="(2) Computed as written, softmax exponentiates the logits. exp overflows to ∞ once a logit "
                    "passes the upper end of exp's range (about ln of the largest float: far sooner in float32 "
                    "than in float64, and sooner still in float16 mixed precision), giving ∞/∞ = NaN; and when all "
                    "logits are very negative every exponential underflows to 0, giving 0/0 = NaN. Large logits "
                    "come from large weights or unnormalised inputs, late in training, or from a low temperature. "
                    "Taking log of a softmax output that underflowed to 0 also gives −∞ in the cross-entropy. The "
                    "fix uses shift invariance: compute softmax(z − max z), whose exponents are all ≤ 0, and "
                    "compute log-softmax as (z − max z) − log Σ e^(z − max z) (logsumexp), as "
                    "torch.log_softmax and nn.CrossEntropyLoss do.",
               check=checks[np.float64])


# --------------------------------------------------------------------------------------------
# Question 3: two consecutive linear layers.

def backend_net(W1, b1, W2, b2, nonlinear: bool) -> Sequential:
    """Linear -> (ReLU) -> Linear in the NumPy backend, float64, with the given weights."""
    first = Linear(W1.cols, W1.rows, layout="out_in", weight_init="zeros", dtype=np.float64)
    second = Linear(W2.cols, W2.rows, layout="out_in", weight_init="zeros", dtype=np.float64)
    for layer, W, b in ((first, W1, b1), (second, W2, b2)):
        layer.W.data[...] = np.asarray(W.tolist(), dtype=float)
        layer.b.data[...] = np.asarray([float(v) for v in b], dtype=float)
    return Sequential(*([first, ReLU(), second] if nonlinear else [first, second]))


def probed_affine_map(W1, b1, W2, b2) -> tuple[list, list]:
    """(W, b) of the two-layer map read off the backend: b = f(0), column j of W = f(eⱼ) − f(0)."""
    probes = np.vstack([np.zeros(W1.cols), np.eye(W1.cols)])
    out = backend_net(W1, b1, W2, b2, nonlinear=False).forward(probes)
    return (out[1:] - out[0]).T.tolist(), _column(out[0])


def backend_defect(W1, b1, W2, b2, nonlinear: bool) -> list:
    """f(e₁) + f(−e₁) − 2 f(0), which is 0 for every affine f."""
    e1 = np.eye(W1.cols)[0]
    out = backend_net(W1, b1, W2, b2, nonlinear).forward(np.vstack([e1, -e1, np.zeros(W1.cols)]))
    return _column(out[0] + out[1] - 2 * out[2])


def _question3(p, sol):
    stacked = W2_ * (W1_ * X_IN + B1) + B2
    collapsed = sp.MatAdd(W2_ * W1_ * X_IN, W2_ * B1 + B2)
    sol.step("(3) Two linear layers with nothing between them, z = W2(W1x + b1) + b2, multiply out to one affine "
             "map with weight W2W1 and bias W2b1 + b2 (checked on random rectangular matrices):",
             stacked, collapsed, check=Identity(of=stacked, tolerance=ROUNDING))
    W1, W2 = p["W1"], p["W2"]
    b1, b2 = sp.Matrix(p["b1"]), sp.Matrix(p["b2"])
    W, b = W2 * W1, W2 * b1 + b2
    probe = lambda: probed_affine_map(W1, b1, W2, b2)  # noqa: E731
    weight_check = Reference(compute=lambda: probe()[0], describe="the backend's two layers probed at 0 and eⱼ",
                             tolerance=ROUNDING)
    bias_check = Reference(compute=lambda: probe()[1], describe="the backend's two layers at 0", tolerance=ROUNDING)
    sol.step("With W1 = {W1}, b1 = {b1}, W2 = {W2}, b2 = {b2} the single layer has weight",
             sp.Symbol("W"), W, math={"W1": W1, "b1": b1, "W2": W2, "b2": b2}, check=weight_check)
    sol.step("and bias", sp.Symbol("b"), b, check=bias_check)
    rank_check = Reference(compute=lambda: int(np.linalg.matrix_rank(np.asarray(probe()[0]))),
                           describe="np.linalg.matrix_rank of the probed weight", tolerance=0)
    sol.step("rank(W2W1) is at most the hidden width {m}, so a middle layer narrower than the input and the output "
             "only restricts the map:", sp.Symbol("rank(W)"), W.rank(), math={"m": W1.rows}, check=rank_check)
    e1 = sp.Matrix([1] + [0] * (W1.cols - 1))
    layer = lambda v, act: W2 * (W1 * v + b1).applyfunc(act) + b2  # noqa: E731
    linear_defect = layer(e1, lambda t: t) + layer(-e1, lambda t: t) - 2 * layer(sp.zeros(W1.cols, 1), lambda t: t)
    relu_defect = layer(e1, relu) + layer(-e1, relu) - 2 * layer(sp.zeros(W1.cols, 1), relu)
    relu_defect = relu_defect.applyfunc(lambda t: t.rewrite(sp.Max))
    linear_check = Reference(compute=lambda: backend_defect(W1, b1, W2, b2, False), tolerance=ROUNDING,
                             describe="the backend's two linear layers")
    relu_check = Reference(compute=lambda: backend_defect(W1, b1, W2, b2, True), tolerance=ROUNDING,
                           describe="the backend's layers with ReLU between")
    sol.step("Every affine f has f(x) + f(−x) − 2f(0) = 0. At x = e₁ = {e1}, for the two linear layers:",
             sp.Symbol("d_linear"), linear_defect, math={"e1": e1}, check=linear_check)
    sol.step("With a ReLU between the layers the combination is in general not 0, and any nonzero entry shows the "
             "network is no longer affine:",
             sp.Symbol("d_ReLU"), relu_defect, check=relu_check)
    sol.answer("collapse", stacked, collapsed, check=Identity(of=stacked, seed=1, tolerance=ROUNDING))
    sol.answer("collapsed_weight", sp.Symbol("W"), W, check=weight_check)
    sol.answer("collapsed_bias", sp.Symbol("b"), b, check=bias_check)
    sol.answer("collapsed_rank", sp.Symbol("rank(W)"), W.rank(), check=rank_check)
    sol.answer("relu_defect", sp.Symbol("d_ReLU"), relu_defect,
               text="(3) Not for expressive power: with no nonlinearity between them, W2(W1x + b1) + b2 is the single "
                    "affine layer (W2W1)x + (W2b1 + b2), so the pair computes nothing one layer cannot, while it costs "
                    "more parameters and compute. If the middle width is smaller than both the input and output "
                    "widths, it even restricts the map to rank at most that width. That low-rank factorisation is the "
                    "one reason to do it on purpose (a bottleneck, or LoRA-style compression); it changes the "
                    "optimisation, not the set of functions. Layers that are affine at inference, such as batch "
                    "normalisation or dropout, collapse the same way. Put a nonlinearity between the layers.",
               check=relu_check)


# --------------------------------------------------------------------------------------------
# Question 4: ReLU, tanh, sigmoid and LeakyReLU.

def backend_slopes(layer, points) -> list[float]:
    layer.forward(np.asarray([float(v) for v in points], dtype=np.float64))
    return layer.derivative().tolist()


def grid_max_slope(layer) -> float:
    """The largest derivative on a grid over [−10, 10] that holds 0."""
    return max(backend_slopes(layer, np.linspace(-10.0, 10.0, 2001)))


def zero_fraction(values, slope) -> float:
    """The fraction of ``values`` where ``slope`` is exactly 0, counted in a plain loop."""
    return sum(1 for v in values if slope(v) == 0) / len(values)


def _question4(p, sol):
    points, alpha, bias = p["points"], p["leaky_slope"], p["relu_bias"]
    leaky = sp.Piecewise((x, x > 0), (alpha * x, True))
    activations = {"sigmoid": sigmoid(x), "tanh": sp.tanh(x), "ReLU": relu(x), "LeakyReLU": leaky}
    d_sigmoid, d_tanh = sp.Derivative(sigmoid(x), x), sp.Derivative(sp.tanh(x), x)
    sigmoid_slope = sigmoid(x) * (1 - sigmoid(x))
    sol.step("(4) The sigmoid's slope is σ(1 − σ):", d_sigmoid, sigmoid_slope, check=Identity(of=d_sigmoid))
    d_slope = sp.Derivative(sigmoid_slope, x)
    sol.step("Its own derivative vanishes only where σ = 1/2, at x = 0, where σ′ is largest:", d_slope,
             sigmoid_slope * (1 - 2 * sigmoid(x)), check=Identity(of=d_slope))
    sol.step("tanh′ = 1 − tanh², largest at x = 0 where tanh = 0:", d_tanh, 1 - sp.tanh(x) ** 2,
             check=Identity(of=d_tanh))
    sigmoid_max = sigmoid_slope.subs(x, 0)
    tanh_max = (1 - sp.tanh(x) ** 2).subs(x, 0)
    sigmoid_check = Reference(compute=lambda: grid_max_slope(Sigmoid()), tolerance=ROUNDING,
                              describe="the backend's Sigmoid slope, largest on a grid")
    tanh_check = Reference(compute=lambda: grid_max_slope(Tanh()), tolerance=ROUNDING,
                           describe="the backend's Tanh slope, largest on a grid")
    sol.step("So the largest slopes are, for σ,", sp.Symbol("max_sigma'"), sigmoid_max, check=sigmoid_check)
    sol.step("and for tanh,", sp.Symbol("max_tanh'"), tanh_max, check=tanh_check)
    table = [[_number(sp.diff(f, x).subs(x, t).doit()) for t in points] for f in activations.values()]
    layers = (Sigmoid, Tanh, ReLU, lambda: LeakyReLU(float(alpha)))
    table_check = Reference(compute=lambda: [backend_slopes(make(), points) for make in layers], tolerance=ROUNDING,
                            describe="the backend activations' derivative()")
    sol.step("The slopes at x = {points}, rows σ, tanh, ReLU, LeakyReLU with slope {alpha} below 0: σ and tanh "
             "saturate (slope near 0) for large |x| of either sign, ReLU's slope is exactly 0 for every negative x, "
             "LeakyReLU's never is:", sp.Symbol("slopes"), table,
             math={"points": sp.Tuple(*points), "alpha": alpha}, check=table_check)
    samples = float(bias) + np.random.default_rng(p["seed"]).standard_normal(ACTIVATION_SAMPLES)
    relu_dead = float(np.mean(np.asarray(backend_slopes(ReLU(), samples)) == 0))
    leaky_dead = float(np.mean(np.asarray(backend_slopes(LeakyReLU(float(alpha)), samples)) == 0))
    relu_count = Reference(compute=lambda: zero_fraction(samples.tolist(), lambda v: 1.0 if v > 0 else 0.0),
                           describe="counting x ≤ 0 in a loop", tolerance=0)
    leaky_count = Reference(compute=lambda: zero_fraction(samples.tolist(), lambda v: 1.0 if v > 0 else float(alpha)),
                            describe="counting zero LeakyReLU slopes in a loop", tolerance=0)
    expected = sp.erfc(bias / sp.sqrt(2)) / 2
    expected_check = Reference(compute=lambda: 0.5 * math.erfc(float(bias) / math.sqrt(2)),
                               describe="math.erfc", tolerance=ROUNDING)
    sol.step("A ReLU unit whose pre-activation is x ~ N({bias}, 1), a negative bias shifting it below 0, gets no "
             "gradient on the fraction P(x ≤ 0) of its inputs:", sp.Symbol("P(x<=0)"), _number(expected),
             math={"bias": bias}, check=expected_check)
    sol.step("On {count} such samples the backend's ReLU has slope 0 on the fraction", sp.Symbol("dead_ReLU"),
             relu_dead, math={"count": ACTIVATION_SAMPLES}, check=relu_count)
    sol.step("and LeakyReLU on the fraction", sp.Symbol("dead_LeakyReLU"), leaky_dead, check=leaky_count)
    sol.answer("sigmoid_max_slope", sp.Symbol("max_sigma'"), sigmoid_max, check=sigmoid_check)
    sol.answer("tanh_max_slope", sp.Symbol("max_tanh'"), tanh_max, check=tanh_check)
    sol.answer("activation_slopes", sp.Symbol("slopes"), table, check=table_check)
    sol.answer("relu_dead_expected", sp.Symbol("P(x<=0)"), _number(expected), check=expected_check)
    sol.answer("relu_dead_fraction", sp.Symbol("dead_ReLU"), relu_dead, check=relu_count)
    sol.answer("leaky_dead_fraction", sp.Symbol("dead_LeakyReLU"), leaky_dead,
               text="(4) Sigmoid. Advantage: smooth, output in (0, 1), read as a probability (binary outputs, "
                    "gates). Disadvantage: its slope is at most 1/4 and vanishes for large |x|, so gradients shrink "
                    "layer after layer (vanishing gradients); outputs are all positive, not zero-centred; needs an "
                    "exponential. "
                    "Tanh. Advantage: zero-centred output in (−1, 1) with slope 1 at 0, four times the sigmoid's, "
                    "so it trains faster than the sigmoid in hidden layers. Disadvantage: still saturates for large "
                    "|x| (vanishing gradients) and needs exponentials. "
                    "ReLU. Advantage: slope exactly 1 for every positive input, so it does not saturate and "
                    "gradients pass through deep stacks; one comparison to compute; sparse activations. "
                    "Disadvantage: slope exactly 0 for negative inputs, so a unit pushed negative on most inputs "
                    "(a large negative bias, a big update) stops learning for good, a dead ReLU; unbounded and not "
                    "zero-centred. "
                    "LeakyReLU. Advantage: a small slope α below 0 keeps every unit's gradient nonzero, so no unit "
                    "dies, at ReLU's cost and without saturation. Disadvantage: α is one more hyperparameter, the "
                    "negative side learns slowly, activations are no longer sparse, and the gain over ReLU is often "
                    "small.",
               check=leaky_count)


# --------------------------------------------------------------------------------------------
# Question 5: kinds of linear map; the roles of the linear and the nonlinear maps.

def singular_values_2x2(W: sp.Matrix) -> list[sp.Expr]:
    """σ₁ ± σ₂ = √(‖W‖²_F ± 2|det W|), since σ₁² + σ₂² = ‖W‖²_F and σ₁σ₂ = |det W|."""
    frobenius, det = sum(v ** 2 for v in W), abs(W.det())
    plus, minus = sp.sqrt(frobenius + 2 * det), sp.sqrt(frobenius - 2 * det)
    return [(plus + minus) / 2, (plus - minus) / 2]


def svd_factors(W: sp.Matrix, sigmas) -> tuple[sp.Matrix, sp.Matrix]:
    """Orthogonal V and U with W = U Σ Vᵀ: V from the eigenvectors of WᵀW, largest eigenvalue first and
    det V = +1 (a rotation), then U = W V Σ⁻¹."""
    pairs = [(value, v) for value, _, vectors in (W.T * W).eigenvects() for v in vectors]
    pairs.sort(key=lambda pair: -float(pair[0]))
    V = sp.Matrix.hstack(*(v / v.norm() for _, v in pairs)).evalf(DIGITS)
    if V.det() < 0:
        V[:, -1] = -V[:, -1]
    U = W * V * sp.diag(*sigmas).inv()
    return V.applyfunc(_number), U.evalf(DIGITS).applyfunc(_number)


@dataclass
class OrthogonalFactor(Oracle):
    """A claimed SVD factor Q against the definition: QᵀQ = I and QᵀMQ = diag(σ²), where M is WWᵀ
    (for U) or WᵀW (for V) and σ are NumPy's singular values. No sign convention is needed."""

    gram: Any = None
    squares: Any = None
    tolerance: float = ROUNDING
    describe: str = "orthogonality, and the Gram matrix diagonalised to NumPy's σ²"

    def error(self, claimed: Any, lhs: Any = None) -> float:
        q = np.asarray(to_float(claimed), dtype=float)
        if q.shape != self.gram.shape:
            return float("inf")
        return float(max(np.abs(q.T @ q - np.eye(len(q))).max(),
                         np.abs(q.T @ self.gram @ q - np.diag(self.squares)).max()))


def backend_xor() -> list[float]:
    net = backend_net(sp.Matrix(XOR_V), sp.Matrix(XOR_A), sp.Matrix([XOR_U]), sp.Matrix([0]), nonlinear=True)
    return net.forward(np.asarray(XOR_INPUTS, dtype=np.float64))[:, 0].tolist()


def lstsq_xor() -> tuple[list[float], float]:
    A = np.column_stack([np.ones(4), np.asarray(XOR_INPUTS, dtype=float)])
    w, residual, *_ = np.linalg.lstsq(A, np.asarray(XOR_TARGETS, dtype=float), rcond=None)
    return w.tolist(), float(residual[0]) / 4


def _question5(p, sol):
    sol.step("(5) One map of each kind: a rotation by {angle}, a reflection across the line at angle {angle}, a "
             "scaling and a shear:",
             sp.Symbol("R, F, S, H"), sp.Tuple(*KINDS.values()), math={"angle": ANGLE})
    dets = [sp.simplify(M.det()) for M in KINDS.values()]
    orthogonal = [bool(sp.simplify(M.T * M - sp.eye(2)) == sp.zeros(2, 2)) for M in KINDS.values()]
    floats = [np.asarray(M.evalf(DIGITS).tolist(), dtype=float) for M in KINDS.values()]
    det_check = Reference(compute=lambda: [float(np.linalg.det(M)) for M in floats], tolerance=ROUNDING,
                          describe="np.linalg.det")
    orth_check = Reference(compute=lambda: [bool(np.allclose(M.T @ M, np.eye(2), rtol=0, atol=1e-12)) for M in floats],
                           describe="MᵀM = I in float64", tolerance=0)
    sol.step("Their determinants (the factor by which areas change, negative when orientation flips):",
             sp.Symbol("det"), dets, check=det_check)
    sol.step("Rotations and reflections preserve lengths and angles (MᵀM = I); scalings and shears do not "
             "(true or false):", sp.Symbol("orthogonal"), orthogonal, check=orth_check)
    W = p["W"]
    sigmas = singular_values_2x2(W)
    V, U = svd_factors(W, sigmas)
    Wf = np.asarray(W.tolist(), dtype=float)
    numpy_sigmas = np.linalg.svd(Wf, compute_uv=False)
    sigma_check = Reference(compute=lambda: numpy_sigmas.tolist(), describe="np.linalg.svd", tolerance=ROUNDING)
    u_check = OrthogonalFactor(gram=Wf @ Wf.T, squares=numpy_sigmas ** 2)
    v_check = OrthogonalFactor(gram=Wf.T @ Wf, squares=numpy_sigmas ** 2)
    sol.step("Every matrix is a composition of these kinds: the SVD W = UΣVᵀ is a rotation or reflection, a "
             "scaling along the axes, and another rotation or reflection. For W = {W} the scalings are the "
             "singular values; for a 2×2 matrix σ₁² + σ₂² = ‖W‖²_F and σ₁σ₂ = |det W|, so σ₁ ± σ₂ = "
             "√(‖W‖²_F ± 2|det W|):", sp.Symbol("sigma"), sigmas, math={"W": W}, check=sigma_check)
    sol.step("with V (a rotation) and U:", sp.Symbol("V"), V, check=v_check)
    sol.step("", sp.Symbol("U"), U, check=u_check)
    product = (U * sp.diag(*sigmas) * V.T).evalf(15, chop=True)
    factors = [sp.MatrixSymbol(name, 2, 2) for name in ("U", "Σ", "V")]
    sol.step("Multiplied back, UΣVᵀ is W again:", factors[0] * factors[1] * factors[2].T, product,
             check=Reference(compute=lambda: Wf.tolist(), describe="W itself", tolerance=ROUNDING))
    A = sp.Matrix([[1, *row] for row in XOR_INPUTS])
    y = sp.Matrix(XOR_TARGETS)
    fit = (A.T * A).inv() * A.T * y
    mse = ((A * fit - y).T * (A * fit - y))[0] / len(XOR_TARGETS)
    fit_check = Reference(compute=lambda: lstsq_xor()[0], describe="np.linalg.lstsq", tolerance=ROUNDING)
    mse_check = Reference(compute=lambda: lstsq_xor()[1], describe="np.linalg.lstsq's residual", tolerance=ROUNDING)
    sol.step("The nonlinear map is what bends decision boundaries. XOR of two bits, targets {t} on inputs {xs}: "
             "the best affine fit w₀ + w₁x₁ + w₂x₂ (least squares) has weights", sp.Symbol("w_affine"), list(fit),
             math={"t": sp.Tuple(*XOR_TARGETS), "xs": sp.Tuple(*(sp.Tuple(*v) for v in XOR_INPUTS))}, check=fit_check)
    sol.step("so it predicts the same value for every input, with mean squared error", sp.Symbol("MSE_affine"), mse,
             check=mse_check)
    V_, a_, u_ = sp.Matrix(XOR_V), sp.Matrix(XOR_A), sp.Matrix([XOR_U])
    outputs = [(u_ * (V_ * sp.Matrix(v) + a_).applyfunc(lambda t: sp.Max(0, t)))[0] for v in XOR_INPUTS]
    xor_check = Reference(compute=backend_xor, describe="the backend's Linear, ReLU, Linear", tolerance=ROUNDING)
    sol.step("while one ReLU layer, y = u·ReLU(Vx + a) with V = {V}, a = {a}, u = {u}, folds the plane so that "
             "(0, 0) and (1, 1) land together, and fits XOR exactly:", sp.Symbol("y_ReLU"), outputs,
             math={"V": V_, "a": a_, "u": u_}, check=xor_check)
    sol.answer("kind_determinants", sp.Symbol("det"), dets, check=det_check)
    sol.answer("kind_orthogonal", sp.Symbol("orthogonal"), orthogonal, check=orth_check)
    sol.answer("singular_values", sp.Symbol("sigma"), sigmas, check=sigma_check)
    sol.answer("svd_V", sp.Symbol("V"), V, check=v_check)
    sol.answer("svd_U", sp.Symbol("U"), U, check=u_check)
    sol.answer("xor_affine_fit", sp.Symbol("w_affine"), list(fit), check=fit_check)
    sol.answer("xor_affine_mse", sp.Symbol("MSE_affine"), mse, check=mse_check)
    sol.answer("xor_relu_outputs", sp.Symbol("y_ReLU"), outputs,
               text="(5) Read as the four kinds of linear map of the plane: rotation, reflection, scaling (per axis; "
                    "a zero factor is a projection) and shear. A layer's bias adds a translation, which makes it "
                    "affine. Rotations and reflections keep lengths and angles (orthogonal, determinant ±1); "
                    "scalings stretch axes and change areas by their determinant; shears slide one axis along "
                    "another. Any matrix is a composition of them, W = UΣVᵀ: rotate or reflect, scale, rotate or "
                    "reflect. The linear maps hold most of a network's parameters; they change coordinates, mixing, "
                    "rotating, stretching and shifting the representation, and pick the directions that matter. "
                    "The nonlinearity, applied point by point, bends and folds space, so classes that no hyperplane "
                    "separates (XOR) become separable for the next layer. It is also what makes depth count: "
                    "without it any stack of layers is one affine map (question 3).",
               check=xor_check)


# --------------------------------------------------------------------------------------------
# Question 6: learning rate against batch size.

def regression_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """y = Xw + 1/2 + noise, X standard normal (SAMPLES × FEATURES), y a column."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((SAMPLES, FEATURES))
    w = rng.standard_normal(FEATURES)
    return X, (X @ w + 0.5 + float(NOISE) * rng.standard_normal(SAMPLES))[:, None]


def backend_sgd(X, y, batch: int, lr: float, epochs: int, seed: int, shuffle: bool = True) -> float:
    """Mean squared error on all the data after ``epochs`` epochs of SGD in the NumPy backend (Linear
    from zero weights, MSELoss, SGD, BatchLoader reshuffling every epoch)."""
    model = Linear(X.shape[1], 1, layout="out_in", weight_init="zeros", dtype=np.float64)
    loss, optimizer = MSELoss(), SGD(model.parameters(), lr=lr)
    loader = BatchLoader(X, y, batch, shuffle=shuffle, rng=np.random.default_rng(seed), dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):      # a diverging run is reported by the caller
        for _ in range(epochs):
            for xb, yb in loader:
                loss(model.forward(xb), yb)
                model.backward(loss.backward())
                optimizer.step()
        return loss(model.forward(X), y)


def plain_sgd(X, y, batch: int, lr: float, epochs: int, seed: int) -> float:
    """The same run written out: gradients 2Xᵀr/B and 2·mean(r) by hand, one permutation per epoch."""
    rng, w, b, target = np.random.default_rng(seed), np.zeros(X.shape[1]), 0.0, y[:, 0]
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            idx = order[start:start + batch]
            r = X[idx] @ w + b - target[idx]
            w = w - lr * 2 * X[idx].T @ r / len(idx)
            b = b - lr * 2 * r.mean()
    return float(np.mean((X @ w + b - target) ** 2))


def gd_closed_form(X, y, lr: float, steps: int) -> float:
    """Full-batch GD from 0 on the mean squared error, in closed form: the error θ − θ* is multiplied by
    (I − ηH) each step, H = (2/n)AᵀA, and L(θ) = L(θ*) + ½(θ − θ*)ᵀH(θ − θ*)."""
    A = np.column_stack([X, np.ones(len(X))])
    best, *_ = np.linalg.lstsq(A, y[:, 0], rcond=None)
    H = 2 * A.T @ A / len(X)
    error = np.linalg.matrix_power(np.eye(len(H)) - lr * H, steps) @ -best
    return float(np.mean((A @ best - y[:, 0]) ** 2) + error @ H @ error / 2)


def _question6(p, sol):
    batches, base, epochs, seed = p["batch_sizes"], p["base_lr"], p["epochs"], p["seed"]
    X, y = regression_data(seed)
    A = np.column_stack([X, np.ones(SAMPLES)])
    limit = 2 / float(np.linalg.eigvalsh(2 * A.T @ A / SAMPLES).max())
    smallest = min(batches)
    scaled = [base * b / smallest for b in batches]
    if max(scaled) >= limit:
        raise UserError(f"the scaled learning rate {float(max(scaled)):.4g} at batch size {max(batches)} is past the "
                        f"stability limit {limit:.4g} of this loss, where even full-batch descent diverges; use a "
                        "smaller base_lr or a smaller spread of batch_sizes")
    run = lambda lrs, f: [f(X, y, b, float(lr), epochs, seed) for b, lr in zip(batches, lrs)]  # noqa: E731
    scaled_losses = run(scaled, backend_sgd)
    fixed_losses = run([base] * len(batches), backend_sgd)
    start = float(np.mean(y ** 2))
    if not all(loss < start for loss in scaled_losses + fixed_losses):    # NaN included
        raise UserError("an SGD run ended above its starting loss (it diverged): small batches are noisier, so "
                        "use a smaller base_lr")
    scaled_check = Reference(compute=lambda: run(scaled, plain_sgd), describe="an SGD loop written out in NumPy",
                             tolerance=ROUNDING)
    fixed_check = Reference(compute=lambda: run([base] * len(batches), plain_sgd),
                            describe="an SGD loop written out in NumPy", tolerance=ROUNDING)
    sol.step("(6) Least squares y ≈ w·x + b on {n} seeded samples of {d} features (noise {noise}), trained by SGD "
             "from zero for {E} epochs with batch sizes B = {B}. With the learning rate scaled with the batch, "
             "η = {base}·B/{B0}, that is η = {lrs}, the final mean squared errors are close:",
             sp.Symbol("L_scaled"), scaled_losses,
             math={"n": SAMPLES, "d": FEATURES, "noise": NOISE, "E": epochs, "B": sp.Tuple(*batches), "base": base,
                   "B0": smallest, "lrs": sp.Tuple(*scaled)},
             check=scaled_check)
    sol.step("With η = {base} for every batch size, larger batches take fewer steps per epoch and fall behind:",
             sp.Symbol("L_fixed"), fixed_losses, math={"base": base}, check=fixed_check)
    limit_check = Reference(compute=lambda: SAMPLES / float(np.linalg.svd(A, compute_uv=False)[0]) ** 2,
                            describe="n/σ_max(A)² from np.linalg.svd", tolerance=ROUNDING)
    sol.step("The scaling holds only up to a point: gradient descent on this loss is stable only for η below 2 "
             "over the largest eigenvalue of its Hessian (2/n)AᵀA, A = [X 1]:", sp.Symbol("eta_max"), limit,
             check=limit_check)
    edge = [start] + [backend_sgd(X, y, SAMPLES, float(f) * limit, EDGE_STEPS, seed, shuffle=False)
                      for f in EDGE_FACTORS]
    edge_check = Reference(compute=lambda: [gd_closed_form(X, y, float(f) * limit, s)
                                            for f, s in zip((0, *EDGE_FACTORS), (0, EDGE_STEPS, EDGE_STEPS))],
                           describe="the closed form of gradient descent on least squares",
                           tolerance=EDGE_TOLERANCE)
    sol.step("Full-batch gradient descent from loss L₀ for {K} steps at η = {f}·η_max: below the limit it converges, "
             "above it the loss grows (L₀, then the two final losses):", sp.Symbol("L_edge"), edge,
             math={"K": EDGE_STEPS, "f": sp.Tuple(*EDGE_FACTORS)}, check=edge_check)
    sol.answer("losses_scaled_lr", sp.Symbol("L_scaled"), scaled_losses, check=scaled_check)
    sol.answer("losses_fixed_lr", sp.Symbol("L_fixed"), fixed_losses, check=fixed_check)
    sol.answer("lr_stability_limit", sp.Symbol("eta_max"), limit, check=limit_check)
    sol.answer("losses_at_the_limit", sp.Symbol("L_edge"), edge,
               text="(6) For SGD, scale the learning rate in proportion to the batch size (the linear scaling rule, "
                    "Goyal et al. 2017): k times the batch, k times the learning rate; k times smaller, k times "
                    "smaller. One step on a k-fold batch with rate kη then moves about as far as k small steps with "
                    "rate η, so progress per epoch stays the same, and the gradient-noise scale η/B stays constant. "
                    "It holds only up to a point: the rate must stay below the stability limit 2/λ_max of the loss's "
                    "curvature, past a critical batch size larger batches stop saving steps, and a warm-up of the "
                    "rate over the first epochs is needed for very large batches. For adaptive optimisers such as "
                    "Adam, which divide by the gradient's scale, the usual rule is square-root scaling, η "
                    "proportional to √B (Malladi et al. 2022; Hoffer et al. 2017 argue for it for SGD as well).",
               check=edge_check)


# --------------------------------------------------------------------------------------------

def _vector(value, name: str, low: int = 1) -> list[sp.Rational]:
    entries = _exact(value)
    if not low <= len(entries) <= MAX_ENTRIES:
        raise UserError(f"{name} must have {low} to {MAX_ENTRIES} entries, got {len(entries)}")
    return entries


def _settings(p) -> dict:
    """The settings with the arrays as exact numbers and matrices, their shapes checked."""
    out = dict(p, logits=_vector(p["logits"], "logits", 2), temperatures=_vector(p["temperatures"], "temperatures"),
               offsets=_vector(p["offsets"], "offsets"), points=_vector(p["points"], "points"))
    if not all(t > 0 for t in out["temperatures"]):
        raise UserError("temperatures must all be > 0")
    for name in ("logits", "offsets"):
        if any(abs(v) > MAX_LOGIT for v in out[name]):
            raise UserError(f"{name} must lie in [-{MAX_LOGIT}, {MAX_LOGIT}]")
    if max(abs(v) for v in out["logits"]) > MAX_SCALED_LOGIT * min(out["temperatures"]):
        raise UserError(f"every |z|/T must be at most {MAX_SCALED_LOGIT}: a smaller logit or a larger temperature")
    if 0 in out["points"] or any(abs(v) > MAX_POINT for v in out["points"]):
        raise UserError(f"points must be nonzero (ReLU and LeakyReLU have no derivative at 0) and lie in "
                        f"[-{MAX_POINT}, {MAX_POINT}]")
    if not 0 < p["leaky_slope"] < 1:
        raise UserError(f"leaky_slope must lie strictly between 0 and 1, got {p['leaky_slope']}")
    if abs(p["relu_bias"]) > MAX_POINT:
        raise UserError(f"relu_bias must lie in [-{MAX_POINT}, {MAX_POINT}]")
    for name in ("W1", "W2", "W"):
        out[name] = _exact_matrix(p[name], name)
        if max(out[name].shape) > MAX_ENTRIES:
            raise UserError(f"{name} may have at most {MAX_ENTRIES} rows and columns")
    out["b1"], out["b2"] = _exact(p["b1"]), _exact(p["b2"])
    (m, n), (k, m2) = out["W1"].shape, out["W2"].shape
    if m2 != m or len(out["b1"]) != m or len(out["b2"]) != k:
        raise UserError(f"shapes do not chain: W1 is {m}x{n}, b1 has {len(out['b1'])} entries, W2 is {k}x{m2}, "
                        f"b2 has {len(out['b2'])} entries (need W2 with {m} columns, b1 with {m}, b2 with {k})")
    if out["W"].shape != (2, 2) or out["W"].det() == 0:
        raise UserError("W must be an invertible 2x2 matrix")
    batches = np.asarray(p["batch_sizes"], dtype=float).ravel()
    if not (1 <= batches.size <= MAX_ENTRIES and np.all(batches == np.round(batches))
            and np.all((1 <= batches) & (batches <= SAMPLES))):
        raise UserError(f"batch_sizes must be 1 to {MAX_ENTRIES} integers from 1 to {SAMPLES}")
    out["batch_sizes"] = [int(b) for b in batches]
    if not p["base_lr"] > 0:
        raise UserError(f"base_lr must be > 0, got {p['base_lr']}")
    if p["epochs"] > MAX_EPOCHS:
        raise UserError(f"epochs must be at most {MAX_EPOCHS}")
    return out


def solve(p, sol):
    p = _settings(p)
    sol.assume("softmax(z)ᵢ = e^(zᵢ)/Σⱼ e^(zⱼ); a temperature T divides the logits first: softmax(z/T).")
    sol.assume("Floating point is IEEE float32 and float64, as in NumPy and PyTorch.")
    sol.assume("Vectors are columns and a linear layer is z = Wx + b, as on this sheet.")
    sol.assume("ReLU′(0) = 0 as in PyTorch; the slope table avoids x = 0, where ReLU and LeakyReLU have no "
               "derivative.")
    sol.assume("The sheet's 'four types of linear transformation' are read as rotation, reflection, scaling and "
               "shear of the plane; a projection counts as a scaling with a zero factor, and the bias adds a "
               "translation (an affine map).")
    sol.assume("The batch-size experiment is linear least squares on seeded synthetic data, mean squared error "
               "over the batch, plain SGD from zero weights, reshuffled every epoch.")
    sol.assume("--values names: z1, z2, z3 (numbers) for the softmax formulas; x (n×1), W1 (m×n), b1 (m×1), W2 "
               "(k×m), b2 (k×1) for the collapsed layer.")
    sol.inputs = dict(INPUTS)
    _question1(p, sol)
    _question2(p, sol)
    _question3(p, sol)
    _question4(p, sol)
    _question5(p, sol)
    _question6(p, sol)


def _degenerate(p):
    """Tied logits blur the arg max; a singular W has no SVD inverse to show; a symmetric W hides
    which side Vᵀ is on."""
    if len(set(p["logits"])) < len(p["logits"]):
        return "two logits are equal"
    if p["W"].det() == 0:
        return "W is singular"
    return "W is symmetric" if p["W"] == p["W"].T else None


PROBLEM = Problem(
    id="hw1/problem4",
    title="Softmax, stacked linear layers, activations, linear maps and batch size",
    kind="conceptual, with numeric demonstrations",
    statement=(
        "Six short questions. (1) In what sense is softmax a soft version of arg max? (2) When does computing "
        "softmax become numerically unstable, and how is that avoided? (3) Is there any point in placing two "
        "linear layers directly after one another in a network? (4) Name an advantage and a disadvantage of each "
        "of ReLU, tanh, the sigmoid and LeakyReLU. (5) Name four kinds of linear transformation, and say what the "
        "linear and the nonlinear maps each contribute to a neural network. (6) How should the learning rate "
        "change when the batch size is made larger or smaller?"
    ),
    solve_fn=solve,
    params=(
        Param("logits", (sp.Integer(1), sp.Integer(2), sp.Integer(3)), "logits of the softmax demonstrations",
              kind="array", vary=IntArray(((3,), (4,)), -3, 4)),
        Param("temperatures", (sp.Integer(10), sp.Integer(1), sp.Rational(1, 10), sp.Rational(1, 100)),
              "temperatures T > 0 of the soft arg max table", kind="array"),
        Param("offsets", (sp.Integer(100), sp.Integer(1000), sp.Integer(-1000)),
              "offsets added to the logits in the overflow demonstration", kind="array"),
        Param("W1", sp.ImmutableMatrix([[1, -2, 0], [3, 1, -1]]), "first linear layer's weight (m x n)",
              kind="array", vary=IntArray(((2, 3),))),
        Param("b1", (sp.Integer(1), sp.Integer(-1)), "first linear layer's bias (m entries)", kind="array",
              vary=IntArray(((2,),))),
        Param("W2", sp.ImmutableMatrix([[2, 1], [0, -1], [1, 3]]), "second linear layer's weight (k x m)",
              kind="array", vary=IntArray(((3, 2),))),
        Param("b2", (sp.Integer(0), sp.Integer(2), sp.Integer(-1)), "second linear layer's bias (k entries)",
              kind="array", vary=IntArray(((3,),))),
        Param("points", (sp.Integer(-10), sp.Integer(-2), sp.Integer(2), sp.Integer(10)),
              "nonzero inputs of the activation slope table", kind="array"),
        Param("leaky_slope", sp.Rational(1, 100), "LeakyReLU's slope below 0",
              vary=Pick((sp.Rational(1, 100), sp.Rational(1, 50), sp.Rational(1, 20), sp.Rational(1, 10)))),
        Param("relu_bias", sp.Integer(-2), "mean of the pre-activations in the dead-unit count", vary=Fractions(-3, -1, 2)),
        Param("W", sp.ImmutableMatrix([[1, 1], [0, 1]]), "the invertible 2x2 matrix factored by the SVD",
              kind="array", vary=IntArray(((2, 2),))),
        Param("batch_sizes", (sp.Integer(8), sp.Integer(32), sp.Integer(128)),
              "batch sizes of the learning-rate experiment", kind="array"),
        Param("base_lr", sp.Rational(1, 50), "learning rate at the smallest batch size (> 0)"),
        Param("epochs", 5, "epochs of every SGD run", kind="int", minimum=1),
        Param("seed", 0, "seed of the synthetic data and the random pre-activations", kind="int", vary=Ints(1, 999_999)),
    ),
    variation=Variation(degenerate=_degenerate),
)
