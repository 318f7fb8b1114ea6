"""hw3/problem1: backpropagation through a scalar net with unspecified activations f1, f2, f3."""

from dataclasses import dataclass
from typing import Any, Callable

import sympy as sp
from sympy.printing.pretty.pretty_symbology import pretty_symbol

from derivations.calculus.checks import random_points
from derivations.calculus.graph import build_graph
from derivations.calculus.oracles import Identity, Oracle
from derivations.core.errors import UserError
from derivations.core.model import Param, Pick, Problem, Variation
from derivations.calculus.symbols import partial

# Symbol names are the `--values` names: the letter and its index without an underscore.
x, w1, w2, w3, w4, b1, b2, b3 = sp.symbols("x w1 w2 w3 w4 b1 b2 b3", real=True)
h1, h2, yhat, u1, u2, u3, t, v = sp.symbols("h1 h2 yhat u1 u2 u3 t v", real=True)
f1, f2, f3 = sp.Function("f1"), sp.Function("f2"), sp.Function("f3")
dL_dyhat = partial("L", "yhat")
WRT = (w1, w2, w3, w4, b1, b2, b3, x)
#: the `--values` name of the upstream derivative ∂L/∂ŷ
UPSTREAM = "dL_dyhat"


class Slope(sp.Symbol):
    """f′ₙ at the pre-activation fₙ receives, as one number: a real symbol named ``dfn`` (its
    `--values` name), printed f′ₙ(point) by each printer's own rule for the derivative of an
    undefined function. ``point`` is for printing and for the concrete numeric check only."""

    __slots__ = ("function", "point")

    def __new__(cls, function, point):
        obj = super().__new__(cls, f"d{function.__name__}", real=True)
        obj.function, obj.point = function, point
        return obj

    def __getnewargs_ex__(self):
        return (self.function, self.point), {}

    @classmethod
    def class_key(cls):
        return sp.Symbol.class_key()

    def prime(self):
        """f′ₙ(point) as SymPy writes the derivative of an undefined function at a point."""
        return sp.Subs(sp.Derivative(self.function(v), v), v, self.point)

    def _print_as_prime(self, printer):
        return printer._print(self.prime())

    _latex = _pretty = _print_as_prime

    def _sympystr(self, printer):  # str() and the one-line printer: f₁′(b₁ + w₁·x)
        return f"{pretty_symbol(self.function.__name__)}′({printer._print(self.point)})"


@dataclass
class Concrete(Oracle):
    """``inner`` applied to a formula in the undefined f₁, f₂, f₃ after ``convert`` has put the
    concrete functions (and ∂L/∂ŷ of the concrete loss) in, so it can be evaluated."""

    inner: Oracle = None
    convert: Callable[[Any], Any] = None

    def __post_init__(self):
        self.describe, self.tolerance = self.inner.describe, self.inner.tolerance

    def error(self, claimed, lhs=None):
        return self.inner.error(self.convert(claimed))


def solve(p, sol):
    equations = [(u1, w1 * x + b1), (h1, f1(u1)), (u2, w2 * x + b2), (h2, f2(u2)),
                 (u3, w3 * h1 + w4 * h2 + b3), (yhat, f3(u3))]
    graph = build_graph(equations)
    sol.graphs["graph"] = graph

    # The numeric reference: concrete f₁, f₂, f₃ and L = (ŷ − t)²/2, differentiated by mpmath.
    concrete = {f1: p["f1"], f2: p["f2"], f3: p["f3"]}
    forward = {h1: f1(w1 * x + b1), h2: f2(w2 * x + b2)}
    pre_activations = {u1: w1 * x + b1, u2: w2 * x + b2, u3: w3 * h1 + w4 * h2 + b3}
    yhat_of_inputs = _concretize(f3(w3 * h1 + w4 * h2 + b3).subs(forward), concrete)
    loss = (yhat_of_inputs - t) ** 2 / 2
    points = [{**pt, t: 0.3} for pt in random_points(WRT, 4, seed=1)]

    slopes = {f: Slope(f, pre) for f, pre in ((f1, w1 * x + b1), (f2, w2 * x + b2), (f3, w3 * h1 + w4 * h2 + b3))}
    concrete_slopes = {slope: sp.diff(concrete[f], x).xreplace({x: slope.point}) for f, slope in slopes.items()}

    def concretized(expr):
        expr = sp.sympify(expr).xreplace(concrete_slopes).subs(pre_activations).subs(forward)
        return _concretize(expr, concrete).subs(dL_dyhat, yhat_of_inputs - t)

    def finite_differences(of, wrt):
        return Concrete(inner=Identity(of=sp.Derivative(of, wrt), points=points,
                                       describe="finite differences with concrete f₁, f₂, f₃"),
                        convert=concretized)

    sol.assume("L is any differentiable loss of ŷ alone, so every gradient is ∂L/∂ŷ times dŷ/d(·).")
    sol.assume("f′ₙ(v) = dfₙ(v)/dv is evaluated at the pre-activation uₙ that fₙ receives.")
    sol.assume("The sheet lists h₃ among the scalars but defines no h₃; we read it as a typo (the third unit's "
               "output is ŷ = f₃(·)), so no h₃ appears below.")
    sol.assume("--values names: x, w1, w2, w3, w4, b1, b2, b3, the hidden outputs h1, h2, the slopes df1, df2, "
               "df3 (f′ₙ at the pre-activation fₙ receives, a number since fₙ is not given) and dL_dyhat "
               "(∂L/∂ŷ). The answers are formulas in these names; given all of them, e.g. "
               '{"x": 0.5, "w1": 1, "w2": -1, "w3": 2, "w4": 0.5, "b1": 0, "b2": 0.1, "b3": -0.2, "h1": 0.46, '
               '"h2": -0.1, "df1": 0.79, "df2": 0.99, "df3": 0.24, "dL_dyhat": 0.3}, every answer is a number; '
               "a missing name is reported by name.")
    sol.step("Name the pre-activations so each equation is one node of a graph:")
    for variable, expression in equations[::2]:
        sol.step("", variable, expression)
    theta = sp.Symbol("theta", real=True)
    sol.step("Chain rule as a sum over paths: {dyhat} adds, over every path θ → … → ŷ, the product "
             "of the local derivatives; then multiply by {dL}.",
             math={"dyhat": sp.Derivative(yhat, theta), "dL": dL_dyhat})
    for wrt in WRT:
        paths = graph.paths(wrt, yhat)
        if len(paths) > 1:
            sol.step("{wrt} reaches {yhat} along {count} paths (through {h1} and through {h2}); "
                     "their contributions add:", sp.Derivative(yhat, wrt), graph.derivative(yhat, wrt),
                     math={"wrt": wrt, "yhat": yhat, "count": sp.Integer(len(paths)), "h1": h1, "h2": h2},
                     check=finite_differences(yhat_of_inputs, wrt))
        gradient = sp.expand(dL_dyhat * graph.derivative(yhat, wrt)).xreplace(
            {sp.Derivative(f(u), u): slopes[f] for f, u in ((f1, u1), (f2, u2), (f3, u3))}).subs(pre_activations)
        sol.answer(f"dL_d{wrt.name.replace('_', '')}", partial("L", wrt.name), gradient,
                   check=finite_differences(loss, wrt))
    cached = graph.cached_values(yhat)
    sol.step("The backward pass reuses these forward values: "
             + ", ".join(f"{{c{i}}}" for i in range(len(cached))) + ".",
             math={f"c{i}": value for i, value in enumerate(cached)})
    loss_of_yhat = (yhat - t) ** 2 / 2
    sol.step("Numeric check: take f₁(x) = {f1}, f₂(x) = {f2}, f₃(x) = {f3} and L = {loss}, and compare "
             "every formula with high-precision finite differences; there {dL} becomes",
             sp.Derivative(loss_of_yhat, yhat), yhat - t,
             math={"f1": p["f1"], "f2": p["f2"], "f3": p["f3"], "loss": loss_of_yhat, "dL": dL_dyhat},
             check=Identity())

    # `solve --values`: every name is a number; ∂L/∂ŷ is given as dL_dyhat
    sol.inputs = {name: () for name in ("x", "w1", "w2", "w3", "w4", "b1", "b2", "b3", "h1", "h2",
                                        "df1", "df2", "df3", UPSTREAM)}
    sol.definitions.append((dL_dyhat.name, _upstream))


def _upstream(values):
    if UPSTREAM not in values:
        raise UserError(f"--values needs {UPSTREAM} (the upstream derivative ∂L/∂ŷ): every answer is a multiple of it")
    return values[UPSTREAM]


def _concretize(expr, concrete):
    for f, body in concrete.items():
        expr = expr.subs(f, sp.Lambda(v, body.subs(x, v)))
    return expr.doit()


#: the concrete functions a variant draws for f1, f2, f3 (smooth, so the numeric check has a derivative)
VARIANT_FUNCTIONS = (sp.tanh(x), sp.sin(x), sp.cos(x), sp.atan(x), sp.exp(x) / (1 + sp.exp(x)),
                     sp.log(1 + sp.exp(x)), x**3 / 3, sp.exp(-x**2))


def _function_param(name, default):
    return Param(name, default, f"concrete {name}(x) used only by the numeric check", kind="expression",
                 vary=Pick(VARIANT_FUNCTIONS))


def _degenerate(p):
    return "f1 = f2: the hidden units would not be told apart" if p["f1"] == p["f2"] else None


PROBLEM = Problem(
    id="hw3/problem1",
    title="Backpropagation through a scalar network",
    kind="chain rule with undefined functions",
    statement=("A scalar input x feeds two hidden units, h₁ = f₁(w₁x + b₁) and h₂ = f₂(w₂x + b₂), whose "
               "outputs combine into ŷ = f₃(w₃h₁ + w₄h₂ + b₃). All quantities are scalars and f′ₙ "
               "denotes the derivative of fₙ with respect to its argument. Express the derivatives of a "
               "loss L with respect to w₁, w₂, w₃, w₄, b₁, b₂, b₃ and the input x in terms of ∂L/∂ŷ "
               "and the f′ₙ."),
    solve_fn=solve,
    params=(_function_param("f1", sp.tanh(x)), _function_param("f2", sp.sin(x)),
            _function_param("f3", sp.exp(x) / (1 + sp.exp(x)))),
    variation=Variation(degenerate=_degenerate),
)
