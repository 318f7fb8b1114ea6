"""hw3/problem1: backpropagation through a scalar net with unspecified activations f1, f2, f3."""

import sympy as sp

from derivations.calculus.checks import random_points, scalar_derivative_error
from derivations.calculus.graph import build_graph
from derivations.core.model import Param, Problem
from derivations.render.pretty import inline
from derivations.calculus.symbols import partial

x, w1, w2, w3, w4, b1, b2, b3 = sp.symbols("x w_1 w_2 w_3 w_4 b_1 b_2 b_3", real=True)
h1, h2, yhat, u1, u2, u3, t, v = sp.symbols("h_1 h_2 yhat u_1 u_2 u_3 t v", real=True)
f1, f2, f3 = sp.Function("f1"), sp.Function("f2"), sp.Function("f3")
dL_dyhat = partial("L", "yhat")
WRT = (w1, w2, w3, w4, b1, b2, b3, x)


def solve(p, sol):
    equations = [(u1, w1 * x + b1), (h1, f1(u1)), (u2, w2 * x + b2), (h2, f2(u2)),
                 (u3, w3 * h1 + w4 * h2 + b3), (yhat, f3(u3))]
    graph = build_graph(equations)
    sol.graphs["graph"] = graph
    sol.assume("L is any differentiable loss of ŷ alone, so every gradient is ∂L/∂ŷ times dŷ/d(·).")
    sol.assume("f′ₙ(v) = dfₙ(v)/dv is evaluated at the pre-activation uₙ that fₙ receives.")
    sol.step("Name the pre-activations so each equation is one node of a graph:")
    for variable, expression in equations[::2]:
        sol.step("", variable, expression)
    sol.step("Chain rule as a sum over paths: dŷ/dθ adds, over every path θ → … → ŷ, the product "
             "of the local derivatives; then multiply by ∂L/∂ŷ.")
    pre_activations = {u1: w1 * x + b1, u2: w2 * x + b2, u3: w3 * h1 + w4 * h2 + b3}
    for theta in WRT:
        paths = graph.paths(theta, yhat)
        if len(paths) > 1:
            sol.step(f"{theta} reaches ŷ along {len(paths)} paths (through h₁ and through h₂); "
                     "their contributions add.")
        gradient = sp.expand(dL_dyhat * graph.derivative(yhat, theta)).subs(pre_activations)
        sol.answer(f"dL_d{theta.name.replace('_', '')}", partial("L", theta.name), gradient)
    sol.step("The backward pass reuses these forward values: "
             + ", ".join(inline(n) for n in graph.cached_values(yhat)) + ".")

    concrete = {f1: p["f1"], f2: p["f2"], f3: p["f3"]}
    forward = {h1: f1(w1 * x + b1), h2: f2(w2 * x + b2)}
    yhat_of_inputs = _concretize(f3(w3 * h1 + w4 * h2 + b3).subs(forward), concrete)
    loss = (yhat_of_inputs - t) ** 2 / 2
    points = [{**pt, t: 0.3} for pt in random_points(WRT, 4, seed=1)]
    sol.step(f"Numeric check: take f₁ = {p['f1']}, f₂ = {p['f2']}, f₃ = {p['f3']} and L = (ŷ − t)²/2, "
             "so ∂L/∂ŷ = ŷ − t; compare every formula with high-precision finite differences.")
    for theta in WRT:
        name = f"dL_d{theta.name.replace('_', '')}"
        sol.check(f"∂L/∂{inline(theta)} vs finite differences", _checker(name, loss, yhat_of_inputs, forward, concrete,
                                                              theta, points), 1e-15)


def _concretize(expr, concrete):
    for f, body in concrete.items():
        expr = expr.subs(f, sp.Lambda(v, body.subs(x, v)))
    return expr.doit()


def _checker(name, loss, yhat_of_inputs, forward, concrete, theta, points):
    def measure(answers):
        claimed = _concretize(sp.sympify(answers[name]).subs(forward), concrete)
        claimed = claimed.subs(dL_dyhat, yhat_of_inputs - t)
        return scalar_derivative_error(loss, claimed, theta, points)
    return measure


def _function_param(name, default):
    return Param(name, default, f"concrete {name}(x) used only by the numeric check", kind="expression")


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
)
