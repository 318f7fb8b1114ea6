"""midterm/problem2: a one-hidden-layer ReLU regressor with squared loss — every parameter's
gradient (numerator layout and parameter shape), its computational graph in dot/add/max/mul/pow,
and which forward values the backward pass must keep.

Part (1) runs the toolkit's reverse pass (:func:`matrix_calculus.backward`, the rule table) over
the named forward pass; part (2) builds the graph with :func:`graph.build_graph` from the op
vocabulary; part (3) reads the cached values off that graph. Every claim is checked against
plain NumPy: central differences of the loss, a NumPy Jacobian, and a hand-written NumPy
backward pass that records which forward values it reads.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derivations.calculus.checks import max_abs_error, numeric_gradient, numeric_jacobian
from derivations.calculus.functions import relu
from derivations.calculus.graph import add, build_graph, dot, maximum, mul, power
from derivations.calculus.matrix_calculus import Elementwise, backward, derivative, expand_nodes, numeric
from derivations.calculus.oracles import FLOAT_TOLERANCE, Gradient, Identity, Reference
from derivations.calculus.printing import inline
from derivations.calculus.symbols import partial_matrix
from derivations.core.model import Ints, Param, Pick, Problem, Variation

m, n = sp.symbols("m n", integer=True, positive=True)
x, W, b = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("W", m, n), sp.MatrixSymbol("b", m, 1)
w2 = sp.MatrixSymbol("w2", m, 1)
z, h = sp.MatrixSymbol("z", m, 1), sp.MatrixSymbol("h", m, 1)
y, yhat, r, L = (sp.MatrixSymbol(s, 1, 1) for s in ("y", "yhat", "r", "L"))

#: the rectangular sizes of the numeric checks (m ≠ n, so a dropped transpose cannot fit)
CHECK_SIZES = {"m": 4, "n": 3}
#: how far every check pre-activation keeps from ReLU's kink (central differences step 1e-6)
KINK_MARGIN = 0.05
#: two float64 evaluations of one derivative, written in different orders
ROUNDING = 1e-12


# --------------------------------------------------------------------------------------------
# Plain NumPy: the model, its loss from any intermediate value on, and a backward pass by hand.

STAGES = ("z", "h", "yhat", "r", "L")


def numpy_forward(values, bias, start="z"):
    """Every named value of the model from ``values``, recomputing the stages from ``start`` on
    (earlier ones are taken as given), so ``start="h"`` is the loss as a function of h."""
    v = dict(values)
    for stage in STAGES[STAGES.index(start):]:
        if stage == "z":
            v["z"] = v["W"] @ v["x"] + (v["b"] if bias else 0.0)
        elif stage == "h":
            v["h"] = np.maximum(v["z"], 0.0)
        elif stage == "yhat":
            v["yhat"] = v["w2"].T @ v["h"]
        elif stage == "r":
            v["r"] = v["y"] - v["yhat"]
        else:
            v["L"] = v["r"] ** 2
    return v


def loss_from(start, bias):
    """L as a function of a dict of values, with ``start`` and everything after it recomputed."""
    return lambda v: float(numpy_forward(v, bias, start)["L"].item())


def graph_values(values, bias):
    """The value of every node of the part-(2) graph, keyed by the graph's node names."""
    v = numpy_forward(values, bias)
    v["mul_1"] = -v["yhat"]
    if bias:
        v["dot_1"] = v["W"] @ v["x"]
    return v


class _Reads(dict):
    """Forward values that remember which of them were read."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def numpy_backward(forward, bias):
    """Backprop written out by hand, node by node, in parameter shape (what .grad holds)."""
    g_r = 2.0 * forward["r"]                 # L = r²
    g_yhat = -g_r                            # r = y + mul₁ passes g_r on; mul₁ = −ŷ negates it
    grads = {"y": g_r, "w2": forward["h"] * g_yhat}
    g_z = forward["w2"] * g_yhat * (forward["z"] > 0)   # ŷ = w2ᵀh, then h = max(z, 0)
    if bias:
        grads["b"] = g_z                     # z = dot₁ + b passes g_z on
    grads["W"] = g_z @ forward["x"].T        # dot₁ = Wx
    grads["x"] = forward["W"].T @ g_z
    return grads


def values_read_by_backward(values, bias, names):
    """1/0 for each of ``names``: whether the hand-written backward pass reads it. The pass is
    first held to central differences, and each value it reads must matter (negating it
    changes some gradient), so the set it reads is both sufficient and minimal."""
    forward = graph_values(values, bias)
    tape = _Reads(forward)
    grads = numpy_backward(tape, bias)
    for name, grad in grads.items():
        reference = numeric_gradient(lambda a: loss_from("z", bias)({**values, name: a}), values[name])
        if max_abs_error(grad, reference) > FLOAT_TOLERANCE:
            raise AssertionError(f"the hand-written backward pass is wrong for {name}")
    for name in tape.read:
        changed = numpy_backward({**forward, name: -forward[name]}, bias)
        if all(np.array_equal(changed[k], grads[k]) for k in grads):
            raise AssertionError(f"the hand-written backward pass reads {name} without needing it")
    return [float(name in tape.read) for name in names]


def random_values(seed, bias):
    """Random inputs of the check sizes whose pre-activations have both signs and keep
    KINK_MARGIN away from 0 (so the mask matters and central differences never straddle the
    kink), with a residual of size at least 0.1 (so no gradient is tiny)."""
    while True:
        rng = np.random.default_rng(seed)
        rows, cols = CHECK_SIZES["m"], CHECK_SIZES["n"]
        values = {"x": rng.normal(size=(cols, 1)), "W": rng.normal(size=(rows, cols)),
                  "w2": rng.normal(size=(rows, 1)), "y": rng.normal(size=(1, 1))}
        if bias:
            values["b"] = rng.normal(size=(rows, 1))
        v = numpy_forward(values, bias)
        if (v["z"] > 0).any() and (v["z"] < 0).any() and np.abs(v["z"]).min() > KINK_MARGIN \
                and abs(v["r"].item()) > 0.1:
            return {**CHECK_SIZES, **v}
        seed += 1


# --------------------------------------------------------------------------------------------

def _readable(expr):
    """The same value in plainer form: a 1×1 matrix is its own transpose, so rᵀ becomes r (which
    also keeps y a plain number when answers are evaluated at --values: a float has no .T), and
    the square's entrywise slope t ↦ 2t applied to r is the product 2·r, its number then pulled
    to the front."""
    def scaling(e):
        if not isinstance(e, Elementwise):
            return False
        t, body = e.function.variables[0], e.function.expr
        return body.coeff(t).is_number and body == body.coeff(t) * t

    expr = expr.replace(scaling, lambda e: e.function.expr.coeff(e.function.variables[0]) * e.arg)
    return expr.replace(lambda e: isinstance(e, sp.Transpose) and e.shape == (1, 1), lambda e: e.arg).doit()


def _reasons(graph, node, target):
    """Why ``node``'s value need not be kept: what each node it feeds does with the upstream
    gradient, as the local derivative on that edge shows."""
    if node == target:
        return "it is the output: the backward pass starts from ∂L/∂L = 1 and never reads L itself", {}
    parts, math = [], {}
    for i, parent in enumerate(graph.graph.successors(node)):
        local = graph.local_derivative(node, parent)
        math.update({f"p{i}": parent, f"e{i}": graph.expression(parent), f"d{i}": local})
        parts.append(f"it feeds {{p{i}}} = {{e{i}}} ({graph.op(parent)}), whose local derivative for it is "
                     f"{{d{i}}}")
    return "; ".join(parts), math


def solve(p, sol):
    bias = p["bias"]
    pre = W * x + b if bias else W * x
    forward = [(z, pre), (h, Elementwise(relu, z)), (yhat, w2.T * h), (r, y - yhat), (L, power(r, 2))]
    leaves = (W, w2, b, x) if bias else (W, w2, x)
    parameters = leaves[:-1]

    sol.assume("The sheet's formulas are garbled; they are read as h = ReLU(Wx), ŷ = w2ᵀh and L = (y − ŷ)², "
               "with x a column of n entries, W an m×n matrix, w2 a column of m entries and y a scalar "
               "target: the learnable parameters are W and w2. --set bias=true adds a bias b (a column of m "
               "entries): h = ReLU(Wx + b).")
    sol.assume("Numerator layout: ∂L/∂v for a column v with k entries is a 1×k row, and ∂L/∂W for the m×n "
               "matrix W is n×m, the shape of Wᵀ. The gradient an optimizer subtracts (PyTorch's W.grad) "
               "has the parameter's own shape: it is the transpose (∂L/∂W)ᵀ.")
    sol.assume("ReLU′(u) = H(u), the step with H(0) = 0, as torch.relu takes it (there is no derivative at a "
               "pre-activation of exactly 0). The graph's max node is differentiated by SymPy, whose step takes "
               "H(0) = 1/2 (torch.maximum also splits a tie); the two agree unless some zᵢ is exactly 0.")
    sol.assume("Scalars (y, ŷ, r, L) are 1×1 matrices in the formulas. ℓ in the graph's edge labels is the "
               "final loss L. \"Cached\" means a forward value that the backward pass reads; leaves "
               "(inputs and parameters) are held anyway, and are listed when a local derivative reads them.")
    sol.assume(f"The checks use random inputs with m = {CHECK_SIZES['m']}, n = {CHECK_SIZES['n']} (rectangular, "
               f"so a dropped transpose cannot fit) and every |zᵢ| ≥ {KINK_MARGIN}.")

    values = random_values(p["seed"], bias)

    def central(wrt, start="z", layout="numerator"):
        """A claim about ∂L/∂(wrt) against central differences of the NumPy loss, recomputed
        from ``start`` on."""
        return Gradient(loss=loss_from(start, bias), wrt=wrt, values=values, layout=layout,
                        describe=f"central differences of L in {wrt}" + (", shaped like " + wrt
                                                                         if layout == "gradient" else ""))

    # (1) the gradients, by the rule table over the named forward pass
    sol.step("(1) The forward pass, one named value per operation:")
    for node, definition in forward:
        sol.step("", node, definition)
    grads = {k: _readable(v) for k, v in backward(forward, sp.Identity(1)).items()}
    full = lambda e: expand_nodes(e, forward)  # noqa: E731 — written in x, W, (b,) w2, y only

    def row(node):
        return partial_matrix("L", node.name, node.shape[1], node.shape[0])

    sol.step("Backward pass: start from ∂L/∂L = 1 and go through the nodes in reverse, each passing the "
             "upstream derivative N = ∂L/∂(its output) to its inputs by the rule table. The square L = {r2} "
             "gives", row(r), grads[r], math={"r2": forward[-1][1]}, check=central("r", "L"))
    sol.step("{r} = {resid}: ŷ enters with the factor −1, so", row(yhat), grads[yhat],
             math={"r": r, "resid": y - yhat}, check=central("yhat", "r"))
    sol.step("{yhat} = {out} is linear in h, so N times w2ᵀ, a 1×m row:", row(h), grads[h],
             math={"yhat": yhat, "out": w2.T * h}, check=central("h", "yhat"))
    mask = derivative(forward[1][1], z)
    sol.step("The ReLU mask: h = ReLU(z) acts entry by entry, so its Jacobian is diagonal, with H(zᵢ) on the "
             "diagonal: 1 for an active unit (zᵢ > 0), 0 for an inactive one.",
             partial_matrix("h", "z", m, m), mask,
             check=Reference(compute=lambda: numeric_jacobian(lambda a: np.maximum(a, 0.0), values["z"]),
                             convert=lambda e: numeric(e, values), tolerance=FLOAT_TOLERANCE,
                             describe="a central-difference Jacobian of np.maximum(z, 0)"))
    sol.step("So ∂L/∂h times the mask: an inactive unit passes no gradient back.", row(z), grads[z],
             check=central("z", "h"))
    if bias:
        sol.step("z = Wx + b passes N to b unchanged:", row(b), grads[b], check=central("b"))
    sol.step("In z = {pre}, W multiplies x: the table's product rule puts x on the left of N, so ∂L/∂W is "
             "n×m, the shape of Wᵀ:", row(W), grads[W], math={"pre": pre}, check=central("W"))
    sol.step("w2 enters ŷ = w2ᵀh through a transpose, so it receives hᵀ scaled by N:", row(w2), grads[w2],
             check=central("w2"))
    sol.step("The input x (not trained, for completeness) receives N times W:", row(x), grads[x], check=central("x"))
    shaped = {leaf: _readable(sp.Transpose(grads[leaf]).doit()) for leaf in parameters}
    sol.step("Parameter shape: what the optimizer subtracts is the transpose of each numerator-layout "
             "derivative, shaped like the parameter itself:")
    for leaf in parameters:
        sol.step("", row(leaf).T, shaped[leaf], check=central(leaf.name, layout="gradient"))

    for leaf in leaves:
        sol.answer(f"dL_d{leaf.name}", row(leaf), full(grads[leaf]), check=central(leaf.name))
    for leaf in parameters:
        sol.answer(f"grad_{leaf.name}", row(leaf).T, full(shaped[leaf]), check=central(leaf.name, layout="gradient"))
    pre_text = "Wx + b" if bias else "Wx"
    sol.answer("gradients", None, text=(
        f"(1) With z = {pre_text}, h = ReLU(z) and r = y − ŷ, the upstream derivative is "
        "∂L/∂ŷ = −2r = −2(y − ŷ) and the mask is H(z). Numerator layout: ∂L/∂W = −2r·x(w2 ⊙ H(z))ᵀ (n×m), "
        "∂L/∂w2 = −2r·hᵀ (1×m)"
        + (", ∂L/∂b = −2r(w2 ⊙ H(z))ᵀ (1×m)" if bias else "")
        + ", ∂L/∂x = −2r(w2 ⊙ H(z))ᵀW (1×n). Parameter shape (the .grad an optimizer subtracts): "
          "−2r(w2 ⊙ H(z))xᵀ for W (m×n), −2r·h for w2"
        + (", −2r(w2 ⊙ H(z)) for b" if bias else "") + ". The formula answers above are the same, "
        "written in the inputs; ⊙ is the entrywise product."))

    # (2) the computational graph from dot, add, max, mul and pow only
    equations = [(z, add(dot(W, x), b) if bias else dot(W, x)), (h, maximum(z, 0)), (yhat, dot(w2, h)),
                 (r, add(y, mul(-1, yhat))), (L, power(r, 2))]
    graph = build_graph(equations, decompose=True)
    sol.graphs["graph"] = graph
    sol.step("(2) The same model written with the five allowed operations, subtraction being an add of a "
             "mul by −1:")
    for node, definition in equations:
        sol.step("", node, definition)
    operations = [nd for nd in graph.graph.nodes if graph.op(nd) is not None]
    sol.step("Each operation is a node named after what it computes (an unnamed operand gets its own node, "
             "such as {first}); the leaves are the input x, the target y and the parameters. The operation "
             "nodes, in evaluation order: " + ", ".join(f"{{n{i}}} ({graph.op(nd)})" for i, nd in enumerate(operations))
             + ".", math={"first": next(nd for nd in operations if graph.graph.nodes[nd]["kind"] == "intermediate"),
                          **{f"n{i}": nd for i, nd in enumerate(operations)}})
    sol.step("Each edge u → v carries the local derivative: what v passes back to u, written with "
             "N = ∂ℓ/∂v (ℓ being L):")
    for child, parent in graph.graph.edges:
        sol.step("Edge {u} → {v}: ∂ℓ/∂{u} += {d}", math={"u": child, "v": parent,
                                                      "d": graph.local_derivative(child, parent)})
    for leaf in leaves:
        sol.step("Summing the chained edge derivatives over every path from {leaf} to L gives the same "
                 "derivative as part (1):", row(leaf), _readable(graph.derivative(L, leaf)), math={"leaf": leaf},
                 check=Identity(of=grads[leaf], seed=p["seed"], count=8, tolerance=ROUNDING,
                                describe="part (1) at random rectangular points"))
    sol.answer("graph", None, text=(
        "(2) Leaves x, W, w2, y" + (", b" if bias else "") + "; operation nodes "
        + ", ".join(f"{inline(nd)} = {inline(graph.expression(nd))} [{graph.op(nd)}]" for nd in operations)
        + ". Every edge carries its local derivative (python -m derivations graph midterm/problem2 "
          "--out graph.svg draws it)."))

    # (3) the values the backward pass must keep
    cached = graph.cached_values(L)
    sol.step("(3) Backprop multiplies N by each edge's local derivative, so it needs exactly the forward "
             "values that appear inside some local derivative on a path to L.")
    for node in graph.graph.nodes:
        edges = graph.why_cached(node, L)
        if edges:
            math = {"node": node}
            uses = []
            for i, (child, parent) in enumerate(edges):
                math.update({f"c{i}": child, f"p{i}": parent, f"d{i}": graph.local_derivative(child, parent)})
                uses.append(f"the edge {{c{i}}} → {{p{i}}} carries {{d{i}}}")
            sol.step("Keep {node}: " + "; ".join(uses) + ".", math=math)
        else:
            reason, math = _reasons(graph, node, L)
            sol.step("{node} need not be kept: no local derivative contains it; " + reason + ".",
                     math={"node": node, **math})
    names = [str(nd) for nd in graph.graph.nodes]

    def as_flags(claimed):
        """The claimed node list as 1/0 per graph node, then the count of entries that are no node."""
        given = [str(c) for c in claimed]
        return [float(name in given) for name in names] + [float(len(given) - len(set(given) & set(names)))]

    reads = Reference(compute=lambda: values_read_by_backward(values, bias, names) + [0.0], convert=as_flags,
                      tolerance=0.0, describe="the values a hand-written NumPy backward pass reads")
    cached_symbol = sp.Symbol("cached")
    sol.step("So the values to keep are", cached_symbol, cached, check=reads)
    sol.answer("cached", cached_symbol, cached, check=reads, text=(
        "(3) Cache " + ", ".join(inline(c) for c in cached) + ": z (the ReLU mask H(z); an implementation may test "
        "h > 0 instead, as torch.relu does, and keep h alone), h (for ∂L/∂w2), r = y − ŷ (for the square's "
        "2r) and the leaves x (for ∂L/∂W), w2 (for ∂L/∂h) and W (only for ∂L/∂x, which training does not "
        "need). Nothing else: an add node passes N through unchanged, the mul by −1 only negates it, a dot "
        "node's local derivatives use its inputs but not its output (so ŷ is not needed), and L is never "
        "read."))

    sol.inputs = {"x": (n, 1), "W": (m, n), "w2": (m, 1), "y": ()} | ({"b": (m, 1)} if bias else {})


def _variant_inputs(rng, bias: bool) -> dict[str, np.ndarray]:
    """Numbers for the key: distinct sizes n ≠ m, weights −1, 0, 1, other entries −2 … 2."""
    n_, m_ = (int(d) for d in rng.choice(np.arange(2, 6), size=2, replace=False))
    shapes = {"x": (n_, 1), "W": (m_, n_), "w2": (m_, 1)} | ({"b": (m_, 1)} if bias else {})
    values = {name: rng.integers(-1 if name[0] in "Ww" else -2, 2 if name[0] in "Ww" else 3, size=shape).astype(float)
              for name, shape in shapes.items()}
    return values | {"y": float(rng.integers(-2, 3))}


def _degenerate(v) -> str | None:
    """A zero pre-activation sits on ReLU's kink; pre-activations of one sign leave a branch unused;
    a prediction equal to the target makes every gradient zero."""
    z = v["W"] @ v["x"] + v.get("b", 0)
    if not ((z > 0).any() and (z < 0).any() and (z != 0).all()):
        return "the pre-activations Wx (+ b) are not all nonzero with both signs"
    if float((v["w2"].T @ np.maximum(z, 0)).item()) == v["y"]:
        return "ŷ = y: every gradient is zero"
    return None


PROBLEM = Problem(
    id="midterm/problem2",
    title="A ReLU regressor: gradients, its computational graph, and what backprop caches",
    kind="matrix calculus + graph",
    statement=(
        "An input x ∈ ℝⁿ goes through a hidden layer h = ReLU(Wx) (W is m×n) and a linear read-out "
        "ŷ = w2ᵀh, and the loss against a scalar target y is L = (y − ŷ)². (1) Find the gradient of L "
        "with respect to each learnable parameter. (2) Draw the model as a computational graph whose "
        "leaves are the inputs and parameters and whose operations are only dot products, additions "
        "(no subtraction), entrywise maximum, entrywise multiplication and entrywise powers. (3) Say "
        "which nodes' outputs backpropagation needs cached."),
    solve_fn=solve,
    params=(
        Param("bias", False, "add a hidden bias b: h = ReLU(Wx + b)", kind="bool", vary=Pick((False, True))),
        Param("seed", 0, "random rectangular inputs of the numeric checks", kind="int", shown=False, vary=Ints(1, 999_999)),
    ),
    variation=Variation(inputs=lambda rng, p: _variant_inputs(rng, p["bias"]), degenerate=lambda v: _degenerate(v)),
)
