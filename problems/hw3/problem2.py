"""hw3/problem2: the computational graph of h = 2x + 1, z = x², y = σ(h), and dy/dz read off it."""

import sympy as sp

from derivations.calculus.checks import random_points, scalar_derivative_error
from derivations.calculus.functions import elementary, sigmoid
from derivations.calculus.graph import build_graph
from derivations.core.model import Param, Problem
from derivations.calculus.printing import inline

x, h, z, y = sp.symbols("x h z y", real=True)


def solve(p, sol):
    equations = [(h, 2 * x + 1), (z, x**2), (y, sigmoid(h))]
    graph = build_graph(equations, decompose=True)
    sol.graphs["graph"] = graph
    sol.assume("σ is the logistic sigmoid 1/(1 + e^(−h)), so σ′(h) = σ(h)(1 − σ(h)).")
    sol.assume("dy/dz is the total derivative along the graph: the sum over every directed path "
               "from z to y of the product of the local derivatives on its edges.")
    sol.step("Write each operation as a node, named by its operation: split 2x + 1 into a multiply node "
             "mul₁ = 2x and an add node h = mul₁ + 1; z = x² is a pow node and y = σ(h) a σ node.")
    for child, parent in graph.graph.edges:
        sol.step(f"Local derivative on the edge {inline(child)} → {inline(parent)}.",
                 sp.Derivative(parent, child), graph.local_derivative(child, parent))
    paths_zy = graph.paths(z, y)
    sol.step(f"Paths from z to y: {len(paths_zy)}. z is a leaf of the graph (nothing is computed from it), "
             "so the sum over paths is empty.", sp.Derivative(y, z), graph.derivative(y, z))
    dydx = graph.derivative(y, x)
    sol.step("For contrast, x reaches y along x → mul₁ → h → y, so dy/dx is that one product:",
             sp.Derivative(y, x), dydx)
    sol.step("The backward pass from y needs these forward values cached: "
             + ", ".join(inline(v) for v in graph.cached_values(y)) + ".")
    sol.answer("dy_dz", sp.Derivative(y, z), graph.derivative(y, z),
               text="dy/dz = 0: no path in the graph leads from z to y (y depends on x only through h).")
    sol.answer("dy_dx", sp.Derivative(y, x), graph.in_terms_of_inputs(dydx))
    sol.answer("dy_dx_at_x0", sp.Subs(sp.Derivative(y, x), x, p["x0"]),
               graph.in_terms_of_inputs(dydx).subs(x, p["x0"]))

    y_of_x = elementary(sigmoid(2 * x + 1))
    points = random_points([x], 5, seed=2)
    # y does not depend on z: its numeric partial in z, with z free, is the reference for dy/dz.
    sol.check("dy/dz vs finite differences of y(x, z)",
              lambda a: scalar_derivative_error(y_of_x, sp.sympify(a["dy_dz"]), z,
                                                [{**pt, z: pt[x] ** 2} for pt in points]), 1e-20)
    sol.check("dy/dx vs finite differences of σ(2x + 1)",
              lambda a: scalar_derivative_error(y_of_x, elementary(a["dy_dx"]), x, points), 1e-20)
    sol.check("dy/dx at x0 vs finite differences of σ(2x + 1)",
              lambda a: scalar_derivative_error(y_of_x, elementary(sp.sympify(a["dy_dx_at_x0"])), x,
                                                [{x: float(p["x0"])}]), 1e-20)


PROBLEM = Problem(
    id="hw3/problem2",
    title="Computational graph of σ(2x + 1) and x²",
    kind="graph + path-sum derivative",
    statement=("Three quantities are computed from one input x: h = 2x + 1, z = x², and y = σ(h) with σ "
               "the logistic sigmoid. Draw the computational graph these equations define, and use the "
               "graph to find dy/dz."),
    solve_fn=solve,
    params=(Param("x0", sp.Rational(1, 2), "point at which dy/dx is also evaluated"),),
)
