"""midterm/problem4: the "olden days" nonlinearity (a step, or a sigmoid) under gradient descent,
and softplus log(1 + eˣ): its gradient σ(x), a dead ReLU unit that softplus revives, and the
costs of softplus (no exact zeros, overflow of the naive formula)."""

from __future__ import annotations

import math
import sys

import mpmath
import numpy as np
import sympy as sp

from derivations.calculus.functions import sigmoid
from derivations.calculus.oracles import Identity, Reference
from derivations.core.errors import UserError
from derivations.core.model import Fractions, Ints, Param, Pick, Problem

x = sp.Symbol("x", real=True)
w, b = sp.symbols("w b", real=True)
STEP = sp.Piecewise((1, x >= 0), (0, True))            # H(x): 1 for x ≥ 0, else 0
SOFTPLUS = sp.log(1 + sp.exp(x))
DIGITS = 30
MAX_STEPS = 100

#: The tiny datasets of the two gradient-descent demonstrations: (inputs, targets).
OLDEN_DATA = ((-2, -1, 1, 2), (0, 0, 1, 1))            # separable by a unit with w > 0
DEAD_DATA = ((1, 2, 3), (1, 2, 3))                     # fitted exactly by ReLU(x)
SLOPE_POINTS = (0, 2, 5, 10)


# --------------------------------------------------------------------------------------------
# The symbolic demonstrations: one unit ŷ = a(wx + b), mean squared error, plain GD.

def _value(expr):
    expr = sp.sympify(expr).doit()
    if not expr.is_Rational:
        expr = expr.evalf(DIGITS)
    if not (expr.is_number and expr.is_real and expr.is_finite):
        raise ValueError(f"not a finite real number: {expr}")
    return expr


def _shown(value, digits=12):
    """A computed value as reported: exact when rational, else ``digits`` significant digits."""
    return value if value.is_Rational else sp.Float(value, digits)


def descend(activation, data, start, eta, steps, jump_at_zero=False):
    """Gradient descent on (1/n)Σ(a(w xᵢ + b) − yᵢ)² with the gradient from ``sympy.diff``:
    returns the losses L₀ … L_T and the gradients [∂L/∂w, ∂L/∂b] at w₀ … w_{T−1}.
    ``jump_at_zero``: the activation jumps at 0, so a pre-activation exactly 0 is an error
    (there is no derivative there)."""
    xs, ys = data
    loss = sum((activation.subs(x, w * xi + b) - yi) ** 2 for xi, yi in zip(xs, ys)) / len(xs)
    slope = [sp.diff(loss, w), sp.diff(loss, b)]
    point, losses, grads = list(start), [], []
    for t in range(steps + 1):
        at = {w: point[0], b: point[1]}
        if jump_at_zero and any(point[0] * xi + point[1] == 0 for xi in xs):
            raise ValueError(f"at w = {point[0]}, b = {point[1]} a pre-activation is exactly 0, where the step "
                             "has no derivative")
        losses.append(_value(loss.subs(at)))
        if t == steps:
            break
        g = [_value(s.subs(at)) for s in slope]
        grads.append(g)
        point = [point[0] - eta * g[0], point[1] - eta * g[1]]
    return [_shown(v) for v in losses], [[_shown(v) for v in g] for g in grads]


# --------------------------------------------------------------------------------------------
# Plain float64 references (NumPy and math only).

NUMPY_ACTIVATIONS = {
    "step": lambda z: np.where(z >= 0, 1.0, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0.0),
    "softplus": lambda z: np.logaddexp(0.0, z),
}


def float_descent(name, data, start, eta, steps, h=1e-6):
    """The same descent in float64 with central-difference gradients of the loss."""
    act = NUMPY_ACTIVATIONS[name]
    xs, ys = (np.asarray(v, dtype=float) for v in data)
    loss = lambda p: float(np.mean((act(p[0] * xs + p[1]) - ys) ** 2))  # noqa: E731
    p, losses, grads = np.array([float(v) for v in start]), [], []
    for t in range(steps + 1):
        losses.append(loss(p))
        if t == steps:
            break
        g = np.array([(loss(p + h * e) - loss(p - h * e)) / (2 * h) for e in np.eye(2)])
        grads.append(g.tolist())
        p = p - float(eta) * g
    return losses, grads


def float_sigmoid_slope(z):
    """σ′(z) = e^(−z)/(1 + e^(−z))², written without σ."""
    e = math.exp(-z)
    return e / (1 + e) ** 2


def float_overflow_threshold():
    """The largest x whose float64 exp is finite, found by bisection on np.exp."""
    low, high = 0.0, 1000.0
    with np.errstate(over="ignore"):
        for _ in range(200):
            mid = (low + high) / 2
            low, high = (mid, high) if np.isfinite(np.exp(mid)) else (low, mid)
    return low


def naive_softplus_overflows(value):
    with np.errstate(over="ignore"):
        return bool(np.isinf(np.log(1.0 + np.exp(np.float64(value)))))


def stable_softplus(z):
    """max(z, 0) + log1p(exp(−|z|)) in float64."""
    z = np.asarray(z, dtype=float)
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def mp_softplus(z):
    with mpmath.workdps(60):
        return float(mpmath.log(1 + mpmath.exp(mpmath.mpf(z))))


# --------------------------------------------------------------------------------------------

def _validate(p):
    for name in ("steps", "dead_steps", "depth"):
        if p[name] > MAX_STEPS:
            raise UserError(f"{name} must be at most {MAX_STEPS}")
    for name in ("eta", "dead_eta"):
        if not p[name] > 0:
            raise UserError(f"{name} must be > 0, got {p[name]}")
    if not all(p["dead_w0"] * xi + p["dead_b0"] < 0 for xi in DEAD_DATA[0]):
        raise UserError(f"dead_w0 and dead_b0 must make w*x + b negative on every input {DEAD_DATA[0]} "
                        f"(a dead ReLU unit), got w = {p['dead_w0']}, b = {p['dead_b0']}")


def _pairs(grads):
    return [list(g) for g in grads]


def solve(p, sol):
    _validate(p)
    try:
        _solve(p, sol)
    except (ValueError, OverflowError) as exc:
        raise UserError(f"a demonstration does not evaluate for these settings: {exc}") from None


def _solve(p, sol):
    reading = p["olden"]
    sol.assume("The sheet's formula for the 'olden days' nonlinearity is missing. It is read as the step "
               "(threshold) unit H(x) = 1 for x ≥ 0 and 0 otherwise, the perceptron's activation; "
               "--set olden=sigmoid reads it as the logistic sigmoid σ(x) = 1/(1 + e^(−x)) instead.")
    sol.assume("The gradient-descent demonstrations train one unit ŷ = a(wx + b) on a tiny dataset with the "
               "mean squared error (1/n)Σ(ŷᵢ − yᵢ)², gradients from the chain rule, and plain gradient descent "
               "on w and b; the datasets and starting points are stated in the steps.")
    sol.assume("Through depth, the sigmoid chain is a_k = σ(a_{k−1}) with unit weights, starting at a₀ = 0.")
    sol.assume("Floating point is IEEE float64, as in NumPy and PyTorch's default double type.")

    # (1) the olden nonlinearity
    if reading == "step":
        _olden_step(p, sol)
    else:
        _olden_sigmoid(p, sol)

    # (2) softplus
    d_soft = sp.Derivative(SOFTPLUS, x)
    sol.step("Chain rule: the derivative of log u is 1/u, times the derivative {inner} of u = 1 + eˣ; dividing "
             "numerator and denominator by eˣ gives the logistic sigmoid.", d_soft, sigmoid(x),
             math={"inner": sp.exp(x)}, check=Identity(of=d_soft))
    sol.answer("softplus_gradient", d_soft, sigmoid(x),
               text="(2) d/dx log(1 + eˣ) = eˣ/(1 + eˣ) = 1/(1 + e^(−x)) = σ(x): softplus is the integral of the "
                    "sigmoid, a smooth ReLU whose slope runs from 0 to 1 and never reaches either.",
               check=Identity(of=d_soft, seed=1))
    at_zero = sigmoid(sp.Integer(0))
    numeric_at_zero = lambda: float(mpmath.diff(lambda t: mpmath.log(1 + mpmath.exp(t)), 0))  # noqa: E731
    sol.step("At 0 the slope is one half, where ReLU's slope jumps from 0 to 1.",
             sp.Subs(d_soft, x, 0), at_zero, check=Reference(compute=numeric_at_zero, describe="mpmath's derivative"))
    sol.answer("softplus_gradient_at_0", sp.Subs(d_soft, x, 0), at_zero,
               check=Reference(compute=numeric_at_zero, describe="mpmath's derivative"))

    _dead_unit(p, sol)
    _softplus_costs(p, sol)


def _olden_step(p, sol):
    d_step = sp.Derivative(sp.Function("H")(x), x)
    points = [{x: v} for v in (-1.7, -0.4, 0.3, 1.9)]
    sol.step("H is constant on each side of 0, so its derivative is 0 at every nonzero x; at 0 it jumps from "
             "0 to 1 and has no derivative at all.", d_step, sp.Integer(0),
             check=Identity(of=sp.Derivative(STEP, x), points=points))
    start, eta, steps = (p["w0"], p["b0"]), p["eta"], p["steps"]
    losses, grads = descend(STEP, OLDEN_DATA, start, eta, steps, jump_at_zero=True)
    wrong = sum(1 for xi, yi in zip(*OLDEN_DATA) if STEP.subs(x, start[0] * xi + start[1]) != yi)
    plain = lambda: float_descent("step", OLDEN_DATA, start, eta, steps)  # noqa: E731
    sol.step("Train ŷ = H(wx + b) on inputs {xs} with targets {ys} from w = {w0}, b = {b0}, where {wrong} of "
             "the {n} examples are wrong. By the chain rule each gradient is a sum of terms carrying the factor "
             "H′(wxᵢ + b) = 0, so every gradient is exactly 0:", sp.Symbol("grad_w_b"), _pairs(grads),
             math={"xs": sp.Tuple(*OLDEN_DATA[0]), "ys": sp.Tuple(*OLDEN_DATA[1]), "w0": start[0], "b0": start[1],
                   "wrong": wrong, "n": len(OLDEN_DATA[0])},
             check=Reference(compute=lambda: plain()[1], describe="float64 central differences of the loss"))
    sol.step("and gradient descent never moves, so the loss stays where it started:", sp.Symbol("L_t"), list(losses),
             check=Reference(compute=lambda: plain()[0], describe="a float64 descent loop"))
    sol.answer("olden_derivative", d_step, sp.Integer(0),
               text="(1) Read as the step H, the nonlinearity is flat everywhere except at 0, where it jumps: its "
                    "derivative is 0 wherever it exists. Backpropagation multiplies by that 0, so no weight below "
                    "the unit gets any gradient, and gradient descent cannot learn; the jump at 0 has no "
                    "derivative at all. (Perceptrons were trained by other rules for that reason.)",
               check=Identity(of=sp.Derivative(STEP, x), points=points))
    sol.answer("olden_gradients", sp.Symbol("grad_w_b"), _pairs(grads),
               check=Reference(compute=lambda: plain()[1], describe="float64 central differences of the loss"))
    sol.answer("olden_losses", sp.Symbol("L_t"), list(losses),
               check=Reference(compute=lambda: plain()[0], describe="a float64 descent loop"))
    _olden_drop(sol, losses, plain)


def _olden_sigmoid(p, sol):
    d_sig = sp.Derivative(1 / (1 + sp.exp(-x)), x)
    slope = sigmoid(x) * (1 - sigmoid(x))
    sol.step("The sigmoid's derivative is σ(1 − σ), a product of two numbers in (0, 1) that sum to 1, so it is "
             "at most {quarter} (at x = 0) and decays like e^(−|x|):", d_sig, slope,
             math={"quarter": sp.Rational(1, 4)}, check=Identity(of=d_sig))
    slopes = [_shown(_value(slope.subs(x, v)), 15) for v in SLOPE_POINTS]
    plain_slopes = lambda: [float_sigmoid_slope(v) for v in SLOPE_POINTS]  # noqa: E731
    sol.step("Its value at x = {points}:", sp.Symbol("sigma_prime"), slopes, math={"points": sp.Tuple(*SLOPE_POINTS)},
             check=Reference(compute=plain_slopes, describe="e^(−x)/(1 + e^(−x))² in float64"))

    depth = p["depth"]
    a, chain = sp.Integer(0), sp.Integer(1)
    for _ in range(depth):
        chain = chain * slope.subs(x, a)
        a = sigmoid(a)
    chain = _shown(_value(chain), 15)
    bound = sp.Rational(1, 4) ** depth

    def composed(t):
        for _ in range(depth):
            t = 1 / (1 + mpmath.exp(-t))
        return t

    numeric_chain = lambda: float(mpmath.diff(composed, 0))  # noqa: E731
    grid_bound = lambda: max(float_sigmoid_slope(v) for v in np.linspace(-10, 10, 2001)) ** depth  # noqa: E731
    sol.step("Through {D} sigmoid layers the chain rule multiplies {D} such factors, each at most 1/4:",
             sp.Symbol("da_D/da_0"), chain, math={"D": depth},
             check=Reference(compute=numeric_chain, describe="mpmath's derivative of the composition", tolerance=1e-15))
    sol.step("which is below the bound", sp.Symbol("bound"), bound,
             check=Reference(compute=grid_bound, describe="the largest slope on a grid, to the power D",
                             tolerance=1e-12))

    start, eta, steps = (p["w0"], p["b0"]), p["eta"], p["steps"]
    losses, grads = descend(sigmoid(x), OLDEN_DATA, start, eta, steps)
    plain = lambda: float_descent("sigmoid", OLDEN_DATA, start, eta, steps)  # noqa: E731
    sol.step("Train ŷ = σ(wx + b) on inputs {xs} with targets {ys} from w = {w0}, b = {b0}, where the "
             "pre-activations are {z}: wherever |wxᵢ + b| is large, σ′(wxᵢ + b) is tiny, and the gradients are",
             sp.Symbol("grad_w_b"), _pairs(grads),
             math={"xs": sp.Tuple(*OLDEN_DATA[0]), "ys": sp.Tuple(*OLDEN_DATA[1]), "w0": start[0], "b0": start[1],
                   "z": sp.Tuple(*(start[0] * xi + start[1] for xi in OLDEN_DATA[0]))},
             check=Reference(compute=lambda: plain()[1], describe="float64 central differences of the loss"))
    sol.step("and the loss changes only as much as these gradients allow:", sp.Symbol("L_t"), list(losses),
             check=Reference(compute=lambda: plain()[0], describe="a float64 descent loop"))
    sol.answer("olden_derivative", d_sig, slope,
               text="(1) Read as the sigmoid, the issue is saturation: σ′ = σ(1 − σ) is at most 1/4 and vanishes "
                    "for large |x|, so a unit pushed far from 0 passes almost no gradient, and through many layers "
                    "the gradient shrinks by at least a factor 4 per layer (vanishing gradients). Outputs are also "
                    "all positive, not zero-centred.",
               check=Identity(of=d_sig, seed=1))
    sol.answer("sigmoid_slopes", sp.Symbol("sigma_prime"), slopes,
               check=Reference(compute=plain_slopes, describe="e^(−x)/(1 + e^(−x))² in float64"))
    sol.answer("depth_gradient", sp.Symbol("da_D/da_0"), chain,
               check=Reference(compute=numeric_chain, describe="mpmath's derivative of the composition",
                               tolerance=1e-15))
    sol.answer("depth_bound", sp.Symbol("bound"), bound,
               check=Reference(compute=grid_bound, describe="the largest slope on a grid, to the power D",
                               tolerance=1e-12))
    sol.answer("olden_gradients", sp.Symbol("grad_w_b"), _pairs(grads),
               check=Reference(compute=lambda: plain()[1], describe="float64 central differences of the loss"))
    sol.answer("olden_losses", sp.Symbol("L_t"), list(losses),
               check=Reference(compute=lambda: plain()[0], describe="a float64 descent loop"))
    _olden_drop(sol, losses, plain)


def _olden_drop(sol, losses, plain):
    drop = losses[0] - losses[-1]
    reference = lambda: plain()[0][0] - plain()[0][-1]  # noqa: E731
    sol.step("Over these steps the loss falls by", sp.Symbol("drop_olden"), drop,
             check=Reference(compute=reference, describe="a float64 descent loop"))
    sol.answer("olden_loss_drop", sp.Symbol("drop_olden"), drop,
               check=Reference(compute=reference, describe="a float64 descent loop"))


def _dead_unit(p, sol):
    start, eta, steps = (p["dead_w0"], p["dead_b0"]), p["dead_eta"], p["dead_steps"]
    relu_losses, relu_grads = descend(sp.Max(0, x), DEAD_DATA, start, eta, steps)
    soft_losses, soft_grads = descend(SOFTPLUS, DEAD_DATA, start, eta, steps)
    relu_plain = lambda: float_descent("relu", DEAD_DATA, start, eta, steps)  # noqa: E731
    soft_plain = lambda: float_descent("softplus", DEAD_DATA, start, eta, steps)  # noqa: E731
    drop = soft_losses[0] - soft_losses[-1]
    sol.step("Advantage, shown on one unit fitted to inputs {xs} with targets {ys} from w = {w0}, b = {b0}: every "
             "pre-activation wxᵢ + b is negative, so a ReLU unit outputs 0 and its slope is 0 on every example. "
             "Its gradients, step after step, are", sp.Symbol("grad_relu"), _pairs(relu_grads),
             math={"xs": sp.Tuple(*DEAD_DATA[0]), "ys": sp.Tuple(*DEAD_DATA[1]), "w0": start[0], "b0": start[1]},
             check=Reference(compute=lambda: relu_plain()[1], describe="float64 central differences of the loss"))
    sol.step("so the ReLU unit is dead: its loss never changes,", sp.Symbol("L_relu"), list(relu_losses),
             check=Reference(compute=lambda: relu_plain()[0], describe="a float64 descent loop"))
    sol.step("while softplus passes the gradient σ(wxᵢ + b) > 0 from the same start, learns with step size {eta}, "
             "and its loss falls:", sp.Symbol("L_softplus"), list(soft_losses), math={"eta": eta},
             check=Reference(compute=lambda: soft_plain()[0], describe="a float64 descent loop"))
    sol.step("The softplus loss drops by", sp.Symbol("drop"), drop,
             check=Reference(compute=lambda: soft_plain()[0][0] - soft_plain()[0][-1],
                             describe="a float64 descent loop"))
    sol.answer("relu_gradients", sp.Symbol("grad_relu"), _pairs(relu_grads),
               check=Reference(compute=lambda: relu_plain()[1], describe="float64 central differences of the loss"))
    sol.answer("relu_losses", sp.Symbol("L_relu"), list(relu_losses),
               check=Reference(compute=lambda: relu_plain()[0], describe="a float64 descent loop"))
    sol.answer("softplus_losses", sp.Symbol("L_softplus"), list(soft_losses),
               check=Reference(compute=lambda: soft_plain()[0], describe="a float64 descent loop"))
    sol.answer("softplus_loss_drop", sp.Symbol("drop"), drop,
               text="Advantage: softplus is smooth and its slope σ(x) is never 0, so a unit whose pre-activation is "
                    "negative on every input still learns; the same ReLU unit gets exactly zero gradient for ever "
                    "(a dead unit).",
               check=Reference(compute=lambda: soft_plain()[0][0] - soft_plain()[0][-1],
                               describe="a float64 descent loop"))


def _softplus_costs(p, sol):
    big = p["large_x"]
    threshold = _shown(_value(sp.log(sp.Float(sys.float_info.max, DIGITS))), 15)
    overflows = bool(big > threshold)
    sol.step("Disadvantages. Softplus needs an exponential and a logarithm per element where ReLU needs one "
             "comparison, and the formula as written overflows: float64 eˣ is infinite past", sp.Symbol("x_max"),
             threshold, check=Reference(compute=float_overflow_threshold, describe="bisection on np.exp",
                                        tolerance=1e-9))
    sol.step("so log(1 + eˣ) evaluated naively at x = {big} gives infinity (true or false):", sp.Symbol("overflows"),
             overflows, math={"big": big},
             check=Reference(compute=lambda: naive_softplus_overflows(big), describe="np.log(1 + np.exp(x))"))
    points = (-big, -30, 0, 30, big)
    stable = [float(v) for v in stable_softplus([float(v) for v in points])]
    reference = lambda: [mp_softplus(float(v)) for v in points]  # noqa: E731
    sol.step("The stable form {stable} never exponentiates a positive number; at x = {points} it gives",
             sp.Symbol("softplus"), stable,
             math={"stable": sp.Add(sp.Max(x, 0), sp.Function("log1p")(sp.exp(-sp.Abs(x))), evaluate=False), "points": sp.Tuple(*points)},
             check=Reference(compute=reference, describe="mpmath at 60 digits", tolerance=1e-9))

    z = np.random.default_rng(p["seed"]).standard_normal(1000)
    relu_zero = float(np.mean(np.maximum(z, 0.0) == 0.0))
    soft_zero = float(np.mean(stable_softplus(z) == 0.0))
    count = lambda f: lambda: sum(1 for v in z.tolist() if f(v) == 0.0) / len(z)  # noqa: E731
    sol.step("Nor does softplus give exact zeros: on 1000 standard-normal pre-activations the fraction of exact "
             "zeros is, for ReLU and for softplus,", sp.Symbol("zeros"), [relu_zero, soft_zero],
             check=Reference(compute=lambda: [count(lambda v: max(v, 0.0))(), count(lambda v: math.log1p(math.exp(v)))()],
                             describe="counting with math in a loop"))
    sol.answer("overflow_threshold", sp.Symbol("x_max"), threshold,
               check=Reference(compute=float_overflow_threshold, describe="bisection on np.exp", tolerance=1e-9))
    sol.answer("naive_overflows", sp.Symbol("overflows"), overflows,
               check=Reference(compute=lambda: naive_softplus_overflows(big), describe="np.log(1 + np.exp(x))"))
    sol.answer("stable_softplus", sp.Symbol("softplus"), stable,
               check=Reference(compute=reference, describe="mpmath at 60 digits", tolerance=1e-9))
    sol.answer("relu_zero_fraction", sp.Symbol("zeros_relu"), relu_zero,
               check=Reference(compute=count(lambda v: max(v, 0.0)), describe="counting with math in a loop"))
    sol.answer("softplus_zero_fraction", sp.Symbol("zeros_softplus"), soft_zero,
               text="Disadvantage: softplus costs an exp and a log per element (ReLU one comparison), never "
                    "outputs an exact 0 (no sparse activations), and its formula log(1 + eˣ) overflows in float64 "
                    "for x above about 709.78 unless written max(x, 0) + log1p(e^(−|x|)).",
               check=Reference(compute=count(lambda v: math.log1p(math.exp(v))), describe="counting with math in a loop"))


PROBLEM = Problem(
    id="midterm/problem4",
    title="The step nonlinearity and softplus under gradient descent",
    kind="calculus + conceptual",
    statement=(
        "(1) Early neural networks used a nonlinearity whose formula the sheet has lost. What problem would "
        "arise when training a network built from it with gradient descent? (2) Softplus, s(x) = log(1 + eˣ), "
        "is sometimes used in place of ReLU. Find its derivative with respect to x, and give one advantage and "
        "one disadvantage it has compared with ReLU."
    ),
    solve_fn=solve,
    params=(
        Param("olden", "step", "the reading of the missing nonlinearity", kind="choice", choices=("step", "sigmoid"),
              vary=Pick(("step", "sigmoid"))),
        Param("w0", sp.Integer(-4), "starting weight of the part (1) unit", vary=Fractions(-6, -2, 2)),
        Param("b0", sp.Rational(1, 2), "starting bias of the part (1) unit", vary=Fractions(-1, 1, 4)),
        Param("eta", sp.Integer(1), "step size of the part (1) descent (> 0)", vary=Fractions(sp.Rational(1, 2), 2, 4)),
        Param("steps", 5, "gradient-descent steps in part (1)", kind="int", minimum=1),
        Param("depth", 5, "sigmoid layers in the depth demonstration", kind="int", minimum=1),
        # negative weight and bias: the unit is dead on the positive inputs of the demonstration
        Param("dead_w0", sp.Integer(-1), "starting weight of the dead-unit demonstration", vary=Fractions(-2, -1, 4)),
        Param("dead_b0", sp.Integer(-1), "starting bias of the dead-unit demonstration", vary=Fractions(-2, -1, 4)),
        Param("dead_eta", sp.Rational(1, 5), "step size of the dead-unit demonstration (> 0)",
              vary=Fractions(sp.Rational(1, 10), sp.Rational(1, 2), 10)),
        Param("dead_steps", 10, "gradient-descent steps of the dead-unit demonstration", kind="int", minimum=1),
        Param("large_x", sp.Integer(800), "where the naive softplus formula is evaluated", vary=Ints(750, 1000, 10)),
        Param("seed", 0, "random pre-activations of the sparsity count", kind="int", vary=Ints(1, 999_999)),
    ),
)
