"""hw3/problem2: the computational graph of h = 2x + 1, z = x², y = σ(h), and dy/dz read off it."""

import sympy as sp

from derivations.calculus.checks import random_points, scalar_derivative_error
from derivations.calculus.functions import elementary, sigmoid
from derivations.calculus.graph import build_graph
from derivations.calculus.oracles import EXACT_TOLERANCE, Oracle
from derivations.core.model import Fractions, Param, Problem
from derivations.calculus.printing import inline

x, h, z, y = sp.symbols("x h z y", real=True)
#: z > 0 for the reading through x = ±√z
zp = sp.Symbol("z", positive=True)


class ThroughX(Oracle):
    """A formula in x for dy/dz against mpmath's numeric derivative in z of y(z) = σ(2x + 1)
    on both branches x = √z and x = −√z (the formula taken at that x), at random z > 0."""

    describe = "finite differences of σ(±2√z + 1) in z, on both branches x = ±√z"
    tolerance = EXACT_TOLERANCE

    def error(self, claimed, lhs=None):
        points = random_points([zp], 4, seed=3, low=0.2, high=3.0)
        claimed = elementary(sp.sympify(claimed).subs(h, 2 * x + 1))
        return max(scalar_derivative_error(elementary(sigmoid(2 * branch + 1)), claimed.subs(x, branch), zp, points)
                   for branch in (sp.sqrt(zp), -sp.sqrt(zp)))


def solve(p, sol):
    equations = [(h, 2 * x + 1), (z, x**2), (y, sigmoid(h))]
    graph = build_graph(equations, decompose=True)
    sol.graphs["graph"] = graph
    sol.assume("σ is the logistic sigmoid 1/(1 + e^(−h)), so σ′(h) = σ(h)(1 − σ(h)).")
    sol.assume("dy/dz is the total derivative along the graph: the sum over every directed path "
               "from z to y of the product of the local derivatives on its edges. z is a leaf (nothing is "
               "computed from it), so there is no such path and dy/dz = 0: y does not change when z alone is "
               "changed, which is the question 'from the graph' asks.")
    sol.assume("Another reading eliminates x: on a branch x = √z (x > 0) or x = −√z (x < 0), y = σ(2x + 1) "
               "becomes a function of z, and dy/dz = (dy/dx)/(dz/dx) = σ′(h)·2/(2x) = σ′(h)/x, undefined at "
               "x = 0 where z = x² cannot be inverted. It is not read off the graph (it follows the edge x → z "
               "backwards); it is given too, as dy_dz_through_x.")
    sol.assume("--values names: x (for the formula answers dy_dx and dy_dz_through_x).")
    sol.inputs = {"x": ()}
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
    ratio = sp.Derivative(y, x) / sp.Derivative(z, x)
    through_x = sp.simplify(graph.in_terms_of_inputs(dydx) / sp.diff(x**2, x))
    sol.step("The other reading treats y as a function of z through x, on a branch x = ±√z with x ≠ 0 (there "
             "{dzdx} ≠ 0, so x is a function of z), and applies the chain rule through x:",
             sp.Derivative(y, z), ratio, math={"dzdx": sp.Derivative(z, x)})
    sol.step("", sp.Derivative(y, z), sp.simplify(dydx / sp.diff(x**2, x)), check=ThroughX())
    sol.step("The backward pass from y needs these forward values cached: "
             + ", ".join(inline(v) for v in graph.cached_values(y)) + ".")
    sol.answer("dy_dz", sp.Derivative(y, z), graph.derivative(y, z),
               text="No path in the graph leads from z to y (y depends on x only through h), because "
                    "z is a leaf. Reading y as a function of z through x = ±√z instead gives dy_dz_through_x.")
    sol.answer("dy_dz_through_x", ratio, through_x, check=ThroughX())
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
                                                [{x: p["x0"]}]), 1e-20)  # exact x0: no float rounding


PROBLEM = Problem(
    id="hw3/problem2",
    title="Computational graph of σ(2x + 1) and x²",
    kind="graph + path-sum derivative",
    statement=("Three quantities are computed from one input x: h = 2x + 1, z = x², and y = σ(h) with σ "
               "the logistic sigmoid. Draw the computational graph these equations define, and use the "
               "graph to find dy/dz."),
    solve_fn=solve,
    params=(Param("x0", sp.Rational(1, 2), "point at which dy/dx is also evaluated",
                  vary=Fractions(-3, 3, 20)),),
)
