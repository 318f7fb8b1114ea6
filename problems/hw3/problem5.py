"""hw3/problem5: output activations that force y ≥ 0, y ≤ 0 or a ≤ y ≤ b, and whether one can be
added to a network after training."""

import numpy as np
import sympy as sp

from derivations.core.errors import UserError
from derivations.calculus.functions import numpy_function, sigmoid
from derivations.calculus.oracles import Identity, Reference
from derivations.core.model import Ints, Param, Pick, Problem, Variation

z = sp.Symbol("z", real=True)
#: the bounds of part (3) as symbols, so its answer is the general formula; ``--set a=… b=…``
#: only chooses the instance printed beside it and the bounds the checks try first
A, B = sp.symbols("a b", real=True)
GRID = np.linspace(-60.0, 60.0, 4001)
#: part number -> (name in answers, constraint in words); f₁, f₂, f₃ and P₁, P₂, P₃ follow the sheet's (1), (2), (3)
PARTS = {1: ("nonnegative", "y ≥ 0"), 2: ("nonpositive", "y ≤ 0"), 3: ("bounded", "a ≤ y ≤ b")}
#: extra bounds the general part-(3) formulas are checked at, beside the user's (a, b)
MORE_BOUNDS = ((0, 1), (-5, sp.Rational(1, 2)))


def _designs(family, a=A, b=B):
    if family == "smooth":
        return {"nonnegative": sp.log(1 + sp.exp(z)),             # softplus
                "nonpositive": -sp.log(1 + sp.exp(-z)),           # −softplus(−z)
                "bounded": a + (b - a) * sigmoid(z)}
    return {"nonnegative": sp.Max(0, z), "nonpositive": sp.Min(0, z), "bounded": sp.Min(b, sp.Max(a, z))}


def _projections(a=A, b=B):
    return _designs("hard", a, b)


def solve(p, sol):
    a, b, family = p["a"], p["b"], p["family"]
    if not a < b:
        raise UserError(f"need a < b, got a = {a}, b = {b}")
    at_ab = {A: a, B: b}
    pairs = [(a, b)] + [pair for pair in MORE_BOUNDS if pair != (a, b)]
    sol.assume("z is the scalar output of the trained network's last linear layer; y = f(z) must satisfy the "
               "constraint for every z, reach (or approach) its bounds, and keep a useful gradient.")
    sol.assume(f"family = {family}: 'smooth' maps (softplus, sigmoid) keep a nonzero gradient everywhere; "
               "'hard' maps (ReLU, clipping) are the identity inside the allowed range.")
    sol.assume("Part (3) is answered for general bounds a < b, kept as symbols; the instance beside it uses "
               f"a = {a}, b = {b} (--set a=… --set b=…), and the general formulas are checked at "
               + ", ".join(f"(a, b) = ({lo}, {hi})" for lo, hi in pairs) + ".")
    sol.assume("fₙ(z) is the activation of part (n) and Pₙ(z) the projection of z onto part (n)'s allowed range "
               "(the nearest allowed value), which part (4) uses.")
    designs = _designs(family)
    bounds = {"nonnegative": (0.0, None), "nonpositive": (None, 0.0), "bounded": (A, B)}
    reasons = {
        "smooth": {"nonnegative": "softplus {f} is positive, tends to 0 as z → −∞ and to z as z → +∞.",
                   "nonpositive": "mirror it: {f} is negative and tends to z as z → −∞.",
                   "bounded": "shift and stretch the sigmoid from (0, 1) to ({a}, {b}):"},
        "hard": {"nonnegative": "ReLU {f} keeps z when it is allowed and clips it to 0 otherwise.",
                 "nonpositive": "{f}, the mirrored ReLU.",
                 "bounded": "clip z into [{a}, {b}]:"},
    }[family]
    y = sp.Symbol("y")
    for number, (name, constraint) in PARTS.items():
        f, f_n = designs[name], _applied(f"f{number}", name)
        tried = pairs if name == "bounded" else [(a, b)]
        sol.step(f"({number}) {constraint}: {reasons[name]}", f_n, f, math={"f": f, "a": A, "b": B})
        sol.answer(f"f_{name}", f_n, f, check=_range_reference(name, *bounds[name], tried))
        sol.step("Its derivative, the gradient that reaches the network:", sp.Derivative(y, z), sp.diff(f, z),
                 check=Identity(of=sp.Derivative(f, z), describe="finite differences of the map"))
        if name == "bounded":
            instance, f_ab = f.subs(at_ab), f_n.subs(at_ab)
            sol.step("With the bounds {a} = {a_v}, {b} = {b_v}:", f_ab, instance,
                     math={"a": A, "b": B, "a_v": a, "b_v": b},
                     check=_range_reference(name, *bounds[name], [(a, b)]))
            sol.answer("f_bounded_instance", f_ab, instance, check=_range_reference(name, *bounds[name], [(a, b)]))
    outputs = np.random.default_rng(6).normal(0, 5, 1000)

    def nearest(name, lo, hi):
        return {"nonnegative": np.maximum(outputs, 0.0), "nonpositive": np.minimum(outputs, 0.0),
                "bounded": np.clip(outputs, float(lo), float(hi))}[name]

    for number, (name, _) in PARTS.items():
        tried = pairs if name == "bounded" else [(a, b)]
        sol.answer(f"projection_{name}", _applied(f"P{number}", name), _projections()[name],
                   check=_projection_reference(name, tried, nearest, outputs))
    sol.answer("projection_bounded_instance", _applied("P3", "bounded").subs(at_ab),
               _projections()["bounded"].subs(at_ab),
               check=_projection_reference("bounded", [(a, b)], nearest, outputs))
    sol.answer("after_training", sp.Symbol("after_training"), None, text=(
        "Not in general. The network was trained so that z itself matches the target; a smooth f changes "
        "every output (softplus(z) > z, and the sigmoid squashes large z), so the model must be trained, or "
        "at least fine-tuned, with f in place. The exception is a hard projection (ReLU for y ≥ 0, clipping "
        "to [a, b]): it leaves allowed outputs unchanged and moves the others to the nearest allowed value, "
        "which can only reduce the error when the target satisfies the constraint, so it may be bolted on "
        "after training; it just cannot teach the network anything."))

    sol.check("part (4): each projection never increases the error for an allowed target (random samples)",
              _projection_check(float(a), float(b)), 0)


def _projection_reference(name, pairs, nearest, outputs):
    """The projection at each (a, b) in ``pairs`` on random outputs against NumPy's nearest
    allowed value there."""
    return Reference(compute=lambda: np.concatenate([nearest(name, lo, hi) for lo, hi in pairs]),
                     convert=lambda e: np.concatenate([_evaluate(_at(e, lo, hi), outputs) for lo, hi in pairs]),
                     describe="the nearest allowed value (NumPy) on random outputs"
                              + (f" at {len(pairs)} choices of (a, b)" if len(pairs) > 1 else ""),
                     tolerance=0)


def _applied(function, name):
    """``f₃(z, a, b)`` for part (3), whose map depends on the bounds, else ``fₙ(z)``."""
    return sp.Function(function)(z, A, B) if name == "bounded" else sp.Function(function)(z)


def _at(expr, a, b):
    return sp.sympify(expr).subs({A: a, B: b})


def _evaluate(expr, grid=GRID):
    f = numpy_function(z, sp.sympify(expr))
    return np.broadcast_to(np.asarray(f(grid), dtype=float), grid.shape)


def _range_reference(name, low, high, pairs):
    """The map on z ∈ [−60, 60] against its constraint, at each (a, b) in ``pairs`` (the bounds
    ``low``, ``high`` may be the symbols a, b): its attained extremes against the bounds it must
    reach (so it neither crosses nor falls short of them) and its largest decrease against 0 (it
    must be monotone, so the gradient has a consistent sign)."""
    def features(expr, a, b):
        values = _evaluate(_at(expr, a, b))
        extremes = [values.min()] * (low is not None) + [values.max()] * (high is not None)
        return [*extremes, max(0.0, -np.diff(values).min())]

    def reference(a, b):
        return [float(_at(bound, a, b)) for bound in (low, high) if bound is not None] + [0.0]

    where = f" at {len(pairs)} choices of (a, b)" if len(pairs) > 1 else ""
    return Reference(compute=lambda: [v for a, b in pairs for v in reference(a, b)],
                     convert=lambda e: [v for a, b in pairs for v in features(e, a, b)], tolerance=1e-9,
                     describe=f"{name}: range and bounds reached on z ∈ [−60, 60], monotone{where}")


def _projection_check(a, b):
    def measure(answers):
        rng = np.random.default_rng(5)
        outputs = rng.normal(0, 5, 1000)
        targets = {"nonnegative": rng.uniform(0, 5, 1000), "nonpositive": rng.uniform(-5, 0, 1000),
                   "bounded": rng.uniform(a, b, 1000)}
        worse = 0.0
        for name, y in targets.items():
            projected = _evaluate(_at(answers[f"projection_{name}"], a, b), outputs)
            worse = max(worse, float(np.max(np.abs(projected - y) - np.abs(outputs - y))))
        return max(worse, 0.0)
    return measure


PROBLEM = Problem(
    id="hw3/problem5",
    title="Output activations for constrained regression",
    kind="design + check of range and gradient",
    statement=("A regression network ends in a linear unit with scalar output z. Design an activation "
               "y = f(z) that guarantees (1) y ≥ 0, (2) y ≤ 0, (3) a ≤ y ≤ b for given bounds a < b. (4) Can "
               "such an activation be appended to a network that was trained without it?"),
    solve_fn=solve,
    params=(Param("a", -1, "lower bound of part (3)", vary=Ints(-6, 3)),
            Param("b", 2, "upper bound of part (3)", vary=Ints(-3, 8)),
            Param("family", "smooth", "smooth (softplus/sigmoid) or hard (ReLU/clipping) designs", kind="choice",
                  choices=("smooth", "hard"), vary=Pick(("smooth", "hard")))),
    variation=Variation(degenerate=lambda p: None if p["a"] < p["b"] else "the bounds need a < b"),
)
