"""hw3/problem5: output activations that force y ≥ 0, y ≤ 0 or a ≤ y ≤ b, and whether one can be
added to a network after training."""

import numpy as np
import sympy as sp

from derivations.core.errors import UserError
from derivations.calculus.functions import numpy_function, sigmoid
from derivations.calculus.oracles import Identity, Reference
from derivations.core.model import Param, Problem

z = sp.Symbol("z", real=True)
GRID = np.linspace(-60.0, 60.0, 4001)


def _designs(family, a, b):
    if family == "smooth":
        return {"nonnegative": sp.log(1 + sp.exp(z)),             # softplus
                "nonpositive": -sp.log(1 + sp.exp(-z)),           # −softplus(−z)
                "bounded": a + (b - a) * sigmoid(z)}
    return {"nonnegative": sp.Max(0, z), "nonpositive": sp.Min(0, z), "bounded": sp.Min(b, sp.Max(a, z))}


def solve(p, sol):
    a, b, family = p["a"], p["b"], p["family"]
    if not a < b:
        raise UserError(f"need a < b, got a = {a}, b = {b}")
    sol.assume("z is the scalar output of the trained network's last linear layer; y = f(z) must satisfy the "
               "constraint for every z, reach (or approach) its bounds, and keep a useful gradient.")
    sol.assume(f"family = {family}: 'smooth' maps (softplus, sigmoid) keep a nonzero gradient everywhere; "
               "'hard' maps (ReLU, clipping) are the identity inside the allowed range.")
    designs = _designs(family, a, b)
    bounds = {"nonnegative": (0.0, None), "nonpositive": (None, 0.0), "bounded": (float(a), float(b))}
    reasons = {
        "smooth": {"nonnegative": ("softplus {f} is positive, tends to 0 as z → −∞ and to z as z → +∞.", {}),
                   "nonpositive": ("mirror it: {f} is negative and tends to z as z → −∞.", {}),
                   "bounded": ("shift and stretch the sigmoid from (0, 1) to ({a}, {b}).", {"a": a, "b": b})},
        "hard": {"nonnegative": ("ReLU {f} keeps z when it is allowed and clips it to 0 otherwise.", {}),
                 "nonpositive": ("{f}, the mirrored ReLU.", {}),
                 "bounded": ("clip z into [{a}, {b}]: {f}.", {"a": a, "b": b})},
    }[family]
    y = sp.Symbol("y")
    for name, f in designs.items():
        text, math = reasons[name]
        sol.step(text, sp.Symbol(f"f_{name}(z)"), f, math={"f": f, **math})
        sol.answer(f"f_{name}", y, f, check=_range_reference(name, *bounds[name]))
        sol.step("Its derivative, the gradient that reaches the network:", sp.Derivative(y, z), sp.diff(f, z),
                 check=Identity(of=sp.Derivative(f, z), describe="finite differences of the map"))
    outputs = np.random.default_rng(6).normal(0, 5, 1000)
    nearest = {"nonnegative": np.maximum(outputs, 0.0), "nonpositive": np.minimum(outputs, 0.0),
               "bounded": np.clip(outputs, float(a), float(b))}
    for name, f in _designs("hard", a, b).items():
        sol.answer(f"projection_{name}", sp.Symbol(f"P_{name}(z)"), f,
                   check=Reference(compute=lambda k=name: nearest[k], convert=lambda e: _evaluate(e, outputs),
                                   describe="the nearest allowed value (NumPy) on random outputs", tolerance=0))
    sol.answer("after_training", sp.Symbol("after_training"), None, text=(
        "Not in general. The network was trained so that z itself matches the target; a smooth f changes "
        "every output (softplus(z) > z, and the sigmoid squashes large z), so the model must be trained, or "
        "at least fine-tuned, with f in place. The exception is a hard projection (ReLU for y ≥ 0, clipping "
        "to [a, b]): it leaves allowed outputs unchanged and moves the others to the nearest allowed value, "
        "which can only reduce the error when the target satisfies the constraint, so it may be bolted on "
        "after training; it just cannot teach the network anything."))

    sol.check("part (4): each projection never increases the error for an allowed target (random samples)",
              _projection_check(float(a), float(b)), 0)


def _evaluate(expr, grid=GRID):
    f = numpy_function(z, sp.sympify(expr))
    return np.broadcast_to(np.asarray(f(grid), dtype=float), grid.shape)


def _range_reference(name, low, high):
    """The map on z ∈ [−60, 60] against its constraint: its attained extremes against the
    bounds it must reach (so it neither crosses nor falls short of them) and its largest
    decrease against 0 (it must be monotone, so the gradient has a consistent sign)."""
    def features(expr):
        values = _evaluate(expr)
        extremes = [values.min()] * (low is not None) + [values.max()] * (high is not None)
        return [*extremes, max(0.0, -np.diff(values).min())]
    reference = [bound for bound in (low, high) if bound is not None] + [0.0]
    return Reference(compute=lambda: reference, convert=features, tolerance=1e-9,
                     describe=f"{name}: range and bounds reached on z ∈ [−60, 60], monotone")


def _projection_check(a, b):
    def measure(answers):
        rng = np.random.default_rng(5)
        outputs = rng.normal(0, 5, 1000)
        targets = {"nonnegative": rng.uniform(0, 5, 1000), "nonpositive": rng.uniform(-5, 0, 1000),
                   "bounded": rng.uniform(a, b, 1000)}
        worse = 0.0
        for name, y in targets.items():
            projected = _evaluate(answers[f"projection_{name}"], outputs)
            worse = max(worse, float(np.max(np.abs(projected - y) - np.abs(outputs - y))))
        return max(worse, 0.0)
    return measure


PROBLEM = Problem(
    id="hw3/problem5",
    title="Output activations for constrained regression",
    kind="design + check of range and gradient",
    statement=("A regression network ends in a linear unit with scalar output z. Design an activation "
               "y = f(z) that guarantees (1) y ≥ 0, (2) y ≤ 0, (3) a ≤ y ≤ b. (4) Can such an activation be "
               "appended to a network that was trained without it?"),
    solve_fn=solve,
    params=(Param("a", -1, "lower bound of part (3)"), Param("b", 2, "upper bound of part (3)"),
            Param("family", "smooth", "smooth (softplus/sigmoid) or hard (ReLU/clipping) designs", kind="choice",
                  choices=("smooth", "hard"))),
)
